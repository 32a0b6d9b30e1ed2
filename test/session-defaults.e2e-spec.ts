import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadFixture } from './helpers/fixtures';
import { apiGet, postMeta, postWwebjsSeed } from './helpers/http';
import { createTestApp, TEST_ENV, type TestApp } from './helpers/test-app';

type Session = { id: string; provider: string; externalId: string; userId: string | null; userIdSource: string | null };

/**
 * Default session owner per provider (PUT/GET/DELETE /v1/session-defaults[/:provider]): sessions come from a first
 * webhook without an owner; the provider's default owns those without a `userId` of their own, on GET /v1/sessions
 * (`userId`, `userIdSource`, `?userId=`) and on seed s4's list and status routes. Resolved when read (the stored
 * `sessions.user_id` stays null), audited, admin keys not limited to sessions only.
 */
describe('session defaults: a default owner per provider (e2e)', () => {
  let t: TestApp;
  const http = () => request(t.app.getHttpServer());
  const admin = (r: request.Test) => r.set('X-API-Key', TEST_ENV.ADMIN_API_KEY);
  const put = (provider: string, body: unknown, key = TEST_ENV.ADMIN_API_KEY) =>
    http()
      .put(`/v1/session-defaults/${provider}`)
      .set('X-API-Key', key)
      .send(body as object);
  const sessionsOf = async (query: string): Promise<Session[]> => {
    const res = await apiGet(t.app, `/v1/sessions${query}`);
    expect(res.status).toBe(200);
    return res.body.data as Session[];
  };
  const byName = (list: Session[]) => Object.fromEntries(list.map((s) => [s.externalId, [s.userId, s.userIdSource]]));
  /** Two wwebjs sessions (`alpha`, `beta`) and one Meta number, each created by its first webhook. */
  const firstWebhooks = async () => {
    for (const sessionId of ['alpha', 'beta'])
      expect((await postWwebjsSeed(t.app, { sessionId, event: 'qr', data: { qr: `qr-${sessionId}` } })).status).toBe(200);
    expect((await postMeta(t.app, loadFixture('meta/inbound/text.json'))).status).toBe(200);
    const all = await sessionsOf('');
    expect(all.map((s) => s.provider).sort()).toEqual(['meta', 'wwebjs', 'wwebjs']);
    return Object.fromEntries(all.map((s) => [s.externalId, s]));
  };

  beforeAll(async () => {
    t = await createTestApp();
  });
  beforeEach(async () => t.reset());
  afterAll(async () => t?.close());

  it('PUT sets the owner of every ownerless session of that provider, created before or after; own userIds win', async () => {
    expect((await sessionsOf('?userId=user-456')).length).toBe(0);
    // Set before any session exists: sessions created later by their first webhook inherit it.
    const set = await put('wwebjs', { userId: 'user-456' });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ provider: 'wwebjs', userId: 'user-456', sessions: 0 });
    expect(Date.parse(set.body.createdAt)).not.toBeNaN();
    const s = await firstWebhooks();

    expect(byName(await sessionsOf(''))).toMatchObject({
      alpha: ['user-456', 'inherited'],
      beta: ['user-456', 'inherited'],
    });
    const meta = Object.values(s).find((x) => x.provider === 'meta')!;
    expect((await apiGet(t.app, `/v1/sessions/${meta.id}`)).body).toMatchObject({ userId: null, userIdSource: null });
    const owned = await apiGet(t.app, '/v1/sessions?userId=user-456');
    expect(owned.body.data.map((x: Session) => x.externalId).sort()).toEqual(['alpha', 'beta']);
    expect(owned.body.summary.total).toBe(2);
    expect((await apiGet(t.app, `/v1/sessions/${s.alpha.id}`)).body).toMatchObject({ userId: 'user-456', userIdSource: 'inherited' });
    // Resolved when read: nothing was written into the sessions.
    const stored = await t.db.query(`SELECT count(*)::int AS n FROM sessions WHERE user_id IS NOT NULL`);
    expect(stored[0].n).toBe(0);

    // A session's own owner wins, and clearing it falls back to the default.
    const patched = await admin(http().patch(`/v1/sessions/${s.beta.id}`)).send({ userId: 'own-1' });
    expect(patched.body).toMatchObject({ userId: 'own-1', userIdSource: 'own' });
    expect((await sessionsOf('?userId=user-456')).map((x) => x.externalId)).toEqual(['alpha']);
    expect((await sessionsOf('?userId=own-1')).map((x) => x.externalId)).toEqual(['beta']);
    expect((await sessionsOf('?userId=own-1&provider=wwebjs')).map((x) => x.externalId)).toEqual(['beta']);
    const list = await apiGet(t.app, '/v1/session-defaults');
    expect(list.status).toBe(200);
    expect(list.body.data).toEqual([expect.objectContaining({ provider: 'wwebjs', userId: 'user-456', sessions: 1 })]);
    const cleared = await admin(http().patch(`/v1/sessions/${s.beta.id}`)).send({ userId: null });
    expect(cleared.body).toMatchObject({ userId: 'user-456', userIdSource: 'inherited' });
  });

  it('PUT again replaces the default; DELETE clears it (404 when there is none); each change is audited', async () => {
    const s = await firstWebhooks();
    await put('wwebjs', { userId: 'user-456' }).expect(200);
    const replaced = await put('wwebjs', { userId: 'user-789' });
    expect(replaced.body).toMatchObject({ provider: 'wwebjs', userId: 'user-789', sessions: 2 });
    expect(Date.parse(replaced.body.updatedAt)).toBeGreaterThanOrEqual(Date.parse(replaced.body.createdAt));
    expect(await sessionsOf('?userId=user-456')).toEqual([]);
    expect((await sessionsOf('?userId=user-789')).length).toBe(2);
    expect((await apiGet(t.app, '/v1/session-defaults/wwebjs')).body).toMatchObject({ userId: 'user-789' });
    await put('meta', { userId: 'meta-owner' }).expect(200);
    expect((await apiGet(t.app, '/v1/session-defaults')).body.data.map((d: { provider: string }) => d.provider)).toEqual([
      'meta',
      'wwebjs',
    ]);

    const removed = await admin(http().delete('/v1/session-defaults/wwebjs'));
    expect(removed.status).toBe(200);
    expect(removed.body).toMatchObject({ provider: 'wwebjs', userId: 'user-789' });
    expect((await apiGet(t.app, `/v1/sessions/${s.alpha.id}`)).body).toMatchObject({ userId: null, userIdSource: null });
    expect(await sessionsOf('?userId=user-789')).toEqual([]);
    expect((await sessionsOf('?userId=meta-owner')).map((x) => x.provider)).toEqual(['meta']);
    expect((await admin(http().delete('/v1/session-defaults/wwebjs'))).status).toBe(404);
    expect((await apiGet(t.app, '/v1/session-defaults/wwebjs')).status).toBe(404);

    const audit = await apiGet(t.app, '/v1/audit-log?limit=20');
    const entries = (
      audit.body.data as { action: string; targetType: string; targetId: string; details: unknown; actorKeyId: string | null }[]
    )
      .filter((e) => e.action.startsWith('session_default.'))
      .reverse();
    expect(entries.map((e) => [e.action, e.targetId, e.details])).toEqual([
      ['session_default.set', 'wwebjs', { userId: 'user-456', previous: null }],
      ['session_default.set', 'wwebjs', { userId: 'user-789', previous: 'user-456' }],
      ['session_default.set', 'meta', { userId: 'meta-owner', previous: null }],
      ['session_default.cleared', 'wwebjs', { userId: 'user-789' }],
    ]);
    // By whom: the admin key that made each change.
    const adminKeyId = entries[0].actorKeyId;
    expect(adminKeyId).toEqual(expect.any(String));
    expect(entries.every((e) => e.targetType === 'provider' && e.actorKeyId === adminKeyId)).toBe(true);
  });

  it('seed s4: ?userId= on the realtime list and the status route answer the inherited owner', async () => {
    await firstWebhooks();
    expect((await apiGet(t.app, '/api/whatsapp/session/list-realtime?userId=user-456')).body.data).toEqual([]);
    await put('wwebjs', { userId: 'user-456' }).expect(200);
    const mine = await apiGet(t.app, '/api/whatsapp/session/list-realtime?userId=user-456');
    expect(mine.status).toBe(200);
    expect(mine.body.data.map((x: { sessionId: string; userId: string }) => [x.sessionId, x.userId]).sort()).toEqual([
      ['alpha', 'user-456'],
      ['beta', 'user-456'],
    ]);
    expect(mine.body.summary).toMatchObject({ total: 2, needsQR: 2 });
    expect((await apiGet(t.app, '/api/whatsapp/session/status/alpha')).body.data).toMatchObject({ sessionId: 'alpha', userId: 'user-456' });
    await admin(http().delete('/v1/session-defaults/wwebjs')).expect(200);
    // The seed's model wants a string: no owner is "".
    expect((await apiGet(t.app, '/api/whatsapp/session/status/alpha')).body.data.userId).toBe('');
    expect((await apiGet(t.app, '/api/whatsapp/session/list-realtime?userId=user-456')).body.summary.total).toBe(0);
  });

  it('400 unknown provider or bad userId, 401 without a key, 403 for read keys and keys limited to sessions', async () => {
    const unknown = await put('nosuch', { userId: 'u' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toMatchObject({ code: 'VALIDATION_FAILED', message: 'Unknown provider nosuch' });
    for (const body of [{}, { userId: '' }, { userId: 'x'.repeat(129) }, { userId: 7 }, { userId: 'u', extra: 1 }])
      expect((await put('wwebjs', body)).status, JSON.stringify(body)).toBe(400);
    expect((await http().get('/v1/session-defaults')).status).toBe(401);
    expect((await http().put('/v1/session-defaults/wwebjs').send({ userId: 'u' })).status).toBe(401);

    const key = async (scopes: string[], sessionIds?: string[]) => {
      const res = await admin(http().post('/v1/api-keys')).send({ name: `k ${scopes}`, scopes, ...(sessionIds ? { sessionIds } : {}) });
      expect(res.status).toBe(201);
      return res.body.secret as string;
    };
    const s = await firstWebhooks();
    const reader = await key(['read']);
    expect((await put('wwebjs', { userId: 'u' }, reader)).status).toBe(403);
    expect((await http().get('/v1/session-defaults').set('X-API-Key', reader)).status).toBe(403);
    const limited = await key(['admin'], [s.alpha.id]);
    const refused = await put('wwebjs', { userId: 'u' }, limited);
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('FORBIDDEN');
    expect((await http().delete('/v1/session-defaults/wwebjs').set('X-API-Key', limited)).status).toBe(403);
    expect((await apiGet(t.app, '/v1/session-defaults')).body.data).toEqual([]);
  });

  it('is documented in the OpenAPI document', () => {
    const paths = t.openapi.paths;
    expect(Object.keys(paths['/v1/session-defaults'] ?? {})).toContain('get');
    expect(Object.keys(paths['/v1/session-defaults/{provider}'] ?? {}).sort()).toEqual(['delete', 'get', 'put']);
    const schemas = t.openapi.components?.schemas as Record<string, { properties?: Record<string, { enum?: unknown[] }> }>;
    expect(schemas.SessionResponseDto.properties?.userIdSource?.enum).toEqual(['own', 'inherited']);
  });
});
