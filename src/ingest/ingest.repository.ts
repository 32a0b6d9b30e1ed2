import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { escapeIdentifier, type Pool } from 'pg';
import { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver.js';
import {
  eventTimestamp,
  isStoredEvent,
  type InboundEvent,
  type InboundMessage,
  type SessionRef,
  type StoredEvent,
} from '../domain/inbound-event';
import { jsonHasNul, replaceNul } from '../common/nul';
import { ProviderRegistry, type ProviderDefinition } from '../domain/provider-definition';
import type { IngestJob, IngestResult } from './ingest.types';

type Item<E> = { event: E; job: IngestJob };

/** What the acknowledgement of one webhook wrote. */
export interface Acknowledged {
  webhookEventId: string;
  /** Its inbox row; null when it has nothing to apply (ignored, not understood) or repeats a job of its batch. */
  inboxId: string | null;
  /** The same bytes had been stored before (a provider retry). */
  duplicate: boolean;
}

/** An acknowledged webhook waiting in the inbox. */
export interface InboxItem {
  inboxId: string;
  webhookEventId: string;
  /** When it was acknowledged (the ingest lag's start). */
  ackedAt: Date;
  job: IngestJob;
}
type Of<K extends StoredEvent['kind']> = Extract<InboundEvent, { kind: K }>;
const ofKind = <K extends StoredEvent['kind']>(items: Item<StoredEvent>[], kind: K) =>
  items.filter((x): x is Item<Of<K>> => x.event.kind === kind);
// Binary order (not localeCompare, which showed in the ingest profile): any fixed order keeps locks consistent.
const byKey = ([a]: [string, unknown], [b]: [string, unknown]) => (a < b ? -1 : a > b ? 1 : 0);
const sessionKey = (s: SessionRef) => `${s.provider}\u0000${s.externalId}`;
const sessionCols = (s: SessionRef) => ({ provider: s.provider, session_external_id: s.externalId });

/**
 * Writes batches of normalised webhooks, in two steps (src/database/sql/ingest-inbox.sql): the acknowledgement
 * (raw events and their canonical events in the inbox, `wa_ingest_inbox`; the caller answers 2xx only after it
 * returns) and the apply (`wa_ingest_apply`, which runs `wa_ingest_batch(jsonb, bytea[])`,
 * src/database/sql/ingest-batch.sql). Each is one round trip, one transaction, set-based statements with cached
 * plans. Writes are idempotent through unique constraints, counters are incremented in SQL (no
 * read-modify-write), statuses only move forward. This file turns canonical events into the functions' input.
 */
@Injectable()
export class IngestRepository {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly providers: ProviderRegistry,
  ) {}

  private pool(): Pool {
    return (this.dataSource.driver as PostgresDriver).master as Pool;
  }

  /**
   * The acknowledgement write of `jobs`, in one transaction (`wa_ingest_inbox`, src/database/sql/ingest-inbox.sql):
   * each raw event (exact bytes, dedupe key, parsed body) and, when it has something to apply and its bytes are new,
   * its canonical events in `ingest_inbox` (a retry of stored bytes too: applying again is idempotent).
   * @returns one result per job, in order.
   * @throws the database error; nothing of the batch is written then.
   */
  async acknowledge(jobs: IngestJob[]): Promise<Acknowledged[]> {
    const { json, bodies } = rawRows(jobs, true);
    const { rows } = await this.pool().query<{
      r: { id: string; provider: string; dedupe_key: string; dup: boolean; inbox: string | null }[];
    }>('SELECT wa_ingest_inbox($1::jsonb, $2::bytea[]) AS r', [json, bodies]);
    const byKey = new Map(rows[0].r.map((r) => [`${r.provider}:${r.dedupe_key}`, r]));
    // A job repeated inside the batch (a retry racing the original) shares the first one's row: only that one is
    // pending (its inbox row), the repeat is a duplicate.
    const first = new Set<string>();
    return jobs.map((job) => {
      const key = `${job.provider}:${job.dedupeKey}`;
      const row = byKey.get(key)!;
      const repeat = first.has(key);
      first.add(key);
      return { webhookEventId: row.id, inboxId: repeat ? null : row.inbox, duplicate: row.dup || repeat };
    });
  }

  /**
   * Applies acknowledged webhooks (`items`, in inbox order) in one transaction (`wa_ingest_apply`): messages,
   * conversations, contacts, statuses, roll-ups and the event log, and deletes their inbox rows; only when every
   * row could be claimed (another applier holds or has applied the rest).
   * @returns the message ids of each item's messages, in event order; or, with nothing written, the inbox ids
   *   that could be claimed.
   * @throws the database error; nothing is written then.
   */
  async applyInbox(items: InboxItem[]): Promise<{ applied: true; messageIds: string[][] } | { applied: false; claimed: Set<string> }> {
    const pool = this.pool();
    const jobs = await resolveLids(
      pool,
      items.map((i) => i.job),
    );
    const batch = buildBatch(jobs, (provider) => sessionTraits(this.providers.get(provider)), false);
    const { rows } = await pool.query<{
      r: { applied: boolean; claimed?: number[]; messages?: { idx: number; id: string }[] };
    }>('SELECT wa_ingest_apply($1::jsonb, $2::bigint[]) AS r', [batch.json, items.map((i) => i.inboxId)]);
    const r = rows[0].r;
    if (!r.applied) return { applied: false, claimed: new Set((r.claimed ?? []).map(String)) };
    const messageIds = new Map((r.messages ?? []).map((m) => [m.idx, m.id]));
    return {
      applied: true,
      messageIds: jobs.map((job) => (batch.messageRefs.get(job) ?? []).map((idx) => messageIds.get(idx)!).filter(Boolean)),
    };
  }

  /** Gives up on an inbox row whose events cannot be applied: its raw event becomes `failed` with `error`. */
  async failInbox(item: InboxItem, error: string): Promise<void> {
    await this.pool().query(
      `WITH gone AS (DELETE FROM ingest_inbox WHERE id = $1 RETURNING webhook_event_id)
       UPDATE webhook_events w SET state = 'failed', error = $2 FROM gone WHERE w.id = gone.webhook_event_id`,
      [item.inboxId, error],
    );
  }

  /**
   * Inbox rows acknowledged at least `minAgeMs` ago and not in `exclude` (those this process holds in memory), oldest
   * first: what a crashed or stopped process acknowledged and did not apply.
   */
  async pendingInbox(exclude: string[], minAgeMs: number, limit: number): Promise<InboxItem[]> {
    const { rows } = await this.pool().query<{
      id: string;
      webhook_event_id: string;
      acked_at: Date;
      events: StoredEvent[];
      provider: string;
      dedupe_key: string;
      received_at: Date;
      content_type: string | null;
      state: IngestJob['state'];
      error: string | null;
    }>(
      `SELECT i.id::text, i.webhook_event_id::text, i.acked_at, i.events, w.provider, w.dedupe_key, w.received_at, w.content_type,
         w.state, w.error
       FROM ingest_inbox i JOIN webhook_events w ON w.id = i.webhook_event_id
       WHERE NOT (i.id = ANY($1::bigint[])) AND i.acked_at <= now() - $2::int * interval '1 millisecond'
       ORDER BY i.id LIMIT $3`,
      [exclude, Math.round(minAgeMs), limit],
    );
    return rows.map((r) => ({
      inboxId: r.id,
      webhookEventId: r.webhook_event_id,
      ackedAt: new Date(r.acked_at),
      job: {
        provider: r.provider,
        dedupeKey: r.dedupe_key,
        receivedAt: new Date(r.received_at),
        contentType: r.content_type,
        rawBody: Buffer.alloc(0),
        bodyJson: 'null',
        events: reviveEvents(typeof r.events === 'string' ? (JSON.parse(r.events) as StoredEvent[]) : r.events),
        state: r.state,
        error: r.error,
      },
    }));
  }

  /**
   * ANALYZEs those of `tables` (in the current schema) that PostgreSQL has never analyzed, by hand or by
   * autovacuum, once at least `minRows` of their rows were inserted, updated or deleted
   * (`pg_stat_user_tables.n_mod_since_analyze`, which the cumulative statistics report up to a few seconds late).
   * Analyzing invalidates the plans cached for statements on them (PL/pgSQL caches one per connection), which
   * were chosen while the table was nearly empty.
   * @returns the tables analyzed now, and how many of `tables` are still never analyzed.
   * @throws the database's error.
   */
  async analyzeNeverAnalyzed(tables: readonly string[], minRows: number): Promise<{ analyzed: string[]; pending: number }> {
    const { rows } = await this.pool().query<{ relname: string; due: boolean }>(
      `SELECT relname::text AS relname, n_mod_since_analyze >= $2 AS due FROM pg_stat_user_tables
       WHERE schemaname = current_schema() AND relname = ANY($1::text[]) AND last_analyze IS NULL AND last_autoanalyze IS NULL`,
      [tables, minRows],
    );
    const due = rows.filter((r) => r.due).map((r) => r.relname);
    if (due.length) await this.pool().query(`ANALYZE ${due.map((t) => escapeIdentifier(t)).join(', ')}`);
    return { analyzed: due, pending: rows.length - due.length };
  }

  /** Whether inbox row `inboxId` is still waiting to be applied. */
  async isPending(inboxId: string): Promise<boolean> {
    const { rows } = await this.pool().query('SELECT 1 FROM ingest_inbox WHERE id = $1', [inboxId]);
    return rows.length > 0;
  }

  /** The ids of the messages the raw event `webhookEventId` stored, in insertion order. */
  async messageIdsOf(webhookEventId: string): Promise<string[]> {
    const { rows } = await this.pool().query<{ id: string }>('SELECT id::text FROM messages WHERE webhook_event_id = $1 ORDER BY id', [
      webhookEventId,
    ]);
    return rows.map((r) => r.id);
  }

  /**
   * Stores only the raw event of a job whose events could not be applied, with state `failed` and `error`.
   * The exact bytes are always kept (`raw_body`); the parsed body when PostgreSQL accepts it as jsonb, otherwise
   * it is left out and the error says why.
   */
  async storeFailed(job: IngestJob, error: string): Promise<IngestResult> {
    const insert = (body: string | null, err: string) =>
      this.dataSource.query(
        `INSERT INTO webhook_events (provider, dedupe_key, received_at, content_type, body, raw_body, state, error, event_count)
         VALUES ($1, $2, $3, $4, $5::jsonb, $6, 'failed', $7, 0)
         ON CONFLICT (provider, dedupe_key) DO UPDATE SET attempts = webhook_events.attempts + 1, state = 'failed', error = EXCLUDED.error
         RETURNING id`,
        [job.provider, job.dedupeKey, job.receivedAt, job.contentType, body, job.rawBody, err],
      ) as Promise<{ id: string }[]>;
    let rows: { id: string }[];
    try {
      rows = await insert(job.bodyJson, error);
    } catch (e) {
      rows = await insert(null, `${error}; body not storable as jsonb: ${(e as Error).message}`);
    }
    return { webhookEventId: String(rows[0].id), state: 'failed', error, messageIds: [] };
  }
}

