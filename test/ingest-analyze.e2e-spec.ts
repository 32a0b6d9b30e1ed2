import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCHEMA_PREFIX } from './helpers/db-schema';
import { loadFixture } from './helpers/fixtures';
import { postMeta } from './helpers/http';
import { createTestApp, NO_WORKERS, type TestApp } from './helpers/test-app';
import { until } from './helpers/until';

// This file's own schema, new (never analyzed) for every run; dropped before and after.
const SCHEMA = `${SCHEMA_PREFIX}_analyze`;
const TABLES = ['contacts', 'conversations', 'messages'];

interface MetaText {
  entry: { changes: { value: { contacts: { wa_id: string }[]; messages: { from: string; id: string }[] } }[] }[];
}

/** Meta's text fixture from a sender of its own (a new contact and conversation each) with a wamid of its own. */
function fromNewSender(n: number): MetaText {
  const body = loadFixture<MetaText>('meta/inbound/text.json');
  const value = body.entry[0].changes[0].value;
  const phone = `1650555${String(n).padStart(4, '0')}`;
  value.contacts[0].wa_id = phone;
  value.messages[0].from = phone;
  value.messages[0].id = `wamid.analyze.${n}`;
  return body;
}

/**
 * On a new database the ingest statements' cached plans are made for empty tables, and autovacuum's first
 * ANALYZE can be a minute away: the applier analyzes the tables it writes itself once INGEST_ANALYZE_MIN_ROWS of
 * their rows were written (src/ingest/ingest-applier.ts). 30 webhooks stay below autovacuum's own threshold (50
 * rows plus 10 %), so only the applier can have analyzed them. PostgreSQL only: PGlite keeps no such statistics.
 */
describe.skipIf(!process.env.DATABASE_URL)('the applier gives new tables their first statistics (e2e, PostgreSQL)', () => {
  let t: TestApp;
  let db: pg.Client;
  const lastAnalyzed = async () =>
    (
      await db.query<{ relname: string; at: Date | null }>(
        `SELECT relname, last_analyze AS at FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = ANY($2) ORDER BY relname`,
        [SCHEMA, TABLES],
      )
    ).rows;

  beforeAll(async () => {
    db = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await db.connect();
    await db.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE; CREATE SCHEMA ${SCHEMA}`);
    t = await createTestApp({
      DB_SCHEMA: SCHEMA,
      INGEST_ANALYZE_MIN_ROWS: '20',
      ...NO_WORKERS,
    });
  });
  afterAll(async () => {
    await t?.close();
    await db?.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
    await db?.end();
  });

  it('messages, conversations and contacts are analyzed once 20 rows were written to each', async () => {
    expect((await lastAnalyzed()).map((r) => [r.relname, r.at])).toEqual(TABLES.map((name) => [name, null]));
    for (let n = 0; n < 30; n++) expect((await postMeta(t.app, fromNewSender(n))).status).toBe(200);
    const rows = await until(
      'the three tables analyzed',
      async () => {
        const r = await lastAnalyzed();
        return r.length === TABLES.length && r.every((x) => x.at !== null) ? r : undefined;
      },
      30_000,
    );
    expect(rows.map((r) => r.relname)).toEqual(TABLES);
  }, 60_000);
});
