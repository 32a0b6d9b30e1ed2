import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomBytes } from 'node:crypto';
import { escapeLiteral, type Pool, type QueryResult } from 'pg';
import { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver.js';
import { eventTimestamp, isStoredEvent, type InboundEvent, type InboundMessage, type SessionRef, type StoredEvent } from './inbound-event';
import type { IngestJob, IngestResult } from './ingest.types';

type MessageEvent = Extract<InboundEvent, { kind: 'message' }>;
type StatusEvent = Extract<InboundEvent, { kind: 'status' }>;
type ErrorEvent = Extract<InboundEvent, { kind: 'provider_error' }>;
type SessionEvent = Extract<InboundEvent, { kind: 'session' }>;
type CallEvent = Extract<InboundEvent, { kind: 'call' }>;
type UpdateEvent = Extract<InboundEvent, { kind: 'message_update' }>;
type ReactionEvent = Extract<InboundEvent, { kind: 'reaction' }>;
type MediaEvent = Extract<InboundEvent, { kind: 'media' }>;
type Stored = StoredEvent;
type Item<E> = { event: E; job: IngestJob };
const ofKind = <K extends Stored['kind']>(items: Item<Stored>[], kind: K) =>
  items.filter((x): x is Item<Extract<Stored, { kind: K }>> => x.event.kind === kind);

const sessionKey = (s: SessionRef) => `${s.provider}\u0000${s.externalId}`;
/**
 * A jsonb literal for `rows`. Dollar-quoted with a random tag (checked absent from the text), so the JSON needs
 * no escaping: pg's escapeLiteral walks the string character by character, which showed in the ingest profile.
 */
function jsonb(rows: unknown[]): string {
  const json = JSON.stringify(rows);
  let tag: string;
  do tag = `$j${randomBytes(6).toString('hex')}$`;
  while (json.includes(tag));
  return `${tag}${json}${tag}::jsonb`;
}

// Rows reach PostgreSQL as one jsonb literal per statement; these joins find the ids of rows written by the
// statements before (same transaction), so no statement waits for another's answer in Node.
const SESSION_JOIN = `JOIN sessions s ON s.provider = x.provider AND s.external_id = x.session_external_id`;

/**
 * Writes batches of normalised webhooks with set-based SQL. A whole batch is ONE multi-statement simple query:
 * PostgreSQL runs it as a single implicit transaction (all or nothing) in one round trip, so a batch costs one
 * trip and one commit however many webhooks it holds. Writes are idempotent through unique constraints
 * (`ON CONFLICT`), counters are incremented in SQL (no read-modify-write), statuses are applied by rank so they
 * only move forward. The caller answers 2xx only after this returns.
 */
@Injectable()
export class IngestRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Applies `jobs` in one transaction.
   * @returns one result per job, in order.
   * @throws the database error; nothing of the batch is written then.
   */
  async applyBatch(jobs: IngestJob[]): Promise<IngestResult[]> {
    const script = buildScript(jobs);
    const client = await this.pool().connect();
    let results: QueryResult[];
    try {
      const out = (await client.query(script.sql)) as QueryResult | QueryResult[];
      results = Array.isArray(out) ? out : [out];
    } finally {
      client.release();
    }
    const rawIds = new Map(results[script.rawIndex].rows.map((r: { id: string; dedupe_key: string; provider: string }) => [`${r.provider}:${r.dedupe_key}`, String(r.id)]));
    const messageIds = new Map<number, string>();
    if (script.messageIndex >= 0) for (const r of results[script.messageIndex].rows as { idx: number; id: string }[]) messageIds.set(r.idx, String(r.id));
    return jobs.map((job) => ({
      webhookEventId: rawIds.get(`${job.provider}:${job.dedupeKey}`)!,
      state: job.state,
      error: job.error,
      messageIds: (script.messageRefs.get(job) ?? []).map((idx) => messageIds.get(idx)!).filter(Boolean),
    }));
  }

  /**
   * Stores only the raw event of a job whose events could not be applied, with state `failed` and `error`.
   * The body is kept when PostgreSQL accepts it as jsonb, otherwise it is dropped and the error says why.
   */
  async storeFailed(job: IngestJob, error: string): Promise<IngestResult> {
    const insert = (body: string | null, err: string) =>
      this.dataSource.query(
        `INSERT INTO webhook_events (provider, dedupe_key, received_at, content_type, body, state, error, event_count)
         VALUES ($1, $2, $3, $4, $5::jsonb, 'failed', $6, 0)
         ON CONFLICT (provider, dedupe_key) DO UPDATE SET attempts = webhook_events.attempts + 1, state = 'failed', error = EXCLUDED.error
         RETURNING id`,
        [job.provider, job.dedupeKey, job.receivedAt, job.contentType, body, err],
      ) as Promise<{ id: string }[]>;
    let rows: { id: string }[];
    try {
      rows = await insert(job.bodyJson, error);
    } catch (e) {
      rows = await insert(null, `${error}; body not storable as jsonb: ${(e as Error).message}`);
    }
    return { webhookEventId: String(rows[0].id), state: 'failed', error, messageIds: [] };
  }

  private pool(): Pool {
    return (this.dataSource.driver as PostgresDriver).master as Pool;
  }
}

