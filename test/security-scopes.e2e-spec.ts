import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeysService } from '../src/auth/api-keys.service';
import { loadFixture } from './helpers/fixtures';
import { postMeta, postWablas } from './helpers/http';
import { createTestApp, TEST_ENV, TestApp } from './helpers/test-app';

type Decision = 'public' | 'read' | 'send' | 'admin';

/** Every route's decision. A route missing here fails the first test: a new route must be decided. */
const DECISIONS: Record<string, Decision> = {
  'GET /health': 'public',
  'GET /health/live': 'public',
  'GET /health/ready': 'public',
  'GET /webhooks/meta': 'public',
  'POST /webhooks/meta': 'public',
  'POST /webhooks/wablas': 'public',
  'GET /webhooks/wwebjs': 'public',
  'POST /webhooks/wwebjs': 'public',
  'GET /webhooks/wwebjs/{sessionId}': 'public',
  'POST /webhooks/wwebjs/{sessionId}': 'public',
  'POST /api/wa/webhook': 'public',
  'GET /api/whatsapp/webhook': 'public',
  'POST /api/whatsapp/webhook': 'public',
  'GET /api/whatsapp/webhook/{sessionId}': 'public',
  'POST /api/whatsapp/webhook/{sessionId}': 'public',
  'GET /v1/messages': 'read',
  'GET /v1/messages/{id}': 'read',
  'GET /v1/messages/{id}/media': 'read',
  'GET /v1/messages/{id}/media-url': 'read',
  'POST /v1/messages/{id}/media/retry': 'send',
  'POST /v1/media': 'send',
  // The signature in the query string decides (a missing one is a 403 with or without a key).
  'GET /v1/media/{mediaId}/content': 'public',
  'GET /v1/conversations': 'read',
  'GET /v1/conversations/{id}/messages': 'read',
  'GET /v1/sessions': 'read',
  'GET /v1/sessions/{id}': 'read',
  'GET /v1/sessions/{id}/qr': 'read',
  'GET /v1/sessions/{id}/events': 'read',
  'GET /api/wa/get_history': 'read',
  'GET /api/wa/conversation/{phone}': 'read',
  'GET /api/whatsapp/session/status/{sessionId}': 'read',
  'GET /api/whatsapp/session/list-realtime': 'read',
  'PATCH /v1/sessions/{id}': 'admin',
  'GET /v1/session-defaults': 'admin',
  'GET /v1/session-defaults/{provider}': 'admin',
  'PUT /v1/session-defaults/{provider}': 'admin',
  'DELETE /v1/session-defaults/{provider}': 'admin',
  'GET /v1/webhook-events': 'admin',
  'GET /v1/webhook-events/{id}': 'admin',
  'POST /v1/api-keys': 'admin',
  'GET /v1/api-keys': 'admin',
  'DELETE /v1/api-keys/{id}': 'admin',
  'GET /v1/audit-log': 'admin',
  'POST /v1/conversations/{id}/read': 'send',
  'POST /v1/contacts': 'admin',
  'POST /v1/contacts/import': 'admin',
  'GET /v1/contacts': 'read',
  'GET /v1/contacts/{id}': 'read',
  'PATCH /v1/contacts/{id}': 'admin',
  'DELETE /v1/contacts/{id}': 'admin',
  'GET /api/whatsapp/messages': 'read',
  'GET /api/whatsapp/conversations': 'read',
  'POST /api/whatsapp/mark-read': 'send',
  'GET /v1/stats': 'read',
  'GET /api/wa/stats': 'read',
  'POST /v1/messages': 'send',
  'POST /api/wa/send_message': 'send',
  'POST /api/whatsapp/send': 'send',
  'POST /v1/auto-replies': 'admin',
  'GET /v1/auto-replies': 'admin',
  'GET /v1/auto-replies/{id}': 'admin',
  'PATCH /v1/auto-replies/{id}': 'admin',
  'DELETE /v1/auto-replies/{id}': 'admin',
  'POST /v1/sessions': 'admin',
  'POST /v1/sessions/{id}/start': 'admin',
  'POST /v1/sessions/{id}/stop': 'admin',
  'POST /v1/sessions/{id}/restart': 'admin',
  'POST /v1/sessions/{id}/logout': 'admin',
  'POST /v1/sessions/{id}/pairing-code': 'admin',
  'DELETE /v1/sessions/{id}': 'admin',
  'GET /api/whatsapp/status': 'read',
  'GET /api/whatsapp/qr': 'read',
  'POST /api/whatsapp/logout': 'admin',
  'POST /api/webhook': 'send',
  'POST /api/whatsapp/receive': 'send',
  'GET /v1/events': 'read',
  'GET /v1/events/stream': 'read',
  'POST /v1/webhooks': 'admin',
  'GET /v1/webhooks': 'admin',
  'GET /v1/webhooks/{id}': 'admin',
  'PATCH /v1/webhooks/{id}': 'admin',
  'DELETE /v1/webhooks/{id}': 'admin',
  'POST /v1/webhooks/{id}/rotate-secret': 'admin',
  'POST /v1/webhooks/{id}/test': 'admin',
  'GET /v1/webhooks/{id}/deliveries': 'admin',
  'POST /v1/webhooks/{id}/replay': 'admin',
  'POST /v1/webhook-deliveries/{id}/retry': 'admin',
};

