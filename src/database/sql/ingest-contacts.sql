-- Contacts: insert-or-nothing, then rewritten only when the provider reports a new profile name (for the
-- same reason as sessions: no lock on rows that do not change).
CREATE OR REPLACE FUNCTION wa_ingest_contacts(rows jsonb) RETURNS void
LANGUAGE plpgsql AS $fn$
BEGIN
  IF jsonb_array_length(COALESCE(rows, '[]')) > 0 THEN
    INSERT INTO contacts (phone, profile_name)
    SELECT x.phone, x.name FROM jsonb_to_recordset(rows) AS x(phone text, name text)
    ON CONFLICT (phone) DO NOTHING;
    UPDATE contacts c SET profile_name = x.name, updated_at = now()
    FROM jsonb_to_recordset(rows) AS x(phone text, name text)
    WHERE c.phone = x.phone AND x.name IS NOT NULL AND c.profile_name IS DISTINCT FROM x.name;
  END IF;
END
$fn$;
