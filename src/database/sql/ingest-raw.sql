-- Raw events: one row per (provider, SHA-256 of the exact bytes); a retry counts an attempt (`dup` true: the
-- bytes were stored before).
-- `raw_body` keeps the request's exact bytes (`bodies[bi]`, 1-based), whatever the content type; `body` is the
-- parsed form for queries and display (JSON with U+0000 turned into U+FFFD, form fields), or NULL when the
-- bytes are not JSON or form fields.
-- wa_ingest_raw_rows: the rows stored, as a set (for callers that join them further: wa_ingest_inbox).
CREATE OR REPLACE FUNCTION wa_ingest_raw_rows(rows jsonb, bodies bytea[])
RETURNS TABLE (id bigint, provider text, dedupe_key text, dup boolean)
LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
BEGIN
  RETURN QUERY
  INSERT INTO webhook_events AS w (provider, dedupe_key, received_at, content_type, body, raw_body, state, error, event_count)
  SELECT x.p, x.k, x.r, x.c, x.bd, bodies[x.bi], x.s, x.e, x.n
  FROM jsonb_to_recordset(rows) AS x(p text, k text, r timestamptz, c text, bd jsonb, bi int, s text, e text, n int)
  ON CONFLICT ON CONSTRAINT uq_webhook_events_dedupe DO UPDATE
    SET attempts = w.attempts + 1, state = EXCLUDED.state, error = EXCLUDED.error, event_count = EXCLUDED.event_count
  RETURNING w.id, w.provider::text, w.dedupe_key::text, w.xmax <> 0;
END
$fn$;

-- wa_ingest_raw: the same, as `[{ "id", "provider", "dedupe_key", "dup" }]` (ids as text) for wa_ingest_batch.
CREATE OR REPLACE FUNCTION wa_ingest_raw(rows jsonb, bodies bytea[]) RETURNS jsonb
LANGUAGE sql AS $fn$
  SELECT COALESCE(jsonb_agg(jsonb_build_object('id', r.id::text, 'provider', r.provider, 'dedupe_key', r.dedupe_key, 'dup', r.dup)), '[]'::jsonb)
  FROM wa_ingest_raw_rows(rows, bodies) r
$fn$;
