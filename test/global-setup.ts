import { Client } from 'pg';
import type { TestProject } from 'vitest/node';
import { OWNED_SCHEMAS_REGEX, workerSchema } from './helpers/db-schema';

/**
 * On real PostgreSQL (DATABASE_URL set) each test worker owns one schema, `<prefix>_<VITEST_POOL_ID>`
 * (test/helpers/db-schema.ts): every schema of the prefix is dropped and one per worker recreated here so every
 * run starts clean; the app's own start-up then runs the migrations into it. On the embedded default each test
 * app gets a fresh in-memory PGlite database, so there is nothing to do.
 */
export default async function setup(project: TestProject): Promise<void> {
  const url = process.env.DATABASE_URL;
  if (!url) return;
  const workers = Math.max(1, project.globalConfig.maxWorkers ?? 1);
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const owned = (await client.query<{ nspname: string }>('SELECT nspname FROM pg_namespace WHERE nspname ~ $1', [OWNED_SCHEMAS_REGEX]))
      .rows;
    for (const { nspname } of owned) await client.query(`DROP SCHEMA IF EXISTS "${nspname}" CASCADE`);
    // Installed once per database (migrations do the same with IF NOT EXISTS): done here so parallel workers'
    // first migrations do not race to create them on a fresh database.
    await client.query('CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA public');
    await client.query('CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public');
    for (let id = 1; id <= workers; id++) {
      await client.query(`CREATE SCHEMA "${workerSchema(id, undefined)}"`);
      await client.query(`CREATE SCHEMA "${workerSchema(id, 'alone')}"`);
    }
  } finally {
    await client.end();
  }
}
