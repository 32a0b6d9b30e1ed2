import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * House order (issue 10):
 * - Canonical session statuses: seed s4's names (`qr_generated`, `session_connected`, `session_not_connected`)
 *   become `qr`, `connected`, `disconnected` in sessions and their history; src/compat maps them back for s4.
 * - No list of providers in the schema: the CHECK on `sessions.provider` goes (providers are folders now).
 * - `webhook_events.raw_body`: the exact request bytes, whatever the content type, so nothing acknowledged is
 *   lost; `body` (jsonb) becomes the parsed form for queries and display.
 * - `wa_ingest_batch(jsonb)` is replaced by `wa_ingest_batch(jsonb, bytea[])` and its section functions, which
 *   live as source files in src/database/sql (applied by the SqlSources migration that follows).
 */
export class HouseOrder1764288000000 implements MigrationInterface {
  name = 'HouseOrder1764288000000';

  async up(q: QueryRunner): Promise<void> {
    for (const [from, to] of [
      ['qr_generated', 'qr'],
      ['session_connected', 'connected'],
      ['session_not_connected', 'disconnected'],
    ]) {
      await q.query(`UPDATE sessions SET status = $2 WHERE status = $1`, [from, to]);
      await q.query(`UPDATE session_events SET from_status = $2 WHERE from_status = $1`, [from, to]);
      await q.query(`UPDATE session_events SET to_status = $2 WHERE to_status = $1`, [from, to]);
    }
    await q.query(`ALTER TABLE sessions DROP CONSTRAINT IF EXISTS sessions_provider_check`);
    await q.query(`ALTER TABLE webhook_events ADD COLUMN raw_body bytea`);
    await q.query(`DROP FUNCTION IF EXISTS wa_ingest_batch(jsonb)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION IF EXISTS wa_ingest_batch(jsonb, bytea[])`);
    await q.query(`ALTER TABLE webhook_events DROP COLUMN IF EXISTS raw_body`);
    for (const [from, to] of [
      ['qr_generated', 'qr'],
      ['session_connected', 'connected'],
      ['session_not_connected', 'disconnected'],
    ]) {
      await q.query(`UPDATE sessions SET status = $1 WHERE status = $2`, [from, to]);
    }
  }
}
