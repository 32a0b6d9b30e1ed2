import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { expectSameShape, seedExample } from './fixtures/seeds/seeds';
import { loadFixture } from './helpers/fixtures';
import { apiGet, postWwebjsNative, postWwebjsSeed } from './helpers/http';
import { createTestApp, TEST_ENV, TestApp } from './helpers/test-app';

type Event = { event: string; data?: unknown };
const ex = <T = Record<string, unknown>>(section: string) => seedExample<T>('s4-nextjs-sessions', section);
const EVENTS = [
  'Supported Webhook Events 1. QR Code Event',
  'Supported Webhook Events 2. Ready Event (Connected)',
  'Supported Webhook Events 3. Disconnected Event',
  'Supported Webhook Events 4. Authentication Failure',
  'Supported Webhook Events 5. State Change',
  'Supported Webhook Events 6. Loading Screen',
  'Supported Webhook Events 7. Message Events',
  'Supported Webhook Events 8. Message ACK',
  'Supported Webhook Events 9. Call Events',
];

/**
 * Seed s4 (shared/seeds/s4-nextjs-session-webhooks.md), section by section: the per-session webhook and its
 * documented events with their actions, the status and list responses (keys, types, values, summary counts),
 * the computed flags, the status flow, the React examples and the error handling. Deliberate deviation: webhooks
 * are signed (seed s1's HMAC) or carry the wwebjs server's key; the status routes need a read key.
 */
