import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Limits shared by every wa-hub process on one database (issue 15, "several processes"):
 * - `rate_counters`: hits per (key, fixed window start). Processes add their hits in batches (every ~200 ms) and
 *   read back the total, so API rate limits and failed-authentication counters hold across processes.
 * - `send_leases`: which process sends for a session (and until when, database clock), so the per-session
 *   pacing is kept by one pacer whichever process claims the session's outbox jobs.
 */
export class SharedLimits1764806400000 implements MigrationInterface {
  name = 'SharedLimits1764806400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE rate_counters (
        key varchar(200) NOT NULL,
        window_start timestamptz NOT NULL,
        window_end timestamptz NOT NULL,
        hits integer NOT NULL DEFAULT 0,
        PRIMARY KEY (key, window_start)
      )`);
    await q.query(`CREATE INDEX ix_rate_counters_end ON rate_counters (window_end)`);
    await q.query(`
      CREATE TABLE send_leases (
        session_id uuid PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
        owner varchar(100) NOT NULL,
        until timestamptz NOT NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS send_leases`);
    await q.query(`DROP TABLE IF EXISTS rate_counters`);
  }
}
