import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Session lifecycle (issue 3): owner, QR and loading state on sessions; every session event recorded; calls;
 * message edits, deletions for everyone, reactions folded onto their message; media bytes a provider delivered.
 */
export class SessionLifecycle1763769600000 implements MigrationInterface {
  name = 'SessionLifecycle1763769600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE sessions
        ADD COLUMN user_id varchar(128),
        ADD COLUMN qr text,
        ADD COLUMN qr_at timestamptz,
        ADD COLUMN loading_percent smallint`);
    await q.query(`CREATE INDEX ix_sessions_user ON sessions (user_id)`);
    await q.query(`
      CREATE TABLE session_events (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        session_id uuid NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        event varchar(64) NOT NULL,
        from_status varchar(32),
        to_status varchar(32),
        message text,
        payload jsonb,
        occurred_at timestamptz NOT NULL,
        webhook_event_id bigint REFERENCES webhook_events(id) ON DELETE SET NULL
      )`);
    await q.query(`CREATE INDEX ix_session_events_session ON session_events (session_id, occurred_at DESC, id DESC)`);
    await q.query(`
      CREATE TABLE calls (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        session_id uuid NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        external_id varchar(255) NOT NULL,
        chat_id varchar(128) NOT NULL,
        from_me boolean NOT NULL DEFAULT false,
        is_video boolean NOT NULL DEFAULT false,
        is_group boolean NOT NULL DEFAULT false,
        occurred_at timestamptz NOT NULL,
        raw jsonb,
        webhook_event_id bigint REFERENCES webhook_events(id) ON DELETE SET NULL,
        CONSTRAINT uq_calls_session_external UNIQUE (session_id, external_id)
      )`);
    await q.query(`
      ALTER TABLE messages
        ADD COLUMN deleted_at timestamptz,
        ADD COLUMN edited_at timestamptz,
        ADD COLUMN edits jsonb,
        ADD COLUMN reactions jsonb`);
    // Media bytes delivered by the provider (wwebjs "media" webhook), keyed like messages so they may arrive first.
    await q.query(`
      CREATE TABLE message_media (
        session_id uuid NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        external_id varchar(255) NOT NULL,
        mime_type varchar(255),
        filename varchar(255),
        size integer,
        data bytea NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (session_id, external_id)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS message_media`);
    await q.query(`ALTER TABLE messages DROP COLUMN deleted_at, DROP COLUMN edited_at, DROP COLUMN edits, DROP COLUMN reactions`);
    await q.query(`DROP TABLE IF EXISTS calls`);
    await q.query(`DROP TABLE IF EXISTS session_events`);
    await q.query(`DROP INDEX IF EXISTS ix_sessions_user`);
    await q.query(`ALTER TABLE sessions DROP COLUMN user_id, DROP COLUMN qr, DROP COLUMN qr_at, DROP COLUMN loading_percent`);
  }
}
