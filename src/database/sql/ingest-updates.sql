-- Deletions for everyone and edits, in order; the text before an edit is kept in edits.
CREATE OR REPLACE FUNCTION wa_ingest_updates(rows jsonb) RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
  ev jsonb;
BEGIN
  FOR ev IN SELECT value FROM jsonb_array_elements(COALESCE(rows, '[]'::jsonb)) LOOP
    UPDATE messages m SET
      deleted_at = CASE WHEN x.deleted THEN COALESCE(m.deleted_at, x.at) ELSE m.deleted_at END,
      text = CASE WHEN x.new_text IS NOT NULL AND m.caption IS NULL THEN x.new_text ELSE m.text END,
      caption = CASE WHEN x.new_text IS NOT NULL AND m.caption IS NOT NULL THEN x.new_text ELSE m.caption END,
      edited_at = CASE WHEN x.new_text IS NOT NULL THEN x.at ELSE m.edited_at END,
      edits = CASE WHEN x.new_text IS NOT NULL
        THEN COALESCE(m.edits, '[]'::jsonb) || jsonb_build_array(jsonb_build_object('text', COALESCE(x.previous_text, m.text, m.caption), 'replacedAt', x.at))
        ELSE m.edits END
    FROM jsonb_to_record(ev) AS x(provider text, session_external_id text, external_id text, deleted boolean,
      new_text text, previous_text text, at timestamptz)
    JOIN sessions s ON s.provider = x.provider AND s.external_id = x.session_external_id
    WHERE m.session_id = s.id AND m.external_id = x.external_id;
    -- `message.updated` with change `revoke` or `edit` for a message that exists.
    INSERT INTO events (type, session_id, data)
    SELECT 'message.updated', m.session_id, jsonb_build_object('messageId', m.id::text, 'externalId', m.external_id,
      'conversationId', m.conversation_id::text, 'change', CASE WHEN x.deleted THEN 'revoke' ELSE 'edit' END,
      'text', CASE WHEN x.deleted THEN NULL ELSE x.new_text END, 'at', x.at)
    FROM jsonb_to_record(ev) AS x(provider text, session_external_id text, external_id text, deleted boolean,
      new_text text, previous_text text, at timestamptz)
    JOIN sessions s ON s.provider = x.provider AND s.external_id = x.session_external_id
    JOIN messages m ON m.session_id = s.id AND m.external_id = x.external_id
    WHERE x.deleted OR x.new_text IS NOT NULL;
  END LOOP;
END
$fn$;
