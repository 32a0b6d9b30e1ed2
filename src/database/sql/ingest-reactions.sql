-- Reactions, in order: one sender's reaction set, or removed by an empty emoji.
CREATE OR REPLACE FUNCTION wa_ingest_reactions(rows jsonb) RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
  ev jsonb;
BEGIN
  FOR ev IN SELECT value FROM jsonb_array_elements(COALESCE(rows, '[]'::jsonb)) LOOP
    UPDATE messages m SET reactions = CASE WHEN x.emoji IS NULL
        THEN NULLIF(COALESCE(m.reactions, '{}'::jsonb) - x.sender, '{}'::jsonb)
        ELSE COALESCE(m.reactions, '{}'::jsonb) || jsonb_build_object(x.sender, x.emoji) END
    FROM jsonb_to_record(ev) AS x(provider text, session_external_id text, external_id text, sender text, emoji text)
    JOIN sessions s ON s.provider = x.provider AND s.external_id = x.session_external_id
    WHERE m.session_id = s.id AND m.external_id = x.external_id;
    -- `message.updated` with change `reaction` (emoji null: removed).
    INSERT INTO events (type, session_id, data)
    SELECT 'message.updated', m.session_id, jsonb_build_object('messageId', m.id::text, 'externalId', m.external_id,
      'conversationId', m.conversation_id::text, 'change', 'reaction', 'sender', x.sender, 'emoji', x.emoji)
    FROM jsonb_to_record(ev) AS x(provider text, session_external_id text, external_id text, sender text, emoji text)
    JOIN sessions s ON s.provider = x.provider AND s.external_id = x.session_external_id
    JOIN messages m ON m.session_id = s.id AND m.external_id = x.external_id;
  END LOOP;
END
$fn$;