/**
 * `@lid` chats (WhatsApp's privacy ids, fixture wwebjs.inbound.message_from_lid) whose number is known (a contact
 * with that `lid`) are threaded as that number: same conversation, same contact. Unknown ones stay keyed by the
 * lid until an admin links it (ContactsService merges the conversation then). One lookup, only for batches with
 * a `@lid` chat. The raw payload is stored unchanged.
 * @returns the jobs, in order, with resolved message events (the others untouched).
 */
async function resolveLids(pool: Pool, jobs: IngestJob[]): Promise<IngestJob[]> {
  const lids = new Set<string>();
  for (const job of jobs)
    for (const e of job.events)
      if (e.kind === 'message' && !e.message.isGroup && e.message.chatId.endsWith('@lid')) lids.add(e.message.chatId);
  if (lids.size === 0) return jobs;
  const { rows } = await pool.query<{ lid: string; phone: string }>('SELECT lid, phone FROM contacts WHERE lid = ANY($1::text[])', [
    [...lids],
  ]);
  if (rows.length === 0) return jobs;
  const phoneOf = new Map(rows.map((r) => [r.lid, r.phone]));
  return jobs.map((job) => ({
    ...job,
    events: job.events.map((e) => {
      const phone = e.kind === 'message' && !e.message.isGroup ? phoneOf.get(e.message.chatId) : undefined;
      if (e.kind !== 'message' || !phone) return e;
      const m = e.message;
      return {
        ...e,
        message: {
          ...m,
          chatId: phone,
          contact: { phone, profileName: m.direction === 'in' ? (m.senderName ?? null) : null },
          sender: m.sender === m.chatId ? phone : m.sender,
        },
      };
    }),
  }));
}

