import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The event log (issue 12/13): every change integrators care about is a row of `events`, written in the same
 * transaction as the change (ingest's SQL functions, the outbox, session control), so live streams and outgoing
 * webhooks never miss one.
 * - `id`: monotonic; clients resume after it (`GET /v1/events?after=`, SSE `Last-Event-ID`).
 * - `xid`: the writing transaction (`pg_current_xact_id()`). Ids are taken at insert time but transactions
 *   commit in any order, so readers only return events of transactions older than every running one
 *   (`xid < pg_snapshot_xmin(pg_current_snapshot())`): a cursor never skips an event committed late.
 * - `session_id` has no foreign key: events outlive a deleted session until retention (EVENT_RETENTION_DAYS).
 */
export class EventLog1764460800000 implements MigrationInterface {
  name = 'EventLog1764460800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE events (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        type varchar(32) NOT NULL,
        occurred_at timestamptz NOT NULL DEFAULT now(),
        session_id uuid,
        data jsonb NOT NULL,
        xid xid8 NOT NULL DEFAULT pg_current_xact_id()
      )`);
    await q.query(`CREATE INDEX ix_events_session ON events (session_id, id)`);
    await q.query(`CREATE INDEX ix_events_occurred ON events (occurred_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS events`);
  }
}
