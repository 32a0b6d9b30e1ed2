import swc from 'unplugin-swc';
import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Files that measure time, so other files' load on the same cores would make them flaky: run one at a time,
 * with nothing else running. sending-rate asserts per-second send counts and spacing; sending-crash kills a
 * child process mid-delivery and bounds how many sends were in doubt at that moment.
 */
// events-paging holds transactions open on purpose (they hold back every other file's event tail and fan-out on
// the cluster while they run) and asserts on the cluster's snapshot bounds: alone.
const RUN_ALONE = [
  'test/sending-rate.e2e-spec.ts',
  'test/sending-crash.e2e-spec.ts',
  'test/contacts-import-load.e2e-spec.ts',
  'test/events-paging.e2e-spec.ts',
];

// Vite's own TS transform drops decorator metadata, which Nest's DI needs (../shared/STACK.md, pitfall 1).
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
    globalSetup: ['test/global-setup.ts'],
    // Test files run in parallel, each worker on its own database: on PostgreSQL its own schema
    // (test/helpers/db-schema.ts, set by test/setup-db-schema.ts), on PGlite a fresh in-memory database per app.
    // 2 workers: one per core of the 2-core machine the suite is measured on; WAHUB_TEST_MAX_WORKERS overrides.
    maxWorkers: Number(process.env.WAHUB_TEST_MAX_WORKERS) || 2,
    setupFiles: ['test/setup-db-schema.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    env: {
      ADMIN_API_KEY: 'test-admin-key-0123456789abcdef',
      META_APP_SECRET: 'test-meta-app-secret',
      META_VERIFY_TOKEN: 'meatyhamhock',
      WABLAS_WEBHOOK_SECRET: 'wablas-test-secret',
      WWEBJS_WEBHOOK_SECRET: 'wwebjs-test-hmac-secret',
      WWEBJS_API_KEY: 'wwebjs-test-api-key',
      // The suite makes thousands of requests with one key: the limit is tested on its own (test/security-throttling).
      RATE_LIMIT_PER_MINUTE: '1000000',
      LOG_LEVEL: 'error',
      // No test may dial WhatsApp: Baileys sessions a test starts without its own fake get a closed local port.
      BAILEYS_WA_WS_URL: 'ws://127.0.0.1:9/ws/chat',
      // Media downloads run only where a spec turns them on (test/media-kit.ts): elsewhere the worker would dial
      // Baileys' media host for a fake peer's image, or race a spec reading message_media after a wwebjs media webhook.
      MEDIA_WORKER: 'false',
      // Real PostgreSQL: DB_SCHEMA is the worker's own schema, set by test/setup-db-schema.ts (reset by
      // test/global-setup.ts). Embedded: a fresh in-memory PGlite per app.
      ...(process.env.DATABASE_URL ? {} : { DATA_DIR: 'memory://' }),
    },
    projects: [
      {
        extends: true,
        test: {
          name: 'parallel',
          include: ['src/**/*.spec.ts', 'test/**/*.e2e-spec.ts'],
          exclude: [...configDefaults.exclude, ...RUN_ALONE],
        },
      },
      {
        // fileParallelism: false puts these in Vitest's sequential group: one at a time, after the parallel files.
        extends: true,
        test: { name: 'alone', include: RUN_ALONE, fileParallelism: false, env: { WAHUB_TEST_SCHEMA_GROUP: 'alone' } },
      },
    ],
  },
});
