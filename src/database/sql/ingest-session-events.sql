-- Lifecycle events, in arrival order: apply, and record with the status before and after.
CREATE OR REPLACE FUNCTION wa_ingest_session_events(rows jsonb) RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
  ev jsonb;
BEGIN
  FOR ev IN SELECT value FROM jsonb_array_elements(COALESCE(rows, '[]'::jsonb)) LOOP
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
    , hist AS (
      INSERT INTO session_events (session_id, event, from_status, to_status, message, payload, occurred_at, webhook_event_id)
      SELECT prev.id, x.event, prev.status, COALESCE(x.status, prev.status), x.message, x.payload, x.at, w.id
      FROM prev CROSS JOIN x LEFT JOIN webhook_events w ON w.provider = x.provider AND w.dedupe_key = x.dedupe_key
    )
    -- `session.status` when the status changes, `session.qr` when a new QR is live (both may come at once).
    INSERT INTO events (type, session_id, data)
    SELECT e.type, prev.id, e.data
    FROM prev CROSS JOIN x
    CROSS JOIN LATERAL (VALUES
      ('session.status', x.status IS NOT NULL AND x.status IS DISTINCT FROM prev.status,
        jsonb_build_object('event', x.event, 'from', prev.status, 'status', x.status, 'message', x.message, 'at', x.at)),
      ('session.qr', x.qr_action = 'set', jsonb_build_object('qr', x.qr, 'at', x.at))
    ) AS e(type, wanted, data)
    WHERE e.wanted;
  END LOOP;
END
$fn$;
