import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ApiKeysService } from '../src/auth/api-keys.service';
import { waitFor } from './helpers/fake-provider';
import { loadFixture } from './helpers/fixtures';
import { postMeta, postWablas, withFreshIds } from './helpers/http';
import { createTestApp, TEST_ENV, TestApp } from './helpers/test-app';
import { until, windowLeft } from './helpers/until';

const admin = (t: TestApp) => ({
  get: (path: string) => request(t.app.getHttpServer()).get(path).set('X-API-Key', TEST_ENV.ADMIN_API_KEY),
  post: (path: string, body: object) => request(t.app.getHttpServer()).post(path).set('X-API-Key', TEST_ENV.ADMIN_API_KEY).send(body),
  delete: (path: string) => request(t.app.getHttpServer()).delete(path).set('X-API-Key', TEST_ENV.ADMIN_API_KEY),
});

describe('API keys and audit log (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  beforeEach(async () => t.reset());
  afterAll(async () => t?.close());

  it('creates a key (secret shown once, stored hashed), lists it without the secret, revokes it at once, audits both', async () => {
    const created = await admin(t).post('/v1/api-keys', { name: 'crm', scopes: ['read'] });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: 'crm',
      scopes: ['read'],
      sessionIds: null,
      secret: expect.stringMatching(/^wah_[A-Za-z0-9_-]{43}$/),
    });
    const secret = created.body.secret as string;
    expect(secret.startsWith(created.body.prefix)).toBe(true);
    const stored = await t.db.query(`SELECT key_hash FROM api_keys WHERE id = $1`, [created.body.id]);
    expect(stored[0].key_hash).not.toContain(secret);

    const listed = await admin(t).get('/v1/api-keys');
    expect(JSON.stringify(listed.body)).not.toContain(secret);
    expect(listed.body.data.map((k: { name: string }) => k.name)).toContain('crm');

    expect((await request(t.app.getHttpServer()).get('/v1/messages').set('X-API-Key', secret)).status).toBe(200);
    expect((await request(t.app.getHttpServer()).get('/v1/messages').set('X-API-Key', secret)).body.error).toBeUndefined();
    // last_used_at is written in the background (not awaited by the request): on PostgreSQL's pool it may land
    // after the answer, so it is polled for.
    const lastUsed = await until('last_used_at written', async () => {
      const [row] = await t.db.query(`SELECT last_used_at FROM api_keys WHERE id = $1`, [created.body.id]);
      return row?.last_used_at ?? undefined;
    });
    expect(lastUsed).not.toBeNull();

    expect((await admin(t).delete(`/v1/api-keys/${created.body.id}`)).body.revokedAt).toEqual(expect.any(String));
    expect((await request(t.app.getHttpServer()).get('/v1/messages').set('X-API-Key', secret)).status).toBe(401);
    expect((await admin(t).delete('/v1/api-keys/00000000-0000-4000-8000-000000000000')).status).toBe(404);

    const audit = await admin(t).get('/v1/audit-log');
    expect(audit.body.data.map((e: { action: string }) => e.action)).toEqual(['api_key.revoked', 'api_key.created']);
    expect(JSON.stringify(audit.body)).not.toContain(secret);
  });

  it.each([
    [{ name: '', scopes: ['read'] }, 'name'],
    [{ name: 'x', scopes: [] }, 'scopes'],
    [{ name: 'x', scopes: ['root'] }, 'scopes'],
    [{ name: 'x', scopes: ['read'], sessionIds: ['nope'] }, 'sessionIds'],
    [{ name: 'x', scopes: ['read'], expiresAt: '2001-01-01T00:00:00Z' }, 'expiresAt'],
    [{ name: 'x', scopes: ['read'], extra: 1 }, 'extra'],
  ])('invalid key request %j → 400 naming %s', async (body, field) => {
    const res = await admin(t).post('/v1/api-keys', body);
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain(field);
  });

  it('a read key cannot create keys or send; an expired key is refused', async () => {
    const read = (await admin(t).post('/v1/api-keys', { name: 'r', scopes: ['read'] })).body.secret;
    const res = await request(t.app.getHttpServer())
      .post('/v1/api-keys')
      .set('Authorization', `Bearer ${read}`)
      .send({ name: 'escalate', scopes: ['admin'] });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('FORBIDDEN');
    const expiresAt = Date.now() + 1500;
    const soon = (await admin(t).post('/v1/api-keys', { name: 'soon', scopes: ['read'], expiresAt: new Date(expiresAt).toISOString() }))
      .body.secret;
    expect((await request(t.app.getHttpServer()).get('/v1/sessions').set('X-API-Key', soon)).status).toBe(200);
    await waitFor(async () => Date.now() > expiresAt, 5000); // the key's own expiry, not a guess at it
    expect((await request(t.app.getHttpServer()).get('/v1/sessions').set('X-API-Key', soon)).status).toBe(401);
  });
});

describe('rate limits at their defaults (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '100' });
    await t.reset();
  });
  afterAll(async () => t?.close());

  it('the 101st API request in a minute from one key gets 429 with Retry-After and our error shape', async () => {
    // Counted per fixed minute: requests straddling two windows would start counting again in the second.
    await windowLeft(10_000);
    for (let i = 0; i < 100; i++) expect((await admin(t).get('/v1/sessions')).status, `request ${i + 1}`).toBe(200);
    const res = await admin(t).get('/v1/sessions');
    expect(res.status).toBe(429);
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    expect(res.body).toMatchObject({ error: { code: 'RATE_LIMITED' }, requestId: expect.any(String) });
    // Another key has its own budget.
    const other = await t.app.get(ApiKeysService).create('other', ['read']);
    expect((await request(t.app.getHttpServer()).get('/v1/sessions').set('X-API-Key', other.secret)).status).toBe(200);
  });

  it('a verified burst of 2,000 provider webhooks is not throttled', async () => {
    const base = loadFixture<Record<string, unknown>>('meta/inbound/text.json');
    const statuses = new Map<number, number>();
    for (let batch = 0; batch < 40; batch++) {
      const results = await Promise.all(
        Array.from({ length: 50 }, (_v, i) => postMeta(t.app, withFreshIds(base, `burst${batch * 50 + i}`))),
      );
      for (const r of results) statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    }
    expect(Object.fromEntries(statuses)).toEqual({ 200: 2000 });
    expect(Number((await t.db.query(`SELECT count(*) AS n FROM messages`))[0].n)).toBe(2000);
    const wablas = loadFixture<Record<string, unknown>>('wablas/inbound/text_private.json');
    for (let i = 0; i < 150; i++) expect((await postWablas(t.app, { ...wablas, id: `burst-${i}` })).status).toBe(200);
  }, 120_000);

  it('failed verifications are limited per IP: past 30 a minute, 429 even for a bad guess', async () => {
    await windowLeft(10_000); // per fixed minute, as above
    const codes: number[] = [];
    for (let i = 0; i < 35; i++) {
      codes.push(
        (
          await request(t.app.getHttpServer())
            .post('/webhooks/meta')
            .set('Content-Type', 'application/json')
            .set('X-Hub-Signature-256', `sha256=${String(i).padStart(64, '0')}`)
            .send('{}')
        ).status,
      );
    }
    expect(codes.slice(0, 30).every((c) => c === 401)).toBe(true);
    expect(codes.slice(30).every((c) => c === 429)).toBe(true);
    const blocked = await request(t.app.getHttpServer()).post(`/webhooks/wablas?secret=wrong`).send({});
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
  });
});
