import jsQR from 'jsqr';
import { PNG } from 'pngjs';
import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { inboundFixtures, loadFixture } from './helpers/fixtures';
import { apiGet, postWwebjsNative, postWwebjsSeed, toSeedEnvelope } from './helpers/http';
import { createTestApp, TestApp } from './helpers/test-app';

type Native = { dataType: string; data?: unknown; sessionId: string };
const fixture = (name: string) => loadFixture<Native>(`wwebjs/inbound/${name}.json`);
const SESSION = 'f8377d8d-a589-4242-9ba6-9486a04ef80c';
const count = async (t: TestApp, table: string) => Number((await t.db.query(`SELECT count(*) AS n FROM ${table}`))[0].n);

/** Decodes a PNG (bytes or data URL) and reads the QR code in it. */
function readQr(png: Buffer | string): string | undefined {
  const bytes = typeof png === 'string' ? Buffer.from(png.replace(/^data:image\/png;base64,/, ''), 'base64') : png;
  const image = PNG.sync.read(bytes);
  return jsQR(new Uint8ClampedArray(image.data), image.width, image.height)?.data;
}

// The four ways a wwebjs server can reach us: two URL forms × two envelopes.
const FORMS = [
  ['universal URL, native envelope + x-api-key', (t: TestApp, b: Native) => postWwebjsNative(t.app, b)],
  [
    'per-session URL, native envelope + x-api-key',
    (t: TestApp, b: Native) => postWwebjsNative(t.app, { ...b, sessionId: undefined }, `/webhooks/wwebjs/${b.sessionId}`),
  ],
  ['universal URL, seed envelope + X-Webhook-Signature', (t: TestApp, b: Native) => postWwebjsSeed(t.app, toSeedEnvelope(b))],
  [
    'per-session URL, seed envelope + X-Webhook-Signature',
    (t: TestApp, b: Native) =>
      postWwebjsSeed(t.app, { event: b.dataType, ...(b.data ? { data: b.data } : {}) }, `/webhooks/wwebjs/${b.sessionId}`),
  ],
] as const;

