import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, QueryRunner } from 'typeorm';
import type { InboundEvent, InboundMessage, InboundStatus, SessionRef } from './inbound-event';
import type { IngestJob, IngestResult } from './ingest.types';

type MessageEvent = Extract<InboundEvent, { kind: 'message' }>;
type StatusEvent = Extract<InboundEvent, { kind: 'status' }>;
type ErrorEvent = Extract<InboundEvent, { kind: 'provider_error' }>;

const sessionKey = (s: SessionRef) => `${s.provider}\u0000${s.externalId}`;

/**
 * Writes batches of normalised webhooks with set-based SQL: one statement per table for the whole batch,
 * idempotent through unique constraints (`ON CONFLICT`), counters incremented in SQL (no read-modify-write),
 * statuses applied by rank so they only move forward. Everything of a batch commits in one transaction, which
 * also stores the raw events: the caller answers 2xx only after this returns.
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
    const qr = this.dataSource.createQueryRunner();
    await qr.connect();
    try {
      await qr.startTransaction();
      const results = await this.write(qr, jobs);
      await qr.commitTransaction();
      return results;
    } catch (e) {
      if (qr.isTransactionActive) await qr.rollbackTransaction().catch(() => undefined);
      throw e;
    } finally {
      await qr.release();
    }
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

  private async write(qr: QueryRunner, jobs: IngestJob[]): Promise<IngestResult[]> {
    const eventIds = await this.insertRawEvents(qr, jobs);
    const all = jobs.flatMap((job, j) => job.events.map((event) => ({ event, eventId: eventIds[j] })));
    const messages = all.filter((x): x is { event: MessageEvent; eventId: string } => x.event.kind === 'message');
    const statuses = all.filter((x): x is { event: StatusEvent; eventId: string } => x.event.kind === 'status');
    const errors = all.filter((x): x is { event: ErrorEvent; eventId: string } => x.event.kind === 'provider_error');

    const sessionIds = await this.upsertSessions(qr, [...messages, ...statuses, ...errors].map((x) => x.event));
    const messageIds = await this.insertMessages(qr, messages, sessionIds);
    await this.insertStatuses(qr, statuses, sessionIds);
    const outboundKeys = messages
      .filter((m) => m.event.message.direction === 'out')
      .map((m) => ({ sessionId: sessionIds.get(sessionKey(m.event.session))!, externalId: m.event.message.externalId }));
    const statusKeys = statuses.map((s) => ({ sessionId: sessionIds.get(sessionKey(s.event.session))!, externalId: s.event.status.externalId }));
    await this.applyStatuses(qr, [...statusKeys, ...outboundKeys]);
    await this.insertProviderErrors(qr, errors, sessionIds);

    return jobs.map((job, j) => ({
      webhookEventId: eventIds[j],
      state: job.state,
      error: job.error,
      messageIds: job.events.flatMap((e) =>
        e.kind === 'message' ? [messageIds.get(`${sessionIds.get(sessionKey(e.session))}\u0000${e.message.externalId}`)!] : [],
      ),
    }));
  }

  private async insertRawEvents(qr: QueryRunner, jobs: IngestJob[]): Promise<string[]> {
    // A provider retry inside the same batch would make ON CONFLICT DO UPDATE touch a row twice: send each key once.
    const firstIndex = new Map<string, number>();
    jobs.forEach((j, i) => firstIndex.has(`${j.provider}:${j.dedupeKey}`) || firstIndex.set(`${j.provider}:${j.dedupeKey}`, i));
    const unique = [...firstIndex.values()].map((i) => jobs[i]);
    const rows = (await qr.query(
      `INSERT INTO webhook_events (provider, dedupe_key, received_at, content_type, body, state, error, event_count)
       SELECT p, k, r, c, b::jsonb, s, e, n
       FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int[])
         AS x(p, k, r, c, b, s, e, n)
       ON CONFLICT (provider, dedupe_key) DO UPDATE
         SET attempts = webhook_events.attempts + 1, state = EXCLUDED.state, error = EXCLUDED.error, event_count = EXCLUDED.event_count
       RETURNING id, provider, dedupe_key`,
      [
        unique.map((j) => j.provider),
        unique.map((j) => j.dedupeKey),
        unique.map((j) => j.receivedAt.toISOString()),
        unique.map((j) => j.contentType),
        unique.map((j) => j.bodyJson),
        unique.map((j) => j.state),
        unique.map((j) => j.error),
        unique.map((j) => j.events.filter((e) => e.kind === 'message' || e.kind === 'status' || e.kind === 'provider_error').length),
      ],
    )) as { id: string; provider: string; dedupe_key: string }[];
    const ids = new Map(rows.map((r) => [`${r.provider}:${r.dedupe_key}`, String(r.id)]));
    return jobs.map((j) => ids.get(`${j.provider}:${j.dedupeKey}`)!);
  }

  /** Upserts every session the events mention; Meta numbers and Wablas devices are connected once they deliver. */
  private async upsertSessions(qr: QueryRunner, events: (MessageEvent | StatusEvent | ErrorEvent)[]): Promise<Map<string, string>> {
    const refs = new Map<string, { ref: SessionRef; at: Date }>();
    for (const e of events) {
      if (!e.session) continue;
      const at = e.kind === 'message' ? e.message.timestamp : e.kind === 'status' ? e.status.timestamp : e.timestamp;
      const prev = refs.get(sessionKey(e.session));
      if (!prev || prev.at < at || (!prev.ref.displayNumber && e.session.displayNumber)) {
        refs.set(sessionKey(e.session), { ref: { ...e.session, displayNumber: e.session.displayNumber ?? prev?.ref.displayNumber }, at: prev && prev.at > at ? prev.at : at });
      }
    }
    if (refs.size === 0) return new Map();
    // Sorted so that concurrent batches (several processes) lock session rows in the same order.
    const list = [...refs.values()].sort((a, b) => sessionKey(a.ref).localeCompare(sessionKey(b.ref)));
    const rows = (await qr.query(
      `INSERT INTO sessions (provider, external_id, display_number, status, last_event_at, connected_at)
       SELECT p, x, d, 'session_connected', t, now()
       FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[]) AS u(p, x, d, t)
       ON CONFLICT (provider, external_id) DO UPDATE SET
         display_number = COALESCE(EXCLUDED.display_number, sessions.display_number),
         last_event_at = GREATEST(sessions.last_event_at, EXCLUDED.last_event_at),
         status = CASE WHEN sessions.provider IN ('meta', 'wablas') THEN 'session_connected' ELSE sessions.status END,
         connected_at = COALESCE(sessions.connected_at, EXCLUDED.connected_at),
         updated_at = now()
       RETURNING id, provider, external_id`,
      [list.map((s) => s.ref.provider), list.map((s) => s.ref.externalId), list.map((s) => s.ref.displayNumber ?? null), list.map((s) => s.at.toISOString())],
    )) as { id: string; provider: string; external_id: string }[];
    return new Map(rows.map((r) => [`${r.provider}\u0000${r.external_id}`, r.id]));
  }

  /**
   * Inserts contacts, conversations and messages; bumps conversation counters for the messages that were new.
   * @returns message id by `sessionId \0 externalId`, for new and already-stored messages alike.
   */
  private async insertMessages(
    qr: QueryRunner,
    items: { event: MessageEvent; eventId: string }[],
    sessionIds: Map<string, string>,
  ): Promise<Map<string, string>> {
    if (items.length === 0) return new Map();
    const contactIds = await this.upsertContacts(qr, items.map((i) => i.event.message));
    const conversationIds = await this.upsertConversations(qr, items, sessionIds, contactIds);

    const seen = new Set<string>();
    const rows: Record<string, unknown>[] = [];
    for (const { event, eventId } of items) {
      const m = event.message;
      const sessionId = sessionIds.get(sessionKey(event.session))!;
      const key = `${sessionId}\u0000${m.externalId}`;
      if (seen.has(key)) continue; // the same message twice in one batch (a retry racing the original)
      seen.add(key);
      rows.push(messageRow(m, sessionId, conversationIds.get(`${sessionId}\u0000${m.chatId}`)!, m.contact ? contactIds.get(m.contact.phone) : null, eventId));
    }
    const inserted = (await qr.query(
      `WITH input AS (
         SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(
           session_id uuid, conversation_id uuid, contact_id uuid, external_id text, direction text, type text,
           chat_id text, sender text, sender_name text, text text, caption text, media jsonb, location jsonb,
           context jsonb, reply_to_external_id text, payload jsonb, status text, provider_timestamp timestamptz,
           webhook_event_id bigint, raw jsonb)
       ), ins AS (
         INSERT INTO messages (session_id, conversation_id, contact_id, external_id, direction, type, chat_id, sender,
           sender_name, text, caption, media, location, context, reply_to_external_id, payload, status, status_at,
           provider_timestamp, webhook_event_id, raw)
         SELECT session_id, conversation_id, contact_id, external_id, direction, type, chat_id, sender, sender_name,
           text, caption, media, location, context, reply_to_external_id, payload, status, provider_timestamp,
           provider_timestamp, webhook_event_id, raw
         FROM input
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
       SELECT id, session_id, external_id FROM ins`,
      [JSON.stringify(rows)],
    )) as { id: string; session_id: string; external_id: string }[];
    const ids = new Map(inserted.map((r) => [`${r.session_id}\u0000${r.external_id}`, String(r.id)]));
    if (ids.size < rows.length) {
      // Duplicates (provider retries): look up the rows stored earlier.
      const missing = rows.filter((r) => !ids.has(`${r.session_id}\u0000${r.external_id}`));
      const existing = (await qr.query(
        `SELECT m.id, m.session_id, m.external_id FROM messages m
         JOIN unnest($1::uuid[], $2::text[]) AS k(s, x) ON m.session_id = k.s AND m.external_id = k.x`,
        [missing.map((r) => r.session_id), missing.map((r) => r.external_id)],
      )) as { id: string; session_id: string; external_id: string }[];
      for (const r of existing) ids.set(`${r.session_id}\u0000${r.external_id}`, String(r.id));
    }
    return ids;
  }

  private async upsertContacts(qr: QueryRunner, messages: InboundMessage[]): Promise<Map<string, string>> {
    const names = new Map<string, string | null>();
    for (const m of messages) {
      if (!m.contact) continue;
      const name = m.contact.profileName ?? null;
      if (!names.has(m.contact.phone) || name) names.set(m.contact.phone, name ?? names.get(m.contact.phone) ?? null);
    }
    if (names.size === 0) return new Map();
    const phones = [...names.keys()].sort();
    const rows = (await qr.query(
      `INSERT INTO contacts (phone, profile_name)
       SELECT * FROM unnest($1::text[], $2::text[])
       ON CONFLICT (phone) DO UPDATE SET
         profile_name = COALESCE(EXCLUDED.profile_name, contacts.profile_name),
         updated_at = CASE WHEN EXCLUDED.profile_name IS DISTINCT FROM contacts.profile_name AND EXCLUDED.profile_name IS NOT NULL
                           THEN now() ELSE contacts.updated_at END
       RETURNING id, phone`,
      [phones, phones.map((p) => names.get(p))],
    )) as { id: string; phone: string }[];
    return new Map(rows.map((r) => [r.phone, r.id]));
  }

  private async upsertConversations(
    qr: QueryRunner,
    items: { event: MessageEvent }[],
    sessionIds: Map<string, string>,
    contactIds: Map<string, string>,
  ): Promise<Map<string, string>> {
    const convs = new Map<string, { sessionId: string; chatId: string; isGroup: boolean; contactId: string | null; subject: string | null }>();
    for (const { event } of items) {
      const m = event.message;
      const sessionId = sessionIds.get(sessionKey(event.session))!;
      const key = `${sessionId}\u0000${m.chatId}`;
      const prev = convs.get(key);
      convs.set(key, {
        sessionId,
        chatId: m.chatId,
        isGroup: m.isGroup,
        contactId: (m.contact ? contactIds.get(m.contact.phone) : null) ?? prev?.contactId ?? null,
        subject: m.groupSubject ?? prev?.subject ?? null,
      });
    }
    const list = [...convs.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, v]) => v);
    const rows = (await qr.query(
      `INSERT INTO conversations (session_id, chat_id, is_group, contact_id, subject)
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::bool[], $4::uuid[], $5::text[])
       ON CONFLICT (session_id, chat_id) DO UPDATE SET
         contact_id = COALESCE(conversations.contact_id, EXCLUDED.contact_id),
         subject = COALESCE(EXCLUDED.subject, conversations.subject)
       RETURNING id, session_id, chat_id`,
      [list.map((c) => c.sessionId), list.map((c) => c.chatId), list.map((c) => c.isGroup), list.map((c) => c.contactId), list.map((c) => c.subject)],
    )) as { id: string; session_id: string; chat_id: string }[];
    return new Map(rows.map((r) => [`${r.session_id}\u0000${r.chat_id}`, r.id]));
  }

  private async insertStatuses(qr: QueryRunner, items: { event: StatusEvent; eventId: string }[], sessionIds: Map<string, string>): Promise<void> {
    if (items.length === 0) return;
    const rows = items.map(({ event, eventId }) => statusRow(event.status, sessionIds.get(sessionKey(event.session))!, eventId));
    await qr.query(
      `INSERT INTO message_status_events (session_id, external_id, status, occurred_at, recipient, error_code,
         error_title, error_detail, payload, webhook_event_id)
       SELECT session_id, external_id, status, occurred_at, recipient, error_code, error_title, error_detail, payload, webhook_event_id
       FROM jsonb_to_recordset($1::jsonb) AS x(session_id uuid, external_id text, status text, occurred_at timestamptz,
         recipient text, error_code text, error_title text, error_detail text, payload jsonb, webhook_event_id bigint)
       ON CONFLICT (session_id, external_id, status) DO NOTHING`,
      [JSON.stringify(rows)],
    );
  }

  /**
   * Moves each keyed message to the highest-ranked status recorded for it (see `wa_status_rank` in the
   * migrations), so callbacks may arrive in any order, before their message, or twice. A `failed` event's error
   * is kept on the message.
   */
  private async applyStatuses(qr: QueryRunner, keys: { sessionId: string; externalId: string }[]): Promise<void> {
    if (keys.length === 0) return;
    await qr.query(
      `WITH keys AS (
         SELECT DISTINCT s AS session_id, x AS external_id FROM unnest($1::uuid[], $2::text[]) AS k(s, x)
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
         status = best.status,
         status_at = best.occurred_at,
         error_code = COALESCE(failure.error_code, m.error_code),
         error_title = COALESCE(failure.error_title, m.error_title),
         error_detail = COALESCE(failure.error_detail, m.error_detail)
       FROM best LEFT JOIN failure USING (session_id, external_id)
       WHERE m.session_id = best.session_id AND m.external_id = best.external_id
         AND (wa_status_rank(best.status) > wa_status_rank(m.status)
              OR (failure.error_code IS NOT NULL AND m.error_code IS NULL))`,
      [keys.map((k) => k.sessionId), keys.map((k) => k.externalId)],
    );
  }

  private async insertProviderErrors(qr: QueryRunner, items: { event: ErrorEvent; eventId: string }[], sessionIds: Map<string, string>): Promise<void> {
    if (items.length === 0) return;
    const rows = items.map(({ event, eventId }) => ({
      session_id: event.session ? (sessionIds.get(sessionKey(event.session)) ?? null) : null,
      provider: event.session?.provider ?? 'meta',
      code: event.error.code,
      title: event.error.title,
      detail: event.error.detail,
      raw: event.error.raw,
      occurred_at: event.timestamp.toISOString(),
      webhook_event_id: eventId,
    }));
    await qr.query(
      `INSERT INTO provider_errors (session_id, provider, code, title, detail, raw, occurred_at, webhook_event_id)
       SELECT session_id, provider, code, title, detail, raw, occurred_at, webhook_event_id
       FROM jsonb_to_recordset($1::jsonb) AS x(session_id uuid, provider text, code text, title text, detail text,
         raw jsonb, occurred_at timestamptz, webhook_event_id bigint)`,
      [JSON.stringify(rows)],
    );
  }
}

function messageRow(m: InboundMessage, sessionId: string, conversationId: string, contactId: string | null | undefined, eventId: string) {
  return {
    session_id: sessionId,
    conversation_id: conversationId,
    contact_id: contactId ?? null,
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
    webhook_event_id: eventId,
    raw: m.raw,
  };
}

function statusRow(s: InboundStatus, sessionId: string, eventId: string) {
  return {
    session_id: sessionId,
    external_id: s.externalId,
    status: s.status,
    occurred_at: s.timestamp.toISOString(),
    recipient: s.recipient ?? null,
    error_code: s.error?.code ?? null,
    error_title: s.error?.title ?? null,
    error_detail: s.error?.detail ?? null,
    payload: s.payload ?? null,
    webhook_event_id: eventId,
  };
}