/** What ingest may do to a provider's sessions (from its definition). */
export interface SessionTraits {
  /** Connected by its traffic ({@link ProviderDefinition.connectedByTraffic}). */
  byTraffic: boolean;
  /**
   * An event may create the session: providers whose sessions live on their side (they appear with their first
   * webhook). Never for sessions wa-hub runs itself ({@link ProviderDefinition.sessions}, Baileys): they are
   * created through `/v1/sessions` only, so a late event of a deleted session cannot bring it back.
   */
  createdByEvents: boolean;
}

export function sessionTraits(definition: ProviderDefinition | undefined): SessionTraits {
  return { byTraffic: definition?.connectedByTraffic === true, createdByEvents: !definition?.sessions };
}

/**
 * The function's input as JSON text, the exact bodies its raw rows point into, and for each job the input indexes
 * of its messages. `traits(provider)` says what the events may do to the provider's sessions.
 */
export function buildBatch(
  jobs: IngestJob[],
  traits: (provider: string) => SessionTraits,
  withRaw = true,
): { json: string; bodies: Buffer[]; messageRefs: Map<IngestJob, number[]> } {
  const stored: Item<StoredEvent>[] = jobs.flatMap((job) => job.events.filter(isStoredEvent).map((event) => ({ event, job })));
  const messages = ofKind(stored, 'message');
  const statuses = ofKind(stored, 'status');
  const messageRefs = new Map<IngestJob, number[]>();
  const seen = new Set<string>();
  const messageRows = messages.map(({ event, job }, idx) => {
    messageRefs.set(job, [...(messageRefs.get(job) ?? []), idx]);
    // The same message twice in one batch (a retry racing the original) is inserted once.
    const key = `${sessionKey(event.session)}\u0000${event.message.externalId}`;
    const dup = seen.has(key);
    seen.add(key);
    return messageRow(idx, dup, event, job);
  });
  const sections: Record<string, unknown[]> = {
    sessions: sessionRows(
      stored.map((x) => x.event),
      traits,
    ),
    session_events: ofKind(stored, 'session').map(sessionEventRow),
    contacts: contactRows(messages.map((m) => m.event.message)),
    conversations: conversationRows(messages.map((m) => m.event)),
    messages: messageRows,
    statuses: statuses.map(({ event, job }) => statusRow(event, job)),
    apply_keys: [
      ...statuses.map((s) => ({ ...sessionCols(s.event.session), external_id: s.event.status.externalId })),
      // Our own echoed messages may have had statuses before they arrived.
      ...messages
        .filter((m) => m.event.message.direction === 'out')
        .map((m) => ({ ...sessionCols(m.event.session), external_id: m.event.message.externalId })),
    ],
    errors: ofKind(stored, 'provider_error').map(({ event, job }) => ({
      provider: event.session?.provider ?? job.provider,
      session_external_id: event.session?.externalId ?? null,
      dedupe_key: job.dedupeKey,
      code: event.error.code,
      title: event.error.title,
      detail: event.error.detail,
      raw: event.error.raw,
      occurred_at: event.timestamp.toISOString(),
    })),
    calls: ofKind(stored, 'call').map(({ event, job }) => ({
      ...sessionCols(event.session),
      dedupe_key: job.dedupeKey,
      external_id: event.call.externalId,
      chat_id: event.call.chatId,
      from_me: event.call.fromMe,
      is_video: event.call.isVideo,
      is_group: event.call.isGroup,
      occurred_at: event.call.timestamp.toISOString(),
      raw: event.call.raw,
    })),
    media: ofKind(stored, 'media').map(({ event }) => ({
      ...sessionCols(event.session),
      external_id: event.externalId,
      mime_type: event.media.mimeType,
      filename: event.media.filename,
      size: event.media.size,
      data: event.media.base64,
    })),
    updates: ofKind(stored, 'message_update').map(({ event }) => ({
      ...sessionCols(event.session),
      external_id: event.externalId,
      deleted: event.update.deleted === true,
      new_text: event.update.newText ?? null,
      previous_text: event.update.previousText ?? null,
      at: event.update.timestamp.toISOString(),
    })),
    reactions: ofKind(stored, 'reaction').map(({ event }) => ({
      ...sessionCols(event.session),
      external_id: event.targetExternalId,
      sender: event.sender,
      emoji: event.emoji,
    })),
  };
  let rest = JSON.stringify(sections).slice(1, -1);
  // Text and jsonb cannot hold U+0000: message columns get U+FFFD instead (the raw bytes keep the original).
  if (jsonHasNul(rest)) rest = JSON.stringify(replaceNul(sections)).slice(1, -1);
  const { json: raw, bodies } = withRaw ? rawRows(jobs, false) : { json: '[]', bodies: [] };
  return { json: `{"raw":${raw}${rest ? ',' : ''}${rest}}`, bodies, messageRefs };
}

