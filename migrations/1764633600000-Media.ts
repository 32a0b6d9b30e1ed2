import { MigrationInterface, QueryRunner } from 'typeorm';

/** Message types whose `media` descriptor is a file to download (mirrors MEDIA_MESSAGE_TYPES in src/media). */
const MEDIA_TYPES = `('image', 'video', 'audio', 'voice', 'document', 'sticker')`;

/**
 * Media (issue 14): one `media` row per downloadable file, which is also its durable download job.
 * - Queued without touching ingest: a statement-level AFTER INSERT trigger on `messages` (one set-based INSERT per
 *   ingest statement, however many messages it wrote) adds a `pending` row for each message of a media type with
 *   a media descriptor, except our own API sends still `queued` (their file is the integrator's).
 * - Claimed with `FOR UPDATE SKIP LOCKED` under a lease (`lease_until`, `locked_by`), retried at `next_attempt_at`.
 * - `message_media` (bytes a wwebjs server pushed in its `media` webhook, maybe before the message): an AFTER INSERT
 *   trigger makes the matching pending item, or one that failed waiting for them, due at once.
 * - `media_chunks`: the `postgres` storage driver's bytes, 256 KiB per row, keyed by `object_key`.
 * - `media_trash`: objects whose `media` row was deleted (a message or session deleted, cascading): the worker
 *   deletes them from whichever driver holds them, so no storage is orphaned.
 * - `media_url_secret`: the HMAC key of signed media URLs when MEDIA_URL_SECRET is unset, generated once so that
 *   every process signs alike.
 * Existing media messages are queued too (their provider links may have expired: they fail with the reason).
 */
export class Media1764633600000 implements MigrationInterface {
  name = 'Media1764633600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE media (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        message_id bigint UNIQUE REFERENCES messages (id) ON DELETE CASCADE,
        session_id uuid REFERENCES sessions (id) ON DELETE CASCADE,
        state varchar(16) NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'stored', 'failed', 'deleted')),
        attempts int NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        lease_until timestamptz,
        locked_by text,
        error_code varchar(64),
        error text,
        storage varchar(16),
        object_key text,
        mime_type varchar(255),
        declared_mime_type varchar(255),
        size bigint,
        sha256 char(64),
        filename varchar(255),
        created_at timestamptz NOT NULL DEFAULT now(),
        stored_at timestamptz,
        deleted_at timestamptz
      )`);
    await q.query(`CREATE INDEX ix_media_due ON media (next_attempt_at) WHERE state = 'pending'`);
    await q.query(`CREATE INDEX ix_media_stored ON media (created_at) WHERE state = 'stored'`);
    await q.query(`
      CREATE TABLE media_chunks (
        object_key text NOT NULL,
        seq int NOT NULL,
        data bytea NOT NULL,
        PRIMARY KEY (object_key, seq)
      )`);
    await q.query(`
      CREATE TABLE media_trash (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        storage varchar(16) NOT NULL,
        object_key text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE media_url_secret (
        id int PRIMARY KEY DEFAULT 1 CHECK (id = 1),
        secret text NOT NULL
      )`);
    await q.query(`
      CREATE FUNCTION wa_media_queue() RETURNS trigger LANGUAGE plpgsql AS $fn$
      BEGIN
        INSERT INTO media (message_id, session_id, declared_mime_type, filename)
        SELECT n.id, n.session_id, left(n.media->>'mimeType', 255), left(n.media->>'filename', 255)
        FROM new_rows n
        WHERE n.media IS NOT NULL AND n.type IN ${MEDIA_TYPES} AND NOT (n.direction = 'out' AND n.status = 'queued')
        ON CONFLICT (message_id) DO NOTHING;
        RETURN NULL;
      END
      $fn$`);
    await q.query(
      `CREATE TRIGGER wa_media_messages_ins AFTER INSERT ON messages REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION wa_media_queue()`,
    );
    await q.query(`
      CREATE FUNCTION wa_media_delivered() RETURNS trigger LANGUAGE plpgsql AS $fn$
      BEGIN
        UPDATE media md SET state = 'pending', next_attempt_at = now(), error = NULL, error_code = NULL
        FROM new_rows n JOIN messages m ON m.session_id = n.session_id AND m.external_id = n.external_id
        WHERE md.message_id = m.id AND (md.state = 'pending' OR (md.state = 'failed' AND md.error_code = 'NOT_DELIVERED'));
        RETURN NULL;
      END
      $fn$`);
    await q.query(
      `CREATE TRIGGER wa_media_message_media_ins AFTER INSERT ON message_media REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION wa_media_delivered()`,
    );
    await q.query(`
      CREATE FUNCTION wa_media_trash() RETURNS trigger LANGUAGE plpgsql AS $fn$
      BEGIN
        INSERT INTO media_trash (storage, object_key)
        SELECT o.storage, o.object_key FROM old_rows o WHERE o.storage IS NOT NULL AND o.object_key IS NOT NULL;
        RETURN NULL;
      END
      $fn$`);
    await q.query(
      `CREATE TRIGGER wa_media_del AFTER DELETE ON media REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION wa_media_trash()`,
    );
    await q.query(`
      INSERT INTO media (message_id, session_id, declared_mime_type, filename, created_at)
      SELECT m.id, m.session_id, left(m.media->>'mimeType', 255), left(m.media->>'filename', 255), m.created_at
      FROM messages m
      WHERE m.media IS NOT NULL AND m.type IN ${MEDIA_TYPES} AND NOT (m.direction = 'out' AND m.status = 'queued')`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER IF EXISTS wa_media_del ON media`);
    await q.query(`DROP TRIGGER IF EXISTS wa_media_message_media_ins ON message_media`);
    await q.query(`DROP TRIGGER IF EXISTS wa_media_messages_ins ON messages`);
    await q.query(`DROP FUNCTION IF EXISTS wa_media_trash()`);
    await q.query(`DROP FUNCTION IF EXISTS wa_media_delivered()`);
    await q.query(`DROP FUNCTION IF EXISTS wa_media_queue()`);
    await q.query(`DROP TABLE IF EXISTS media_url_secret`);
    await q.query(`DROP TABLE IF EXISTS media_trash`);
    await q.query(`DROP TABLE IF EXISTS media_chunks`);
    await q.query(`DROP TABLE IF EXISTS media`);
  }
}
