-- Media bytes, and the message's media descriptor completed when the message is stored.
CREATE OR REPLACE FUNCTION wa_ingest_media(rows jsonb) RETURNS void
LANGUAGE plpgsql AS $fn$
BEGIN
  IF jsonb_array_length(COALESCE(rows, '[]')) > 0 THEN
    WITH x AS (
      SELECT s.id AS session_id, x.* FROM jsonb_to_recordset(rows) AS x(provider text, session_external_id text,
        external_id text, mime_type text, filename text, size int, data text)
      JOIN sessions s ON s.provider = x.provider AND s.external_id = x.session_external_id
    ), ins AS (
      INSERT INTO message_media (session_id, external_id, mime_type, filename, size, data)
      SELECT session_id, external_id, mime_type, filename, COALESCE(size, length(decode(data, 'base64'))), decode(data, 'base64') FROM x
      ON CONFLICT (session_id, external_id) DO NOTHING
    )
    UPDATE messages m SET media = COALESCE(m.media, '{}'::jsonb) || jsonb_strip_nulls(jsonb_build_object(
        'mimeType', x.mime_type, 'filename', x.filename, 'size', x.size, 'stored', true))
    FROM x WHERE m.session_id = x.session_id AND m.external_id = x.external_id;
  END IF;
END
$fn$;
