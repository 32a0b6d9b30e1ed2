-- wa_ingest_inbox(rows, bodies) → jsonb: the acknowledgement write of the ingest inbox (issue 16; the apply is
-- wa_ingest_apply, ingest-apply.sql). Each row is a raw event as wa_ingest_raw takes it plus `ev`, the webhook's
-- canonical events (null when it has nothing to apply: ignored or not understood). The raw event is stored by
-- wa_ingest_raw_rows (ingest-raw.sql) (a retry of the same bytes counts an attempt, `dup`); every row with events to apply gets an
-- inbox row, repeats too: the same bytes may be a new event (a Baileys `connection.update` identical to an earlier
-- one), and applying again is idempotent (messages by provider id, counters and `message.received` only for new
-- rows, statuses by rank). Output: `[{ "id", "provider", "dedupe_key", "dup", "inbox" }]` (ids as text, `inbox` null
-- when it has nothing to apply).
CREATE OR REPLACE FUNCTION wa_ingest_inbox(rows jsonb, bodies bytea[]) RETURNS jsonb
LANGUAGE plpgsql AS $fn$
DECLARE
  acks jsonb;
BEGIN
  WITH ins AS (
    SELECT * FROM wa_ingest_raw_rows(rows, bodies)
  ), inbox AS (
    INSERT INTO ingest_inbox (webhook_event_id, events)
    SELECT ins.id, x.ev
    FROM ins JOIN jsonb_to_recordset(rows) AS x(p text, k text, ev jsonb) ON x.p = ins.provider AND x.k = ins.dedupe_key
    WHERE x.ev IS NOT NULL AND jsonb_typeof(x.ev) = 'array'
    ORDER BY ins.id
    RETURNING id, webhook_event_id
  )
  SELECT COALESCE(jsonb_agg(jsonb_build_object('id', ins.id::text, 'provider', ins.provider, 'dedupe_key', ins.dedupe_key,
    'dup', ins.dup, 'inbox', inbox.id::text)), '[]'::jsonb)
  INTO acks FROM ins LEFT JOIN inbox ON inbox.webhook_event_id = ins.id;
  RETURN acks;
END
$fn$;
