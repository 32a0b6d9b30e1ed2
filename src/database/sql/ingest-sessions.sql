-- Sessions. Only providers whose sessions live on their side (`may_create`: Meta numbers, Wablas devices, wwebjs
-- server sessions) get a session row created by an event; sessions wa-hub runs itself (Baileys) are created through
-- /v1/sessions only, so a late event of a deleted session is dropped with its session instead of re-creating it.
-- Those of providers whose sessions are connected by their traffic (`by_traffic`, from the provider's
-- definition: Meta numbers, Wablas devices) are connected once they deliver; others keep their status.
-- Insert-or-nothing, then update only rows that change: every batch of one number touches the same session
-- row, and a row updated (or locked by ON CONFLICT DO UPDATE) stays locked until commit, which serialised
-- concurrent batches. last_event_at is therefore kept to the minute for message traffic.
CREATE OR REPLACE FUNCTION wa_ingest_sessions(rows jsonb) RETURNS void
LANGUAGE plpgsql AS $fn$
BEGIN
  IF jsonb_array_length(COALESCE(rows, '[]')) > 0 THEN
    INSERT INTO sessions (provider, external_id, display_number, status, last_event_at, connected_at)
    SELECT x.provider, x.external_id, x.display_number, x.initial_status, x.at,
      CASE WHEN x.initial_status = 'connected' THEN now() END
    FROM jsonb_to_recordset(rows) AS x(provider text, external_id text, display_number text, at timestamptz, initial_status text, by_traffic boolean, may_create boolean)
    WHERE x.may_create
    ON CONFLICT (provider, external_id) DO NOTHING;
    UPDATE sessions s SET
      display_number = COALESCE(x.display_number, s.display_number),
      last_event_at = GREATEST(s.last_event_at, x.at),
      status = CASE WHEN x.by_traffic THEN 'connected' ELSE s.status END,
      connected_at = CASE WHEN x.by_traffic THEN COALESCE(s.connected_at, now()) ELSE s.connected_at END,
      updated_at = now()
    FROM jsonb_to_recordset(rows) AS x(provider text, external_id text, display_number text, at timestamptz, initial_status text, by_traffic boolean)
    WHERE s.provider = x.provider AND s.external_id = x.external_id
      AND ((x.display_number IS NOT NULL AND s.display_number IS DISTINCT FROM x.display_number)
        OR (x.by_traffic AND s.status <> 'connected')
        OR s.last_event_at IS NULL OR s.last_event_at < x.at - interval '1 minute');
  END IF;
END
$fn$;