describe('whatsapp-web.js webhooks and sessions (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  beforeEach(async () => t.reset());
  afterAll(async () => t?.close());

  const sessionByExternal = async () => {
    const list = await apiGet(t.app, '/v1/sessions?provider=wwebjs');
    expect(list.status).toBe(200);
    return { list: list.body, session: list.body.data[0] };
  };

  describe.each(FORMS)('QR login through the %s', (_name, post) => {
    it('qr → authenticated → ready: status, flags, qrImage and summary at each step', async () => {
      const qr = fixture('qr');
      expect((await post(t, qr)).status).toBe(200);
      let { list, session } = await sessionByExternal();
      expect(session).toMatchObject({
        externalId: SESSION,
        status: 'qr',
        needsQR: true,
        hasQR: true,
        isConnected: false,
        isLoading: false,
        hasError: false,
      });
      expect(list.summary).toMatchObject({ needsQR: 1, hasQR: 1, connected: 0, total: 1 });
      const detail = await apiGet(t.app, `/v1/sessions/${session.id}`);
      expect(readQr(detail.body.qrImage)).toBe((qr.data as { qr: string }).qr);
      const png = await apiGet(t.app, `/v1/sessions/${session.id}/qr`)
        .buffer(true)
        .parse((res, cb) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => cb(null, Buffer.concat(chunks)));
        });
      expect(png.headers['content-type']).toBe('image/png');
      expect(readQr(png.body as Buffer)).toBe((qr.data as { qr: string }).qr);

      expect((await post(t, fixture('authenticated'))).status).toBe(200);
      ({ session } = await sessionByExternal());
      expect(session).toMatchObject({ status: 'authenticated', needsQR: false });

      expect((await post(t, fixture('ready'))).status).toBe(200);
      ({ list, session } = await sessionByExternal());
      expect(session).toMatchObject({ status: 'connected', isConnected: true, hasQR: false, qr: null, connectedAt: expect.any(String) });
      expect(list.summary).toMatchObject({ connected: 1, needsQR: 0, total: 1 });
      expect((await apiGet(t.app, `/v1/sessions/${session.id}`)).body.qrImage).toBeNull();
      expect((await apiGet(t.app, `/v1/sessions/${session.id}/qr`)).status).toBe(404);

      const history = await apiGet(t.app, `/v1/sessions/${session.id}/events`);
      expect(history.body.data.map((e: { event: string; toStatus: string }) => `${e.event}:${e.toStatus}`)).toEqual([
        'ready:connected',
        'authenticated:authenticated',
        'qr:qr',
      ]);
      expect(history.body.data[0].fromStatus).toBe('authenticated');
    });
  });

  it('disconnected clears the QR and keeps the reason; auth_failure flags an error', async () => {
    await postWwebjsNative(t.app, fixture('qr'));
    await postWwebjsNative(t.app, fixture('disconnected_logout'));
    let { session } = await sessionByExternal();
    expect(session).toMatchObject({ status: 'logged_out', message: 'LOGOUT', qr: null, isConnected: false });
    await postWwebjsNative(t.app, fixture('auth_failure'));
    ({ session } = await sessionByExternal());
    expect(session).toMatchObject({ status: 'auth_failure', hasError: true });
    expect((await apiGet(t.app, '/v1/sessions?status=auth_failure')).body.summary).toMatchObject({ error: 1, total: 1 });
  });

  it('loading_screen and change_state update status; loading percent kept', async () => {
    await postWwebjsNative(t.app, fixture('loading_screen'));
    let { session } = await sessionByExternal();
    expect(session).toMatchObject({ status: 'loading', isLoading: true, loadingPercent: 100 });
    await postWwebjsNative(t.app, fixture('change_state_conflict'));
    ({ session } = await sessionByExternal());
    expect(session.status).toBe('disconnected');
  });

  it('a message, its message_create echo and its acks land as one message with the final status', async () => {
    const incoming = fixture('message_text');
    await postWwebjsNative(t.app, incoming);
    await postWwebjsNative(t.app, { ...incoming, dataType: 'message_create' });
    expect(await count(t, 'messages')).toBe(1);

    const ours = fixture('message_create_from_me');
    const ack = (n: number) => {
      const body = structuredClone(fixture('message_ack_read')) as Native & { data: { ack: number } };
      body.data.ack = n;
      return body;
    };
    await postWwebjsNative(t.app, ack(2)); // an ack may beat its message_create
    await postWwebjsNative(t.app, ours);
    await postWwebjsNative(t.app, ack(3));
    await postWwebjsNative(t.app, ack(1)); // late "sent" must not downgrade "read"
    const out = await apiGet(t.app, '/v1/messages?direction=out');
    expect(out.body.total).toBe(1);
    expect(out.body.data[0]).toMatchObject({
      provider: 'wwebjs',
      externalId: 'true_6281288888888@c.us_3EB0C767D26A1D8D8C41',
      status: 'read',
      text: 'Terima kasih, pesanan diproses',
    });
    const conv = (await apiGet(t.app, '/v1/conversations')).body.data[0];
    expect(conv).toMatchObject({ messageCount: 2, unreadCount: 1, chatId: '6281288888888', contact: { name: 'Budi' } });
  });

  it('edit, delete for everyone, reaction and media update the original message; no new rows', async () => {
    await postWwebjsNative(t.app, fixture('message_text'));
    await postWwebjsNative(t.app, fixture('message_edit'));
    await postWwebjsNative(t.app, fixture('message_create_from_me'));
    await postWwebjsNative(t.app, fixture('message_reaction'));
    await postWwebjsNative(t.app, fixture('message_image'));
    await postWwebjsNative(t.app, fixture('media'));
    await postWwebjsNative(t.app, fixture('message_revoke_everyone'));
    expect(await count(t, 'messages')).toBe(3);
    const rows = await t.db.query(
      `SELECT external_id, text, edits, deleted_at, reactions, media FROM messages ORDER BY provider_timestamp`,
    );
    expect(rows[0]).toMatchObject({ text: 'Hello World! (edited)', edits: [{ text: 'Hello World!' }], deleted_at: expect.any(Date) });
    expect(rows.find((r: { external_id: string }) => r.external_id.startsWith('true_')).reactions).toEqual({ '6281288888888': '👍' });
    expect(rows.find((r: { external_id: string }) => r.external_id.includes('C0FFEE')).media).toMatchObject({
      mimeType: 'image/jpeg',
      size: 54005,
      stored: true,
    });
    const [media] = await t.db.query(`SELECT mime_type, length(data) AS n FROM message_media`);
    expect(media.mime_type).toBe('image/jpeg');
    expect(Number(media.n)).toBeGreaterThan(0);
  });

  it('calls are stored; group and contact events are recorded in the session history; stories are ignored', async () => {
    await postWwebjsNative(t.app, fixture('call'));
    await postWwebjsNative(t.app, fixture('group_join'));
    await postWwebjsNative(t.app, fixture('contact_changed'));
    const story = await postWwebjsNative(t.app, fixture('message_status_broadcast'));
    expect(story.body.state).toBe('ignored');
    expect(await count(t, 'calls')).toBe(1);
    expect(await count(t, 'messages')).toBe(0);
    const { session } = await sessionByExternal();
    const events = (await apiGet(t.app, `/v1/sessions/${session.id}/events`)).body.data.map((e: { event: string }) => e.event);
    expect(events).toEqual(expect.arrayContaining(['group_join', 'contact_changed']));
  });

  it('every wwebjs fixture replays through both URL forms without failure', async () => {
    for (const f of inboundFixtures('wwebjs')) {
      const body = loadFixture<Native>(f.file);
      const universal = await postWwebjsNative(t.app, body);
      expect(universal.status, f.id).toBe(200);
      expect(universal.body.state, f.id).not.toBe('failed');
      const perSession = await postWwebjsSeed(
        t.app,
        { event: body.dataType, ...(body.data ? { data: body.data } : {}) },
        `/webhooks/wwebjs/other-session`,
      );
      expect(perSession.status, f.id).toBe(200);
    }
    expect(Number((await t.db.query(`SELECT count(*) AS n FROM webhook_events WHERE state = 'failed'`))[0].n)).toBe(0);
    expect((await apiGet(t.app, '/v1/sessions?provider=wwebjs')).body.total).toBe(2);
  });

  describe('credentials', () => {
    it.each([
      ['no credentials', {}],
      ['wrong x-api-key', { 'x-api-key': 'nope-nope-nope' }],
      ['bad signature', { 'X-Webhook-Signature': `sha256=${'0'.repeat(64)}` }],
      ['bad signature even with the right api key', { 'X-Webhook-Signature': 'sha256=zz', 'x-api-key': 'wwebjs-test-api-key' }],
    ])('%s → 401, nothing stored', async (_n, headers) => {
      for (const path of ['/webhooks/wwebjs', `/webhooks/wwebjs/${SESSION}`]) {
        const res = await request(t.app.getHttpServer())
          .post(path)
          .set('Content-Type', 'application/json')
          .set(headers)
          .send(JSON.stringify(fixture('qr')));
        expect(res.status).toBe(401);
        expect(res.body.error.code).toBe('UNAUTHORIZED');
      }
      expect(await count(t, 'webhook_events')).toBe(0);
      expect(await count(t, 'sessions')).toBe(0);
    });

    it('GET on both routes answers availability', async () => {
      expect((await request(t.app.getHttpServer()).get('/webhooks/wwebjs')).body).toMatchObject({ success: true });
      expect((await request(t.app.getHttpServer()).get(`/webhooks/wwebjs/${SESSION}`)).body).toMatchObject({
        success: true,
        sessionId: SESSION,
      });
    });
  });

  it('an unknown event is stored raw, 2xx, visible as failed', async () => {
    const res = await postWwebjsNative(t.app, { dataType: 'teleport', data: { to: 'mars' }, sessionId: SESSION });
    expect(res.status).toBe(200);
    const failed = await apiGet(t.app, '/v1/webhook-events?state=failed&provider=wwebjs');
    expect(failed.body.data[0]).toMatchObject({ body: { dataType: 'teleport' }, error: expect.stringContaining('teleport') });
  });

  it('sessions list filters by provider, status and userId (set with PATCH)', async () => {
    await postWwebjsNative(t.app, fixture('ready'));
    const { session } = await sessionByExternal();
    const patched = await request(t.app.getHttpServer())
      .patch(`/v1/sessions/${session.id}`)
      .set('X-API-Key', 'test-admin-key-0123456789abcdef')
      .send({ userId: 'user-456' });
    expect(patched.status).toBe(200);
    expect(patched.body.userId).toBe('user-456');
    expect((await apiGet(t.app, '/v1/sessions?userId=user-456')).body.total).toBe(1);
    expect((await apiGet(t.app, '/v1/sessions?userId=someone-else')).body.total).toBe(0);
    expect((await apiGet(t.app, '/v1/sessions?status=bogus')).status).toBe(400);
    expect((await apiGet(t.app, '/v1/sessions/not-a-uuid')).status).toBe(404);
  });
});
