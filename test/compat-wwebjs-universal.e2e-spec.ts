import { createHmac } from 'node:crypto';
import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { seedExample } from './fixtures/seeds/seeds';
import { apiGet, applied, postWwebjsSeed } from './helpers/http';
import { createTestApp, TEST_ENV, TestApp } from './helpers/test-app';

type Universal = { sessionId: string; event: string; data?: unknown };
const ex = (section: string) => seedExample<Universal>('s1-wwebjs-universal', section);
const ACK = (event: string, sessionId: string) => ({ success: true, message: 'Webhook processed successfully', event, sessionId });

/**
 * Seed s1 (shared/seeds/s1-wwebjs-universal-webhook.md), section by section: the universal webhook's payload
 * format, the curl tests, the modified `triggerWebhook` (HMAC `X-Webhook-Signature: sha256=<hex>` over
 * `JSON.stringify(payload)`), the supported events. Deliberate deviation: the signature is required (the seed's
 * development mode without a secret is refused).
 */
describe('compat: seed s1 wwebjs universal webhook (e2e)', () => {
  let t: TestApp;
  const http = () => request(t.app.getHttpServer());
  beforeAll(async () => {
    t = await createTestApp();
  });
  beforeEach(async () => t.reset());
  afterAll(async () => t?.close());

  it('Opsi 1: Universal Webhook, Payload Format: sessionId comes from the payload', async () => {
    const res = await postWwebjsSeed(t.app, ex('Opsi 1: Universal Webhook: Payload Format'), '/api/whatsapp/webhook');
    expect(res.status).toBe(200);
    expect(res.body).toEqual(ACK('qr', 'session-123'));
    const [s] = await t.db.query(`SELECT provider, external_id, status, qr FROM sessions`);
    expect(s).toEqual({ provider: 'wwebjs', external_id: 'session-123', status: 'qr', qr: 'qr-code-data' });
  });

  it('Opsi 2: Session-Specific Webhook: sessionId in the path', async () => {
    const { event, data } = ex('Opsi 1: Universal Webhook: Payload Format');
    const res = await postWwebjsSeed(t.app, { event, data } as Universal, '/api/whatsapp/webhook/path-session');
    expect(res.body).toEqual(ACK('qr', 'path-session'));
    expect((await t.db.query(`SELECT external_id FROM sessions`))[0].external_id).toBe('path-session');
  });

  it('Testing Integration 1: GET availability; the curl payload (signed) → JSON ack', async () => {
    const get = await http().get('/api/whatsapp/webhook');
    expect(get.status).toBe(200);
    expect(get.body).toEqual({ success: true, message: 'Webhook endpoint is active' });
    const res = await postWwebjsSeed(t.app, ex('Testing Integration 1. Test Universal Webhook: curl payload'), '/api/whatsapp/webhook');
    expect(res.status).toBe(200);
    expect(res.body).toEqual(ACK('qr', 'test-session'));
  });

  it('Testing Integration 2 / Update utils.js: triggerWebhook QR and ready events, signed as the seed signs them', async () => {
    for (const section of [
      'Testing Integration 2. Test dengan WhatsApp Server: QR event',
      'Testing Integration 2. Test dengan WhatsApp Server: ready event',
    ]) {
      const payload = ex(section);
      const payloadString = JSON.stringify(payload);
      const signature = createHmac('sha256', TEST_ENV.WWEBJS_WEBHOOK_SECRET).update(payloadString).digest('hex');
      // Acknowledged from the ingest inbox: wait for the applier before the status is read below.
      const res = await applied(
        t.app,
        http()
          .post('/api/whatsapp/webhook')
          .set('Content-Type', 'application/json')
          .set('User-Agent', 'WhatsApp-Server/1.0')
          .set('X-Webhook-Signature', `sha256=${signature}`)
          .send(payloadString),
      );
      expect(res.status, section).toBe(200);
      expect(res.body).toEqual(ACK(payload.event, 'test-session')); // `response.ok` → `await response.json()`
    }
    const status = await apiGet(t.app, '/api/whatsapp/session/status/test-session');
    expect(status.body.data).toMatchObject({ status: 'session_connected', qr: null, isConnected: true });
  });

  it('Supported Events: every listed event is accepted and stored (none failed)', async () => {
    const events: Universal[] = [
      { sessionId: 's1', event: 'qr', data: { qr: '2@abc' } },
      { sessionId: 's1', event: 'authenticated', data: {} },
      { sessionId: 's1', event: 'ready', data: {} },
      { sessionId: 's1', event: 'change_state', data: { state: 'CONNECTED' } },
      { sessionId: 's1', event: 'loading_screen', data: { percent: 50, message: 'WhatsApp' } },
      {
        sessionId: 's1',
        event: 'message',
        data: {
          message: {
            id: { _serialized: 'false_6281234567890@c.us_S1A' },
            body: 'hi',
            from: '6281234567890@c.us',
            to: '6289876543210@c.us',
            timestamp: 1640995200,
            type: 'chat',
          },
        },
      },
      {
        sessionId: 's1',
        event: 'message_create',
        data: {
          message: {
            id: { _serialized: 'true_6281234567890@c.us_S1B' },
            body: 'hello',
            fromMe: true,
            from: '6289876543210@c.us',
            to: '6281234567890@c.us',
            timestamp: 1640995201,
            type: 'chat',
          },
        },
      },
      { sessionId: 's1', event: 'message_ack', data: { message: { id: { _serialized: 'true_6281234567890@c.us_S1B' } }, ack: 3 } },
      { sessionId: 's1', event: 'call', data: { call: { id: 'call-s1', from: '6281234567890@c.us' } } },
      { sessionId: 's1', event: 'disconnected', data: { reason: 'NAVIGATION' } },
      { sessionId: 's1', event: 'auth_failure', data: { msg: 'restore failed' } },
    ];
    for (const body of events) {
      const res = await postWwebjsSeed(t.app, body, '/api/whatsapp/webhook');
      expect(res.status, body.event).toBe(200);
      expect(res.body).toEqual(ACK(body.event, 's1'));
    }
    expect(await t.db.query(`SELECT count(*)::int AS n FROM webhook_events WHERE state = 'failed'`)).toEqual([{ n: 0 }]);
    expect(await t.db.query(`SELECT external_id, status FROM messages ORDER BY external_id`)).toEqual([
      { external_id: 'false_6281234567890@c.us_S1A', status: 'received' },
      { external_id: 'true_6281234567890@c.us_S1B', status: 'read' },
    ]);
  });

  it('Important Notes 2. Security: an unsigned or wrongly signed payload is refused, nothing stored', async () => {
    const body = ex('Testing Integration 1. Test Universal Webhook: curl payload');
    const unsigned = await http().post('/api/whatsapp/webhook').send(body);
    expect(unsigned.status).toBe(401);
    expect(unsigned.body).toEqual({ success: false, error: expect.any(String) });
    const wrong = await http()
      .post('/api/whatsapp/webhook')
      .set('X-Webhook-Signature', `sha256=${'0'.repeat(64)}`)
      .send(body);
    expect(wrong.status).toBe(401);
    expect(await t.db.query(`SELECT count(*)::int AS n FROM webhook_events`)).toEqual([{ n: 0 }]);
  });

  it('Important Notes 3. Error Handling: an event that is not understood answers 400 { success: false, error, details } (stored raw)', async () => {
    const res = await postWwebjsSeed(t.app, { sessionId: 's1', event: 'message', data: {} }, '/api/whatsapp/webhook');
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ success: false, error: 'Invalid webhook payload', details: expect.stringContaining('message') });
    expect(await t.db.query(`SELECT state FROM webhook_events`)).toEqual([{ state: 'failed' }]);
  });
});
