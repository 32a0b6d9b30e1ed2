import { Client } from 'pg';

/**
 * On real PostgreSQL (DATABASE_URL set) the suite owns one schema, `wahub_test`, dropped and recreated here so
 * every run starts clean; the app's own start-up then runs the migrations into it. On the embedded default each
 * test app gets a fresh in-memory PGlite database, so there is nothing to do.
 */
export default async function setup(): Promise<void> {
  const url = process.env.DATABASE_URL;
  if (!url) return;
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('DROP SCHEMA IF EXISTS wahub_test CASCADE');
    await client.query('CREATE SCHEMA wahub_test');
  } finally {
    await client.end();
  }
}
