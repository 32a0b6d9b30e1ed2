import { Redis } from 'ioredis';
import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ApiKeysService } from '../src/auth/api-keys.service';
import { SharedCounters } from '../src/auth/shared-counters';
import { SharedCountersStore } from '../src/auth/shared-counters.repository';
import { RedisCountersStore } from '../src/auth/shared-counters.redis';
import { createTestApp, NO_WORKERS, TEST_ENV, type TestApp } from './helpers/test-app';
import { until } from './helpers/until';

const REDIS_URL = process.env.WAHUB_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/1';
const RATE_LIMIT = 20;
const AUTH_FAILURES = 5;

/**
 * Issue 15 with REDIS_URL: the API rate limit and the failed-authentication limit are counted in Redis, shared by
 * two wa-hub apps (two Nest applications in this process, each with its own database on PGlite, so only Redis
 * can carry the counts between them). Keys live under a prefix of this run's own and are deleted at the end.
 */
describe('rate limits shared through Redis (REDIS_URL, e2e)', () => {
  const prefix = `wahub-test:${process.pid}-${Date.now()}:`;
  const redis = new Redis(REDIS_URL, { lazyConnect: true });
  let a: TestApp;
  let b: TestApp;
  /** On PostgreSQL both apps use this worker's schema; on PGlite each has a database of its own. */
  const sameDatabase = Boolean(process.env.DATABASE_URL);

  const boot = () =>
    createTestApp({
      REDIS_URL,
      REDIS_KEY_PREFIX: prefix,
      RATE_LIMIT_PER_MINUTE: String(RATE_LIMIT),
      AUTH_FAILURES_PER_MINUTE: String(AUTH_FAILURES),
      ...NO_WORKERS,
    });
  /** A sync round of A, then B, then A: each app then holds both apps' counts. */
  const sync = async () => {
    for (const t of [a, b, a]) await t.app.get(SharedCounters).sync();
  };
  /** Sum of this run's Redis counters whose key matches `pattern` (after the prefix). */
  const inRedis = async (pattern: string): Promise<number> => {
    const keys = await redis.keys(`${prefix}${pattern}`);
    const values = keys.length ? await redis.mget(keys) : [];
    return values.reduce((s, v) => s + Number(v ?? 0), 0);
  };

  beforeAll(async () => {
    await redis.connect();
    [a, b] = [await boot(), await boot()];
    await a.reset();
    if (!sameDatabase) await b.reset();
  }, 180_000);
  beforeEach(async () => {
    // Counts are per fixed minute: start each test with at least 20 s of the minute left, so none straddles two windows.
    await until('20 s left in the minute', async () => (60_000 - (Date.now() % 60_000) >= 20_000 ? true : undefined), 25_000);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(keys);
    expect(await redis.keys(`${prefix}*`)).toEqual([]);
    redis.disconnect();
  });

  it('uses the Redis store, not PostgreSQL', () => {
    expect(a.app.get(SharedCountersStore)).toBeInstanceOf(RedisCountersStore);
    expect(b.app.get(SharedCountersStore)).toBeInstanceOf(RedisCountersStore);
  });

  it("one key's API limit counts the requests of both apps, either way round", async () => {
    // The same key in both apps (the same row, copied when each app has its own database).
    const { key: row0, secret } = await a.app.get(ApiKeysService).create('limited', ['read']);
    const key = { id: row0.id, secret };
    if (!sameDatabase) {
      const [row] = await a.db.query(`SELECT row_to_json(k) AS j FROM api_keys k WHERE id = $1`, [key.id]);
      await b.db.query(`INSERT INTO api_keys SELECT * FROM json_populate_record(NULL::api_keys, $1::json)`, [JSON.stringify(row.j)]);
    }
    const get = (t: TestApp) => request(t.app.getHttpServer()).get('/v1/sessions').set('X-API-Key', key.secret);

    for (let i = 0; i < 15; i++) expect((await get(a)).status, `A ${i + 1}`).toBe(200);
    await sync();
    expect(await inRedis(`counter:api:*key:${key.id}:*`)).toBe(15);
    // B's first request for the key, then its sync reads back A's 15 with it.
    expect((await get(b)).status).toBe(200);
    await sync();
    expect(await inRedis(`counter:api:*key:${key.id}:*`)).toBe(16);
    // B has seen 1 request itself: 4 more reach the limit of 20, the next is refused.
    for (let i = 0; i < RATE_LIMIT - 16; i++) expect((await get(b)).status, `B ${i + 2}`).toBe(200);
    const refused = await get(b);
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ error: { code: 'RATE_LIMITED' } });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    // And A, which counted 15 itself, learns B's requests.
    await sync();
    await sync();
    expect((await get(a)).status).toBe(429);
    // Another key has its own budget.
    const other = await a.app.get(ApiKeysService).create('other', ['read']);
    expect((await request(a.app.getHttpServer()).get('/v1/sessions').set('X-API-Key', other.secret)).status).toBe(200);
  });

  it('failed authentications from one address count on both apps', async () => {
    const wrong = (t: TestApp) => request(t.app.getHttpServer()).get('/v1/sessions').set('X-API-Key', 'wrong-key-0123456789abcdef');
    for (let i = 0; i < 3; i++) expect((await wrong(a)).status).toBe(401);
    await sync();
    expect(await inRedis('counter:auth-failures:*')).toBe(3);
    expect((await wrong(b)).status).toBe(401); // the 4th
    await sync();
    expect(await inRedis('counter:auth-failures:*')).toBe(4);
    expect((await wrong(b)).status).toBe(401); // the 5th
    expect((await wrong(b)).status).toBe(429); // over the limit on B, counted with A's
    await sync();
    expect((await wrong(a)).status).toBe(429);
    // A right key from that address is refused too while the address is over its limit (guessing is slow).
    expect((await request(a.app.getHttpServer()).get('/v1/sessions').set('X-API-Key', TEST_ENV.ADMIN_API_KEY)).status).toBe(429);
  });

  it('no increment is lost when both apps add to one window at once', async () => {
    const stores = [a.app.get(SharedCountersStore), b.app.get(SharedCountersStore)];
    const windowStart = Date.now() - (Date.now() % 60_000);
    const delta = { key: 'race', windowStart, windowEnd: windowStart + 60_000 };
    await Promise.all(Array.from({ length: 100 }, (_v, i) => stores[i % 2].addAndRead([{ ...delta, add: 3 }])));
    expect(await stores[0].addAndRead([{ ...delta, add: 0 }])).toEqual([300]);
    // The window's key expires by itself after the window (plus a minute of grace for clocks).
    const ttl = await redis.pttl((stores[0] as RedisCountersStore).keyOf(delta));
    expect(ttl).toBeGreaterThan(60_000);
    expect(ttl).toBeLessThanOrEqual(120_000);
  });

  it('with REDIS_URL set and Redis not answering, boot fails with a message naming REDIS_URL', async () => {
    await expect(
      createTestApp({ REDIS_URL: 'redis://:secret@127.0.0.1:1/0', BAILEYS_WORKER: 'false', SEND_WORKER: 'false' }),
    ).rejects.toThrow(/REDIS_URL redis:\/\/:\*\*\*@127\.0\.0\.1:1\/0: Redis does not answer/);
  });
});
