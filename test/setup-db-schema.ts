import { workerSchema } from './helpers/db-schema';

/**
 * Runs in each test worker before its test file is imported (vitest.config.mts `setupFiles`): on PostgreSQL the
 * apps this worker creates use the worker's own schema (test/helpers/db-schema.ts). `test.env` is static, the
 * pool id is only known here. On PGlite (memory://) every app has its own database already.
 */
if (process.env.DATABASE_URL) process.env.DB_SCHEMA = workerSchema();
