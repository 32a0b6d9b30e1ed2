import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { EventRow } from '../events/events.repository';

/** What the fan-out reads of an event. */
export type FanOutEvent = Pick<EventRow, 'id' | 'type' | 'occurred_at' | 'session_id' | 'xid'>;

/** A `webhook_subscriptions` row. `secret`/`previous_secret` are `whsec_` secrets: never returned by the API. */
export interface SubscriptionRow {
  id: string;
  url: string;
  events: string[] | null;
  session_ids: string[] | null;
  headers: Record<string, string>;
  format: 'standard' | 's0';
  description: string | null;
  enabled: boolean;
  secret: string;
  previous_secret: string | null;
  previous_secret_until: Date | null;
  disabled_reason: string | null;
  failing_since: Date | null;
  created_at: Date;
  updated_at: Date;
}

/** A `webhook_deliveries` row (`id`, `event_id` as decimal text). */
export interface DeliveryRow {
  id: string;
  subscription_id: string;
  event_id: string | null;
  event_type: string;
  state: 'pending' | 'delivered' | 'failed';
  attempts: number;
  next_attempt_at: Date;
  last_status: number | null;
  last_error: string | null;
  created_at: Date;
  delivered_at: Date | null;
}

/** A `webhook_attempts` row. */
export interface AttemptRow {
  id: string;
  delivery_id: string;
  at: Date;
  status: number | null;
  latency_ms: number;
  response_excerpt: string | null;
  error: string | null;
}

/** A claimed delivery with what the call needs: its subscription and its event (null once retention deleted it). */
export interface ClaimedDelivery {
  id: string;
  subscription_id: string;
  event_id: string | null;
  event_type: string;
  /** Envelope of deliveries without an event (`webhook.test`). */
  payload: Record<string, unknown> | null;
  /** Attempts made before this claim. */
  attempts: number;
  created_at: Date;
  url: string;
  headers: Record<string, string>;
  format: 'standard' | 's0';
  secret: string;
  /** Set only while it still signs (before `previous_secret_until`). */
  previous_secret: string | null;
  failing_since: Date | null;
  ev_occurred_at: Date | null;
  ev_session_id: string | null;
  ev_data: Record<string, unknown> | null;
}

/** Seed s0's view of a message (see the forward body in the worker). */
export interface S0MessageRow {
  id: string;
  chat_id: string;
  name: string;
  text: string | null;
  caption: string | null;
  direction: 'in' | 'out';
  provider_timestamp: Date;
}

/** The outcome of one attempt, written by {@link ForwardingRepository.finish}. */
export interface AttemptOutcome {
  status: number | null;
  latencyMs: number;
  excerpt: string | null;
  error: string | null;
  /** What becomes of the delivery. */
  next: { kind: 'delivered' } | { kind: 'retry'; afterSeconds: number } | { kind: 'failed' };
  /** Disable the subscription with this reason (410, failing too long). */
  disableReason?: string;
  /** true: the subscription just succeeded (clears `failing_since`); false: it failed (sets it if unset). */
  success: boolean;
}

/** Columns a PATCH may change. */
export interface SubscriptionPatch {
  url?: string;
  events?: string[] | null;
  session_ids?: string[] | null;
  headers?: Record<string, string>;
  description?: string | null;
  enabled?: boolean;
}

const SUB_COLUMNS = `id, url, events, session_ids, headers, format, description, enabled, secret, previous_secret,
  previous_secret_until, disabled_reason, failing_since, created_at, updated_at`;
const DELIVERY_COLUMNS = `id::text, subscription_id, event_id::text, event_type, state, attempts, next_attempt_at, last_status,
  last_error, created_at, delivered_at`;

/**
 * The SQL of outgoing webhooks: subscriptions, the fan-out of the event log into deliveries, claims under a lease
 * (`FOR UPDATE SKIP LOCKED`), attempt outcomes. Every method throws the database's error.
 */