/**
 * Raw event rows as JSON text, and the exact bodies they point into (`bi`, 1-based). Each parsed body is spliced
 * in as JSON text (the provider's own when it parsed from the bytes): no second serialisation of the largest
 * part of the batch. `withEvents`: each row also carries `ev`, the job's canonical events for the inbox.
 */
function rawRows(jobs: IngestJob[], withEvents: boolean): { json: string; bodies: Buffer[] } {
  // A provider retry inside the same batch would make ON CONFLICT DO UPDATE touch a row twice: one row per key.
  const unique = new Map<string, IngestJob>();
  for (const j of jobs) if (!unique.has(`${j.provider}:${j.dedupeKey}`)) unique.set(`${j.provider}:${j.dedupeKey}`, j);
  const bodies: Buffer[] = [];
  const rows = [...unique.values()].map((j) => {
    bodies.push(j.rawBody);
    const head = JSON.stringify({
      p: j.provider,
      k: j.dedupeKey,
      r: j.receivedAt.toISOString(),
      c: j.contentType,
      bi: bodies.length,
      s: j.state,
      e: j.error,
      n: j.events.filter(isStoredEvent).length,
    });
    return `${head.slice(0, -1)},"bd":${j.bodyJson}${withEvents ? `,"ev":${eventsJson(j.events)}` : ''}}`;
  });
  return { json: `[${rows.join(',')}]`, bodies };
}

