import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `wa_ingest_batch(batch jsonb) → jsonb`: the whole write of one ingest batch, called with ONE parameter in one
 * round trip. PL/pgSQL caches its statements' plans per connection, and the batch arrives as a bound jsonb
 * parameter instead of SQL literals, which took the planning and lexing out of every batch (about half the
 * database time per batch in the ingest benchmark).
 *
 * Input sections (each a JSON array; see src/webhooks/ingest/ingest.repository.ts, which builds them):
 * raw, sessions, session_events (applied in order), contacts, conversations, messages, statuses, apply_keys,
 * errors, calls, media, updates (in order), reactions (in order).
 * Output: `{ "raw": [{ "id", "provider", "dedupe_key" }], "messages": [{ "idx", "id" }] }` (ids as text).
 *
 * Semantics are those of the statements it replaced: idempotent upserts by unique keys, conversation counters
 * incremented only for newly inserted messages, statuses applied by `wa_status_rank` (never backwards), a failed
 * status's error kept, lifecycle events applied and recorded one by one.
 */
export class IngestBatchFunction1763856000000 implements MigrationInterface {
  name = 'IngestBatchFunction1763856000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(INGEST_FUNCTION);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION IF EXISTS wa_ingest_batch(jsonb)`);
  }
}

const INGEST_FUNCTION = `
CREATE OR REPLACE FUNCTION wa_ingest_batch(b jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $fn$
DECLARE
  raw_ids jsonb;
  message_ids jsonb := '[]'::jsonb;
  ev jsonb;
BEGIN
  -- 1. Raw events: one row per (provider, SHA-256 of the body); a retry counts an attempt.
  WITH ins AS (
    INSERT INTO webhook_events (provider, dedupe_key, received_at, content_type, body, state, error, event_count)
    SELECT x.p, x.k, x.r, x.c, x.bd, x.s, x.e, x.n
    FROM jsonb_to_recordset(b->'raw') AS x(p text, k text, r timestamptz, c text, bd jsonb, s text, e text, n int)
    ON CONFLICT (provider, dedupe_key) DO UPDATE
      SET attempts = webhook_events.attempts + 1, state = EXCLUDED.state, error = EXCLUDED.error, event_count = EXCLUDED.event_count
    RETURNING id, provider, dedupe_key
  )
  SELECT COALESCE(jsonb_agg(jsonb_build_object('id', id::text, 'provider', provider, 'dedupe_key', dedupe_key)), '[]'::jsonb)
  INTO raw_ids FROM ins;

  -- 2. Sessions. Meta numbers and Wablas devices are connected once they deliver; others keep their status.
  -- Insert-or-nothing, then update only rows that change: every batch of one number touches the same session
  -- row, and a row updated (or locked by ON CONFLICT DO UPDATE) stays locked until commit, which serialised
  -- concurrent batches. last_event_at is therefore kept to the minute for message traffic.
  IF jsonb_array_length(COALESCE(b->'sessions', '[]')) > 0 THEN
    INSERT INTO sessions (provider, external_id, display_number, status, last_event_at, connected_at)
    SELECT x.provider, x.external_id, x.display_number, x.initial_status, x.at,
      CASE WHEN x.initial_status = 'session_connected' THEN now() END
    FROM jsonb_to_recordset(b->'sessions') AS x(provider text, external_id text, display_number text, at timestamptz, initial_status text)
    ON CONFLICT (provider, external_id) DO NOTHING;
    UPDATE sessions s SET
      display_number = COALESCE(x.display_number, s.display_number),
      last_event_at = GREATEST(s.last_event_at, x.at),
      status = CASE WHEN s.provider IN ('meta', 'wablas') THEN 'session_connected' ELSE s.status END,
      connected_at = CASE WHEN s.provider IN ('meta', 'wablas') THEN COALESCE(s.connected_at, now()) ELSE s.connected_at END,
      updated_at = now()
    FROM jsonb_to_recordset(b->'sessions') AS x(provider text, external_id text, display_number text, at timestamptz, initial_status text)
    WHERE s.provider = x.provider AND s.external_id = x.external_id
      AND ((x.display_number IS NOT NULL AND s.display_number IS DISTINCT FROM x.display_number)
        OR (s.provider IN ('meta', 'wablas') AND s.status <> 'session_connected')
        OR s.last_event_at IS NULL OR s.last_event_at < x.at - interval '1 minute');
  END IF;

  -- 3. Lifecycle events, in arrival order: apply, and record with the status before and after.
  FOR ev IN SELECT value FROM jsonb_array_elements(COALESCE(b->'session_events', '[]'::jsonb)) LOOP
    WITH x AS (
      SELECT * FROM jsonb_to_record(ev) AS x(provider text, session_external_id text, dedupe_key text, event text,
        status text, message text, qr_action text, qr text, has_loading boolean, loading_percent int,
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
    FROM prev CROSS JOIN x LEFT JOIN webhook_events w ON w.provider = x.provider AND w.dedupe_key = x.dedupe_key;
  END LOOP;

  -- 4. Contacts: insert-or-nothing, then rewritten only when the provider reports a new profile name (for the
  -- same reason as sessions: no lock on rows that do not change).
  IF jsonb_array_length(COALESCE(b->'contacts', '[]')) > 0 THEN
    INSERT INTO contacts (phone, profile_name)
    SELECT x.phone, x.name FROM jsonb_to_recordset(b->'contacts') AS x(phone text, name text)
    ON CONFLICT (phone) DO NOTHING;
    UPDATE contacts c SET profile_name = x.name, updated_at = now()
    FROM jsonb_to_recordset(b->'contacts') AS x(phone text, name text)
    WHERE c.phone = x.phone AND x.name IS NOT NULL AND c.profile_name IS DISTINCT FROM x.name;
  END IF;

  -- 5. Conversations (sorted input: concurrent batches lock rows in the same order).
  IF jsonb_array_length(COALESCE(b->'conversations', '[]')) > 0 THEN
    INSERT INTO conversations (session_id, chat_id, is_group, contact_id, subject)
    SELECT s.id, x.chat_id, x.is_group, c.id, x.subject
    FROM jsonb_to_recordset(b->'conversations') AS x(provider text, session_external_id text, chat_id text, is_group boolean, phone text, subject text)
    JOIN sessions s ON s.provider = x.provider AND s.external_id = x.session_external_id
    LEFT JOIN contacts c ON c.phone = x.phone
    ON CONFLICT (session_id, chat_id) DO UPDATE SET
      contact_id = COALESCE(conversations.contact_id, EXCLUDED.contact_id),
      subject = COALESCE(EXCLUDED.subject, conversations.subject)
      WHERE (conversations.contact_id IS NULL AND EXCLUDED.contact_id IS NOT NULL)
         OR (EXCLUDED.subject IS NOT NULL AND EXCLUDED.subject IS DISTINCT FROM conversations.subject);
  END IF;

  -- 6. Messages: new ones inserted, their conversations' counters bumped; ids of all inputs returned.
  IF jsonb_array_length(COALESCE(b->'messages', '[]')) > 0 THEN
    WITH input AS (
      SELECT x.*, s.id AS session_id, v.id AS conversation_id, c.id AS contact_id, w.id AS webhook_event_id
      FROM jsonb_to_recordset(b->'messages') AS x(
        idx int, dup boolean, provider text, session_external_id text, dedupe_key text, phone text, external_id text,
        direction text, type text, chat_id text, sender text, sender_name text, text text, caption text, media jsonb,
        location jsonb, context jsonb, reply_to_external_id text, payload jsonb, status text,
        provider_timestamp timestamptz, raw jsonb)
      JOIN sessions s ON s.provider = x.provider AND s.external_id = x.session_external_id
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
      FROM input WHERE NOT dup
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
    SELECT COALESCE(jsonb_agg(jsonb_build_object('idx', input.idx, 'id', COALESCE(ins.id, m.id)::text)), '[]'::jsonb)
    INTO message_ids
    FROM input
    LEFT JOIN ins ON ins.session_id = input.session_id AND ins.external_id = input.external_id
    LEFT JOIN messages m ON m.session_id = input.session_id AND m.external_id = input.external_id;
  END IF;

  -- 7. Status events (kept even when their message is unknown), then statuses applied by rank.
  IF jsonb_array_length(COALESCE(b->'statuses', '[]')) > 0 THEN
    INSERT INTO message_status_events (session_id, external_id, status, occurred_at, recipient, error_code,
      error_title, error_detail, payload, webhook_event_id)
    SELECT s.id, x.external_id, x.status, x.occurred_at, x.recipient, x.error_code, x.error_title, x.error_detail, x.payload, w.id
    FROM jsonb_to_recordset(b->'statuses') AS x(provider text, session_external_id text, dedupe_key text,
      external_id text, status text, occurred_at timestamptz, recipient text, error_code text, error_title text,
      error_detail text, payload jsonb)
    JOIN sessions s ON s.provider = x.provider AND s.external_id = x.session_external_id
    LEFT JOIN webhook_events w ON w.provider = x.provider AND w.dedupe_key = x.dedupe_key
    ON CONFLICT (session_id, external_id, status) DO NOTHING;
  END IF;
  IF jsonb_array_length(COALESCE(b->'apply_keys', '[]')) > 0 THEN
    WITH keys AS (
      SELECT DISTINCT s.id AS session_id, x.external_id
      FROM jsonb_to_recordset(b->'apply_keys') AS x(provider text, session_external_id text, external_id text)
      JOIN sessions s ON s.provider = x.provider AND s.external_id = x.session_external_id
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
      AND (wa_status_rank(best.status) > wa_status_rank(m.status) OR (failure.error_code IS NOT NULL AND m.error_code IS NULL));
  END IF;

  -- 8. Errors a provider reported outside any message (Meta value.errors[]).
  IF jsonb_array_length(COALESCE(b->'errors', '[]')) > 0 THEN
    INSERT INTO provider_errors (session_id, provider, code, title, detail, raw, occurred_at, webhook_event_id)
    SELECT s.id, x.provider, x.code, x.title, x.detail, x.raw, x.occurred_at, w.id
    FROM jsonb_to_recordset(b->'errors') AS x(provider text, session_external_id text, dedupe_key text,
      code text, title text, detail text, raw jsonb, occurred_at timestamptz)
    LEFT JOIN sessions s ON s.provider = x.provider AND s.external_id = x.session_external_id
    LEFT JOIN webhook_events w ON w.provider = x.provider AND w.dedupe_key = x.dedupe_key;
  END IF;

  -- 9. Calls.
  IF jsonb_array_length(COALESCE(b->'calls', '[]')) > 0 THEN
    INSERT INTO calls (session_id, external_id, chat_id, from_me, is_video, is_group, occurred_at, raw, webhook_event_id)
    SELECT s.id, x.external_id, x.chat_id, x.from_me, x.is_video, x.is_group, x.occurred_at, x.raw, w.id
    FROM jsonb_to_recordset(b->'calls') AS x(provider text, session_external_id text, dedupe_key text, external_id text,
      chat_id text, from_me boolean, is_video boolean, is_group boolean, occurred_at timestamptz, raw jsonb)
    JOIN sessions s ON s.provider = x.provider AND s.external_id = x.session_external_id
    LEFT JOIN webhook_events w ON w.provider = x.provider AND w.dedupe_key = x.dedupe_key
    ON CONFLICT (session_id, external_id) DO NOTHING;
  END IF;

  -- 10. Media bytes, and the message's media descriptor completed when the message is stored.
  IF jsonb_array_length(COALESCE(b->'media', '[]')) > 0 THEN
    WITH x AS (
      SELECT s.id AS session_id, x.* FROM jsonb_to_recordset(b->'media') AS x(provider text, session_external_id text,
        external_id text, mime_type text, filename text, size int, data text)
      JOIN sessions s ON s.provider = x.provider AND s.external_id = x.session_external_id
    ), ins AS (
      INSERT INTO message_media (session_id, external_id, mime_type, filename, size, data)
      SELECT session_id, external_id, mime_type, filename, COALESCE(size, length(decode(data, 'base64'))), decode(data, 'base64') FROM x
      ON CONFLICT (session_id, external_id) DO NOTHING
    )
    UPDATE messages m SET media = COALESCE(m.media, '{}'::jsonb) || jsonb_strip_nulls(jsonb_build_object(
        'mimeType', x.mime_type, 'filename', x.filename, 'size', x.size, 'stored', true))
    FROM x WHERE m.session_id = x.session_id AND m.external_id = x.external_id;
  END IF;

  -- 11. Deletions for everyone and edits, in order; the text before an edit is kept in edits.
  FOR ev IN SELECT value FROM jsonb_array_elements(COALESCE(b->'updates', '[]'::jsonb)) LOOP
    UPDATE messages m SET
      deleted_at = CASE WHEN x.deleted THEN COALESCE(m.deleted_at, x.at) ELSE m.deleted_at END,
      text = CASE WHEN x.new_text IS NOT NULL AND m.caption IS NULL THEN x.new_text ELSE m.text END,
      caption = CASE WHEN x.new_text IS NOT NULL AND m.caption IS NOT NULL THEN x.new_text ELSE m.caption END,
      edited_at = CASE WHEN x.new_text IS NOT NULL THEN x.at ELSE m.edited_at END,
      edits = CASE WHEN x.new_text IS NOT NULL
        THEN COALESCE(m.edits, '[]'::jsonb) || jsonb_build_array(jsonb_build_object('text', COALESCE(x.previous_text, m.text, m.caption), 'replacedAt', x.at))
        ELSE m.edits END
    FROM jsonb_to_record(ev) AS x(provider text, session_external_id text, external_id text, deleted boolean,
      new_text text, previous_text text, at timestamptz)
    JOIN sessions s ON s.provider = x.provider AND s.external_id = x.session_external_id
    WHERE m.session_id = s.id AND m.external_id = x.external_id;
  END LOOP;

  -- 12. Reactions, in order: one sender's reaction set, or removed by an empty emoji.
  FOR ev IN SELECT value FROM jsonb_array_elements(COALESCE(b->'reactions', '[]'::jsonb)) LOOP
    UPDATE messages m SET reactions = CASE WHEN x.emoji IS NULL
        THEN NULLIF(COALESCE(m.reactions, '{}'::jsonb) - x.sender, '{}'::jsonb)
        ELSE COALESCE(m.reactions, '{}'::jsonb) || jsonb_build_object(x.sender, x.emoji) END
    FROM jsonb_to_record(ev) AS x(provider text, session_external_id text, external_id text, sender text, emoji text)
    JOIN sessions s ON s.provider = x.provider AND s.external_id = x.session_external_id
    WHERE m.session_id = s.id AND m.external_id = x.external_id;
  END LOOP;

  RETURN jsonb_build_object('raw', raw_ids, 'messages', message_ids);
END
$fn$`;