interface Script {
  sql: string;
  rawIndex: number;
  messageIndex: number;
  /** For each job, the indexes of its messages in the message statement's input. */
  messageRefs: Map<IngestJob, number[]>;
}

/** Builds the batch's statements; only the ones the batch needs are included. */
function buildScript(jobs: IngestJob[]): Script {
  const statements: string[] = [rawEventsSql(jobs)];
  const stored: Item<Stored>[] = jobs.flatMap((job) => job.events.filter(isStoredEvent).map((event) => ({ event, job })));
  const messages = ofKind(stored, 'message');
  const statuses = ofKind(stored, 'status');
  const messageRefs = new Map<IngestJob, number[]>();
  let messageIndex = -1;

  if (stored.length > 0) statements.push(sessionsSql(stored.map((x) => x.event)));
  // Lifecycle events change state step by step: one statement each, in arrival order.
  for (const item of ofKind(stored, 'session')) statements.push(sessionEventSql(item));
  if (messages.length > 0) {
    const contacts = contactsSql(messages.map((m) => m.event.message));
    if (contacts) statements.push(contacts);
    statements.push(conversationsSql(messages.map((m) => m.event)));
    const input = messages.map(({ event, job }, idx) => {
      messageRefs.set(job, [...(messageRefs.get(job) ?? []), idx]);
      return messageRow(idx, event, job);
    });
    messageIndex = statements.push(messagesSql(input)) - 1;
  }
  if (statuses.length > 0) statements.push(statusEventsSql(statuses));
  const applyKeys = [
    ...statuses.map((s) => ({ provider: s.event.session.provider, session_external_id: s.event.session.externalId, external_id: s.event.status.externalId })),
    ...messages
      .filter((m) => m.event.message.direction === 'out')
      .map((m) => ({ provider: m.event.session.provider, session_external_id: m.event.session.externalId, external_id: m.event.message.externalId })),
  ];
  if (applyKeys.length > 0) statements.push(applyStatusesSql(applyKeys));
  const errors = ofKind(stored, 'provider_error');
  if (errors.length > 0) statements.push(providerErrorsSql(errors));
  const calls = ofKind(stored, 'call');
  if (calls.length > 0) statements.push(callsSql(calls));
  const media = ofKind(stored, 'media');
  if (media.length > 0) statements.push(mediaSql(media));
  for (const item of ofKind(stored, 'message_update')) statements.push(messageUpdateSql(item));
  for (const item of ofKind(stored, 'reaction')) statements.push(reactionSql(item));
  return { sql: statements.join(';\n'), rawIndex: 0, messageIndex, messageRefs };
}

