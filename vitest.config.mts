import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

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
    include: ['src/**/*.spec.ts', 'test/**/*.e2e-spec.ts'],
    globalSetup: ['test/global-setup.ts'],
    // e2e files share one database, so they run one after another; each test truncates what it wrote.
    fileParallelism: false,
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
      // Real PostgreSQL: the suite's own schema (reset by test/global-setup.ts). Embedded: a fresh in-memory PGlite per app.
      ...(process.env.DATABASE_URL ? { DB_SCHEMA: 'wahub_test' } : { DATA_DIR: 'memory://' }),
    },
  },
});
