-- Messages: new ones inserted, their conversations' counters bumped, a `message.received` (inbound) or
-- `message.sent` (our own, echoed by the provider) event each; ids of all inputs returned.
CREATE OR REPLACE FUNCTION wa_ingest_messages(rows jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $fn$
DECLARE
  message_ids jsonb := '[]'::jsonb;
BEGIN
  IF jsonb_array_length(COALESCE(rows, '[]')) > 0 THEN
    WITH input AS (
      SELECT x.*, s.id AS session_id, v.id AS conversation_id, c.id AS contact_id, w.id AS webhook_event_id
      FROM jsonb_to_recordset(rows) AS x(
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
      RETURNING id, session_id, external_id, conversation_id, direction, provider_timestamp, type, chat_id, sender,
        left(COALESCE(text, caption, '[' || type || ']'), 200) AS preview
    ), ev AS (
      INSERT INTO events (type, session_id, data)
      SELECT CASE WHEN direction = 'in' THEN 'message.received' ELSE 'message.sent' END, session_id,
        jsonb_build_object('messageId', id::text, 'externalId', external_id, 'conversationId', conversation_id::text,
          'direction', direction, 'type', type, 'chatId', chat_id, 'sender', sender, 'preview', preview,
          'timestamp', provider_timestamp)
      FROM ins ORDER BY id
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
  RETURN message_ids;
END
$fn$;
