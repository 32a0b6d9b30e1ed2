-- Raw events: one row per (provider, SHA-256 of the exact bytes); a retry counts an attempt (`dup` true: the
-- bytes were stored before).
-- `raw_body` keeps the request's exact bytes (`bodies[bi]`, 1-based), whatever the content type; `body` is the
-- parsed form for queries and display (JSON with U+0000 turned into U+FFFD, form fields), or NULL when the
-- bytes are not JSON or form fields.
CREATE OR REPLACE FUNCTION wa_ingest_raw(rows jsonb, bodies bytea[]) RETURNS jsonb
LANGUAGE plpgsql AS $fn$
DECLARE
  raw_ids jsonb := '[]'::jsonb;
BEGIN
  WITH ins AS (
    INSERT INTO webhook_events (provider, dedupe_key, received_at, content_type, body, raw_body, state, error, event_count)
    SELECT x.p, x.k, x.r, x.c, x.bd, bodies[x.bi], x.s, x.e, x.n
    FROM jsonb_to_recordset(rows) AS x(p text, k text, r timestamptz, c text, bd jsonb, bi int, s text, e text, n int)
    ON CONFLICT (provider, dedupe_key) DO UPDATE
      SET attempts = webhook_events.attempts + 1, state = EXCLUDED.state, error = EXCLUDED.error, event_count = EXCLUDED.event_count
    RETURNING id, provider, dedupe_key, xmax <> 0 AS dup
  )
  SELECT COALESCE(jsonb_agg(jsonb_build_object('id', id::text, 'provider', provider, 'dedupe_key', dedupe_key, 'dup', dup)), '[]'::jsonb)
  INTO raw_ids FROM ins;
  RETURN raw_ids;
END
$fn$;
