-- Calls.
CREATE OR REPLACE FUNCTION wa_ingest_calls(rows jsonb) RETURNS void
LANGUAGE plpgsql AS $fn$
BEGIN
  IF jsonb_array_length(COALESCE(rows, '[]')) > 0 THEN
    WITH ins AS (
      INSERT INTO calls (session_id, external_id, chat_id, from_me, is_video, is_group, occurred_at, raw, webhook_event_id)
      SELECT s.id, x.external_id, x.chat_id, x.from_me, x.is_video, x.is_group, x.occurred_at, x.raw, w.id
      FROM jsonb_to_recordset(rows) AS x(provider text, session_external_id text, dedupe_key text, external_id text,
        chat_id text, from_me boolean, is_video boolean, is_group boolean, occurred_at timestamptz, raw jsonb)
      JOIN sessions s ON s.provider = x.provider AND s.external_id = x.session_external_id
      LEFT JOIN webhook_events w ON w.provider = x.provider AND w.dedupe_key = x.dedupe_key
      ON CONFLICT (session_id, external_id) DO NOTHING
      RETURNING session_id, external_id, chat_id, from_me, is_video, is_group, occurred_at
    )
    -- A `call.received` event per new call (our own outgoing calls too: `fromMe`).
    INSERT INTO events (type, session_id, data)
    SELECT 'call.received', session_id, jsonb_build_object('externalId', external_id, 'chatId', chat_id,
      'fromMe', from_me, 'isVideo', is_video, 'isGroup', is_group, 'at', occurred_at)
    FROM ins;
  END IF;
END
$fn$;