function rawEventsSql(jobs: IngestJob[]): string {
  // A provider retry inside the same batch would make ON CONFLICT DO UPDATE touch a row twice: one row per key.
  const unique = new Map<string, IngestJob>();
  for (const j of jobs) if (!unique.has(`${j.provider}:${j.dedupeKey}`)) unique.set(`${j.provider}:${j.dedupeKey}`, j);
  // Bodies travel as text and are cast here, so JSON bodies are stored from their own bytes.
  const rows = [...unique.values()].map((j) => ({
    p: j.provider,
    k: j.dedupeKey,
    r: j.receivedAt.toISOString(),
    c: j.contentType,
    b: j.bodyJson,
    s: j.state,
    e: j.error,
    n: j.events.filter(isStoredEvent).length,
  }));
  return `INSERT INTO webhook_events (provider, dedupe_key, received_at, content_type, body, state, error, event_count)
    SELECT p, k, r, c, b::jsonb, s, e, n FROM jsonb_to_recordset(${jsonb(rows)})
      AS x(p text, k text, r timestamptz, c text, b text, s text, e text, n int)
    ON CONFLICT (provider, dedupe_key) DO UPDATE
      SET attempts = webhook_events.attempts + 1, state = EXCLUDED.state, error = EXCLUDED.error, event_count = EXCLUDED.event_count
    RETURNING id, provider, dedupe_key`;
}

/**
 * Upserts every session the events mention. Meta numbers and Wablas devices are connected once they deliver; a
 * new session of another provider starts in the status of its first lifecycle event (connected when its first
 * event is a message: wwebjs emits messages only from a ready client).
 */
function sessionsSql(events: Stored[]): string {
  const refs = new Map<string, { provider: string; external_id: string; display_number: string | null; at: Date; initial_status: string }>();
  for (const e of events) {
    if (!('session' in e) || !e.session) continue;
    const at = eventTimestamp(e);
    const prev = refs.get(sessionKey(e.session));
    refs.set(sessionKey(e.session), {
      provider: e.session.provider,
      external_id: e.session.externalId,
      display_number: e.session.displayNumber ?? prev?.display_number ?? null,
      at: prev && prev.at > at ? prev.at : at,
      initial_status: prev?.initial_status ?? (e.kind === 'session' ? (e.change.status ?? 'connecting') : 'session_connected'),
    });
  }
  // Sorted so that concurrent batches (several processes) lock rows in the same order.
  const rows = [...refs.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, v]) => ({ ...v, at: v.at.toISOString() }));
  return `INSERT INTO sessions (provider, external_id, display_number, status, last_event_at, connected_at)
    SELECT provider, external_id, display_number, initial_status, at, CASE WHEN initial_status = 'session_connected' THEN now() END
    FROM jsonb_to_recordset(${jsonb(rows)}) AS x(provider text, external_id text, display_number text, at timestamptz, initial_status text)
    ON CONFLICT (provider, external_id) DO UPDATE SET
      display_number = COALESCE(EXCLUDED.display_number, sessions.display_number),
      last_event_at = GREATEST(sessions.last_event_at, EXCLUDED.last_event_at),
      status = CASE WHEN sessions.provider IN ('meta', 'wablas') THEN 'session_connected' ELSE sessions.status END,
      connected_at = CASE WHEN sessions.provider IN ('meta', 'wablas') THEN COALESCE(sessions.connected_at, EXCLUDED.connected_at) ELSE sessions.connected_at END,
      updated_at = now()`;
}

/**
 * Applies one lifecycle event to its session (status, message, QR, loading, connection time) and records it,
 * with the status before and after, in session_events.
 */