const PARAMS: Record<string, string> = {
  id: '00000000-0000-4000-8000-000000000000',
  mediaId: '00000000-0000-4000-8000-000000000000',
  sessionId: 'matrix-session',
  phone: '6281234567890',
  provider: 'wwebjs',
};
const BODIES: Record<string, unknown> = {
  'POST /v1/api-keys': { name: 'matrix', scopes: ['read'] },
  'PATCH /v1/sessions/{id}': { userId: 'u1' },
  'PUT /v1/session-defaults/{provider}': { userId: 'u1' },
  'POST /v1/sessions': { provider: 'baileys' },
  'POST /v1/sessions/{id}/pairing-code': { phoneNumber: '+16505551111' },
  'POST /api/webhook': { from: '6281234567890', message: 'hi' },
  'POST /v1/contacts': { phone: '+62 812-3456-7890' },
  'POST /v1/contacts/import': [{ phone: '+6281234567891' }],
  'PATCH /v1/contacts/{id}': { name: 'x' },
  'POST /api/whatsapp/mark-read': { phone_number: '6281234567890' },
  'POST /v1/webhooks': { url: 'https://203.0.113.10/hook' },
  'PATCH /v1/webhooks/{id}': { enabled: false },
  'POST /v1/webhooks/{id}/replay': { from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z' },
};

describe('scope matrix: every route in the OpenAPI document × every kind of key (e2e)', () => {
  let t: TestApp;
  const keys: Record<string, string | undefined> = {};
  beforeAll(async () => {
    // This matrix fails authentication hundreds of times from one address: the per-IP limit is tested elsewhere.
    t = await createTestApp({ AUTH_FAILURES_PER_MINUTE: '100000' });
    await t.reset();
    const svc = t.app.get(ApiKeysService);
    const secret = async (scopes: ('read' | 'send' | 'admin')[], sessionIds: string[] | null = null) =>
      (await svc.create(`matrix ${scopes}`, scopes, sessionIds)).secret;
    keys.none = undefined;
    keys.wrong = 'wah_this-key-does-not-exist-anywhere-at-all';
    keys.read = await secret(['read']);
    keys.send = await secret(['send']);
    keys.admin = TEST_ENV.ADMIN_API_KEY;
    keys.otherSession = await secret(['read'], ['11111111-1111-4111-8111-111111111111']);
    const expired = await svc.create('expired', ['admin'], null, new Date(Date.now() + 60_000));
    await t.db.query(`UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1`, [expired.key.id]);
    keys.expired = expired.secret;
    const revoked = await svc.create('revoked', ['admin']);
    await svc.revoke(revoked.key.id);
    keys.revoked = revoked.secret;
  });
  afterAll(async () => t?.close());

  const operations = () =>
    Object.entries(t.openapi.paths).flatMap(([path, item]) =>
      Object.keys(item as object)
        .filter((m) => ['get', 'post', 'patch', 'put', 'delete'].includes(m))
        .map((m) => `${m.toUpperCase()} ${path}`),
    );

  it('every route has a decision, and every decision a route', () => {
    const ops = operations();
    expect(ops.filter((op) => !(op in DECISIONS))).toEqual([]);
    expect(Object.keys(DECISIONS).filter((op) => !ops.includes(op))).toEqual([]);
  });

  const call = (op: string, key: string | undefined) => {
    const [method, path] = op.split(' ');
    const url = path.replace(/\{(\w+)\}/g, (_m, name: string) => PARAMS[name]);
    let req = request(t.app.getHttpServer())[method.toLowerCase() as 'get'](url);
    if (key) req = req.set('X-API-Key', key);
    // A Server-Sent Events stream answers its status and then never ends: take the status, drop the stream.
    if (url.endsWith('/stream'))
      req = req.buffer(true).parse((res, cb) => {
        const stream = res as unknown as NodeJS.ReadableStream & { headers: Record<string, string>; destroy: () => void };
        if (stream.headers['content-type']?.startsWith('text/event-stream')) {
          cb(null, {});
          stream.destroy();
          return;
        }
        let text = '';
        stream.on('data', (c: Buffer) => (text += c.toString()));
        stream.on('end', () => cb(null, text ? JSON.parse(text) : {}));
      });
    return BODIES[op] !== undefined ? req.send(BODIES[op] as object) : method === 'POST' ? req.send({}) : req;
  };

  const ALLOWED: Record<string, Decision[]> = { read: ['read'], send: ['send'], admin: ['read', 'send', 'admin'], otherSession: ['read'] };

  it.each(Object.keys(DECISIONS))('%s', async (op) => {
    const decision = DECISIONS[op];
    if (decision === 'public') {
      // Provider credentials decide; an API key changes nothing.
      const [anonymous, withAdmin] = [await call(op, undefined), await call(op, keys.admin)];
      expect(withAdmin.status).toBe(anonymous.status);
      expect(anonymous.status).toBeLessThan(500);
      return;
    }
    for (const kind of ['none', 'wrong', 'expired', 'revoked']) {
      const res = await call(op, keys[kind]);
      expect(res.status, `${kind} key`).toBe(401);
      expect(res.body.error?.code ?? res.body.status ?? res.body.success ?? res.body.error).toBeDefined();
    }
    for (const kind of ['read', 'send', 'admin', 'otherSession']) {
      const res = await call(op, keys[kind]);
      if (ALLOWED[kind].includes(decision)) expect([401, 403], `${kind} key → ${res.status}`).not.toContain(res.status);
      else expect(res.status, `${kind} key`).toBe(403);
      expect(res.status).toBeLessThan(500);
    }
  });
});

describe('session-limited keys see only their sessions, also through the seed routes (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
    await t.reset();
  });
  afterAll(async () => t?.close());

  it('a key for the Wablas device sees its messages, conversations and session, and nothing of the Meta number', async () => {
    await postMeta(t.app, loadFixture('meta/inbound/text.json'));
    await postWablas(t.app, loadFixture('wablas/inbound/text_private.json'));
    const [wablas] = await t.db.query(`SELECT id FROM sessions WHERE provider = 'wablas'`);
    const [meta] = await t.db.query(`SELECT id FROM sessions WHERE provider = 'meta'`);
    const { secret } = await t.app.get(ApiKeysService).create('wablas only', ['read'], [wablas.id]);
    const get = (path: string) => request(t.app.getHttpServer()).get(path).set('X-API-Key', secret);

    const messages = await get('/v1/messages');
    expect(messages.body.total).toBe(1);
    expect(messages.body.data[0].provider).toBe('wablas');
    const metaMessage = (await t.db.query(`SELECT id FROM messages WHERE session_id = $1`, [meta.id]))[0];
    expect((await get(`/v1/messages/${metaMessage.id}`)).status).toBe(404);
    expect((await get('/v1/conversations')).body.total).toBe(1);
    const metaConv = (await t.db.query(`SELECT id FROM conversations WHERE session_id = $1`, [meta.id]))[0];
    expect((await get(`/v1/conversations/${metaConv.id}/messages`)).status).toBe(404);
    expect((await get('/v1/sessions')).body.data.map((s: { provider: string }) => s.provider)).toEqual(['wablas']);
    expect((await get(`/v1/sessions/${meta.id}`)).status).toBe(404);
    expect((await get('/api/wa/get_history')).body.total).toBe(1);
    expect((await get('/api/wa/conversation/16505551234')).body.count).toBe(0);
    expect((await get('/api/whatsapp/session/list-realtime')).body.summary.total).toBe(1);
    expect((await get('/api/whatsapp/session/status/106540352242922')).status).toBe(404);
    // Contacts: only those with a conversation in the key's sessions.
    const contacts = (await get('/v1/contacts')).body;
    expect(contacts.data.map((c: { phone: string }) => c.phone)).toEqual([
      (
        await t.db.query(`SELECT c.phone FROM contacts c JOIN conversations v ON v.contact_id = c.id WHERE v.session_id = $1`, [wablas.id])
      )[0].phone,
    ]);
    const [metaContact] = await t.db.query(`SELECT contact_id FROM conversations WHERE session_id = $1`, [meta.id]);
    expect((await get(`/v1/contacts/${metaContact.contact_id}`)).status).toBe(404);
    expect((await get(`/v1/contacts/${contacts.data[0].id}`)).status).toBe(200);
  });
});
