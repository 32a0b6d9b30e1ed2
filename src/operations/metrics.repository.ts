import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

/** The database-side gauges, read at scrape time (all cheap: partial indexes or small tables). */
@Injectable()
export class MetricsRepository {
  constructor(private readonly db: DataSource) {}

  /** Pending outbound messages per session: count and age of the oldest, in seconds. */
  async outbox(): Promise<{ session: string; depth: number; oldest: number }[]> {
    const rows: { session: string; depth: string; oldest: string }[] = await this.db.query(
      `SELECT session_id::text AS session, count(*) AS depth, EXTRACT(EPOCH FROM now() - min(created_at)) AS oldest
       FROM outbox_jobs WHERE state = 'pending' GROUP BY session_id`,
    );
    return rows.map((r) => ({ session: r.session, depth: Number(r.depth), oldest: Number(r.oldest) }));
  }

  async sessionsByStatus(): Promise<{ provider: string; status: string; n: number }[]> {
    const rows: { provider: string; status: string; n: string }[] = await this.db.query(
      `SELECT provider, status, count(*) AS n FROM sessions GROUP BY provider, status`,
    );
    return rows.map((r) => ({ ...r, n: Number(r.n) }));
  }

  /** Baileys leases held by owners whose id starts with `ownerPrefix` (this process) and not expired. */
  async heldLeases(ownerPrefix: string): Promise<number> {
    const [row]: { n: string }[] = await this.db.query(
      `SELECT count(*) AS n FROM baileys_sessions WHERE lease_owner LIKE $1 AND lease_until > now()`,
      [`${ownerPrefix.replace(/[\\%_]/g, '\\$&')}%`],
    );
    return Number(row.n);
  }

  /**
   * Outgoing webhooks: deliveries pending and failed (dead letters); events of the log not fanned out yet (ids
   * after `forwarding_cursor`: the deliveries' backlog while they give way to the ingest; 0 without an enabled
   * subscription); and the lag in seconds: since the oldest of the first event not fanned out, the event of the
   * lowest pending delivery (a delivery fanned out late is as old as its event, not as its row) and the oldest
   * pending row (`webhook.test` deliveries and retried ones have no event or an old one).
   */
  async deliveries(): Promise<{ pending: number; failed: number; unfanned: number; lag: number }> {
    const [row]: { pending: string; failed: string; unfanned: string | null; lag: string | null }[] = await this.db.query(
      `WITH cur AS (
         -- Without an enabled subscription nothing waits for the fan-out (and no worker may be running at all).
         SELECT CASE WHEN EXISTS (SELECT 1 FROM webhook_subscriptions WHERE enabled)
           THEN COALESCE((SELECT last_event_id FROM forwarding_cursor WHERE id = 1), 0) END AS id
       ),
       d AS (
         SELECT count(*) FILTER (WHERE state = 'pending') AS pending, count(*) FILTER (WHERE state = 'failed') AS failed,
                min(created_at) FILTER (WHERE state = 'pending') AS oldest,
                min(event_id) FILTER (WHERE state = 'pending') AS first_event
         FROM webhook_deliveries WHERE state IN ('pending', 'failed')
       )
       SELECT d.pending, d.failed, GREATEST((SELECT max(id) FROM events) - cur.id, 0) AS unfanned,
              EXTRACT(EPOCH FROM now() - LEAST(d.oldest,
                (SELECT e.occurred_at FROM events e WHERE e.id = d.first_event),
                (SELECT e.occurred_at FROM events e WHERE e.id > cur.id ORDER BY e.id LIMIT 1))) AS lag
       FROM d, cur`,
    );
    return {
      pending: Number(row.pending),
      failed: Number(row.failed),
      unfanned: Number(row.unfanned ?? 0),
      lag: Math.max(0, Number(row.lag ?? 0)),
    };
  }

  /**
   * The ingest inbox: acknowledged webhooks not applied yet, and the age of the oldest in seconds (0 when none).
   * The oldest is found through the primary key (rows are applied roughly in id order).
   */
  async ingestInbox(): Promise<{ pending: number; oldest: number }> {
    const [row]: { pending: string; oldest: string | null }[] = await this.db.query(
      `SELECT (SELECT count(*) FROM ingest_inbox) AS pending,
              (SELECT EXTRACT(EPOCH FROM now() - acked_at) FROM ingest_inbox ORDER BY id LIMIT 1) AS oldest`,
    );
    return { pending: Number(row.pending), oldest: Math.max(0, Number(row.oldest ?? 0)) };
  }

  /** Whether every migration wa-hub knows has been applied. */
  async migrationsApplied(): Promise<boolean> {
    return !(await this.db.showMigrations());
  }

  /** PostgreSQL pool use (node-postgres), or null on the embedded database. */
  pool(): { total: number; idle: number; waiting: number } | null {
    const pool = (this.db.driver as unknown as { master?: { totalCount?: number; idleCount?: number; waitingCount?: number } }).master;
    if (!pool || typeof pool.totalCount !== 'number') return null;
    return { total: pool.totalCount, idle: pool.idleCount ?? 0, waiting: pool.waitingCount ?? 0 };
  }

  /** A trivial round trip: the database answers. */
  async ping(): Promise<void> {
    await this.db.query('SELECT 1');
  }
}
