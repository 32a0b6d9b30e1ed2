/**
 * PostgreSQL schemas the suite owns (DATABASE_URL set). Every Vitest worker gets its own schema,
 * `<prefix>_<VITEST_POOL_ID>`, so test files run in parallel without seeing each other's rows; the prefix
 * (WAHUB_TEST_SCHEMA_PREFIX, default `wahub_test`) lets two people run the suite on one database at once.
 * test/global-setup.ts drops and recreates them; test/setup-db-schema.ts points each worker's app at its own.
 */
export const SCHEMA_PREFIX = process.env.WAHUB_TEST_SCHEMA_PREFIX || 'wahub_test';

if (!/^[a-z_][a-z0-9_]*$/.test(SCHEMA_PREFIX)) {
  throw new Error(`WAHUB_TEST_SCHEMA_PREFIX must be a lower-case SQL identifier, got ${JSON.stringify(SCHEMA_PREFIX)}`);
}

/**
 * The schema of the worker this code runs in (VITEST_POOL_ID is 1..maxWorkers, unique among running workers of
 * one project). The `alone` project's workers get schemas of their own (`<prefix>_alone_<id>`): pool ids are per
 * project, so they must not share the parallel workers' schemas.
 */
export function workerSchema(
  poolId: string | number | undefined = process.env.VITEST_POOL_ID,
  group = process.env.WAHUB_TEST_SCHEMA_GROUP,
): string {
  return `${SCHEMA_PREFIX}_${group === 'alone' ? 'alone_' : ''}${poolId ?? 1}`;
}

/** test/sending-crash.e2e-spec.ts's child process: that file is its only user, so one name per prefix is enough. */
export const CRASH_SCHEMA = `${SCHEMA_PREFIX}_crash`;

/** Every schema of this prefix (per-worker and crash), to drop them all whatever maxWorkers was last time. */
export const OWNED_SCHEMAS_REGEX = `^${SCHEMA_PREFIX}_((alone_)?[0-9]+|crash|media_crash|analyze)$`;