/** The stored events as JSON text for `ingest_inbox.events` (null when there are none; U+0000 as U+FFFD). */
function eventsJson(events: InboundEvent[]): string {
  const stored = events.filter(isStoredEvent);
  if (stored.length === 0) return 'null';
  const text = JSON.stringify(stored);
  return jsonHasNul(text) ? JSON.stringify(replaceNul(stored)) : text;
}

/** Events read back from `ingest_inbox.events`: their timestamps as `Date`s again (JSON made them ISO strings). */
export function reviveEvents(events: StoredEvent[]): StoredEvent[] {
  const at = (v: unknown) => new Date(v as string);
  for (const e of events) {
    switch (e.kind) {
      case 'message':
        e.message.timestamp = at(e.message.timestamp);
        break;
      case 'status':
        e.status.timestamp = at(e.status.timestamp);
        break;
      case 'session':
        e.change.timestamp = at(e.change.timestamp);
        break;
      case 'call':
        e.call.timestamp = at(e.call.timestamp);
        break;
      case 'message_update':
        e.update.timestamp = at(e.update.timestamp);
        break;
      case 'reaction':
      case 'provider_error':
        e.timestamp = at(e.timestamp);
        break;
      default:
        break;
    }
  }
  return events;
}

/**
 * One row per session the events mention. A new session starts in the status of its first lifecycle event, or
 * connected when its first event is anything else (wwebjs emits messages only from a ready client; sessions of
 * providers connected by traffic, Meta numbers and Wablas devices, are connected once they deliver). Sorted so concurrent batches lock rows in one order.
 */
