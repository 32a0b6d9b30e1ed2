-- Conversations (sorted input: concurrent batches lock rows in the same order).
CREATE OR REPLACE FUNCTION wa_ingest_conversations(rows jsonb) RETURNS void
LANGUAGE plpgsql AS $fn$
BEGIN
  IF jsonb_array_length(COALESCE(rows, '[]')) > 0 THEN
    INSERT INTO conversations (session_id, chat_id, is_group, contact_id, subject)
    SELECT s.id, x.chat_id, x.is_group, c.id, x.subject
    FROM jsonb_to_recordset(rows) AS x(provider text, session_external_id text, chat_id text, is_group boolean, phone text, subject text)
    JOIN sessions s ON s.provider = x.provider AND s.external_id = x.session_external_id
    LEFT JOIN contacts c ON c.phone = x.phone
    ON CONFLICT (session_id, chat_id) DO UPDATE SET
      contact_id = COALESCE(conversations.contact_id, EXCLUDED.contact_id),
      subject = COALESCE(EXCLUDED.subject, conversations.subject)
      WHERE (conversations.contact_id IS NULL AND EXCLUDED.contact_id IS NOT NULL)
         OR (EXCLUDED.subject IS NOT NULL AND EXCLUDED.subject IS DISTINCT FROM conversations.subject);
  END IF;
END
$fn$;