@Injectable()
export class ForwardingRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * Runs a statement whose parameters hold a secret (a signing secret, or custom headers such as a receiver's
   * `Authorization`) on a pooled driver connection, bypassing TypeORM's query
   * logger, which prints a failed query's parameters (`logging: ['error']`): a secret must never reach the logs.
   * @throws the database's error (its message names no parameter).
   */
  private async querySecret(sql: string, params: unknown[]): Promise<unknown[]> {
    const runner = this.db.createQueryRunner();
    try {
      const client = (await runner.connect()) as { query(sql: string, params: unknown[]): Promise<{ rows: unknown[] }> };
      return (await client.query(sql, params)).rows;
    } finally {
      await runner.release();
    }
  }

  /** Inserts a subscription. @returns the row. */
  async createSubscription(s: {
    url: string;
    events: string[] | null;
    sessionIds: string[] | null;
    headers: Record<string, string>;
    format: string;
    description: string | null;
    secret: string;
  }): Promise<SubscriptionRow> {
    const [row] = (await this.querySecret(
      `INSERT INTO webhook_subscriptions (url, events, session_ids, headers, format, description, secret)
       VALUES ($1, $2::text[], $3::uuid[], $4::jsonb, $5, $6, $7) RETURNING ${SUB_COLUMNS}`,
      [s.url, s.events, s.sessionIds, JSON.stringify(s.headers), s.format, s.description, s.secret],
    )) as SubscriptionRow[];
    return row;
  }

  /** Every subscription, newest first. */
  async listSubscriptions(): Promise<SubscriptionRow[]> {
    return (await this.db.query(`SELECT ${SUB_COLUMNS} FROM webhook_subscriptions ORDER BY created_at DESC, id`)) as SubscriptionRow[];
  }

  /** One subscription, or null. `id` must be a UUID. */
  async getSubscription(id: string): Promise<SubscriptionRow | null> {
    const [row] = (await this.db.query(`SELECT ${SUB_COLUMNS} FROM webhook_subscriptions WHERE id = $1`, [id])) as SubscriptionRow[];
    return row ?? null;
  }

  /**
   * Applies `p` (absent keys unchanged). Enabling clears `disabled_reason` and `failing_since`.
   * @returns the row, or null when unknown.
   */
  async updateSubscription(id: string, p: SubscriptionPatch): Promise<SubscriptionRow | null> {
    const sets: string[] = [];
    const params: unknown[] = [id];
    const set = (column: string, value: unknown, cast = '') => {
      params.push(value);
      sets.push(`${column} = $${params.length}${cast}`);
    };
    if (p.url !== undefined) set('url', p.url);
    if (p.events !== undefined) set('events', p.events, '::text[]');
    if (p.session_ids !== undefined) set('session_ids', p.session_ids, '::uuid[]');
    if (p.headers !== undefined) set('headers', JSON.stringify(p.headers), '::jsonb');
    if (p.description !== undefined) set('description', p.description);
    if (p.enabled !== undefined) {
      set('enabled', p.enabled);
      if (p.enabled) sets.push('disabled_reason = NULL', 'failing_since = NULL');
    }
    sets.push('updated_at = now()');
    const [row] = (await this.querySecret(
      `WITH u AS (UPDATE webhook_subscriptions SET ${sets.join(', ')} WHERE id = $1 RETURNING ${SUB_COLUMNS}) SELECT * FROM u`,
      params,
    )) as SubscriptionRow[];
    return row ?? null;
  }

  /** Deletes a subscription with its deliveries and attempts. @returns the deleted row, or null. */
  async deleteSubscription(id: string): Promise<SubscriptionRow | null> {
    const [row] = (await this.db.query(
      `WITH d AS (DELETE FROM webhook_subscriptions WHERE id = $1 RETURNING ${SUB_COLUMNS}) SELECT * FROM d`,
      [id],
    )) as SubscriptionRow[];
    return row ?? null;
  }

  /**
   * Replaces the secret; the old one keeps signing until `now() + overlapHours`.
   * @returns the row, or null when unknown.
   */
  async rotateSecret(id: string, secret: string, overlapHours: number): Promise<SubscriptionRow | null> {
    const [row] = (await this.querySecret(
      `WITH u AS (UPDATE webhook_subscriptions SET previous_secret = secret, secret = $2,
         previous_secret_until = now() + make_interval(hours => $3), updated_at = now() WHERE id = $1 RETURNING ${SUB_COLUMNS})
       SELECT * FROM u`,
      [id, secret, overlapHours],
    )) as SubscriptionRow[];
    return row ?? null;
  }

  /** Queues a delivery without an event (its envelope is `payload`), due now. @returns the delivery. */
  async enqueuePayload(subscriptionId: string, type: string, payload: Record<string, unknown>): Promise<DeliveryRow> {
    const [row] = (await this.db.query(
      `WITH i AS (INSERT INTO webhook_deliveries (subscription_id, event_type, payload) VALUES ($1, $2, $3::jsonb) RETURNING ${DELIVERY_COLUMNS})
       SELECT * FROM i`,
      [subscriptionId, type, JSON.stringify(payload)],
    )) as DeliveryRow[];
    return row;
  }

  /** A subscription's deliveries, newest first, optionally of one state. */
  async listDeliveries(subscriptionId: string, state: string | undefined, limit: number): Promise<DeliveryRow[]> {
    return (await this.db.query(
      `SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries WHERE subscription_id = $1 AND ($2::text IS NULL OR state = $2)
       ORDER BY id DESC LIMIT $3`,
      [subscriptionId, state ?? null, limit],
    )) as DeliveryRow[];
  }

  /** The attempts of `deliveryIds`, oldest first. */
  async attemptsOf(deliveryIds: string[]): Promise<AttemptRow[]> {
    if (deliveryIds.length === 0) return [];
    return (await this.db.query(
      `SELECT id::text, delivery_id::text, at, status, latency_ms, response_excerpt, error FROM webhook_attempts
       WHERE delivery_id = ANY($1::bigint[]) ORDER BY id`,
      [deliveryIds],
    )) as AttemptRow[];
  }

  /**
   * Makes a delivery pending and due now again (attempts and its retry window restart). `id` must be digits.
   * @returns the delivery, or null when unknown.
   */
  async retryDelivery(id: string): Promise<DeliveryRow | null> {
    const [row] = (await this.db.query(
      `WITH u AS (UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = now(), lease_until = NULL, locked_by = NULL,
         attempts = 0, created_at = now(), delivered_at = NULL WHERE id = $1::bigint RETURNING ${DELIVERY_COLUMNS}) SELECT * FROM u`,
      [id],
    )) as DeliveryRow[];
    return row ?? null;
  }

  /**
   * Queues (or re-queues: pending again, due now, attempts reset) the subscription's deliveries of the committed
   * log events with `occurred_at` in [from, to) (one still uncommitted reaches it through the fan-out), of `types` (else the subscription's own filter) and its sessions.
   * At most `max` events.
   * @returns how many deliveries were queued.
   */
  async replay(subscriptionId: string, from: Date, to: Date, types: string[] | null, max: number): Promise<number> {
    const rows = (await this.db.query(
      `WITH src AS (
         SELECT e.id, e.type FROM events e JOIN webhook_subscriptions s ON s.id = $1
         WHERE e.occurred_at >= $2 AND e.occurred_at < $3
           AND (CASE WHEN $4::text[] IS NULL THEN s.events IS NULL OR e.type = ANY(s.events) ELSE e.type = ANY($4::text[]) END)
           AND (s.session_ids IS NULL OR e.session_id = ANY(s.session_ids))
           AND (s.format <> 's0' OR e.type IN ('message.received', 'message.sent'))
         ORDER BY e.id LIMIT $5
       ), ins AS (
         INSERT INTO webhook_deliveries (subscription_id, event_id, event_type) SELECT $1, id, type FROM src
         ON CONFLICT (subscription_id, event_id) DO UPDATE SET state = 'pending', next_attempt_at = now(), lease_until = NULL,
           locked_by = NULL, attempts = 0, created_at = now(), delivered_at = NULL
         RETURNING 1
       ) SELECT count(*)::int AS n FROM ins`,
      [subscriptionId, from, to, types, max],
    )) as { n: number }[];
    return rows[0].n;
  }

  /**
   * Up to `limit` committed events after `after` (oldest first, with their writer's `xid`), every transaction's:
   * the gaps in the ids are the caller's (GapTracker). With the bounds of the same snapshot: `xmin` (every
   * transaction below it has ended) and `xmax`, the next xid (`pg_current_xact_id()`: every transaction that had an
   * xid by then is below it; see GapTracker's SnapshotBounds).
   */
  async visibleEvents(after: string, limit: number): Promise<{ rows: FanOutEvent[]; xmin: bigint; xmax: bigint }> {
    const rows = (await this.db.query(
      `SELECT e.id::text AS id, e.xid::text AS xid, e.type, e.occurred_at, e.session_id,
         pg_snapshot_xmin(pg_current_snapshot())::text AS xmin, pg_current_xact_id()::text AS xmax
       FROM events e WHERE e.id > $1::bigint ORDER BY e.id LIMIT $2`,
      [after, limit],
    )) as (FanOutEvent & { xmin: string; xmax: string })[];
    if (rows.length === 0) return { rows: [], xmin: 0n, xmax: 0n };
    return { rows, xmin: BigInt(rows[0].xmin), xmax: BigInt(rows[0].xmax) };
  }

  /** The fan-out position: the last event id fanned out ('0' when the row is missing, e.g. after a TRUNCATE). */
  async cursor(): Promise<string> {
    const [row] = (await this.db.query(`SELECT last_event_id::text AS id FROM forwarding_cursor WHERE id = 1`)) as { id: string }[];
    return row?.id ?? '0';
  }

  /**
   * Fans `events` (read after `expectedCursor`, oldest first) out into one delivery per matching enabled
   * subscription created before the event, and moves the cursor to the last one, in one transaction holding the
   * cursor row `FOR UPDATE`. When the cursor is no longer `expectedCursor` (another process fanned out meanwhile)
   * nothing is written.
   * @returns whether this call fanned out.
   */
  async fanOut(expectedCursor: string, events: FanOutEvent[]): Promise<boolean> {
    if (events.length === 0) return false;
    return this.db.transaction(async (m) => {
      await m.query(`INSERT INTO forwarding_cursor (id, last_event_id) VALUES (1, 0) ON CONFLICT (id) DO NOTHING`);
      const [cur] = (await m.query(`SELECT last_event_id::text AS id FROM forwarding_cursor WHERE id = 1 FOR UPDATE`)) as { id: string }[];
      if (cur.id !== expectedCursor) return false;
      await m.query(
        `INSERT INTO webhook_deliveries (subscription_id, event_id, event_type)
         SELECT s.id, e.id, e.type
         FROM unnest($1::bigint[], $2::text[], $3::uuid[], $4::timestamptz[]) AS e(id, type, session_id, occurred_at)
         JOIN webhook_subscriptions s ON s.enabled AND e.occurred_at >= s.created_at
           AND (s.events IS NULL OR e.type = ANY(s.events))
           AND (s.session_ids IS NULL OR e.session_id = ANY(s.session_ids))
           AND (s.format <> 's0' OR e.type IN ('message.received', 'message.sent'))
         ORDER BY e.id, s.id
         ON CONFLICT (subscription_id, event_id) DO NOTHING`,
        [events.map((e) => e.id), events.map((e) => e.type), events.map((e) => e.session_id), events.map((e) => e.occurred_at)],
      );
      await m.query(`UPDATE forwarding_cursor SET last_event_id = $1::bigint WHERE id = 1`, [events[events.length - 1].id]);
      return true;
    });
  }

  /**
   * Claims up to `limit` due pending deliveries of enabled subscriptions (unleased or with an expired lease),
   * oldest due first, skipping rows other workers have locked, with at most `perSubscription` leased at once per
   * subscription (counted over every process's unexpired leases, except `done`: this worker's deliveries whose
   * call has ended and whose outcome is being written). Each claimed row gets a lease of `leaseSeconds`
   * for `workerId`, and its `next_attempt_at` moves to the lease's end: a leased row is not due, and becomes due
   * again by itself when the lease runs out (its holder died). Candidates are picked per subscription, so one
   * subscription's backlog cannot hide another's due rows. The cost is one probe of `ix_webhook_deliveries_sub_due`
   * per enabled subscription, whatever the backlog: finding the subscriptions with due rows by reading the due rows
   * (a DISTINCT over them, as before) was a sequential scan of the whole backlog per claim, 23 ms at 122,595 pending
   * rows, and it took a third of the ingest's throughput while 3 subscriptions fell behind it (bench:webhooks).
   * @returns the claimed deliveries with their subscription and event.
   */
  async claim(
    limit: number,
    perSubscription: number,
    leaseSeconds: number,
    workerId: string,
    done: string[] = [],
  ): Promise<ClaimedDelivery[]> {
    return (await this.db.query(
      `WITH leased AS (
         SELECT subscription_id, count(*)::int AS n FROM webhook_deliveries
         WHERE state = 'pending' AND next_attempt_at > now() AND next_attempt_at <= now() + make_interval(secs => $3)
           AND lease_until >= now() AND id <> ALL($5::bigint[])
         GROUP BY subscription_id
       ), subs AS (
         SELECT s.id, $2::int - COALESCE(l.n, 0) AS room
         FROM webhook_subscriptions s LEFT JOIN leased l ON l.subscription_id = s.id
         WHERE s.enabled AND COALESCE(l.n, 0) < $2::int
       ), cand AS (
         SELECT c.id, c.next_attempt_at FROM subs CROSS JOIN LATERAL (
           SELECT d.id, d.next_attempt_at FROM webhook_deliveries d
           WHERE d.subscription_id = subs.id AND d.state = 'pending' AND d.next_attempt_at <= now()
             AND (d.lease_until IS NULL OR d.lease_until < now())
           ORDER BY d.next_attempt_at, d.id LIMIT subs.room FOR UPDATE SKIP LOCKED
         ) c
       ), chosen AS (
         SELECT id FROM cand ORDER BY next_attempt_at, id LIMIT $1
       ), claimed AS (
         UPDATE webhook_deliveries d SET lease_until = now() + make_interval(secs => $3),
           next_attempt_at = now() + make_interval(secs => $3), locked_by = $4
         FROM chosen WHERE d.id = chosen.id
         RETURNING d.id::text, d.subscription_id, d.event_id::text, d.event_type, d.payload, d.attempts, d.created_at
       )
       SELECT c.*, s.url, s.headers, s.format, s.secret,
         CASE WHEN s.previous_secret_until > now() THEN s.previous_secret END AS previous_secret, s.failing_since,
         e.occurred_at AS ev_occurred_at, e.session_id AS ev_session_id, e.data AS ev_data
       FROM claimed c JOIN webhook_subscriptions s ON s.id = c.subscription_id LEFT JOIN events e ON e.id = c.event_id::bigint
       ORDER BY c.id::bigint`,
      [limit, perSubscription, leaseSeconds, workerId, done],
    )) as ClaimedDelivery[];
  }

  /** The message `id` as seed s0 shows it (name: book name, else profile name, else inbound sender name, else Unknown). */
  async s0Message(id: string): Promise<S0MessageRow | null> {
    if (!/^\d{1,18}$/.test(id)) return null;
    const [row] = (await this.db.query(
      `SELECT m.id::text, m.chat_id, m.direction, m.text, m.caption, m.provider_timestamp,
         COALESCE(c.name, c.profile_name, CASE WHEN m.direction = 'in' THEN m.sender_name END, 'Unknown') AS name
       FROM messages m LEFT JOIN contacts c ON c.id = m.contact_id WHERE m.id = $1::bigint`,
      [id],
    )) as S0MessageRow[];
    return row ?? null;
  }

  /**
   * Records one attempt for each of `outcomes` (deliveries `workerId` holds) and applies them in one statement:
   * the delivery's state, attempts, lease released, next attempt; the subscription's `failing_since` (cleared
   * when one of its deliveries in the batch succeeded, else set if unset). A delivery whose lease went to another
   * worker (or that is no longer pending) is left alone and its attempt not recorded. Disabling is separate
   * ({@link disableSubscription}).
   * @returns the ids (decimal text) that were written.
   */
  async finishMany(workerId: string, outcomes: { deliveryId: string; outcome: AttemptOutcome }[]): Promise<Set<string>> {
    if (outcomes.length === 0) return new Set();
    // Sorted, so two batches touching the same rows lock them in the same order.
    const sorted = [...outcomes].sort((a, b) => (BigInt(a.deliveryId) < BigInt(b.deliveryId) ? -1 : 1));
    const o = sorted.map((x) => x.outcome);
    const rows = (await this.db.query(
      `WITH o AS (
         SELECT * FROM unnest($2::bigint[], $3::int[], $4::int[], $5::text[], $6::text[], $7::text[], $8::float8[], $9::boolean[])
           AS o(id, status, latency_ms, excerpt, error, state, after_s, success)
       ), u AS (
         UPDATE webhook_deliveries d SET state = o.state, attempts = d.attempts + 1, last_status = o.status, last_error = o.error,
           lease_until = NULL, locked_by = NULL, next_attempt_at = now() + make_interval(secs => o.after_s),
           delivered_at = CASE WHEN o.state = 'delivered' THEN now() END
         FROM o WHERE d.id = o.id AND d.locked_by = $1 AND d.state = 'pending'
         RETURNING d.id, d.subscription_id, o.success
       ), a AS (
         INSERT INTO webhook_attempts (delivery_id, status, latency_ms, response_excerpt, error)
         SELECT o.id, o.status, o.latency_ms, o.excerpt, o.error FROM o JOIN u ON u.id = o.id ORDER BY o.id
       ), subs AS (
         SELECT subscription_id, bool_or(success) AS ok FROM u GROUP BY subscription_id
       ), cleared AS (
         UPDATE webhook_subscriptions s SET failing_since = NULL FROM subs
         WHERE s.id = subs.subscription_id AND subs.ok AND s.failing_since IS NOT NULL
       ), failing AS (
         UPDATE webhook_subscriptions s SET failing_since = now() FROM subs
         WHERE s.id = subs.subscription_id AND NOT subs.ok AND s.failing_since IS NULL
       )
       SELECT id::text FROM u`,
      [
        workerId,
        sorted.map((x) => x.deliveryId),
        o.map((x) => x.status),
        o.map((x) => Math.round(x.latencyMs)),
        o.map((x) => x.excerpt),
        o.map((x) => x.error),
        o.map((x) => (x.next.kind === 'delivered' ? 'delivered' : x.next.kind === 'failed' ? 'failed' : 'pending')),
        o.map((x) => (x.next.kind === 'retry' ? x.next.afterSeconds : 0)),
        o.map((x) => x.success),
      ],
    )) as { id: string }[];
    return new Set(rows.map((r) => r.id));
  }

  /**
   * Disables an enabled subscription with `reason` and writes the `webhook.disabled` audit entry (actor: none, the
   * worker) in the same statement; a subscription already disabled is left as it is (no second entry).
   * @returns whether it was disabled now.
   */
  async disableSubscription(id: string, reason: string, details: Record<string, unknown>): Promise<boolean> {
    const rows = (await this.db.query(
      `WITH d AS (
         UPDATE webhook_subscriptions SET enabled = false, disabled_reason = $2, updated_at = now() WHERE id = $1 AND enabled RETURNING id
       )
       INSERT INTO audit_log (action, target_type, target_id, details)
       SELECT 'webhook.disabled', 'webhook', id::text, $3::jsonb FROM d RETURNING 1`,
      [id, reason, JSON.stringify({ reason, ...details })],
    )) as unknown[];
    return rows.length > 0;
  }
}
