import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

/**
 * `npm run bench:baileys`: bench/baileys.bench.ts only (a benchmark, not a test: it prints a table and asserts only
 * that no message was lost). Same swc/decorator setup and env block as ../vitest.config.mts; one worker, nothing
 * else running, long timeouts. On PostgreSQL (DATABASE_URL) it uses its own schema `bench_baileys`, which the bench
 * drops and recreates at start; else a fresh in-memory PGlite.
 */
export default defineConfig({
  oxc: false,
  plugins: [
    swc.vite({
      jsc: {
        parser: { syntax: 'typescript', decorators: true },
        transform: { legacyDecorator: true, decoratorMetadata: true },
        target: 'es2023',
      },
      module: { type: 'es6' },
    }),
  ],
  test: {
    include: ['bench/baileys.bench.ts'],
    maxWorkers: 1,
    fileParallelism: false,
    pool: 'forks',
    // global.gc() before each RSS reading.
    // BENCH_CPU_PROF=<dir>: a V8 CPU profile of the worker (wa-hub, Baileys and the fakes) into that directory.
    execArgv: ['--expose-gc', ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [])],
    testTimeout: 600_000,
    hookTimeout: 300_000,
    env: {
      ADMIN_API_KEY: 'test-admin-key-0123456789abcdef',
      META_APP_SECRET: 'test-meta-app-secret',
      META_VERIFY_TOKEN: 'meatyhamhock',
      WABLAS_WEBHOOK_SECRET: 'wablas-test-secret',
      WWEBJS_WEBHOOK_SECRET: 'wwebjs-test-hmac-secret',
      WWEBJS_API_KEY: 'wwebjs-test-api-key',
      RATE_LIMIT_PER_MINUTE: '1000000',
      LOG_LEVEL: 'error',
      // As in ../vitest.config.mts: no media download worker (the load is text: nothing to download).
      MEDIA_WORKER: 'false',
      ...(process.env.DATABASE_URL ? { DB_SCHEMA: 'bench_baileys' } : { DATA_DIR: 'memory://' }),
    },
  },
});
