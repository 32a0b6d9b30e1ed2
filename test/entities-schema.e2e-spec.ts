import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENTITIES } from '../src/database/entities';
import { createTestApp, type TestApp } from './helpers/test-app';

/**
 * The TypeORM entities (src/database/entities.ts) describe the schema the migrations build: TypeORM's schema
 * builder, asked what `synchronize` would change on the migrated database, finds nothing. (wa-hub never runs
 * synchronize; this is how drift between an entity and the migrations shows up.)
 */
describe('entities match the migrated schema (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('generating a migration from the entities yields no statement', async () => {
    expect(ENTITIES.length).toBeGreaterThan(0);
    const log = await t.db.driver.createSchemaBuilder().log();
    expect(log.upQueries.map((q) => q.query)).toEqual([]);
  });
});
