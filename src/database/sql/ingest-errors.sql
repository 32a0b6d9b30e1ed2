-- Errors a provider reported outside any message (Meta value.errors[]).
CREATE OR REPLACE FUNCTION wa_ingest_errors(rows jsonb) RETURNS void
LANGUAGE plpgsql AS $fn$
BEGIN
  IF jsonb_array_length(COALESCE(rows, '[]')) > 0 THEN
    INSERT INTO provider_errors (session_id, provider, code, title, detail, raw, occurred_at, webhook_event_id)
    SELECT s.id, x.provider, x.code, x.title, x.detail, x.raw, x.occurred_at, w.id
    FROM jsonb_to_recordset(rows) AS x(provider text, session_external_id text, dedupe_key text,
      code text, title text, detail text, raw jsonb, occurred_at timestamptz)
    LEFT JOIN sessions s ON s.provider = x.provider AND s.external_id = x.session_external_id
    LEFT JOIN webhook_events w ON w.provider = x.provider AND w.dedupe_key = x.dedupe_key;
  END IF;
END
$fn$;
