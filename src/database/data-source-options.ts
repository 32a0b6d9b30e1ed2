import type { DataSourceOptions } from 'typeorm';
import type { AppConfig } from '../config/app-config';
import { ENTITIES, MIGRATIONS } from './entities';
import { createEmbeddedDriver } from './pglite';

/**
 * TypeORM options shared by the app and the TypeORM CLI (`ormconfig.ts`): `DATABASE_URL` set → that PostgreSQL,
 * unset → the embedded PGlite database in `DATA_DIR`. Migrations only, never `synchronize`; pending migrations
 * run at start-up.
 */
export function buildDataSourceOptions(
  config: Pick<AppConfig, 'DATABASE_URL' | 'DATA_DIR' | 'DB_SCHEMA' | 'DB_POOL_SIZE'>,
): DataSourceOptions {
  const schema = config.DB_SCHEMA;
  const common = {
    type: 'postgres' as const,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsRun: true,
    migrationsTransactionMode: 'each' as const,
    synchronize: false,
    installExtensions: false,
    schema,
    // Fail instead of hanging when every connection is busy (PGlite has one; see STACK.md pitfall 4).
    connectTimeoutMS: 10_000,
    logging: ['error' as const],
  };
  // Extensions (unaccent, pg_trgm) are installed once per database, in public.
  const searchPath = { options: `-c search_path=${schema},public` };
  if (config.DATABASE_URL) {
    return { ...common, url: config.DATABASE_URL, extra: { max: config.DB_POOL_SIZE, ...(schema === 'public' ? {} : searchPath) } };
  }
  const { driver } = createEmbeddedDriver(config.DATA_DIR);
  return { ...common, driver, extra: { max: 1 } };
}
