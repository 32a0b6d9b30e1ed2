import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { inboundFixtures, loadFixture } from './helpers/fixtures';
import { apiGet, postWablas } from './helpers/http';
import { createTestApp, TEST_ENV, TestApp } from './helpers/test-app';

const count = async (t: TestApp, table: string) => Number((await t.db.query(`SELECT count(*) AS n FROM ${table}`))[0].n);

describe('Wablas webhooks (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  beforeEach(async () => t.reset());
  afterAll(async () => t?.close());

  it.each(inboundFixtures('wablas').map((f) => [f.id, f.file, f.contentType ?? 'application/json']))(
    '%s is stored and answered 200 with an empty body',
    async (_id, file, contentType) => {
      const body = loadFixture<Record<string, unknown>>(file);
      const res = await postWablas(t.app, body, { form: contentType.includes('form') });
      expect(res.status).toBe(200);
      expect(res.text).toBe('');
      const [event] = await t.db.query('SELECT state, error FROM webhook_events');
      expect(event).toEqual({ state: 'processed', error: null });
    },
  );

  it('a private text lands as an inbound message on the device session, named from pushName', async () => {
    await postWablas(t.app, loadFixture('wablas/inbound/text_private.json'));
    const res = await apiGet(t.app, '/v1/messages?phone=6281234567890');
    expect(res.body.total).toBe(1);
    expect(res.body.data[0]).toMatchObject({
      provider: 'wablas',
      externalId: '7a1e9c3d-5b2f-4e8a-9c6d-1f0b2a3c4d5e',
      direction: 'in',
      type: 'text',
      text: 'Halo, saya mau tanya stok',
      senderName: 'Budi',
      timestamp: new Date(1710138000 * 1000).toISOString(),
    });
    const [session] = await t.db.query(`SELECT provider, external_id, display_number, status FROM sessions`);
    expect(session).toEqual({ provider: 'wablas', external_id: 'OMM1F9', display_number: '6281298765432', status: 'connected' });
  });

  it('form-urlencoded legacy body: every value a string, still one message with the right timestamp', async () => {
    const res = await postWablas(t.app, loadFixture('wablas/inbound/legacy_form_urlencoded.json'), { form: true });
    expect(res.status).toBe(200);
    const msgs = await apiGet(t.app, '/v1/messages');
    expect(msgs.body.data[0]).toMatchObject({
      externalId: '3A5C8E2F9B1D4A6C',
      text: 'test pesan lama',
      timestamp: new Date(1583134810 * 1000).toISOString(),
    });
  });

  it('isFromMe echo is outgoing; a tracking callback that came first still applies to it', async () => {
    const echo = loadFixture<Record<string, unknown>>('wablas/inbound/from_me_echo.json');
    await postWablas(t.app, { id: echo.id, phone: echo.phone, status: 'delivered', note: '', deviceId: 'OMM1F9', sender: '6281298765432' });
    await postWablas(t.app, echo);
    const res = await apiGet(t.app, '/v1/messages?direction=out');
    expect(res.body.total).toBe(1);
    expect(res.body.data[0]).toMatchObject({ direction: 'out', status: 'delivered', text: 'Baik kak, stok tersedia' });
    const conv = (await apiGet(t.app, '/v1/conversations')).body.data[0];
    expect(conv).toMatchObject({ unreadCount: 0, messageCount: 1, lastMessageDirection: 'out' });
  });

  it("a group message threads by group, not into the customer's 1:1 conversation", async () => {
    await postWablas(t.app, loadFixture('wablas/inbound/text_private.json'));
    await postWablas(t.app, loadFixture('wablas/inbound/text_group.json'));
    const convs = (await apiGet(t.app, '/v1/conversations')).body.data as { isGroup: boolean; subject: string | null }[];
    expect(convs).toHaveLength(2);
    expect(convs.find((c) => c.isGroup)).toMatchObject({ subject: 'Pelanggan Toko' });
  });

  it('the same id twice is one message', async () => {
    const body = loadFixture<Record<string, unknown>>('wablas/inbound/image.json');
    await postWablas(t.app, body);
    await postWablas(t.app, { ...body, timestamp: 1710138121 }); // different bytes, same Wablas id
    expect(await count(t, 'messages')).toBe(1);
  });

  it.each([
    ['no secret', '/webhooks/wablas'],
    ['wrong secret', '/webhooks/wablas?secret=nope'],
  ])('%s → 401, nothing stored', async (_n, path) => {
    const res = await request(t.app.getHttpServer()).post(path).send(loadFixture('wablas/inbound/text_private.json'));
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('UNAUTHORIZED');
    expect(await count(t, 'webhook_events')).toBe(0);
  });

  it('the secret may come as X-Webhook-Secret', async () => {
    const res = await request(t.app.getHttpServer())
      .post('/webhooks/wablas')
      .set('X-Webhook-Secret', TEST_ENV.WABLAS_WEBHOOK_SECRET)
      .send(loadFixture('wablas/inbound/text_private.json'));
    expect(res.status).toBe(200);
  });

  it('an unknown shape is stored as failed and still answered 200', async () => {
    const res = await postWablas(t.app, { hello: 'world' });
    expect(res.status).toBe(200);
    const failed = await apiGet(t.app, '/v1/webhook-events?state=failed&provider=wablas');
    expect(failed.body.data[0]).toMatchObject({ body: { hello: 'world' }, error: expect.stringContaining('"id"') });
  });

  it('malformed JSON → 400 in our error shape', async () => {
    const res = await request(t.app.getHttpServer())
      .post(`/webhooks/wablas?secret=${TEST_ENV.WABLAS_WEBHOOK_SECRET}`)
      .set('Content-Type', 'application/json')
      .send('{"id": ');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('MALFORMED_JSON');
  });
});