function sessionEventSql({ event, job }: Item<SessionEvent>): string {
  const c = event.change;
  const row = {
    provider: event.session.provider,
    session_external_id: event.session.externalId,
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
  return `WITH x AS (
      SELECT * FROM jsonb_to_recordset(${jsonb([row])}) AS x(provider text, session_external_id text, dedupe_key text,
        event text, status text, message text, qr_action text, qr text, has_loading boolean, loading_percent int,
        connected boolean, payload jsonb, at timestamptz)
    ), prev AS (
      SELECT s.id, s.status FROM sessions s JOIN x ON s.provider = x.provider AND s.external_id = x.session_external_id
    ), upd AS (
      UPDATE sessions s SET
        status = COALESCE(x.status, s.status),
        status_message = COALESCE(x.message, s.status_message),
        qr = CASE x.qr_action WHEN 'set' THEN x.qr WHEN 'clear' THEN NULL ELSE s.qr END,
        qr_at = CASE x.qr_action WHEN 'set' THEN x.at WHEN 'clear' THEN NULL ELSE s.qr_at END,
        loading_percent = CASE WHEN x.has_loading THEN x.loading_percent ELSE s.loading_percent END,
        connected_at = CASE WHEN x.connected THEN x.at ELSE s.connected_at END,
        last_event_at = GREATEST(s.last_event_at, x.at),
        updated_at = now()
      FROM x WHERE s.provider = x.provider AND s.external_id = x.session_external_id
    )
    INSERT INTO session_events (session_id, event, from_status, to_status, message, payload, occurred_at, webhook_event_id)
    SELECT prev.id, x.event, prev.status, COALESCE(x.status, prev.status), x.message, x.payload, x.at, w.id
    FROM prev CROSS JOIN x LEFT JOIN webhook_events w ON w.provider = x.provider AND w.dedupe_key = x.dedupe_key`;
}

function callsSql(items: Item<CallEvent>[]): string {
  const rows = items.map(({ event, job }) => ({
    provider: event.session.provider,
    session_external_id: event.session.externalId,
    dedupe_key: job.dedupeKey,
    external_id: event.call.externalId,
    chat_id: event.call.chatId,
    from_me: event.call.fromMe,
    is_video: event.call.isVideo,
    is_group: event.call.isGroup,
    occurred_at: event.call.timestamp.toISOString(),
    raw: event.call.raw,
  }));
  return `INSERT INTO calls (session_id, external_id, chat_id, from_me, is_video, is_group, occurred_at, raw, webhook_event_id)
    SELECT s.id, x.external_id, x.chat_id, x.from_me, x.is_video, x.is_group, x.occurred_at, x.raw, w.id
    FROM jsonb_to_recordset(${jsonb(rows)}) AS x(provider text, session_external_id text, dedupe_key text, external_id text,
      chat_id text, from_me boolean, is_video boolean, is_group boolean, occurred_at timestamptz, raw jsonb)
    ${SESSION_JOIN}
    LEFT JOIN webhook_events w ON w.provider = x.provider AND w.dedupe_key = x.dedupe_key
    ON CONFLICT (session_id, external_id) DO NOTHING`;
}

/** Stores delivered media bytes and completes the message's media descriptor when the message is stored. */
function mediaSql(items: Item<MediaEvent>[]): string {
  const rows = items.map(({ event }) => ({
    provider: event.session.provider,
    session_external_id: event.session.externalId,
    external_id: event.externalId,
    mime_type: event.media.mimeType,
    filename: event.media.filename,
    size: event.media.size,
    data: event.media.base64,
  }));
  return `WITH x AS (
      SELECT s.id AS session_id, x.* FROM jsonb_to_recordset(${jsonb(rows)}) AS x(provider text, session_external_id text,
        external_id text, mime_type text, filename text, size int, data text) ${SESSION_JOIN}
    ), ins AS (
      INSERT INTO message_media (session_id, external_id, mime_type, filename, size, data)
      SELECT session_id, external_id, mime_type, filename, COALESCE(size, length(decode(data, 'base64'))), decode(data, 'base64') FROM x
      ON CONFLICT (session_id, external_id) DO NOTHING
    )
    UPDATE messages m SET media = COALESCE(m.media, '{}'::jsonb) || jsonb_strip_nulls(jsonb_build_object(
        'mimeType', x.mime_type, 'filename', x.filename, 'size', x.size, 'stored', true))
    FROM x WHERE m.session_id = x.session_id AND m.external_id = x.external_id`;
}

/** Deletion for everyone or an edit of a stored message; the text before an edit is kept in `edits`. */
function messageUpdateSql({ event }: Item<UpdateEvent>): string {
  const row = {
    provider: event.session.provider,
    session_external_id: event.session.externalId,
    external_id: event.externalId,
    deleted: event.update.deleted === true,
    new_text: event.update.newText ?? null,
    previous_text: event.update.previousText ?? null,
    at: event.update.timestamp.toISOString(),
  };
  return `UPDATE messages m SET
      deleted_at = CASE WHEN x.deleted THEN COALESCE(m.deleted_at, x.at) ELSE m.deleted_at END,
      text = CASE WHEN x.new_text IS NOT NULL AND m.caption IS NULL THEN x.new_text ELSE m.text END,
      caption = CASE WHEN x.new_text IS NOT NULL AND m.caption IS NOT NULL THEN x.new_text ELSE m.caption END,
      edited_at = CASE WHEN x.new_text IS NOT NULL THEN x.at ELSE m.edited_at END,
      edits = CASE WHEN x.new_text IS NOT NULL
        THEN COALESCE(m.edits, '[]'::jsonb) || jsonb_build_array(jsonb_build_object('text', COALESCE(x.previous_text, m.text, m.caption), 'replacedAt', x.at))
        ELSE m.edits END
    FROM jsonb_to_recordset(${jsonb([row])}) AS x(provider text, session_external_id text, external_id text, deleted boolean,
      new_text text, previous_text text, at timestamptz)
    ${SESSION_JOIN}
    WHERE m.session_id = s.id AND m.external_id = x.external_id`;
}

/** Sets (or, for an empty emoji, removes) one sender's reaction on the reacted message: `{ "<sender>": "👍" }`. */
function reactionSql({ event }: Item<ReactionEvent>): string {
  const row = { provider: event.session.provider, session_external_id: event.session.externalId, external_id: event.targetExternalId, sender: event.sender, emoji: event.emoji };
  return `UPDATE messages m SET reactions = CASE WHEN x.emoji IS NULL
        THEN NULLIF(COALESCE(m.reactions, '{}'::jsonb) - x.sender, '{}'::jsonb)
        ELSE COALESCE(m.reactions, '{}'::jsonb) || jsonb_build_object(x.sender, x.emoji) END
    FROM jsonb_to_recordset(${jsonb([row])}) AS x(provider text, session_external_id text, external_id text, sender text, emoji text)
    ${SESSION_JOIN}
    WHERE m.session_id = s.id AND m.external_id = x.external_id`;
}

function contactsSql(messages: InboundMessage[]): string | null {
  const names = new Map<string, string | null>();
  for (const m of messages) {
    if (!m.contact) continue;
    names.set(m.contact.phone, m.contact.profileName ?? names.get(m.contact.phone) ?? null);
  }
  if (names.size === 0) return null;
  const rows = [...names.keys()].sort().map((phone) => ({ phone, name: names.get(phone) }));
  // Existing contacts are only rewritten when the provider reports a new profile name.
  return `INSERT INTO contacts (phone, profile_name)
    SELECT phone, name FROM jsonb_to_recordset(${jsonb(rows)}) AS x(phone text, name text)
    ON CONFLICT (phone) DO UPDATE SET profile_name = EXCLUDED.profile_name, updated_at = now()
      WHERE EXCLUDED.profile_name IS NOT NULL AND EXCLUDED.profile_name IS DISTINCT FROM contacts.profile_name`;
}

function conversationsSql(events: MessageEvent[]): string {
  const convs = new Map<string, { provider: string; session_external_id: string; chat_id: string; is_group: boolean; phone: string | null; subject: string | null }>();
  for (const { session, message: m } of events) {
    const key = `${sessionKey(session)}\u0000${m.chatId}`;
    const prev = convs.get(key);
    convs.set(key, {
      provider: session.provider,
      session_external_id: session.externalId,
      chat_id: m.chatId,
      is_group: m.isGroup,
      phone: m.contact?.phone ?? prev?.phone ?? null,
      subject: m.groupSubject ?? prev?.subject ?? null,
    });
  }
  const rows = [...convs.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, v]) => v);
  return `INSERT INTO conversations (session_id, chat_id, is_group, contact_id, subject)
    SELECT s.id, x.chat_id, x.is_group, c.id, x.subject
    FROM jsonb_to_recordset(${jsonb(rows)}) AS x(provider text, session_external_id text, chat_id text, is_group boolean, phone text, subject text)
    ${SESSION_JOIN} LEFT JOIN contacts c ON c.phone = x.phone
    ON CONFLICT (session_id, chat_id) DO UPDATE SET
      contact_id = COALESCE(conversations.contact_id, EXCLUDED.contact_id),
      subject = COALESCE(EXCLUDED.subject, conversations.subject)
      WHERE (conversations.contact_id IS NULL AND EXCLUDED.contact_id IS NOT NULL)
         OR (EXCLUDED.subject IS NOT NULL AND EXCLUDED.subject IS DISTINCT FROM conversations.subject)`;
}

