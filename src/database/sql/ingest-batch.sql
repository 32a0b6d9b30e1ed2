-- wa_ingest_batch(batch, bodies) → jsonb: the whole write of one ingest batch, in ONE round trip and one
-- transaction. The batch arrives as one bound jsonb parameter (no SQL literals to lex and plan per batch) and
-- each section is applied by its own function, whose statements' plans PL/pgSQL caches per connection.
--
-- Input: `batch` is IngestBatch (src/ingest/ingest-batch.ts, the one typed description of every section's
-- rows); `bodies` the exact request bytes the `raw` rows point into (`bi`, 1-based).
-- Output: `{ "raw": [{ "id", "provider", "dedupe_key" }], "messages": [{ "idx", "id" }] }` (ids as text).
--
-- Semantics: idempotent upserts by unique keys; conversation counters incremented only for newly inserted
-- messages; statuses applied by `wa_status_rank` (never backwards), a failed status's error kept; lifecycle
-- events, edits and reactions applied one by one in arrival order.
CREATE OR REPLACE FUNCTION wa_ingest_batch(b jsonb, bodies bytea[]) RETURNS jsonb
LANGUAGE plpgsql AS $fn$
DECLARE
  raw_ids jsonb;
  message_ids jsonb := '[]'::jsonb;
BEGIN
  raw_ids := wa_ingest_raw(b->'raw', bodies);
  PERFORM wa_ingest_sessions(b->'sessions');
  PERFORM wa_ingest_session_events(b->'session_events');
  PERFORM wa_ingest_contacts(b->'contacts');
  PERFORM wa_ingest_conversations(b->'conversations');
  message_ids := wa_ingest_messages(b->'messages');
  PERFORM wa_ingest_statuses(b->'statuses', b->'apply_keys');
  PERFORM wa_ingest_errors(b->'errors');
  PERFORM wa_ingest_calls(b->'calls');
  PERFORM wa_ingest_media(b->'media');
  PERFORM wa_ingest_updates(b->'updates');
  PERFORM wa_ingest_reactions(b->'reactions');
  RETURN jsonb_build_object('raw', raw_ids, 'messages', message_ids);
END
$fn$;
