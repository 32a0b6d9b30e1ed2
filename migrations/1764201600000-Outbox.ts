import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Outbound sending (issue 5): the durable outbox, per-session provider credentials, idempotency keys and
 * auto-reply rules.
 *
 * - `outbox_jobs`: one per message to send (or read receipt), written in the same transaction as its message row.
 *   Workers claim due jobs with `FOR UPDATE SKIP LOCKED` and a lease (`lease_until`); a job whose process died is
 *   claimed again when the lease runs out. `attempt_started_at` is set just before the provider call and cleared
 *   with its outcome, so a job found with it set after a crash is known to be in doubt (see OutboxWorker).
 * - `sessions.credentials`: per-session overrides of the environment's provider credentials (never returned by
 *   the API); `sessions.send_held`: the provider refused the credentials, the session's queue waits for new ones.
 * - `idempotency_keys`: `Idempotency-Key` header per API key, with the SHA-256 of the request, for 24 h.
 * - `auto_replies`: rules matched against inbound text; seed s2's ping → pong ships disabled.
 */
/** Seed s2's ping → pong example, shipped disabled (also restored by the tests' reset, as a fresh install has it). */
export const SEED_AUTO_REPLIES = `
  INSERT INTO auto_replies (name, match_type, pattern, case_insensitive, reply, enabled, priority)
  VALUES ('ping-pong (seed s2)', 'exact', 'ping', true, 'pong', false, 0)`;

export class Outbox1764201600000 implements MigrationInterface {
  name = 'Outbox1764201600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE sessions ADD COLUMN credentials jsonb, ADD COLUMN send_held boolean NOT NULL DEFAULT false`);
    await q.query(`
      CREATE TABLE outbox_jobs (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        message_id bigint NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
        session_id uuid NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        kind varchar(16) NOT NULL DEFAULT 'send' CHECK (kind IN ('send', 'read_receipt')),
        request jsonb NOT NULL,
        state varchar(16) NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'failed')),
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        lease_until timestamptz,
        locked_by varchar(64),
        attempt_started_at timestamptz,
        deadline_at timestamptz NOT NULL,
        last_error text,
        trigger_message_id bigint,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX ix_outbox_due ON outbox_jobs (next_attempt_at) WHERE state = 'pending'`);
    await q.query(`CREATE INDEX ix_outbox_message ON outbox_jobs (message_id)`);
    // An inbound message gets at most one auto-reply, whatever the retries and concurrency.
    await q.query(`CREATE UNIQUE INDEX uq_outbox_trigger ON outbox_jobs (trigger_message_id) WHERE trigger_message_id IS NOT NULL`);
    await q.query(`
      CREATE TABLE idempotency_keys (
        api_key_id uuid NOT NULL,
        key varchar(255) NOT NULL,
        request_hash varchar(64) NOT NULL,
        message_id bigint REFERENCES messages(id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (api_key_id, key)
      )`);
    await q.query(`
      CREATE TABLE auto_replies (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name varchar(100) NOT NULL,
        match_type varchar(16) NOT NULL CHECK (match_type IN ('exact', 'contains', 'regex')),
        pattern varchar(500) NOT NULL,
        case_insensitive boolean NOT NULL DEFAULT true,
        reply text NOT NULL,
        session_id uuid REFERENCES sessions(id) ON DELETE CASCADE,
        include_groups boolean NOT NULL DEFAULT false,
        enabled boolean NOT NULL DEFAULT false,
        priority integer NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(SEED_AUTO_REPLIES);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS auto_replies, idempotency_keys, outbox_jobs`);
    await q.query(`ALTER TABLE sessions DROP COLUMN IF EXISTS credentials, DROP COLUMN IF EXISTS send_held`);
  }
}