/**
 * Inserts the messages that are new and bumps their conversations' counters in the same statement; returns the
 * id of every input message (new or stored earlier) by its input index.
 */
function messagesSql(rows: ReturnType<typeof messageRow>[]): string {
  // The same message twice in one batch (a retry racing the original) is inserted once.
  const seen = new Set<string>();
  const unique = rows.filter((r) => {
    const key = `${r.provider}\u0000${r.session_external_id}\u0000${r.external_id}`;
    return seen.has(key) ? false : (seen.add(key), true);
  });
  return `WITH input AS (
      SELECT x.*, s.id AS session_id, v.id AS conversation_id, c.id AS contact_id, w.id AS webhook_event_id
      FROM jsonb_to_recordset(${jsonb(rows)}) AS x(
        idx int, provider text, session_external_id text, dedupe_key text, phone text, external_id text,
        direction text, type text, chat_id text, sender text, sender_name text, text text, caption text, media jsonb,
        location jsonb, context jsonb, reply_to_external_id text, payload jsonb, status text,
        provider_timestamp timestamptz, raw jsonb)
      ${SESSION_JOIN}
      JOIN conversations v ON v.session_id = s.id AND v.chat_id = x.chat_id
      LEFT JOIN contacts c ON c.phone = x.phone
      LEFT JOIN webhook_events w ON w.provider = x.provider AND w.dedupe_key = x.dedupe_key
    ), ins AS (
      INSERT INTO messages (session_id, conversation_id, contact_id, external_id, direction, type, chat_id, sender,
        sender_name, text, caption, media, location, context, reply_to_external_id, payload, status, status_at,
        provider_timestamp, webhook_event_id, raw)
      SELECT session_id, conversation_id, contact_id, external_id, direction, type, chat_id, sender, sender_name,
        text, caption, media, location, context, reply_to_external_id, payload, status, provider_timestamp,
        provider_timestamp, webhook_event_id, raw
      FROM input WHERE idx = ANY(${escapeLiteral(`{${unique.map((r) => r.idx).join(',')}}`)}::int[])
      ON CONFLICT (session_id, external_id) DO NOTHING
      RETURNING id, session_id, external_id, conversation_id, direction, provider_timestamp,
        left(COALESCE(text, caption, '[' || type || ']'), 200) AS preview
    ), agg AS (
      SELECT conversation_id, count(*) AS n, count(*) FILTER (WHERE direction = 'in') AS n_in,
        max(provider_timestamp) AS last_at,
        (array_agg(preview ORDER BY provider_timestamp DESC, id DESC))[1] AS preview,
        (array_agg(direction ORDER BY provider_timestamp DESC, id DESC))[1] AS dir
      FROM ins GROUP BY conversation_id
    ), bump AS (
      UPDATE conversations c SET
        message_count = c.message_count + agg.n,
        unread_count = c.unread_count + agg.n_in,
        last_message_preview = CASE WHEN c.last_message_at IS NULL OR agg.last_at >= c.last_message_at THEN agg.preview ELSE c.last_message_preview END,
        last_message_direction = CASE WHEN c.last_message_at IS NULL OR agg.last_at >= c.last_message_at THEN agg.dir ELSE c.last_message_direction END,
        last_message_at = GREATEST(c.last_message_at, agg.last_at),
        updated_at = now()
      FROM agg WHERE c.id = agg.conversation_id
    )
    SELECT input.idx, COALESCE(ins.id, m.id) AS id
    FROM input
    LEFT JOIN ins ON ins.session_id = input.session_id AND ins.external_id = input.external_id
    LEFT JOIN messages m ON m.session_id = input.session_id AND m.external_id = input.external_id`;
}

