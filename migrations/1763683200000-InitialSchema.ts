import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * First schema: sessions, contacts, conversations, raw webhook events, messages, status events, provider errors,
 * API keys. Unique constraints make ingest idempotent: one message per (session, provider id), one status event
 * per (session, provider id, status), one raw event per (provider, SHA-256 of the body).
 */
export class InitialSchema1763683200000 implements MigrationInterface {
  name = 'InitialSchema1763683200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE sessions (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        provider varchar(16) NOT NULL CHECK (provider IN ('meta', 'wablas', 'wwebjs', 'baileys')),
        external_id varchar(128) NOT NULL,
        display_number varchar(32),
        status varchar(32) NOT NULL DEFAULT 'unknown',
        status_message text,
        last_event_at timestamptz,
        connected_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT uq_sessions_provider_external UNIQUE (provider, external_id)
      )`);
    await q.query(`
      CREATE TABLE contacts (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        phone varchar(20) NOT NULL,
        name varchar(200),
        profile_name varchar(200),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT uq_contacts_phone UNIQUE (phone)
      )`);
    await q.query(`
      CREATE TABLE conversations (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        session_id uuid NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        chat_id varchar(128) NOT NULL,
        is_group boolean NOT NULL DEFAULT false,
        contact_id uuid REFERENCES contacts(id) ON DELETE SET NULL,
        subject varchar(200),
        last_message_at timestamptz,
        last_message_preview varchar(200),
        last_message_direction varchar(3),
        message_count integer NOT NULL DEFAULT 0,
        unread_count integer NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT uq_conversations_session_chat UNIQUE (session_id, chat_id)
      ) WITH (fillfactor = 70)`);
    // No index on last_message_at: every ingested message bumps its conversation, and leaving the changed columns
    // unindexed (with fillfactor 70) lets PostgreSQL update the row in place (HOT) without touching any index.
    // Listing sorts the conversations of the caller's filter instead, which stays cheap at 10k rows.
    await q.query(`CREATE INDEX ix_conversations_contact ON conversations (contact_id)`);
    await q.query(`
      CREATE TABLE webhook_events (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        provider varchar(16) NOT NULL,
        dedupe_key varchar(64) NOT NULL,
        received_at timestamptz NOT NULL,
        content_type varchar(100),
        body jsonb,
        state varchar(16) NOT NULL CHECK (state IN ('processed', 'ignored', 'failed')),
        error text,
        event_count integer NOT NULL DEFAULT 0,
        attempts integer NOT NULL DEFAULT 1,
        CONSTRAINT uq_webhook_events_dedupe UNIQUE (provider, dedupe_key)
      )`);
    // Operators look for what failed; a partial index costs nothing on the ingest of processed events.
    await q.query(`CREATE INDEX ix_webhook_events_failed ON webhook_events (received_at DESC, id DESC) WHERE state = 'failed'`);
    await q.query(`CREATE INDEX ix_webhook_events_recent ON webhook_events (received_at DESC, id DESC)`);
    await q.query(`
      CREATE TABLE messages (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        session_id uuid NOT NULL, -- no FK: the conversation FK below already ties it to its session (and cascades)
        conversation_id uuid NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        contact_id uuid REFERENCES contacts(id) ON DELETE SET NULL,
        external_id varchar(255),
        direction varchar(3) NOT NULL CHECK (direction IN ('in', 'out')),
        type varchar(32) NOT NULL,
        chat_id varchar(128) NOT NULL,
        sender varchar(128),
        sender_name varchar(200),
        text text,
        caption text,
        media jsonb,
        location jsonb,
        context jsonb,
        reply_to_external_id varchar(255),
        payload jsonb,
        status varchar(16) NOT NULL,
        status_at timestamptz,
        error_code varchar(32),
        error_title text,
        error_detail text,
        provider_timestamp timestamptz NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        read_at timestamptz,
        webhook_event_id bigint, -- no FK: written in the same transaction as its raw event
        raw jsonb
      )`);
    // NULL external ids (outbound messages not yet accepted by the provider) do not collide.
    await q.query(`CREATE UNIQUE INDEX uq_messages_session_external ON messages (session_id, external_id)`);
    // History pages and cursors: newest first, id breaks ties.
    await q.query(`CREATE INDEX ix_messages_recent ON messages (provider_timestamp DESC, id DESC)`);
    await q.query(`CREATE INDEX ix_messages_conversation_recent ON messages (conversation_id, provider_timestamp DESC, id DESC)`);
    // No (chat_id, ...) index: a chat's messages are found through its conversations (CHAT_FILTER in
    // src/messages/messages.service.ts), one index less to write for every ingested message.
    await q.query(`
      CREATE TABLE message_status_events (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        session_id uuid NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        external_id varchar(255) NOT NULL,
        status varchar(16) NOT NULL,
        occurred_at timestamptz NOT NULL,
        recipient varchar(128),
        error_code varchar(32),
        error_title text,
        error_detail text,
        payload jsonb,
        received_at timestamptz NOT NULL DEFAULT now(),
        webhook_event_id bigint, -- no FK: written in the same transaction as its raw event
        CONSTRAINT uq_status_events UNIQUE (session_id, external_id, status)
      )`);
    // Status order for monotonic updates (mirrors STATUS_RANK in src/messages/message.entity.ts).
    await q.query(`
      CREATE FUNCTION wa_status_rank(status text) RETURNS integer
      LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT CASE status
          WHEN 'queued' THEN 0 WHEN 'pending' THEN 1 WHEN 'sent' THEN 2 WHEN 'received' THEN 2
          WHEN 'failed' THEN 3 WHEN 'delivered' THEN 4 WHEN 'read' THEN 5 WHEN 'played' THEN 6 ELSE -1 END
      $$`);
    await q.query(`
      CREATE TABLE provider_errors (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        session_id uuid REFERENCES sessions(id) ON DELETE CASCADE,
        provider varchar(16) NOT NULL,
        code varchar(32),
        title text,
        detail text,
        raw jsonb,
        occurred_at timestamptz NOT NULL,
        webhook_event_id bigint REFERENCES webhook_events(id) ON DELETE SET NULL
      )`);
    await q.query(`
      CREATE TABLE api_keys (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name varchar(100) NOT NULL,
        prefix varchar(16) NOT NULL,
        key_hash varchar(64) NOT NULL,
        scopes text[] NOT NULL,
        session_ids uuid[],
        created_at timestamptz NOT NULL DEFAULT now(),
        last_used_at timestamptz,
        expires_at timestamptz,
        revoked_at timestamptz,
        CONSTRAINT uq_api_keys_hash UNIQUE (key_hash)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of [
      'api_keys',
      'provider_errors',
      'message_status_events',
      'messages',
      'webhook_events',
      'conversations',
      'contacts',
      'sessions',
    ]) {
      await q.query(`DROP TABLE IF EXISTS ${table}`);
    }
    await q.query(`DROP FUNCTION IF EXISTS wa_status_rank(text)`);
  }
}
