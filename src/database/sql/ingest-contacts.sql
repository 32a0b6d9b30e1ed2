-- Contacts: insert-or-nothing, then rewritten only when the provider reports a new profile name (for the
-- same reason as sessions: no lock on rows that do not change). The rewrite finds its rows by `phone = ANY(...)`
-- (an index scan of uq_contacts_phone): joined to the batch on phone alone, the planner, which assumes 100 input
-- rows, read every contact (a sequential scan into a hash join) for each batch while the table held fewer than
-- some tens of thousands of them (at 10,000 contacts and 1,000 webhooks/s: 600,000 tuples read a second, issue 18).
CREATE OR REPLACE FUNCTION wa_ingest_contacts(rows jsonb) RETURNS void
LANGUAGE plpgsql AS $fn$
BEGIN
  IF jsonb_array_length(COALESCE(rows, '[]')) > 0 THEN
    INSERT INTO contacts (phone, profile_name)
    SELECT x.phone, x.name FROM jsonb_to_recordset(rows) AS x(phone text, name text)
    ON CONFLICT (phone) DO NOTHING;
    UPDATE contacts c SET profile_name = x.name, updated_at = now()
    FROM jsonb_to_recordset(rows) AS x(phone text, name text)
    WHERE c.phone = ANY (ARRAY(SELECT e->>'phone' FROM jsonb_array_elements(rows) e WHERE e->>'name' IS NOT NULL))
      AND c.phone = x.phone AND x.name IS NOT NULL AND c.profile_name IS DISTINCT FROM x.name;
  END IF;
END
$fn$;
