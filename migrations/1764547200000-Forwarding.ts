import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Outgoing webhooks (issue 13): subscriptions, one delivery per (subscription, event), every attempt, and the
 * fan-out cursor over the event log.
 * - `webhook_subscriptions.secret` is the `whsec_` secret as given. It is NOT hashed: the standardwebhooks scheme
 *   signs with the secret itself (HMAC), so wa-hub must be able to read it back. Protect database backups as you
 *   would the secret. `previous_secret` keeps signing alongside the new one until `previous_secret_until` (rotation).
 * - `webhook_deliveries`: `event_id` is the `events` row (no foreign key: retention deletes events); a delivery
 *   without one (`webhook.test`) carries its envelope in `payload`. UNIQUE (subscription_id, event_id) makes the
 *   fan-out idempotent (`INSERT ... ON CONFLICT DO NOTHING`). Claimed with `FOR UPDATE SKIP LOCKED` under a lease.
 * - `forwarding_cursor`: the id of the last event fanned out; one row, locked `FOR UPDATE` by the fan-out so two
 *   processes never both fan out the same events. It starts at the log's head: events older than forwarding are
 *   not sent (replay them with POST /v1/webhooks/:id/replay).
 */
export class Forwarding1764547200000 implements MigrationInterface {
  name = 'Forwarding1764547200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE webhook_subscriptions (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        url text NOT NULL,
        events text[],
        session_ids uuid[],
        headers jsonb NOT NULL DEFAULT '{}'::jsonb,
        format varchar(16) NOT NULL DEFAULT 'standard' CHECK (format IN ('standard', 's0')),
        description text,
        enabled boolean NOT NULL DEFAULT true,
        secret text NOT NULL,
        previous_secret text,
        previous_secret_until timestamptz,
        disabled_reason text,
        failing_since timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE webhook_deliveries (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        subscription_id uuid NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
        event_id bigint,
        event_type varchar(32) NOT NULL,
        payload jsonb,
        state varchar(16) NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
        attempts int NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        lease_until timestamptz,
        locked_by text,
        last_status int,
        last_error text,
        created_at timestamptz NOT NULL DEFAULT now(),
        delivered_at timestamptz,
        UNIQUE (subscription_id, event_id)
      )`);
    await q.query(`CREATE INDEX ix_webhook_deliveries_due ON webhook_deliveries (next_attempt_at, id) WHERE state = 'pending'`);
    await q.query(`CREATE INDEX ix_webhook_deliveries_subscription ON webhook_deliveries (subscription_id, id DESC)`);
    await q.query(`
      CREATE TABLE webhook_attempts (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        delivery_id bigint NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
        at timestamptz NOT NULL DEFAULT now(),
        status int,
        latency_ms int NOT NULL,
        response_excerpt text CHECK (octet_length(response_excerpt) <= 1024),
        error text
      )`);
    await q.query(`CREATE INDEX ix_webhook_attempts_delivery ON webhook_attempts (delivery_id, id)`);
    await q.query(`
      CREATE TABLE forwarding_cursor (
        id int PRIMARY KEY DEFAULT 1 CHECK (id = 1),
        last_event_id bigint NOT NULL DEFAULT 0
      )`);
    await q.query(`INSERT INTO forwarding_cursor (id, last_event_id) SELECT 1, COALESCE(max(id), 0) FROM events`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS forwarding_cursor`);
    await q.query(`DROP TABLE IF EXISTS webhook_attempts`);
    await q.query(`DROP TABLE IF EXISTS webhook_deliveries`);
    await q.query(`DROP TABLE IF EXISTS webhook_subscriptions`);
  }
}
