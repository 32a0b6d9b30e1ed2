-- wa_ingest_apply(batch, ids) → jsonb: applies `batch` (wa_ingest_batch's input with an empty `raw` section: the
-- raw events were stored when the webhooks were acknowledged, wa_ingest_inbox) and deletes the inbox rows `ids`,
-- in one transaction, only when every one of them could be claimed (FOR UPDATE SKIP LOCKED: another applier, in
-- this process or another, holds the rest or has applied them). Output: wa_ingest_batch's, plus `"applied": true`;
-- or `{ "applied": false, "claimed": [...] }` with nothing written, and the caller applies the claimed ones alone.
CREATE OR REPLACE FUNCTION wa_ingest_apply(b jsonb, ids bigint[]) RETURNS jsonb
LANGUAGE plpgsql AS $fn$
DECLARE
  claimed bigint[];
BEGIN
  SELECT COALESCE(array_agg(id), '{}') INTO claimed
  FROM (SELECT id FROM ingest_inbox WHERE id = ANY(ids) ORDER BY id FOR UPDATE SKIP LOCKED) c;
  IF cardinality(claimed) < cardinality(ids) THEN
    RETURN jsonb_build_object('applied', false, 'claimed', to_jsonb(claimed));
  END IF;
  DELETE FROM ingest_inbox WHERE id = ANY(ids);
  RETURN wa_ingest_batch(b, '{}'::bytea[]) || jsonb_build_object('applied', true);
END
$fn$;
