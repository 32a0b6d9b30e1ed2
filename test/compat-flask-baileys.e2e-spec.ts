import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeWhatsApp, type FakePeer, type FakeWhatsApp } from './fakes/whatsapp-web';
import { expectSameShape, seedExample } from './fixtures/seeds/seeds';
import { loadFixture } from './helpers/fixtures';
import { applied } from './helpers/http';
import { createTestApp, TEST_ENV, type TestApp } from './helpers/test-app';

const ADMIN = { 'X-API-Key': TEST_ENV.ADMIN_API_KEY };
const ex = <T = Record<string, unknown>>(section: string) => seedExample<T>('s2-baileys-flask', section);

/** Polls `probe` until it returns a value (not undefined), within `timeoutMs`. */
async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Seed s2 (Flask gateway over a Baileys service, "API Endpoints" 1-6 and "Keamanan") served by wa-hub's own
 * Baileys session: the real AppModule and Baileys client against the fake WhatsApp Web server.
 */
describe('compat seed s2: Flask/Baileys gateway on the in-process Baileys session (e2e, fake WhatsApp Web)', () => {
  let wa: FakeWhatsApp;
  let t: TestApp;
  let sessionId: string;
  let alice: FakePeer;
  let readKey: string;
  let sendKey: string;

  const http = () => request(t.app.getHttpServer());
  const status = (key = readKey) => http().get('/api/whatsapp/status').set('X-API-Key', key);
  const statusIs = (want: string, timeoutMs?: number) =>
    until(`seed status ${want}`, async () => ((await status()).body.status === want ? true : undefined), timeoutMs);
  const send = (body: object, key = sendKey) => http().post('/api/whatsapp/send').set('X-API-Key', key).send(body);
  const messageBy = (externalId: string) =>
    until(`message ${externalId}`, async () => (await t.db.query(`SELECT * FROM messages WHERE external_id = $1`, [externalId]))[0]);
  const newKey = async (scopes: string[]) =>
    (
      await http()
        .post('/v1/api-keys')
        .set(ADMIN)
        .send({ name: `s2 ${scopes}`, scopes })
    ).body.secret as string;

  beforeAll(async () => {
    wa = await startFakeWhatsApp();
    t = await createTestApp({ BAILEYS_WA_WS_URL: wa.url });
    await t.reset();
    readKey = await newKey(['read']);
    sendKey = await newKey(['send']);
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    await wa?.close();
  });

  it('1. Get Connection Status: no Baileys session yet → disconnected', async () => {
    const res = await status();
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'disconnected', connected: false, qr: null });
  });

  it('Monitoring & Logging, 2. Health Check Endpoint: timestamp and services beside the Terminus fields; whatsapp down', async () => {
    const res = await http().get('/health');
    expect(res.status).toBe(200);
    const doc = ex<Record<string, unknown>>('Monitoring & Logging 2. Health Check Endpoint');
    expectSameShape({ timestamp: res.body.timestamp, services: res.body.services }, { timestamp: doc.timestamp, services: doc.services });
    expect(res.body).toEqual({
      status: 'ok', // Terminus' word (its clients read it); the seed's "healthy"/"unhealthy" is the HTTP status here
      info: { database: expect.objectContaining({ status: 'up' }) },
      error: {},
      details: { database: expect.objectContaining({ status: 'up' }) },
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      services: { whatsapp: 'down', database: 'up' },
    });
    expect(Math.abs(Date.parse(res.body.timestamp) - Date.now())).toBeLessThan(60_000);
  });

  it('1. Get Connection Status: before linking → qr_ready with the QR', async () => {
    const created = await http().post('/v1/sessions').set(ADMIN).send({ provider: 'baileys', name: 's2' });
    expect(created.status).toBe(201);
    sessionId = created.body.id;
    await statusIs('qr_ready');
    const res = await status();
    const [row] = await t.db.query(`SELECT qr FROM sessions WHERE id = $1`, [sessionId]);
    expect(res.body).toEqual({ status: 'qr_ready', connected: false, qr: row.qr });
    expect(res.body.qr).toEqual(expect.any(String));
  });

  it('3. Get QR Code: Response Success → { qr }; scanned by the phone', async () => {
    const res = await http().get('/api/whatsapp/qr').set('X-API-Key', readKey);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ qr: (await status()).body.qr });
    await wa.phone.scanQr(res.body.qr);
  });

  it('1. Get Connection Status: Contoh Response after linking → connected', async () => {
    await statusIs('connected');
    expect((await status()).body).toEqual(ex('API Endpoints 1. Get Connection Status: Contoh Response'));
  });

  it('Monitoring & Logging, 2. Health Check Endpoint: whatsapp up once a session is connected', async () => {
    const res = await http().get('/health');
    expect(res.status).toBe(200);
    expect(res.body.services).toEqual(ex<{ services: unknown }>('Monitoring & Logging 2. Health Check Endpoint').services);
  });

  it('errors before any route runs answer the seed shape: malformed JSON, unknown sub-paths under /api/whatsapp', async () => {
    const malformed = await http()
      .post('/api/whatsapp/send')
      .set('X-API-Key', sendKey)
      .set('Content-Type', 'application/json')
      .send('{"to": ');
    expect(malformed.status).toBe(400);
    expect(malformed.body).toEqual({ error: 'Request body is not valid JSON', details: 'Request body is not valid JSON' });
    const unknown = await http().get('/api/whatsapp/nope').set('X-API-Key', readKey);
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({ error: expect.any(String), details: expect.any(String) });
    const webhookMalformed = await http().post('/api/webhook').set('X-API-Key', sendKey).set('Content-Type', 'application/json').send('{');
    expect(webhookMalformed.status).toBe(400);
    expect(webhookMalformed.body).toEqual({ error: 'Request body is not valid JSON', details: 'Request body is not valid JSON' });
  });

  it('3. Get QR Code: Response Error once linked → 404 { error: "QR code not available" }', async () => {
    const res = await http().get('/api/whatsapp/qr').set('X-API-Key', readKey);
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ error: 'QR code not available' });
  });

  it('2. Send Message: Response Success; messageId is the WhatsApp id the peer received', async () => {
    alice = wa.addPeer({ pn: '16505552222', lid: '200000000000002', name: 'Alice' });
    const res = await send({ to: '16505552222', message: 'Hello from WhatsApp API!' });
    const copy = await alice.nextMessage();
    expect(copy.message.conversation ?? copy.message.extendedTextMessage?.text).toBe('Hello from WhatsApp API!');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      success: true,
      messageId: copy.id,
      to: '16505552222@s.whatsapp.net',
      message: 'Hello from WhatsApp API!',
    });
    const [row] = await t.db.query(`SELECT direction, status, session_id FROM messages WHERE external_id = $1`, [copy.id]);
    expect(row).toMatchObject({ direction: 'out', session_id: sessionId });
  });

  it('2. Send Message: parameters to and message are required → 400 { error, details }', async () => {
    const res = await send({ to: '16505552222' });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: expect.stringContaining('message'), details: expect.any(String) });
  });

  it('5. Webhook Endpoint: Request Body → { status: "success", message: "Webhook received" }, stored once, in /v1/messages', async () => {
    const body = { from: '6281234567890', message: 'Hello API', timestamp: 1623456789 };
    // Acknowledged from the ingest inbox: wait for the applier before reading it back.
    const post = () => applied(t.app, http().post('/api/webhook').set('X-API-Key', sendKey).send(body));
    const res = await post();
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'success', message: 'Webhook received' });
    expect((await post()).body).toEqual({ status: 'success', message: 'Webhook received' }); // a retry
    const listed = await http().get('/v1/messages?phone=6281234567890').set(ADMIN);
    expect(listed.body.data).toHaveLength(1);
    expect(listed.body.data[0]).toMatchObject({
      sessionId,
      direction: 'in',
      type: 'text',
      chatId: '6281234567890',
      text: 'Hello API',
      externalId: expect.stringMatching(/^s2-webhook-[0-9a-f]{64}$/),
      timestamp: new Date(1623456789 * 1000).toISOString(),
    });
  });

  it('6. Receive Message Handler: a messages.upsert body is stored (session default: the seed session)', async () => {
    const body = loadFixture<Record<string, unknown>>('baileys/events/messages_upsert_notify_conversation.json');
    const res = await http().post('/api/whatsapp/receive').set('X-API-Key', sendKey).send(body);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'success', message: 'Messages received', stored: 1 });
    const m = await messageBy('F2A50999DE8D0A11B5BC94172C5DCF2C');
    expect(m).toMatchObject({ session_id: sessionId, direction: 'in', type: 'text', text: 'Pedsegunda', chat_id: '5511900000001' });
    const bad = await http().post('/api/whatsapp/receive').set('X-API-Key', sendKey).send({ hello: 'world' });
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({ error: expect.stringContaining('not understood'), details: expect.any(String) });
  });

  it('6. Receive Message Handler: auto-reply "ping" → "pong", over the socket and through /api/whatsapp/receive', async () => {
    const rules = (await http().get('/v1/auto-replies').set(ADMIN)).body.data as { id: string; pattern: string }[];
    const ping = rules.find((r) => r.pattern === 'ping')!;
    expect((await http().patch(`/v1/auto-replies/${ping.id}`).set(ADMIN).send({ enabled: true })).body.enabled).toBe(true);

    await alice.sendText('ping', { id: 'S2-PING-1' });
    const pong = await alice.nextMessage(15_000);
    expect(pong.message.conversation ?? pong.message.extendedTextMessage?.text).toBe('pong');

    const upsert = {
      messages: [
        {
          key: { remoteJid: '16505552222@s.whatsapp.net', fromMe: false, id: 'S2-PING-2' },
          messageTimestamp: Math.floor(Date.now() / 1000),
          pushName: 'Alice',
          message: { conversation: 'ping' },
        },
      ],
      type: 'notify',
    };
    const res = await http().post('/api/whatsapp/receive').set('X-API-Key', sendKey).send(upsert);
    expect(res.body).toEqual({ status: 'success', message: 'Messages received', stored: 1 });
    const pong2 = await alice.nextMessage(15_000);
    expect(pong2.message.conversation ?? pong2.message.extendedTextMessage?.text).toBe('pong');
    const [{ n }] = await t.db.query(
      `SELECT count(*)::int AS n FROM outbox_jobs j JOIN messages m ON m.id = j.trigger_message_id WHERE m.external_id IN ('S2-PING-1', 'S2-PING-2')`,
    );
    expect(n).toBe(2);
    await http().patch(`/v1/auto-replies/${ping.id}`).set(ADMIN).send({ enabled: false });
  });

  it('Keamanan, 1. Authentication: a read key cannot send (403), no key → 401, in the seed error shape', async () => {
    const res = await send({ to: '16505552222', message: 'nope' }, readKey);
    expect(res.status).toBe(403);
    expect(res.body).toEqual({ error: 'API key lacks the "send" scope', details: 'API key lacks the "send" scope' });
    const webhook = await http().post('/api/webhook').set('X-API-Key', readKey).send({ from: '6281234567890', message: 'x' });
    expect(webhook.status).toBe(403);
    const anonymous = await http().get('/api/whatsapp/status');
    expect(anonymous.status).toBe(401);
    expect(anonymous.body).toEqual({
      ...ex('Keamanan 1. Authentication & Authorization: 401'),
      details: expect.stringContaining('API key'),
    });
    const logout = await http().post('/api/whatsapp/logout').set('X-API-Key', sendKey);
    expect(logout.status).toBe(403);
  });

  it('2. Send Message: Response Error while the session is stopped → exactly the seed body, nothing queued', async () => {
    expect((await http().post(`/v1/sessions/${sessionId}/stop`).set(ADMIN)).status).toBe(200);
    await statusIs('disconnected');
    const [before] = await t.db.query(`SELECT count(*)::int AS n FROM messages WHERE direction = 'out'`);
    const res = await send({ to: '16505552222', message: 'while stopped' });
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ error: 'WhatsApp not connected', details: 'Connection status is disconnected' });
    expect(await t.db.query(`SELECT count(*)::int AS n FROM messages WHERE direction = 'out'`)).toEqual([before]);
    // Started again: it logs in from the stored creds.
    expect((await http().post(`/v1/sessions/${sessionId}/start`).set(ADMIN)).status).toBe(200);
    await statusIs('connected', 30_000);
  }, 40_000);

  it('4. Logout WhatsApp: { success: true, message: "Logged out successfully" }; status then disconnected', async () => {
    const unlinked = new Promise((resolve) => wa.once('logout', resolve));
    const res = await http().post('/api/whatsapp/logout').set(ADMIN);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ success: true, message: 'Logged out successfully' });
    await unlinked;
    expect((await status()).body).toEqual({ status: 'disconnected', connected: false, qr: null });
    const [row] = await t.db.query(`SELECT status FROM sessions WHERE id = $1`, [sessionId]);
    expect(row.status).toBe('logged_out');
  });

  it('Single session: several Baileys sessions and no DEFAULT_SESSION_ID → 422 in the seed error shape', async () => {
    expect((await http().post('/v1/sessions').set(ADMIN).send({ provider: 'baileys', name: 's2-other' })).status).toBe(201);
    const res = await status();
    expect(res.status).toBe(422);
    expect(res.body).toEqual({ error: expect.stringContaining('DEFAULT_SESSION_ID'), details: expect.any(String) });
  });
});
