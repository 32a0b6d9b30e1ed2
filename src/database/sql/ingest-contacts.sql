-- Contacts: insert-or-nothing, then rewritten only when the provider reports a new profile name (for the
-- same reason as sessions: no lock on rows that do not change). The rewrite finds its rows by `phone = ANY(...)`
-- (an index scan of uq_contacts_phone): joined to the batch on phone alone, the planner, which assumes 100 input
-- rows, read every contact (a sequential scan into a hash join) for each batch while the table held fewer than
-- some tens of thousands of them (at 10,000 contacts and 1,000 webhooks/s: 600,000 tuples read a second, from
-- pg_stat_user_tables during `npm run bench:read -- --ingest 1000`, issue 18). The batch's named rows are decoded
-- once (the CTE, read twice, is materialized).
CREATE OR REPLACE FUNCTION wa_ingest_contacts(rows jsonb) RETURNS void
LANGUAGE plpgsql AS $fn$
BEGIN
  IF jsonb_array_length(COALESCE(rows, '[]')) > 0 THEN
    INSERT INTO contacts (phone, profile_name)
    SELECT x.phone, x.name FROM jsonb_to_recordset(rows) AS x(phone text, name text)
    ON CONFLICT (phone) DO NOTHING;
    WITH x AS (SELECT r.phone, r.name FROM jsonb_to_recordset(rows) AS r(phone text, name text) WHERE r.name IS NOT NULL)
    UPDATE contacts c SET profile_name = x.name, updated_at = now()
    FROM x WHERE c.phone = ANY (ARRAY(SELECT phone FROM x)) AND c.phone = x.phone AND c.profile_name IS DISTINCT FROM x.name;
  END IF;
END
$fn$;
