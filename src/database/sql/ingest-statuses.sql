-- Status events (kept even when their message is unknown), then statuses applied by rank.
CREATE OR REPLACE FUNCTION wa_ingest_statuses(rows jsonb, apply_keys jsonb) RETURNS void
LANGUAGE plpgsql AS $fn$
BEGIN
  IF jsonb_array_length(COALESCE(rows, '[]')) > 0 THEN
    INSERT INTO message_status_events (session_id, external_id, status, occurred_at, recipient, error_code,
      error_title, error_detail, payload, webhook_event_id)
    SELECT s.id, x.external_id, x.status, x.occurred_at, x.recipient, x.error_code, x.error_title, x.error_detail, x.payload, w.id
    FROM jsonb_to_recordset(rows) AS x(provider text, session_external_id text, dedupe_key text,
      external_id text, status text, occurred_at timestamptz, recipient text, error_code text, error_title text,
      error_detail text, payload jsonb)
    JOIN sessions s ON s.provider = x.provider AND s.external_id = x.session_external_id
    LEFT JOIN webhook_events w ON w.provider = x.provider AND w.dedupe_key = x.dedupe_key
    ON CONFLICT (session_id, external_id, status) DO NOTHING;
  END IF;
  IF jsonb_array_length(COALESCE(apply_keys, '[]')) > 0 THEN
    WITH keys AS (
      SELECT DISTINCT s.id AS session_id, x.external_id
      FROM jsonb_to_recordset(apply_keys) AS x(provider text, session_external_id text, external_id text)
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
    , upd AS (
    UPDATE messages m SET
      status = CASE WHEN wa_status_rank(best.status) > wa_status_rank(m.status) THEN best.status ELSE m.status END,
      status_at = CASE WHEN wa_status_rank(best.status) > wa_status_rank(m.status) THEN best.occurred_at ELSE m.status_at END,
      error_code = COALESCE(m.error_code, failure.error_code),
      error_title = COALESCE(m.error_title, failure.error_title),
      error_detail = COALESCE(m.error_detail, failure.error_detail)
    FROM best LEFT JOIN failure USING (session_id, external_id)
    WHERE m.session_id = best.session_id AND m.external_id = best.external_id
      AND (wa_status_rank(best.status) > wa_status_rank(m.status) OR (failure.error_code IS NOT NULL AND m.error_code IS NULL))
    RETURNING m.id, m.session_id, m.external_id, m.conversation_id, m.status, m.status_at, m.error_code
    )
    -- One `message.updated` event per message whose status moved (or got its error).
    INSERT INTO events (type, session_id, data)
    SELECT 'message.updated', session_id,
      jsonb_build_object('messageId', id::text, 'externalId', external_id, 'conversationId', conversation_id::text,
        'change', 'status', 'status', status, 'statusAt', status_at, 'errorCode', error_code)
    FROM upd ORDER BY id;
  END IF;
END
$fn$;
