import { SEED_AUTO_REPLIES } from '../../migrations/1764201600000-Outbox';
import { Test } from '@nestjs/testing';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { OpenAPIObject } from '@nestjs/swagger';
import { DataSource } from 'typeorm';
import { ApiKeysService } from '../../src/auth/api-keys.service';
import { AppModule } from '../../src/app.module';
import { APP_OPTIONS, configureApp } from '../../src/configure-app';

/**
 * createTestApp overrides for an app that runs none of the background workers (outgoing webhooks, Baileys
 * sessions, sending, media downloads): for tests of what the request path and the applier do alone.
 */
export const NO_WORKERS = { WEBHOOK_WORKER: 'false', BAILEYS_WORKER: 'false', SEND_WORKER: 'false', MEDIA_WORKER: 'false' } as const;

/** Secrets the test environment is configured with (vitest.config.mts `test.env`). */
export const TEST_ENV = {
  ADMIN_API_KEY: 'test-admin-key-0123456789abcdef',
  META_APP_SECRET: 'test-meta-app-secret',
  META_VERIFY_TOKEN: 'meatyhamhock',
  WABLAS_WEBHOOK_SECRET: 'wablas-test-secret',
  WWEBJS_WEBHOOK_SECRET: 'wwebjs-test-hmac-secret',
  WWEBJS_API_KEY: 'wwebjs-test-api-key',
};

export interface TestApp {
  app: NestExpressApplication;
  db: DataSource;
  openapi: OpenAPIObject;
  /** Empties every table and restores the bootstrap admin key. */
  reset(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Boots what production boots: the real AppModule and configureApp(), against PostgreSQL (DATABASE_URL, the
 * worker's schema from test/helpers/db-schema.ts) or a fresh in-memory PGlite, with migrations run at start-up. Listens on an ephemeral port so
 * supertest and fake provider servers talk real HTTP.
 */
export async function createTestApp(env: Record<string, string> = {}): Promise<TestApp> {
  // Configuration is read when the module is compiled: overrides apply to this app only.
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
    .compile()
    .finally(() => {
      for (const [k, v] of Object.entries(saved))
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
    });
  const app = moduleRef.createNestApplication<NestExpressApplication>(APP_OPTIONS);
  app.useLogger(['error']);
  const openapi = await configureApp(app);
  await app.init();
  const db = app.get(DataSource);
  const tables = (
    (await db.query(`SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'migrations'`)) as {
      tablename: string;
    }[]
  ).map((t) => t.tablename);
  return {
    app,
    db,
    openapi,
    async reset() {
      // The app's background work (outbox worker, stats compaction) may hold a lock the TRUNCATE needs in the
      // other order; PostgreSQL then aborts one side with a deadlock: try again.
      for (let attempt = 1; ; attempt++) {
        try {
          await db.query(`TRUNCATE ${tables.join(', ')} RESTART IDENTITY CASCADE`);
          break;
        } catch (e) {
          if ((e as { driverError?: { code?: string } }).driverError?.code !== '40P01' || attempt === 5) throw e;
        }
      }
      // Rows the migrations seed, as a fresh install has them.
      await db.query(SEED_AUTO_REPLIES);
      await app.get(ApiKeysService).onApplicationBootstrap();
    },
    close: () => app.close(),
  };
}