function statusEventsSql(items: Item<StatusEvent>[]): string {
  const rows = items.map(({ event, job }) => statusRow(event, job));
  return `INSERT INTO message_status_events (session_id, external_id, status, occurred_at, recipient, error_code,
      error_title, error_detail, payload, webhook_event_id)
    SELECT s.id, x.external_id, x.status, x.occurred_at, x.recipient, x.error_code, x.error_title, x.error_detail, x.payload, w.id
    FROM jsonb_to_recordset(${jsonb(rows)}) AS x(provider text, session_external_id text, dedupe_key text,
      external_id text, status text, occurred_at timestamptz, recipient text, error_code text, error_title text,
      error_detail text, payload jsonb)
    ${SESSION_JOIN}
    LEFT JOIN webhook_events w ON w.provider = x.provider AND w.dedupe_key = x.dedupe_key
    ON CONFLICT (session_id, external_id, status) DO NOTHING`;
}

/**
 * Moves each keyed message to the highest-ranked status recorded for it (`wa_status_rank`, see the migrations),
 * so callbacks may arrive in any order, before their message, or twice. A `failed` event's error is kept.
 */
function applyStatusesSql(keys: { provider: string; session_external_id: string; external_id: string }[]): string {
  return `WITH keys AS (
      SELECT DISTINCT s.id AS session_id, x.external_id
      FROM jsonb_to_recordset(${jsonb(keys)}) AS x(provider text, session_external_id text, external_id text) ${SESSION_JOIN}
    ), best AS (
      SELECT DISTINCT ON (e.session_id, e.external_id) e.session_id, e.external_id, e.status, e.occurred_at
      FROM message_status_events e JOIN keys USING (session_id, external_id)
      ORDER BY e.session_id, e.external_id, wa_status_rank(e.status) DESC
    ), failure AS (
      SELECT e.session_id, e.external_id, e.error_code, e.error_title, e.error_detail
      FROM message_status_events e JOIN keys USING (session_id, external_id)
      WHERE e.status = 'failed'
    )
    UPDATE messages m SET
      status = CASE WHEN wa_status_rank(best.status) > wa_status_rank(m.status) THEN best.status ELSE m.status END,
      status_at = CASE WHEN wa_status_rank(best.status) > wa_status_rank(m.status) THEN best.occurred_at ELSE m.status_at END,
      error_code = COALESCE(m.error_code, failure.error_code),
      error_title = COALESCE(m.error_title, failure.error_title),
      error_detail = COALESCE(m.error_detail, failure.error_detail)
    FROM best LEFT JOIN failure USING (session_id, external_id)
    WHERE m.session_id = best.session_id AND m.external_id = best.external_id
      AND (wa_status_rank(best.status) > wa_status_rank(m.status) OR (failure.error_code IS NOT NULL AND m.error_code IS NULL))`;
}

