import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadFixture } from './helpers/fixtures';
import { apiGet, postMeta, postWwebjsNative, postWwebjsSeed } from './helpers/http';
import { createTestApp, TEST_ENV, TestApp } from './helpers/test-app';

/** Seeds s1 and s4 (shared/seeds/s1-*.md, s4-*.md) and seed s3's Meta URL, field by field. */
describe('compat: seeds s1/s4 sessions, s3 Meta URL (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  beforeEach(async () => t.reset());
  afterAll(async () => t?.close());

  it('s1 curl examples: GET availability; POST the universal payload (signed) → JSON ack', async () => {
    const get = await request(t.app.getHttpServer()).get('/api/whatsapp/webhook');
    expect(get.status).toBe(200);
    expect(get.body.success).toBe(true);
    const res = await postWwebjsSeed(
      t.app,
      { sessionId: 'test-session', event: 'qr', data: { qr: 'sample-qr-code' } },
      '/api/whatsapp/webhook',
    );
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ success: true, message: 'Webhook processed successfully', event: 'qr', sessionId: 'test-session' });
    const ready = await postWwebjsSeed(t.app, { sessionId: 'test-session', event: 'ready', data: {} }, '/api/whatsapp/webhook');
    expect(ready.body.event).toBe('ready');
  });

  it('s1 unsigned curl example is refused (we require the signature or the server key)', async () => {
    const res = await request(t.app.getHttpServer())
      .post('/api/whatsapp/webhook')
      .send({ sessionId: 'test-session', event: 'qr', data: { qr: 'sample-qr-code' } });
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ success: false, error: expect.any(String) });
  });

  it('s4 per-session webhook: GET verification and POST of its documented events', async () => {
    expect((await request(t.app.getHttpServer()).get('/api/whatsapp/webhook/session-123')).body).toMatchObject({
      success: true,
      sessionId: 'session-123',
    });
    for (const body of [
      { event: 'qr', data: { qr: '1@ABC123...' } },
      { event: 'loading_screen', data: { percent: 75, message: 'Loading session...' } },
      { event: 'change_state', data: { state: 'connecting' } },
      { event: 'ready', data: {} },
      {
        event: 'message',
        data: {
          message: { id: 'msg_123', body: 'Hello World', from: '6281234567890@c.us', to: '6289876543210@c.us', timestamp: 1640995200 },
        },
      },
      { event: 'message_ack', data: { message: { id: 'msg_123' }, ack: 2 } },
      { event: 'call', data: { call: { id: 'call_123', from: '6281234567890@c.us' } } },
      { event: 'disconnected', data: { reason: 'User logged out' } },
      { event: 'auth_failure', data: { msg: 'Invalid QR scan' } },
    ]) {
      const res = await postWwebjsSeed(t.app, body, '/api/whatsapp/webhook/session-123');
      expect(res.status, body.event).toBe(200);
      expect(res.body).toEqual({ success: true, message: 'Webhook processed successfully', event: body.event, sessionId: 'session-123' });
    }
    const [failed] = await t.db.query(`SELECT count(*)::int AS n FROM webhook_events WHERE state = 'failed'`);
    expect(failed.n).toBe(0);
    const msgs = await apiGet(t.app, '/v1/messages?phone=6281234567890');
    expect(msgs.body.data[0]).toMatchObject({ text: 'Hello World', externalId: 'msg_123' });
  });

  it('s4 GET /api/whatsapp/session/status/:sessionId: exact fields, flags, decodable qrImage', async () => {
    await postWwebjsNative(t.app, loadFixture('wwebjs/inbound/qr.json'));
    const res = await apiGet(t.app, '/api/whatsapp/session/status/f8377d8d-a589-4242-9ba6-9486a04ef80c');
    expect(res.status).toBe(200);
    expect(Object.keys(res.body)).toEqual(['success', 'data']);
    expect(Object.keys(res.body.data).sort()).toEqual(
      [
        'sessionId',
        'status',
        'message',
        'qr',
        'qrImage',
        'userId',
        'createdAt',
        'updatedAt',
        'isConnected',
        'needsQR',
        'isLoading',
        'hasError',
      ].sort(),
    );
    expect(res.body.data).toMatchObject({
      sessionId: 'f8377d8d-a589-4242-9ba6-9486a04ef80c',
      status: 'qr_generated',
      message: 'QR code generated, scan to connect',
      needsQR: true,
      isConnected: false,
      isLoading: false,
      hasError: false,
      qrImage: expect.stringMatching(/^data:image\/png;base64,/),
    });
    const missing = await apiGet(t.app, '/api/whatsapp/session/status/nope');
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ success: false, error: 'Session not found' });
  });

  it('s4 GET /api/whatsapp/session/list-realtime: exact fields, summary, userId and status filters', async () => {
    await postWwebjsNative(t.app, loadFixture('wwebjs/inbound/ready.json'));
    await postWwebjsSeed(t.app, { sessionId: 'second', event: 'qr', data: { qr: '1@XYZ' } });
    const res = await apiGet(t.app, '/api/whatsapp/session/list-realtime');
    expect(Object.keys(res.body)).toEqual(['success', 'data', 'summary', 'timestamp']);
    expect(res.body.summary).toEqual({ connected: 1, disconnected: 0, loading: 0, needsQR: 1, error: 0, total: 2 });
    for (const row of res.body.data) {
      expect(Object.keys(row).sort()).toEqual(
        [
          'sessionId',
          'status',
          'message',
          'qr',
          'userId',
          'createdAt',
          'updatedAt',
          'isConnected',
          'needsQR',
          'isLoading',
          'hasError',
          'hasQR',
          'lastUpdated',
        ].sort(),
      );
    }
    expect(
      (await apiGet(t.app, '/api/whatsapp/session/list-realtime?status=connected')).body.data.map(
        (s: { sessionId: string }) => s.sessionId,
      ),
    ).toEqual(['f8377d8d-a589-4242-9ba6-9486a04ef80c']);
    const [second] = await t.db.query(`SELECT id FROM sessions WHERE external_id = 'second'`);
    await request(t.app.getHttpServer())
      .patch(`/v1/sessions/${second.id}`)
      .set('X-API-Key', TEST_ENV.ADMIN_API_KEY)
      .send({ userId: '123' });
    const mine = await apiGet(t.app, '/api/whatsapp/session/list-realtime?userId=123');
    expect(mine.body.data).toHaveLength(1);
    expect(mine.body.summary.total).toBe(1);
    expect((await request(t.app.getHttpServer()).get('/api/whatsapp/session/list-realtime')).status).toBe(401);
  });

  describe('s3: Meta on /api/whatsapp/webhook/', () => {
    it("GET with hub.* parameters is Meta's verification", async () => {
      const ok = await request(t.app.getHttpServer())
        .get('/api/whatsapp/webhook/')
        .query({ 'hub.mode': 'subscribe', 'hub.verify_token': TEST_ENV.META_VERIFY_TOKEN, 'hub.challenge': '1158201444' });
      expect(ok.status).toBe(200);
      expect(ok.text).toBe('1158201444');
      const bad = await request(t.app.getHttpServer())
        .get('/api/whatsapp/webhook/')
        .query({ 'hub.mode': 'subscribe', 'hub.verify_token': 'wrong', 'hub.challenge': '1158201444' });
      expect(bad.status).toBe(403);
    });

    it("a POSTed whatsapp_business_account object goes to the Meta handler under Meta's signature rules", async () => {
      const res = await postMeta(t.app, loadFixture('meta/inbound/text.json'), '/api/whatsapp/webhook/');
      expect(res.status).toBe(200);
      expect((await apiGet(t.app, '/v1/messages?provider=meta')).body.total).toBe(1);
      const unsigned = await request(t.app.getHttpServer())
        .post('/api/whatsapp/webhook/')
        .set('x-api-key', TEST_ENV.WWEBJS_API_KEY)
        .send(loadFixture('meta/inbound/image.json'));
      expect(unsigned.status).toBe(401);
      expect((await apiGet(t.app, '/v1/messages?provider=meta')).body.total).toBe(1);
    });
  });
});