describe('compat: seed s4 Next.js session webhooks (e2e)', () => {
  let t: TestApp;
  const http = () => request(t.app.getHttpServer());
  const post = (body: Event, sessionId = 'session-123') => postWwebjsSeed(t.app, body, `/api/whatsapp/webhook/${sessionId}`);
  const status = async (sessionId = 'session-123') => (await apiGet(t.app, `/api/whatsapp/session/status/${sessionId}`)).body.data;

  beforeAll(async () => {
    t = await createTestApp();
  });
  beforeEach(async () => t.reset());
  afterAll(async () => t?.close());

  describe('Webhook Endpoints', () => {
    it('Main Webhook Receiver: GET /api/whatsapp/webhook/[sessionId] (verification)', async () => {
      const res = await http().get('/api/whatsapp/webhook/session-123');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ success: true, message: 'Webhook endpoint is active', sessionId: 'session-123' });
    });

    it('Main Webhook Receiver: POST of every documented event → 200 ack, nothing failed', async () => {
      for (const section of EVENTS) {
        const body = ex<Event>(section);
        const res = await post(body);
        expect(res.status, section).toBe(200);
        expect(res.body, section).toEqual({
          success: true,
          message: 'Webhook processed successfully',
          event: body.event,
          sessionId: 'session-123',
        });
      }
      const [failed] = await t.db.query(`SELECT count(*)::int AS n FROM webhook_events WHERE state = 'failed'`);
      expect(failed.n).toBe(0);
    });
  });

  describe('Supported Webhook Events: each Action', () => {
    it('1. QR Code Event: status qr_generated, QR stored', async () => {
      await post(ex('Supported Webhook Events 1. QR Code Event'));
      expect(await status()).toMatchObject({ status: 'qr_generated', qr: '1@ABC123...', needsQR: true, isConnected: false });
    });

    it('2. Ready Event: session_connected, QR cleared', async () => {
      await post(ex('Supported Webhook Events 1. QR Code Event'));
      await post(ex('Supported Webhook Events 2. Ready Event (Connected)'));
      expect(await status()).toMatchObject({ status: 'session_connected', qr: null, qrImage: null, isConnected: true, needsQR: false });
    });

    it('3. Disconnected Event: session_not_connected, QR cleared', async () => {
      await post(ex('Supported Webhook Events 1. QR Code Event'));
      await post(ex('Supported Webhook Events 3. Disconnected Event'));
      expect(await status()).toMatchObject({ status: 'session_not_connected', qr: null, isConnected: false });
    });

    it('4. Authentication Failure: auth_failure with the reason; hasError', async () => {
      await post(ex('Supported Webhook Events 4. Authentication Failure'));
      const s = await status();
      expect(s).toMatchObject({ status: 'auth_failure', hasError: true });
      expect(s.message).toContain('Invalid QR scan');
    });

    it('5. State Change: connecting (isLoading)', async () => {
      await post(ex('Supported Webhook Events 5. State Change'));
      expect(await status()).toMatchObject({ status: 'connecting', isLoading: true });
    });

    it('6. Loading Screen: loading with progress (isLoading)', async () => {
      await post(ex('Supported Webhook Events 6. Loading Screen'));
      const s = await status();
      expect(s).toMatchObject({ status: 'loading', isLoading: true });
      expect(s.message).toContain('75');
    });

    it('7. Message Events, 8. Message ACK: the message is stored; ack 2 → delivered', async () => {
      await post(ex('Supported Webhook Events 7. Message Events'));
      const before = await apiGet(t.app, '/v1/messages?phone=6281234567890');
      expect(before.body.data[0]).toMatchObject({
        externalId: 'msg_123',
        text: 'Hello World',
        direction: 'in',
        timestamp: new Date(1640995200 * 1000).toISOString(),
      });
      await post(ex('Supported Webhook Events 8. Message ACK'));
      const [row] = await t.db.query(`SELECT status FROM messages WHERE external_id = 'msg_123'`);
      expect(row.status).toBe('delivered');
    });

    it('9. Call Events: the call is stored', async () => {
      await post(ex('Supported Webhook Events 9. Call Events'));
      const [call] = await t.db.query(`SELECT chat_id FROM calls`);
      expect(call.chat_id).toBe('6281234567890');
    });
  });

  describe('Session Status Response', () => {
    it('GET /api/whatsapp/session/status/[sessionId]: the documented keys, types and values', async () => {
      await post(ex('Supported Webhook Events 1. QR Code Event'));
      const res = await apiGet(t.app, '/api/whatsapp/session/status/session-123');
      expect(res.status).toBe(200);
      const doc = ex<{ data: Record<string, unknown> }>('Session Status Response');
      expectSameShape(res.body, doc);
      expect(res.body.data).toMatchObject({
        sessionId: 'session-123',
        status: 'qr_generated',
        message: 'QR code generated, scan to connect',
        qr: '1@ABC123...',
        userId: '', // no owner yet: a string, as the seed's model requires
        isConnected: false,
        needsQR: true,
        isLoading: false,
        hasError: false,
        qrImage: expect.stringMatching(/^data:image\/png;base64,iVBORw0KGgo/),
      });
      expect(new Date(res.body.data.createdAt).toISOString()).toBe(res.body.data.createdAt);
      const [row] = await t.db.query(`SELECT id FROM sessions WHERE external_id = 'session-123'`);
      await http().patch(`/v1/sessions/${row.id}`).set('X-API-Key', TEST_ENV.ADMIN_API_KEY).send({ userId: 'user-456' });
      expect((await status()).userId).toBe('user-456');
    });

    it('Computed Status Flags: isConnected, needsQR, isLoading, hasError follow the status', async () => {
      const flags = async () => {
        const s = await status();
        return [s.status, s.isConnected, s.needsQR, s.isLoading, s.hasError];
      };
      await post(ex('Supported Webhook Events 1. QR Code Event'));
      expect(await flags()).toEqual(['qr_generated', false, true, false, false]);
      await post(ex('Supported Webhook Events 5. State Change'));
      expect(await flags()).toEqual(['connecting', false, false, true, false]);
      await post(ex('Supported Webhook Events 6. Loading Screen'));
      expect(await flags()).toEqual(['loading', false, false, true, false]);
      await post(ex('Supported Webhook Events 2. Ready Event (Connected)'));
      expect(await flags()).toEqual(['session_connected', true, false, false, false]);
      await post(ex('Supported Webhook Events 4. Authentication Failure'));
      expect(await flags()).toEqual(['auth_failure', false, false, false, true]);
    });
  });

  describe('Session List Response', () => {
    it('GET /api/whatsapp/session/list-realtime: the documented keys and types, summary counts', async () => {
      await postWwebjsNative(t.app, loadFixture('wwebjs/inbound/ready.json'));
      await post(ex('Supported Webhook Events 1. QR Code Event'), 'second');
      await post(ex('Supported Webhook Events 6. Loading Screen'), 'third');
      await post(ex('Supported Webhook Events 4. Authentication Failure'), 'fourth');
      await post(ex('Supported Webhook Events 3. Disconnected Event'), 'fifth');
      const res = await apiGet(t.app, '/api/whatsapp/session/list-realtime');
      expect(res.status).toBe(200);
      expectSameShape(res.body, ex('Session List Response'));
      expect(Object.keys(res.body)).toEqual(['success', 'data', 'summary', 'timestamp']);
      expect(res.body.summary).toEqual({ connected: 1, disconnected: 1, loading: 1, needsQR: 1, error: 1, total: 5 });
      for (const s of res.body.data) {
        expect(s.hasQR).toBe(s.qr !== null);
        expect(s.lastUpdated).toBe(s.updatedAt);
      }
      expect(res.body.data.find((s: { sessionId: string }) => s.sessionId === 'f8377d8d-a589-4242-9ba6-9486a04ef80c')).toMatchObject({
        status: 'session_connected',
        message: 'WhatsApp session connected successfully',
        qr: null,
        isConnected: true,
      });
    });

    it('?userId=123 and ?status=connected filter, the summary counts what is listed', async () => {
      await postWwebjsNative(t.app, loadFixture('wwebjs/inbound/ready.json'));
      await post(ex('Supported Webhook Events 1. QR Code Event'), 'second');
      const connected = await apiGet(t.app, '/api/whatsapp/session/list-realtime?status=connected');
      expect(connected.body.data.map((s: { sessionId: string }) => s.sessionId)).toEqual(['f8377d8d-a589-4242-9ba6-9486a04ef80c']);
      expect(connected.body.summary).toMatchObject({ total: 1, connected: 1 });
      const [second] = await t.db.query(`SELECT id FROM sessions WHERE external_id = 'second'`);
      await http().patch(`/v1/sessions/${second.id}`).set('X-API-Key', TEST_ENV.ADMIN_API_KEY).send({ userId: '123' });
      const mine = await apiGet(t.app, '/api/whatsapp/session/list-realtime?userId=123');
      expect(mine.body.data).toHaveLength(1);
      expect(mine.body.data[0]).toMatchObject({ sessionId: 'second', userId: '123' });
      expect(mine.body.summary).toEqual({ connected: 0, disconnected: 0, loading: 0, needsQR: 1, error: 0, total: 1 });
    });
  });

  describe('Error Handling', () => {
    it('Validation Errors: an invalid webhook payload is stored raw, then answered 400 with error details', async () => {
      for (const body of [{ data: { qr: 'x' } }, { event: 'message', data: {} }] as Event[]) {
        const res = await post(body);
        expect(res.status, JSON.stringify(body)).toBe(400);
        expect(res.body).toEqual({ success: false, error: 'Invalid webhook payload', details: expect.any(String) });
      }
      const stored = await t.db.query(`SELECT state FROM webhook_events ORDER BY id`);
      expect(stored).toEqual([{ state: 'failed' }, { state: 'failed' }]);
      const universal = await postWwebjsSeed(t.app, { sessionId: 'x', event: 'message', data: {} }, '/api/whatsapp/webhook');
      expect(universal.status).toBe(400);
      expect(universal.body).toMatchObject({ success: false, error: 'Invalid webhook payload' });
    });

    it('malformed JSON, unsigned bodies, unknown sub-paths, missing keys: the seed shape', async () => {
      const malformed = await http()
        .post('/api/whatsapp/webhook/session-123')
        .set('x-api-key', TEST_ENV.WWEBJS_API_KEY)
        .set('Content-Type', 'application/json')
        .send('{"event": ');
      expect(malformed.status).toBe(400);
      expect(malformed.body).toEqual({
        success: false,
        error: 'Request body is not valid JSON',
        details: 'Request body is not valid JSON',
      });
      const unsigned = await http().post('/api/whatsapp/webhook/session-123').send(ex('Supported Webhook Events 1. QR Code Event'));
      expect(unsigned.status).toBe(401);
      expect(unsigned.body).toEqual({ success: false, error: expect.any(String) });
      const noKey = await http().get('/api/whatsapp/session/status/session-123');
      expect(noKey.status).toBe(401);
      expect(noKey.body).toEqual({ success: false, error: expect.any(String) });
      const unknown = await apiGet(t.app, '/api/whatsapp/session/nope/more');
      expect(unknown.status).toBe(404);
      expect(unknown.body).toEqual({ success: false, error: expect.any(String) });
      const missing = await apiGet(t.app, '/api/whatsapp/session/status/nope');
      expect(missing.status).toBe(404);
      expect(missing.body).toEqual({ success: false, error: 'Session not found' });
    });

    it('QR Generation Errors: a session without a QR answers qrImage null', async () => {
      await post(ex('Supported Webhook Events 2. Ready Event (Connected)'));
      expect((await status()).qrImage).toBeNull();
    });
  });

  it('Status Flow: qr_generated → connecting → loading → session_connected → session_not_connected', async () => {
    const seen: string[] = [];
    for (const section of [
      'Supported Webhook Events 1. QR Code Event',
      'Supported Webhook Events 5. State Change',
      'Supported Webhook Events 6. Loading Screen',
      'Supported Webhook Events 2. Ready Event (Connected)',
      'Supported Webhook Events 3. Disconnected Event',
    ]) {
      await post(ex(section));
      seen.push((await status()).status);
    }
    expect(seen).toEqual(['qr_generated', 'connecting', 'loading', 'session_connected', 'session_not_connected']);
  });

  describe('Frontend Integration', () => {
    it('React Real-time Session Status: data.success, data.data.{sessionId,status,message,needsQR,qrImage,isLoading,hasError}', async () => {
      await post(ex('Supported Webhook Events 1. QR Code Event'));
      const data = (await apiGet(t.app, '/api/whatsapp/session/status/session-123')).body;
      expect(data.success).toBe(true);
      const session = data.data;
      expect(session.sessionId).toBe('session-123');
      expect(session.needsQR && session.qrImage).toMatch(/^data:image\/png;base64,/);
      expect(Buffer.from(session.qrImage.split(',')[1], 'base64').subarray(1, 4).toString()).toBe('PNG');
      expect(typeof session.isLoading).toBe('boolean');
      expect(typeof session.hasError).toBe('boolean');
    });

    it('Real-time Session List: summary.total, connected, needsQR, error; each sessionId fetches its status', async () => {
      await post(ex('Supported Webhook Events 1. QR Code Event'));
      await post(ex('Supported Webhook Events 2. Ready Event (Connected)'), 'other');
      const data = (await apiGet(t.app, '/api/whatsapp/session/list-realtime')).body;
      expect(data.success).toBe(true);
      expect(data.summary).toMatchObject({ total: 2, connected: 1, needsQR: 1, error: 0 });
      for (const s of data.data) expect((await apiGet(t.app, `/api/whatsapp/session/status/${s.sessionId}`)).body.success).toBe(true);
    });
  });
});

describe('compat: seed s4 Security Considerations, 2. Rate Limiting (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '2' });
    await t.reset();
  });
  afterAll(async () => t?.close());

  it('status endpoints past the limit → 429 with Retry-After, in the seed shape', async () => {
    let res = await apiGet(t.app, '/api/whatsapp/session/list-realtime');
    for (let i = 0; i < 5 && res.status !== 429; i++) res = await apiGet(t.app, '/api/whatsapp/session/list-realtime');
    expect(res.status).toBe(429);
    expect(res.headers['retry-after']).toMatch(/^\d+$/);
    expect(res.body).toEqual({ success: false, error: expect.any(String) });
  });
});