function providerErrorsSql(items: Item<ErrorEvent>[]): string {
  const rows = items.map(({ event, job }) => ({
    provider: event.session?.provider ?? job.provider,
    session_external_id: event.session?.externalId ?? null,
    dedupe_key: job.dedupeKey,
    code: event.error.code,
    title: event.error.title,
    detail: event.error.detail,
    raw: event.error.raw,
    occurred_at: event.timestamp.toISOString(),
  }));
  return `INSERT INTO provider_errors (session_id, provider, code, title, detail, raw, occurred_at, webhook_event_id)
    SELECT s.id, x.provider, x.code, x.title, x.detail, x.raw, x.occurred_at, w.id
    FROM jsonb_to_recordset(${jsonb(rows)}) AS x(provider text, session_external_id text, dedupe_key text,
      code text, title text, detail text, raw jsonb, occurred_at timestamptz)
    LEFT JOIN sessions s ON s.provider = x.provider AND s.external_id = x.session_external_id
    LEFT JOIN webhook_events w ON w.provider = x.provider AND w.dedupe_key = x.dedupe_key`;
}

function messageRow(idx: number, { session, message: m }: MessageEvent, job: IngestJob) {
  return {
    idx,
    provider: session.provider,
    session_external_id: session.externalId,
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

function statusRow({ session, status: s }: StatusEvent, job: IngestJob) {
  return {
    provider: session.provider,
    session_external_id: session.externalId,
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