function sessionRows(events: StoredEvent[], traits: (provider: string) => SessionTraits) {
  const refs = new Map<
    string,
    {
      provider: string;
      external_id: string;
      display_number: string | null;
      at: Date;
      initial_status: string;
      by_traffic: boolean;
      may_create: boolean;
    }
  >();
  for (const e of events) {
    if (!('session' in e) || !e.session) continue;
    const at = eventTimestamp(e);
    const t = traits(e.session.provider);
    const prev = refs.get(sessionKey(e.session));
    refs.set(sessionKey(e.session), {
      provider: e.session.provider,
      external_id: e.session.externalId,
      display_number: e.session.displayNumber ?? prev?.display_number ?? null,
      at: prev && prev.at > at ? prev.at : at,
      initial_status: prev?.initial_status ?? (e.kind === 'session' ? (e.change.status ?? 'connecting') : 'connected'),
      by_traffic: t.byTraffic,
      may_create: t.createdByEvents,
    });
  }
  return [...refs.entries()].sort(byKey).map(([, v]) => ({ ...v, at: v.at.toISOString() }));
}

function sessionEventRow({ event, job }: Item<Of<'session'>>) {
  const c = event.change;
  return {
    ...sessionCols(event.session),
    dedupe_key: job.dedupeKey,
    event: c.event,
    status: c.status,
    message: c.message ?? null,
    qr_action: c.qr?.action ?? null,
    qr: c.qr?.action === 'set' ? c.qr.value : null,
    has_loading: c.loadingPercent !== undefined,
    loading_percent: c.loadingPercent ?? null,
    connected: c.connected === true,
    payload: c.payload ?? null,
    at: c.timestamp.toISOString(),
  };
}

function contactRows(messages: InboundMessage[]) {
  const names = new Map<string, string | null>();
  for (const m of messages) if (m.contact) names.set(m.contact.phone, m.contact.profileName ?? names.get(m.contact.phone) ?? null);
  return [...names.keys()].sort().map((phone) => ({ phone, name: names.get(phone) }));
}

function conversationRows(events: Of<'message'>[]) {
  const convs = new Map<
    string,
    { provider: string; session_external_id: string; chat_id: string; is_group: boolean; phone: string | null; subject: string | null }
  >();
  for (const { session, message: m } of events) {
    const key = `${sessionKey(session)}\u0000${m.chatId}`;
    const prev = convs.get(key);
    convs.set(key, {
      ...sessionCols(session),
      chat_id: m.chatId,
      is_group: m.isGroup,
      phone: m.contact?.phone ?? prev?.phone ?? null,
      subject: m.groupSubject ?? prev?.subject ?? null,
    });
  }
  return [...convs.entries()].sort(byKey).map(([, v]) => v);
}

function messageRow(idx: number, dup: boolean, { session, message: m }: Of<'message'>, job: IngestJob) {
  return {
    idx,
    dup,
    ...sessionCols(session),
    dedupe_key: job.dedupeKey,
    phone: m.contact?.phone ?? null,
    external_id: m.externalId,
    direction: m.direction,
    type: m.type,
    chat_id: m.chatId,
    sender: m.sender,
    sender_name: m.senderName ?? null,
    text: m.text ?? null,
    caption: m.caption ?? null,
    media: m.media ?? null,
    location: m.location ?? null,
    context: m.context ?? null,
    reply_to_external_id: m.replyToExternalId ?? null,
    payload: m.payload ?? null,
    // Inbound messages are received; our own echoed messages (Wablas isFromMe, wwebjs fromMe) were sent.
    status: m.direction === 'in' ? 'received' : 'sent',
    provider_timestamp: m.timestamp.toISOString(),
    raw: m.raw,
  };
}

function statusRow({ session, status: s }: Of<'status'>, job: IngestJob) {
  return {
    ...sessionCols(session),
    dedupe_key: job.dedupeKey,
    external_id: s.externalId,
    status: s.status,
    occurred_at: s.timestamp.toISOString(),
    recipient: s.recipient ?? null,
    error_code: s.error?.code ?? null,
    error_title: s.error?.title ?? null,
    error_detail: s.error?.detail ?? null,
    payload: s.payload ?? null,
  };
}
