import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { expectSameShape, seedExample } from './fixtures/seeds/seeds';
import { FakeProvider, waitFor } from './helpers/fake-provider';
import { loadFixture } from './helpers/fixtures';
import { apiGet, postMeta, postWablas } from './helpers/http';
import { createTestApp, TEST_ENV, TestApp } from './helpers/test-app';

const ex = <T = Record<string, unknown>>(section: string) => seedExample<T>('s0-odoo-wablas', section);
const ADMIN = { 'X-API-Key': TEST_ENV.ADMIN_API_KEY };

/**
 * Seed s0 (shared/seeds/s0-odoo-wablas-headless.md), section by section: every curl, JSON body, client example,
 * error and troubleshooting command, compared with what the document shows (status codes, keys, types, values).
 * Deliberate deviations: reads need a read key, sends a send key, the webhook the Wablas URL secret.
 */
describe('compat: seed s0 Odoo WhatsApp Headless (e2e)', () => {
  let t: TestApp;
  const wablas = new FakeProvider();
  const http = () => request(t.app.getHttpServer());
  const webhook = (body: Record<string, unknown>) => postWablas(t.app, body, { path: '/api/wa/webhook' });
  const send = (body: unknown) =>
    http().post('/api/wa/send_message').set(ADMIN).set('Content-Type', 'application/json').send(JSON.stringify(body));

  beforeAll(async () => {
    const url = await wablas.start();
    t = await createTestApp({ WABLAS_BASE_URL: url, WABLAS_TOKEN: 'wablas-token' });
  });
  beforeEach(async () => {
    await t.reset();
    wablas.clear();
    wablas.reply = () => ({ status: 200, body: { status: true, data: { messages: [{ id: `wablas-out-${wablas.requests.length}` }] } } });
  });
  afterAll(async () => {
    await t?.close();
    await wablas.stop();
  });

  it('Installation Step 3. Verify Installation: GET /api/wa/get_history → {"status": "success", "data": [], ...}', async () => {
    const res = await apiGet(t.app, '/api/wa/get_history');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'success', count: 0, total: 0, limit: 100, offset: 0, data: [] });
  });

  describe('API Endpoints', () => {
    it('1. Receive Webhook: "Wablas sends" → "Odoo responds" with the stored record id', async () => {
      const res = await webhook(ex('API Endpoints 1. Receive Webhook: Wablas sends'));
      expect(res.status).toBe(200);
      expectSameShape(res.body, ex('API Endpoints 1. Receive Webhook: Odoo responds'));
      expect(res.body).toMatchObject({ status: 'success', message: 'Message received' });
      const [row] = await t.db.query(`SELECT id, text, direction, chat_id FROM messages`);
      expect(res.body.record_id).toBe(Number(row.id));
      expect(row).toMatchObject({ text: 'Hello world', direction: 'in', chat_id: '6285137033257' });
    });

    it('1. Receive Webhook: the canonical fixture answers the same shape', async () => {
      const res = await postWablas(t.app, loadFixture('wablas/inbound/text_private.json'), { path: '/api/wa/webhook' });
      expect(res.body).toEqual({ status: 'success', message: 'Message received', record_id: expect.any(Number) });
    });

    it('2. Get All Messages: ?limit=50&offset=0 answers the Response shape, newest first', async () => {
      await webhook(ex('Webhook Configuration: Wablas Webhook Format'));
      await webhook({ ...ex('Webhook Configuration: Wablas Webhook Format'), id: 'out-1', isFromMe: true, message: 'lapar banget ee' });
      const res = await apiGet(t.app, '/api/wa/get_history?limit=50&offset=0');
      expect(res.status).toBe(200);
      const doc = ex('API Endpoints 2. Get All Messages: Response');
      expectSameShape(res.body, doc);
      expect(Object.keys(res.body)).toEqual(Object.keys(doc));
      expect(res.body).toMatchObject({ status: 'success', count: 2, total: 2, limit: 50, offset: 0 });
      expect(res.body.data.map((m: { direction: string }) => m.direction).sort()).toEqual(['in', 'out']);
      for (const m of res.body.data) {
        expect(m).toMatchObject({ sender_number: '6285137033257', sender_name: 'Unknown', time: '2026-02-16 07:50:42' });
        expect(m.time).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
      }
    });

    it('3. Get Conversation with Contact: /conversation/6285137033257?limit=50 answers the Response shape', async () => {
      await webhook(ex('Webhook Configuration: Wablas Webhook Format'));
      const res = await apiGet(t.app, '/api/wa/conversation/6285137033257?limit=50');
      expect(res.status).toBe(200);
      expectSameShape(res.body, ex('API Endpoints 3. Get Conversation: Response'));
      expect(res.body).toMatchObject({ status: 'success', phone: '6285137033257', count: 1 });
      expect(res.body.messages[0]).toMatchObject({ message: 'Hello', direction: 'in', sender_name: 'Unknown' });
    });

    it('4. Get Statistics: ?days=30 answers the Response shape with the window in the key name', async () => {
      await webhook({ ...ex('Webhook Configuration: Wablas Webhook Format'), timestamp: new Date().toISOString() });
      await webhook({
        ...ex('Webhook Configuration: Wablas Webhook Format'),
        id: 'out-1',
        isFromMe: true,
        timestamp: new Date().toISOString(),
      });
      const res = await apiGet(t.app, '/api/wa/stats?days=30');
      expect(res.status).toBe(200);
      expectSameShape(res.body, ex('API Endpoints 4. Get Statistics: Response'));
      expect(res.body).toEqual({
        status: 'success',
        total_messages: 2,
        incoming_messages: 1,
        outgoing_messages: 1,
        messages_last_30_days: 2,
        unique_contacts: 1,
      });
      expect(Object.keys((await apiGet(t.app, '/api/wa/stats')).body)).toContain('messages_last_7_days');
    });

    it('5. Send Message: Request → Response, and the text really goes out through Wablas', async () => {
      await webhook(ex('Webhook Configuration: Wablas Webhook Format')); // the Wablas device, connected by its traffic
      const res = await send(ex('API Endpoints 5. Send Message: Request'));
      expect(res.status).toBe(200);
      expectSameShape(res.body, ex('API Endpoints 5. Send Message: Response'));
      expect(res.body).toMatchObject({ status: 'success', message: 'Message queued for sending' });
      const sent = await waitFor(async () => wablas.requests.find((r) => r.path === '/api/v2/send-message'));
      expect(sent.body).toEqual({ data: [{ phone: '6285137033257', message: 'Hello from Odoo' }] });
      const [row] = await t.db.query(`SELECT direction, chat_id, text FROM messages WHERE id = $1`, [res.body.record_id]);
      expect(row).toEqual({ direction: 'out', chat_id: '6285137033257', text: 'Hello from Odoo' });
    });
  });

  describe('Webhook Configuration', () => {
    it('Wablas Webhook Format: the full body is one inbound message on device RF0WVV', async () => {
      const res = await webhook(ex('Webhook Configuration: Wablas Webhook Format'));
      expect(res.body).toEqual({ status: 'success', message: 'Message received', record_id: expect.any(Number) });
      const hist = await apiGet(t.app, '/api/wa/get_history');
      expect(hist.body.data[0]).toEqual({
        id: res.body.record_id,
        time: '2026-02-16 07:50:42',
        sender_number: '6285137033257',
        sender_name: 'Unknown',
        message: 'Hello',
        direction: 'in',
      });
      expect(await t.db.query(`SELECT provider, external_id, display_number FROM sessions`)).toEqual([
        { provider: 'wablas', external_id: 'RF0WVV', display_number: '6285920524227' },
      ]);
    });

    it('Field Explanation: isFromMe true is "out"; phone is the contact (recipient), sender the device', async () => {
      await webhook({ ...ex('Webhook Configuration: Wablas Webhook Format'), id: 'out-2', isFromMe: true, message: 'lapar banget ee' });
      const [m] = (await apiGet(t.app, '/api/wa/get_history')).body.data;
      expect(m).toMatchObject({ direction: 'out', sender_number: '6285137033257', message: 'lapar banget ee' });
    });

    it('one Wablas number is one session: with and without deviceId, in either order; sends still pick it', async () => {
      for (const order of [
        ['Webhook Configuration: Wablas Webhook Format', 'Troubleshooting: Debug curl', 'API Endpoints 1. Receive Webhook: Wablas sends'],
        ['Troubleshooting: Debug curl', 'API Endpoints 1. Receive Webhook: Wablas sends', 'Webhook Configuration: Wablas Webhook Format'],
      ]) {
        await t.reset();
        for (const section of order) expect((await webhook(ex(section))).body.record_id, section).toEqual(expect.any(Number));
        const sessions = await t.db.query(`SELECT external_id, display_number FROM sessions`);
        expect(sessions, order[0]).toHaveLength(1);
        expect(sessions[0].display_number).toBe('6285920524227');
        expect(await t.db.query(`SELECT count(DISTINCT session_id)::int AS n, count(*)::int AS m FROM messages`)).toEqual([{ n: 1, m: 3 }]);
        const res = await send(ex('API Endpoints 5. Send Message: Request'));
        expect(res.status, JSON.stringify(res.body)).toBe(200);
      }
    });
  });

  describe('Request/Response Format: Contact Name Lookup', () => {
    it('no contact → "Unknown" (a profile name is not a contact); a contact book entry → its name', async () => {
      await webhook(loadFixture('wablas/inbound/text_private.json')); // pushName "Budi", no contact
      expect((await apiGet(t.app, '/api/wa/get_history')).body.data[0].sender_name).toBe('Unknown');
      const created = await http().post('/v1/contacts').set(ADMIN).send({ phone: '6281234567890', name: 'Budi Santoso' });
      expect(created.status).toBe(201);
      await webhook(loadFixture('wablas/inbound/image.json'));
      const names = (await apiGet(t.app, '/api/wa/get_history')).body.data.map((m: { sender_name: string }) => m.sender_name);
      expect(names).toEqual(['Budi Santoso', 'Budi Santoso']); // old messages too (a deliberate deviation)
      expect((await apiGet(t.app, '/api/wa/conversation/6281234567890')).body.messages[0].sender_name).toBe('Budi Santoso');
    });
  });

  describe('Integration Guide', () => {
    beforeEach(async () => {
      await postWablas(t.app, loadFixture('wablas/inbound/text_private.json'));
      await postWablas(t.app, loadFixture('wablas/inbound/image.json'));
      await postWablas(t.app, loadFixture('wablas/inbound/from_me_echo.json'));
      await postMeta(t.app, loadFixture('meta/inbound/text.json'));
    });

    it('Option 1 JavaScript/Python/cURL: get_history limit=100 offset=0, conversation limit=50, stats days=30', async () => {
      const history = await apiGet(t.app, '/api/wa/get_history?limit=100&offset=0');
      expect(history.body).toMatchObject({ status: 'success', count: 4, total: 4, limit: 100, offset: 0 });
      const conv = await apiGet(t.app, '/api/wa/conversation/6281234567890?limit=50');
      expect(conv.body).toMatchObject({ status: 'success', phone: '6281234567890', count: 3 });
      expect((await apiGet(t.app, '/api/wa/stats?days=30')).body).toMatchObject({ status: 'success', total_messages: 4 });
    });

    it('Option 2 Polling: limit=1000; process_message reads sender_number, sender_name, message, direction', async () => {
      const res = await apiGet(t.app, '/api/wa/get_history?limit=1000');
      expect(res.status).toBe(200);
      for (const msg of res.body.data) {
        expect(typeof msg.sender_number).toBe('string');
        expect(typeof msg.sender_name).toBe('string');
        expect(typeof msg.message).toBe('string');
        expect(['in', 'out']).toContain(msg.direction);
      }
    });

    it('Examples: OdooWhatsAppClient get_history(limit=50), phone filter, get_conversation (default 100), get_stats', async () => {
      const all = await apiGet(t.app, '/api/wa/get_history?limit=50&offset=0');
      expect(all.body.total).toBe(4);
      expect(all.body.count).toBe(4);
      for (const m of all.body.data) expect(Object.keys(m)).toEqual(['id', 'time', 'sender_number', 'sender_name', 'message', 'direction']);
      const times = all.body.data.map((r: { time: string }) => r.time);
      expect(times).toEqual([...times].sort().reverse());
      expect(all.body.data.find((r: { message: string }) => r.message === 'Halo, saya mau tanya stok')).toMatchObject({
        sender_number: '6281234567890',
        direction: 'in',
        time: '2024-03-11 06:20:00',
      });
      const phone = await apiGet(t.app, '/api/wa/get_history?limit=100&offset=0&phone=6281234567890');
      expect(phone.body).toMatchObject({ total: 3, count: 3 });
      expect((await apiGet(t.app, '/api/wa/get_history?phone=6281234567890&limit=5000')).body).toMatchObject({ limit: 1000 });
      const conv = await apiGet(t.app, '/api/wa/conversation/6281234567890');
      expect(conv.body.count).toBe(3);
      expect((await apiGet(t.app, '/api/wa/conversation/6281234567890?limit=2')).body.count).toBe(2);
      expect((await apiGet(t.app, '/api/wa/stats?days=30')).body.status).toBe('success');
    });
  });

  describe('Error Handling', () => {
    it('Missing Parameters: send_message without phone, and GET /api/wa/conversation/ without one', async () => {
      const doc = ex('Error Handling: Missing Parameters');
      const noPhone = await send({ message: 'Hello from Odoo' });
      expect(noPhone.status).toBe(400);
      expect(noPhone.body).toEqual(doc);
      expect((await send({ phone: '', message: 'x' })).body).toEqual(doc);
      const conv = await apiGet(t.app, '/api/wa/conversation/');
      expect(conv.status).toBe(400);
      expect(conv.body).toEqual(doc);
      expect((await send({ phone: '6285137033257' })).body).toEqual({ status: 'error', message: 'Missing required parameter: message' });
    });

    it('Invalid Phone: "Phone number format invalid" on send_message, conversation and get_history', async () => {
      const doc = ex('Error Handling: Invalid Phone');
      for (const res of [
        await send({ phone: 'not-a-phone', message: 'Hello' }),
        await send({ phone: { x: 1 }, message: 'Hello' }),
        await apiGet(t.app, '/api/wa/conversation/not-a-phone'),
        await apiGet(t.app, '/api/wa/get_history?phone=abc'),
      ]) {
        expect(res.status).toBe(400);
        expect(res.body).toEqual(doc);
      }
    });

    it('HTTP Status Codes: 400 bad params and malformed JSON, 401, 404 unknown sub-paths; all in the seed shape', async () => {
      const badLimit = await apiGet(t.app, '/api/wa/get_history?limit=ten');
      expect(badLimit.status).toBe(400);
      expect(badLimit.body).toEqual({ status: 'error', message: expect.stringContaining('limit') });
      for (const path of ['/api/wa/send_message', `/api/wa/webhook?secret=${TEST_ENV.WABLAS_WEBHOOK_SECRET}`]) {
        const malformed = await http().post(path).set(ADMIN).set('Content-Type', 'application/json').send('{"phone": ');
        expect(malformed.status, path).toBe(400);
        expect(malformed.body, path).toEqual({ status: 'error', message: 'Request body is not valid JSON' });
      }
      const noKey = await http().get('/api/wa/get_history');
      expect(noKey.status).toBe(401);
      expect(noKey.body).toEqual(ex('Security Recommendations: Enable API Authentication'));
      const noSecret = await http().post('/api/wa/webhook').send(ex('Troubleshooting: Debug curl'));
      expect(noSecret.status).toBe(401);
      expect(noSecret.body).toEqual({ status: 'error', message: 'Unauthorized' });
      for (const path of ['/api/wa/nope', '/api/wa/conversation/6285137033257/extra', '/api/wa']) {
        const missing = await apiGet(t.app, path);
        expect(missing.status, path).toBe(404);
        expect(missing.body, path).toEqual({ status: 'error', message: expect.any(String) });
      }
      const readOnly = (
        await http()
          .post('/v1/api-keys')
          .set(ADMIN)
          .send({ name: 's0 read', scopes: ['read'] })
      ).body.secret;
      const forbidden = await http()
        .post('/api/wa/send_message')
        .set('X-API-Key', readOnly)
        .send(ex('API Endpoints 5. Send Message: Request'));
      expect(forbidden.status).toBe(403);
      expect(forbidden.body).toEqual({ status: 'error', message: expect.stringContaining('send') });
    });

    it('the canonical Wablas route keeps our error shape', async () => {
      const res = await http()
        .post(`/webhooks/wablas?secret=${TEST_ENV.WABLAS_WEBHOOK_SECRET}`)
        .set('Content-Type', 'application/json')
        .send('{"id": ');
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('MALFORMED_JSON');
    });
  });

  describe('Troubleshooting', () => {
    it('Webhook tidak receive messages, Debug: the curl body (no id, no deviceId) is stored as a message', async () => {
      const res = await webhook(ex('Troubleshooting: Debug curl'));
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ status: 'success', message: 'Message received', record_id: expect.any(Number) });
      const conv = await apiGet(t.app, '/api/wa/conversation/6285137033257');
      expect(conv.body.messages).toEqual([
        {
          id: res.body.record_id,
          time: expect.any(String),
          sender_number: '6285137033257',
          sender_name: 'Unknown',
          message: 'test',
          direction: 'in',
        },
      ]);
      const again = await webhook(ex('Troubleshooting: Debug curl')); // the same curl twice: one message
      expect(again.body.record_id).toBe(res.body.record_id);
      const [event] = await t.db.query(`SELECT state, attempts FROM webhook_events`);
      expect(event).toEqual({ state: 'processed', attempts: 2 });
    });

    it('Messages tidak terlihat di API: after a webhook, get_history is not empty', async () => {
      await webhook(ex('Troubleshooting: Debug curl'));
      expect((await apiGet(t.app, '/api/wa/get_history')).body.total).toBe(1);
    });

    it('Timeout when querying large datasets: pagination ?limit=100&offset=0 and past the end', async () => {
      await webhook(ex('Troubleshooting: Debug curl'));
      expect((await apiGet(t.app, '/api/wa/get_history?limit=100&offset=0')).body.count).toBe(1);
      expect((await apiGet(t.app, '/api/wa/get_history?limit=100&offset=100')).body).toMatchObject({ count: 0, total: 1, data: [] });
    });
  });
});

describe('compat: seed s0 Security Recommendations, 3. Rate Limiting (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '2' });
    await t.reset();
  });
  afterAll(async () => t?.close());

  it('past the limit → 429 with Retry-After, in the seed shape', async () => {
    let res = await apiGet(t.app, '/api/wa/get_history');
    for (let i = 0; i < 5 && res.status !== 429; i++) res = await apiGet(t.app, '/api/wa/get_history');
    expect(res.status).toBe(429);
    expect(res.headers['retry-after']).toMatch(/^\d+$/);
    expect(res.body).toEqual({ status: 'error', message: expect.any(String) });
  });
});
