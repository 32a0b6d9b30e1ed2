import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { watchBackground } from './helpers/background';
import { FakeProvider, RecordedRequest, waitFor } from './helpers/fake-provider';
import { loadFixture } from './helpers/fixtures';
import { apiGet, postMeta, postWablas, postWwebjsNative } from './helpers/http';
import { OutboxJanitor } from '../src/sending/outbox-janitor';
import { createTestApp, TEST_ENV, TestApp } from './helpers/test-app';

const META_PHONE_NUMBER_ID = '106540352242922';
const WWEBJS_SESSION = 'f8377d8d-a589-4242-9ba6-9486a04ef80c';
const fixture = (name: string) => loadFixture<any>(name);
let sequence = 0;

/** Meta's send_success fixture with a fresh wamid per call. */
function metaSuccess(): { status: number; body: unknown } {
  const body = fixture('meta/outbound/responses/send_success.json');
  body.messages[0].id = `${body.messages[0].id}.${++sequence}`;
  return { status: 200, body };
}

describe('outbound sending (e2e)', () => {
  const meta = new FakeProvider();
  const wablas = new FakeProvider();
  const wwebjs = new FakeProvider();
  let t: TestApp;
  let sessions: Record<string, string>;
  /** Waits until auto-replies and the outbox worker have had their chance to send (instead of sleeping). */
  let background: ReturnType<typeof watchBackground>;

  const send = (body: object, headers: Record<string, string> = {}) =>
    request(t.app.getHttpServer()).post('/v1/messages').set('X-API-Key', TEST_ENV.ADMIN_API_KEY).set(headers).send(body);
  const message = async (id: string) => (await apiGet(t.app, `/v1/messages/${id}`)).body;
  const settled = (id: string) =>
    waitFor(async () => {
      const m = await message(id);
      return m.status !== 'queued' ? m : null;
    });

  beforeAll(async () => {
    const [metaUrl, wablasUrl, wwebjsUrl] = await Promise.all([meta.start(), wablas.start(), wwebjs.start()]);
    t = await createTestApp({
      META_ACCESS_TOKEN: 'meta-test-token',
      META_GRAPH_BASE_URL: metaUrl,
      META_API_VERSION: 'v21.0',
      WABLAS_BASE_URL: wablasUrl,
      WABLAS_TOKEN: 'wablas-token',
      WABLAS_SECRET_KEY: 'wablas-secret',
      WWEBJS_BASE_URL: wwebjsUrl,
    });
    background = watchBackground(t.app);
  });
  beforeEach(async () => {
    await t.reset();
    for (const p of [meta, wablas, wwebjs]) p.clear();
    meta.reply = () => metaSuccess();
    wablas.reply = () => {
      const body = fixture('wablas/outbound/responses/v2_send_success.json');
      if (wablas.requests.length > 1) body.data.messages[0].id = `${body.data.messages[0].id}-${wablas.requests.length}`;
      return { status: 200, body };
    };
    wwebjs.reply = () => ({ status: 200, body: fixture('wwebjs/api/responses/send_message_ok.json').body });
    // Sessions come from traffic, as in production: a Meta number, a Wablas device, a wwebjs session.
    await postMeta(t.app, fixture('meta/inbound/text.json'));
    await postWablas(t.app, fixture('wablas/inbound/text_private.json'));
    await postWwebjsNative(t.app, fixture('wwebjs/inbound/ready.json'));
    const rows = (await t.db.query(`SELECT id, provider FROM sessions`)) as { id: string; provider: string }[];
    sessions = Object.fromEntries(rows.map((r) => [r.provider, r.id]));
  });
  afterAll(async () => {
    await t?.close();
    await Promise.all([meta.stop(), wablas.stop(), wwebjs.stop()]);
  });

  describe('Meta Cloud API', () => {
    const to = '16505551234';
    const cases: [string, object, string, (f: any) => any][] = [
      ['text', { type: 'text', text: { body: 'text-message-content' } }, 'send_text.json', (f) => f],
      [
        'text with link preview',
        { type: 'text', text: { body: 'Please visit https://youtu.be/hpltvTEiRrY.', previewUrl: true } },
        'send_text_preview_url.json',
        (f) => f,
      ],
      [
        'image by link',
        { type: 'image', image: { link: 'https://example.com/a.jpg' } },
        'send_image_link.json',
        (f) => ({ ...f, image: { link: 'https://example.com/a.jpg' } }),
      ],
      ['image by id', { type: 'image', image: { id: '1234567890' } }, 'send_image_id.json', (f) => ({ ...f, image: { id: '1234567890' } })],
      [
        'video by link with caption',
        { type: 'video', video: { link: 'https://example.com/v.mp4', caption: 'A video' } },
        'send_video_link.json',
        (f) => ({ ...f, video: { link: 'https://example.com/v.mp4', caption: 'A video' } }),
      ],
      ['audio by id', { type: 'audio', audio: { id: '998877' } }, 'send_audio_id.json', (f) => ({ ...f, audio: { id: '998877' } })],
      [
        'document by id',
        { type: 'document', document: { id: '4455', caption: 'Invoice', filename: 'invoice.pdf' } },
        'send_document_id.json',
        (f) => ({ ...f, document: { id: '4455', caption: 'Invoice', filename: 'invoice.pdf' } }),
      ],
      [
        'location',
        {
          type: 'location',
          location: { latitude: 37.758056, longitude: -122.425332, name: 'META HQ', address: '1 Hacker Way, Menlo Park, CA 94025' },
        },
        'send_location.json',
        (f) => f,
      ],
      ['template', { type: 'template', template: { name: 'hello_world', language: 'en_US' } }, 'send_template_hello_world.json', (f) => f],
      [
        'template with parameters',
        {
          type: 'template',
          template: {
            name: 'template-name',
            language: 'id',
            components: fixture('meta/outbound/requests/send_template_text_params.json').template.components,
          },
        },
        'send_template_text_params.json',
        (f) => ({ ...f, template: { ...f.template, language: { code: 'id' } } }),
      ],
      ['reaction', { type: 'reaction', reaction: { messageId: 'wamid.HBgLM...', emoji: '😀' } }, 'send_reaction.json', (f) => f],
      [
        'reply',
        { type: 'text', text: { body: '<TEXT_MSG_CONTENT>' }, context: { messageId: '<MSGID_OF_PREV_MSG>' } },
        'send_text_reply.json',
        (f) => f,
      ],
    ];
    it.each(cases)('%s: the exact Graph API request, then sent with the wamid', async (_name, body, file, expected) => {
      const res = await send({ sessionId: sessions.meta, to: '+1 650-555-1234', ...body });
      expect(res.status).toBe(202);
      expect(res.body).toMatchObject({ direction: 'out', status: 'queued', externalId: null, chatId: to, sessionId: sessions.meta });
      const sent = await settled(res.body.id);
      expect(sent.status).toBe('sent');
      expect(sent.externalId).toMatch(/^wamid\./);
      expect(meta.requests).toHaveLength(1);
      const call = meta.requests[0];
      expect(call.method).toBe('POST');
      expect(call.path).toBe(`/v21.0/${META_PHONE_NUMBER_ID}/messages`);
      expect(call.headers.authorization).toBe('Bearer meta-test-token');
      expect(call.headers['content-type']).toBe('application/json');
      expect(call.body).toMatchObject(expected({ ...fixture(`meta/outbound/requests/${file}`), to }));
    });

    it('statuses from webhooks move the sent message to delivered and read; a reply by wa-hub id resolves to the wamid', async () => {
      const res = await send({ sessionId: sessions.meta, to, type: 'text', text: { body: 'hello' } });
      const sent = await settled(res.body.id);
      const status = (s: string, ts: number) => ({
        object: 'whatsapp_business_account',
        entry: [
          {
            id: '1',
            changes: [
              {
                field: 'messages',
                value: {
                  messaging_product: 'whatsapp',
                  metadata: { display_phone_number: '15550783881', phone_number_id: META_PHONE_NUMBER_ID },
                  statuses: [{ id: sent.externalId, status: s, timestamp: String(ts), recipient_id: to }],
                },
              },
            ],
          },
        ],
      });
      await postMeta(t.app, status('delivered', 1_750_000_010));
      expect((await message(res.body.id)).status).toBe('delivered');
      await postMeta(t.app, status('read', 1_750_000_020));
      expect((await message(res.body.id)).status).toBe('read');
      const reply = await send({
        sessionId: sessions.meta,
        to,
        type: 'text',
        text: { body: 'again' },
        context: { messageId: res.body.id },
      });
      await settled(reply.body.id);
      expect(meta.requests[1].body.context).toEqual({ message_id: sent.externalId });
    });

    it('retries a rate limit (130429) with backoff, then sends once', async () => {
      let calls = 0;
      meta.reply = () =>
        ++calls === 1 ? { status: 400, body: fixture('meta/outbound/responses/error_130429_rate_limit.json') } : metaSuccess();
      const res = await send({ sessionId: sessions.meta, to, type: 'text', text: { body: 'retry me' } });
      const sent = await settled(res.body.id);
      expect(sent.status).toBe('sent');
      expect(meta.requests).toHaveLength(2);
      const [job] = await t.db.query(`SELECT attempts, state, last_error FROM outbox_jobs WHERE message_id = $1`, [res.body.id]);
      expect(job).toMatchObject({ attempts: 2, state: 'done', last_error: null });
    });

    it('a permanent error (132001 template missing) fails at once with the provider code and text', async () => {
      meta.reply = () => ({ status: 400, body: fixture('meta/outbound/responses/error_132001_template_missing.json') });
      const res = await send({ sessionId: sessions.meta, to, type: 'template', template: { name: 'nope', language: 'en' } });
      const failed = await settled(res.body.id);
      expect(failed.status).toBe('failed');
      expect(failed.error).toEqual({
        code: '132001',
        title: '(#132001) Template name does not exist in the translation',
        detail: 'template name (YOUR_TEMPLATE_NAME) does not exist in en',
      });
      expect(meta.requests).toHaveLength(1);
    });

    it('an expired token (190) marks the session error and holds its queue until new credentials are set', async () => {
      meta.reply = (req: RecordedRequest) =>
        req.headers.authorization === 'Bearer fresh-token'
          ? metaSuccess()
          : { status: 401, body: fixture('meta/outbound/responses/error_190_expired_token.json') };
      const first = await send({ sessionId: sessions.meta, to, type: 'text', text: { body: 'one' } });
      await waitFor(async () => (await apiGet(t.app, `/v1/sessions/${sessions.meta}`)).body.sendHeld);
      const second = await send({ sessionId: sessions.meta, to, type: 'text', text: { body: 'two' } });
      const session = (await apiGet(t.app, `/v1/sessions/${sessions.meta}`)).body;
      expect(session).toMatchObject({ status: 'error', hasError: true, sendHeld: true });
      await background.idle();
      expect(meta.requests).toHaveLength(1); // held: no retries burnt, the second message not tried
      expect((await message(first.body.id)).status).toBe('queued');
      expect((await message(second.body.id)).status).toBe('queued');

      const patched = await request(t.app.getHttpServer())
        .patch(`/v1/sessions/${sessions.meta}`)
        .set('X-API-Key', TEST_ENV.ADMIN_API_KEY)
        .send({ credentials: { accessToken: 'fresh-token' } });
      expect(patched.status).toBe(200);
      expect(patched.body).toMatchObject({ hasCredentials: true, sendHeld: false, status: 'connected' });
      expect(JSON.stringify(patched.body)).not.toContain('fresh-token');
      expect((await settled(first.body.id)).status).toBe('sent');
      expect((await settled(second.body.id)).status).toBe('sent');
      expect(meta.requests.filter((r) => r.headers.authorization === 'Bearer fresh-token')).toHaveLength(2);
      const [audit] = await t.db.query(`SELECT details FROM audit_log WHERE action = 'session.updated' ORDER BY id DESC LIMIT 1`);
      expect(JSON.stringify(audit.details)).not.toContain('fresh-token');
    });

    it('mark-read sends Meta a read receipt for the newest inbound message', async () => {
      const [conv] = await t.db.query(`SELECT v.id FROM conversations v WHERE v.session_id = $1`, [sessions.meta]);
      const [inbound] = await t.db.query(`SELECT external_id FROM messages WHERE conversation_id = $1 AND direction = 'in'`, [conv.id]);
      meta.reply = () => ({ status: 200, body: fixture('meta/outbound/responses/mark_read_success.json') });
      const res = await request(t.app.getHttpServer()).post(`/v1/conversations/${conv.id}/read`).set('X-API-Key', TEST_ENV.ADMIN_API_KEY);
      expect(res.status).toBe(200);
      await waitFor(async () => meta.requests.length === 1);
      expect(meta.requests[0].path).toBe(`/v21.0/${META_PHONE_NUMBER_ID}/messages`);
      expect(meta.requests[0].body).toEqual({ ...fixture('meta/outbound/requests/mark_read.json'), message_id: inbound.external_id });
    });
  });

  describe('Wablas and wwebjs', () => {
    it('Wablas: POST /api/v2/send-message with token.secret; the answer id is the message id tracking uses', async () => {
      const res = await send({ sessionId: sessions.wablas, to: '+62 812-1844-4876', type: 'text', text: { body: 'hello there' } });
      expect(res.status).toBe(202);
      const sent = await settled(res.body.id);
      expect(sent).toMatchObject({ status: 'sent', externalId: 'f5b3cb53-b926-472d-9cb3-594b7f535f7b' });
      expect(wablas.requests[0]).toMatchObject({
        method: 'POST',
        path: '/api/v2/send-message',
        headers: { authorization: 'wablas-token.wablas-secret' },
      });
      expect(wablas.requests[0].body).toEqual({ data: [{ phone: sent.chatId, message: 'hello there' }] });
      expect(Object.keys(fixture('wablas/outbound/v2_send_message.json').body.data[1])).toEqual(
        Object.keys(wablas.requests[0].body.data[0]),
      );
    });

    it.each([
      [
        'image',
        { type: 'image', image: { link: 'https://example.com/a.jpg', caption: 'Receipt' } },
        { image: 'https://example.com/a.jpg', caption: 'Receipt' },
      ],
      ['video', { type: 'video', video: { link: 'https://example.com/a.mp4' } }, { video: 'https://example.com/a.mp4' }],
      ['audio', { type: 'audio', audio: { link: 'https://example.com/a.ogg' } }, { audio: 'https://example.com/a.ogg' }],
      [
        'document',
        { type: 'document', document: { link: 'https://example.com/a.pdf', caption: 'Invoice' } },
        { document: 'https://example.com/a.pdf', caption: 'Invoice' },
      ],
    ])('Wablas %s: POST /api/v2/send-%s by link, the answer id recorded', async (kind, body, item) => {
      const res = await send({ sessionId: sessions.wablas, to: '6281218444876', ...body });
      expect(res.status).toBe(202);
      const sent = await settled(res.body.id);
      expect(sent).toMatchObject({ status: 'sent', externalId: 'f5b3cb53-b926-472d-9cb3-594b7f535f7b' });
      expect(wablas.requests[0]).toMatchObject({
        method: 'POST',
        path: `/api/v2/send-${kind}`,
        headers: { authorization: 'wablas-token.wablas-secret' },
      });
      expect(wablas.requests[0].body).toEqual({ data: [{ phone: '6281218444876', ...item }] });
    });

    it('Wablas: a type it cannot send (location, template) or media by id → 422 CAPABILITY_NOT_SUPPORTED, nothing queued', async () => {
      for (const body of [
        { type: 'location', location: { latitude: 1, longitude: 2 } },
        { type: 'template', template: { name: 'hello_world', language: 'en_US' } },
        { type: 'image', image: { id: '1479537139650973' } },
      ]) {
        const res = await send({ sessionId: sessions.wablas, to: '6281218444876', ...body });
        expect(res.status).toBe(422);
        expect(res.body.error.code).toBe('CAPABILITY_NOT_SUPPORTED');
      }
      expect(await t.db.query(`SELECT 1 FROM outbox_jobs`)).toHaveLength(0);
    });

    it('Wablas: "token invalid or device expired" holds the queue', async () => {
      wablas.reply = () => ({ status: 200, body: fixture('wablas/outbound/responses/error_token_invalid.json') });
      await send({ sessionId: sessions.wablas, to: '6281218444876', type: 'text', text: { body: 'x' } });
      const s = await waitFor(async () => {
        const b = (await apiGet(t.app, `/v1/sessions/${sessions.wablas}`)).body;
        return b.sendHeld ? b : null;
      });
      expect(s.message).toContain('token invalid or device expired');
    });

    it.each([
      ['text', { type: 'text', text: { body: 'Hello World!' } }, 'send_message_string.json'],
      ['location', { type: 'location', location: { latitude: -6.2, longitude: 106.8, name: 'Jakarta' } }, 'send_message_Location.json'],
      [
        'image by URL',
        { type: 'image', image: { link: 'https://api.qrserver.com/v1/create-qr-code/?size=150x150&data=Example' } },
        'send_message_MessageMediaFromURL.json',
      ],
    ])('wwebjs %s: POST /client/sendMessage/:sessionId with x-api-key, as the fixture', async (_n, body, file) => {
      const res = await send({ sessionId: sessions.wwebjs, to: '6281288888888', ...body });
      const sent = await settled(res.body.id);
      expect(sent).toMatchObject({ status: 'sent', externalId: 'true_6281288888888@c.us_3EB0C767D26A1D8D8C41' });
      const f = fixture(`wwebjs/api/requests/${file}`);
      expect(wwebjs.requests[0]).toMatchObject({
        method: 'POST',
        path: `/client/sendMessage/${WWEBJS_SESSION}`,
        headers: { 'x-api-key': TEST_ENV.WWEBJS_API_KEY },
      });
      expect(wwebjs.requests[0].body).toEqual(f.body);
    });

    it('wwebjs reaction: POST /message/react/:sessionId with the target message id; recorded sent without an id of its own', async () => {
      const inbound = fixture('wwebjs/inbound/message_text.json');
      await postWwebjsNative(t.app, inbound);
      const [target] = (await t.db.query(`SELECT id, external_id FROM messages WHERE session_id = $1 AND direction = 'in'`, [
        sessions.wwebjs,
      ])) as { id: string; external_id: string }[];
      wwebjs.reply = () => ({ status: 200, body: { success: true, result: null } });
      const res = await send({
        sessionId: sessions.wwebjs,
        to: inbound.data.message.from,
        type: 'reaction',
        reaction: { messageId: target.id, emoji: '👍' },
      });
      expect(res.status).toBe(202);
      const sent = await settled(res.body.id);
      expect(sent).toMatchObject({ status: 'sent', externalId: null });
      expect(wwebjs.requests).toHaveLength(1);
      expect(wwebjs.requests[0]).toMatchObject({
        method: 'POST',
        path: `/message/react/${WWEBJS_SESSION}`,
        headers: { 'x-api-key': TEST_ENV.WWEBJS_API_KEY },
      });
      expect(wwebjs.requests[0].body).toEqual({ chatId: inbound.data.message.from, messageId: target.external_id, reaction: '👍' });

      // The server's "Message not Found" (404) is permanent.
      wwebjs.reply = () => ({ status: 404, body: { success: false, error: 'Message not Found' } });
      const gone = await settled(
        (
          await send({
            sessionId: sessions.wwebjs,
            to: inbound.data.message.from,
            type: 'reaction',
            reaction: { messageId: target.id, emoji: '' },
          })
        ).body.id,
      );
      expect(gone).toMatchObject({ status: 'failed', error: { code: '404', title: 'Message not Found' } });
    });

    it('wwebjs: the message_create echo that beats the HTTP answer is folded into the sent message; acks update it', async () => {
      const echo = fixture('wwebjs/inbound/message_create_from_me.json');
      const echoId = echo.data.message.id._serialized as string;
      wwebjs.reply = () => {
        const ok = fixture('wwebjs/api/responses/send_message_ok.json').body;
        ok.message.id._serialized = echoId;
        return { status: 200, body: ok, delayMs: 300 };
      };
      const res = await send({ sessionId: sessions.wwebjs, to: '6281288888888', type: 'text', text: { body: 'Hello World!' } });
      await waitFor(async () => wwebjs.requests.length === 1);
      expect((await postWwebjsNative(t.app, echo)).status).toBe(200);
      const sent = await settled(res.body.id);
      expect(sent.externalId).toBe(echoId);
      expect(await t.db.query(`SELECT id FROM messages WHERE external_id = $1`, [echoId])).toEqual([{ id: res.body.id }]);
      const ack = fixture('wwebjs/inbound/message_ack_read.json');
      ack.data.message.id._serialized = echoId;
      ack.data.message.id.id = echoId.split('_').pop();
      await postWwebjsNative(t.app, ack);
      expect((await message(res.body.id)).status).toBe('read');
    });
  });

  describe('API rules', () => {
    it('Idempotency-Key: same key and body → the first message, one send; another body → 409', async () => {
      const body = { sessionId: sessions.meta, to: '16505551234', type: 'text', text: { body: 'once' } };
      const a = await send(body, { 'Idempotency-Key': 'order-42' });
      const b = await send(
        { text: { body: 'once' }, type: 'text', to: '16505551234', sessionId: sessions.meta },
        { 'Idempotency-Key': 'order-42' },
      );
      expect(a.status).toBe(202);
      expect(b.status).toBe(202);
      expect(b.headers['idempotent-replayed']).toBe('true');
      expect(b.body.id).toBe(a.body.id);
      await settled(a.body.id);
      const c = await send({ ...body, text: { body: 'twice' } }, { 'Idempotency-Key': 'order-42' });
      expect(c.status).toBe(409);
      expect(c.body.error.code).toBe('CONFLICT');
      await background.idle();
      expect(meta.requests).toHaveLength(1);
      expect(await t.db.query(`SELECT count(*)::int AS n FROM messages WHERE direction = 'out'`)).toEqual([{ n: 1 }]);
    });

    it('session choice: several connected and none given → 422 SESSION_REQUIRED; unknown → 404', async () => {
      const res = await send({ to: '16505551234', type: 'text', text: { body: 'x' } });
      expect(res.status).toBe(422);
      expect(res.body.error.code).toBe('SESSION_REQUIRED');
      expect(res.body.error.message).toContain('3 sessions are connected');
      expect(
        (await send({ sessionId: '00000000-0000-4000-8000-000000000000', to: '16505551234', type: 'text', text: { body: 'x' } })).status,
      ).toBe(404);
    });

    it.each([
      [{ type: 'text' }, 'text'],
      [{ type: 'text', text: { body: '' } }, 'text.body'],
      [{ type: 'image', image: {} }, 'image.link'],
      [{ type: 'fax', text: { body: 'x' } }, 'type'],
      [{ type: 'location', location: { latitude: 123, longitude: 0 } }, 'location.latitude'],
    ])('validation %j → 400 naming %s', async (body, field) => {
      const res = await send({ sessionId: sessions.meta, to: '16505551234', ...body });
      expect(res.status).toBe(400);
      expect(JSON.stringify(res.body.error)).toContain(field);
    });

    it('bad recipient → 400 naming to', async () => {
      const res = await send({ sessionId: sessions.meta, to: 'not-a-number', type: 'text', text: { body: 'x' } });
      expect(res.status).toBe(400);
      expect(res.body.error.details[0].field).toBe('to');
    });

    it('seed s0 POST /api/wa/send_message and seed s2 POST /api/whatsapp/send answer their shapes and really send', async () => {
      await t.db.query(`UPDATE sessions SET status = 'disconnected' WHERE provider <> 'wablas'`);
      const s0 = await request(t.app.getHttpServer())
        .post('/api/wa/send_message')
        .set('X-API-Key', TEST_ENV.ADMIN_API_KEY)
        .send({ phone: '6285137033257', message: 'Hello from Odoo' });
      expect(s0.status).toBe(200);
      expect(s0.body).toEqual({ status: 'success', message: 'Message queued for sending', record_id: expect.any(Number) });
      const s2 = await request(t.app.getHttpServer())
        .post('/api/whatsapp/send')
        .set('X-API-Key', TEST_ENV.ADMIN_API_KEY)
        .send({ to: '6281234567890', message: 'Hello from WhatsApp API!' });
      expect(s2.status).toBe(200);
      expect(s2.body).toEqual({
        success: true,
        messageId: expect.any(String),
        to: '6281234567890@s.whatsapp.net',
        message: 'Hello from WhatsApp API!',
      });
      await settled(String(s0.body.record_id));
      // Seed s2 answers once the message is sent, with the provider's id (here Wablas').
      const [sent] = await t.db.query(`SELECT status FROM messages WHERE external_id = $1 AND direction = 'out'`, [s2.body.messageId]);
      expect(sent.status).toBe('sent');
      expect(wablas.requests.map((r) => r.body.data[0])).toEqual([
        { phone: '6285137033257', message: 'Hello from Odoo' },
        { phone: '6281234567890', message: 'Hello from WhatsApp API!' },
      ]);
      const bad = await request(t.app.getHttpServer())
        .post('/api/whatsapp/send')
        .set('X-API-Key', TEST_ENV.ADMIN_API_KEY)
        .send({ to: '6281234567890' });
      expect(bad.status).toBe(400);
      expect(bad.body).toEqual({ error: expect.any(String), details: expect.any(String) });
    });
  });

  describe('auto-replies', () => {
    const inbound = (text: string, id: string, from = '16505551234') => {
      const body = fixture('meta/inbound/text.json');
      const m = body.entry[0].changes[0].value.messages[0];
      m.text.body = text;
      m.id = `wamid.auto.${id}`;
      m.from = from;
      body.entry[0].changes[0].value.contacts[0].wa_id = from;
      return body;
    };
    const admin = () => ({
      get: (path: string) => request(t.app.getHttpServer()).get(path).set('X-API-Key', TEST_ENV.ADMIN_API_KEY),
      post: (path: string, b: object) => request(t.app.getHttpServer()).post(path).set('X-API-Key', TEST_ENV.ADMIN_API_KEY).send(b),
      patch: (path: string, b: object) => request(t.app.getHttpServer()).patch(path).set('X-API-Key', TEST_ENV.ADMIN_API_KEY).send(b),
    });

    it('seed s2 ping → pong: shipped disabled, one call enables it; answers once per inbound message, never echoes or groups', async () => {
      const rules = (await admin().get('/v1/auto-replies')).body.data;
      expect(rules).toEqual([expect.objectContaining({ matchType: 'exact', pattern: 'ping', reply: 'pong', enabled: false })]);
      await postMeta(t.app, inbound('ping', 'before'));
      await background.idle();
      expect(meta.requests).toHaveLength(0);

      expect((await admin().patch(`/v1/auto-replies/${rules[0].id}`, { enabled: true })).body.enabled).toBe(true);
      const webhook = inbound(' PING ', 'one');
      await postMeta(t.app, webhook);
      await waitFor(async () => meta.requests.length === 1);
      expect(meta.requests[0].body).toMatchObject({ to: '16505551234', type: 'text', text: { body: 'pong' } });
      await postMeta(t.app, webhook); // the provider retries the same webhook
      await postMeta(t.app, inbound('pingpong', 'two')); // exact: no match
      // Our own message echoed back by wwebjs (message_create, fromMe) is never answered.
      const echo = fixture('wwebjs/inbound/message_create_from_me.json');
      echo.data.message.body = 'ping';
      echo.data.message._data.body = 'ping';
      await postWwebjsNative(t.app, echo);
      const group = fixture('wwebjs/inbound/message_group.json');
      group.data.message.body = 'ping';
      group.data.message._data.body = 'ping';
      await postWwebjsNative(t.app, group);
      await background.idle();
      expect(meta.requests).toHaveLength(1);
      expect(wwebjs.requests).toHaveLength(0);
      const [reply] = await t.db.query(`SELECT m.status, j.trigger_message_id FROM outbox_jobs j JOIN messages m ON m.id = j.message_id`);
      expect(reply.status).toBe('sent');
    });

    it('rules: contains and regex, priority order, session filter; an invalid regex → 400 naming pattern', async () => {
      expect((await admin().post('/v1/auto-replies', { name: 'bad', matchType: 'regex', pattern: '(', reply: 'x' })).status).toBe(400);
      await admin().post('/v1/auto-replies', { name: 'hours', matchType: 'contains', pattern: 'OPEN', reply: 'We open at 9', priority: 1 });
      await admin().post('/v1/auto-replies', {
        name: 'price',
        matchType: 'regex',
        pattern: '^(price|harga)\\b',
        reply: 'See our catalogue',
        priority: 5,
      });
      await admin().post('/v1/auto-replies', {
        name: 'other session',
        matchType: 'contains',
        pattern: 'open',
        reply: 'never',
        priority: 9,
        sessionId: sessions.wablas,
      });
      await postMeta(t.app, inbound('are you open today?', 'c'));
      await postMeta(t.app, inbound('Harga open berapa?', 'r', '16505550000'));
      await waitFor(async () => meta.requests.length === 2);
      const replies = Object.fromEntries(meta.requests.map((r) => [r.body.to, r.body.text.body]));
      expect(replies).toEqual({ '16505551234': 'We open at 9', '16505550000': 'See our catalogue' });
    });
  });

  describe('delivery after a crash', () => {
    it('a job claimed by a dead process is claimed again after its lease and sent once; one interrupted mid-call is not resent', async () => {
      const q = (body: string) => send({ sessionId: sessions.meta, to: '16505551234', type: 'text', text: { body } });
      // Stop this process's worker from taking them first: the jobs look claimed by another process.
      await t.db.query(`UPDATE sessions SET send_held = true WHERE id = $1`, [sessions.meta]);
      const unstarted = (await q('claimed, not started')).body.id;
      const inDoubt = (await q('interrupted during the call')).body.id;
      await t.db.query(
        `UPDATE outbox_jobs SET locked_by = 'dead-process', attempts = 1, lease_until = now() - interval '1 second' WHERE message_id = $1`,
        [unstarted],
      );
      await t.db.query(
        `UPDATE outbox_jobs SET locked_by = 'dead-process', attempts = 1, lease_until = now() - interval '1 second', attempt_started_at = now() - interval '2 seconds' WHERE message_id = $1`,
        [inDoubt],
      );
      await t.db.query(`UPDATE sessions SET send_held = false WHERE id = $1`, [sessions.meta]);
      expect((await settled(unstarted)).status).toBe('sent');
      const doubtful = await settled(inDoubt);
      expect(doubtful.status).toBe('failed');
      expect(doubtful.error.code).toBe('OUTCOME_UNKNOWN');
      expect(meta.requests.map((r) => r.body.text.body)).toEqual(['claimed, not started']);
    });
  });

  describe('retention', () => {
    it('the hourly sweep drops expired Idempotency-Key rows and week-old finished jobs; pending and recent ones stay', async () => {
      const q = (body: string, key: string) =>
        send({ sessionId: sessions.meta, to: '16505551234', type: 'text', text: { body } }, { 'Idempotency-Key': key });
      const old = (await q('old', 'k-old')).body.id;
      const fresh = (await q('fresh', 'k-fresh')).body.id;
      await waitFor(async () => meta.requests.length === 2);
      await settled(old);
      await settled(fresh);
      await t.db.query(`UPDATE sessions SET send_held = true WHERE id = $1`, [sessions.meta]);
      const pending = (await q('pending', 'k-pending')).body.id;
      await t.db.query(`UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key IN ('k-old', 'k-pending')`);
      await t.db.query(`UPDATE outbox_jobs SET updated_at = now() - interval '8 days' WHERE message_id IN ($1, $2)`, [old, pending]);

      expect(await t.app.get(OutboxJanitor).sweep()).toEqual({ idempotencyKeys: 2, jobs: 1 });
      expect((await t.db.query(`SELECT key FROM idempotency_keys ORDER BY key`)).map((r: { key: string }) => r.key)).toEqual(['k-fresh']);
      expect((await t.db.query(`SELECT message_id::text AS id FROM outbox_jobs ORDER BY id`)).map((r: { id: string }) => r.id)).toEqual([
        String(fresh),
        String(pending),
      ]);
      // The message keeps its outcome; the expired key can be used again (a new message).
      expect((await message(old)).status).toBe('sent');
      const again = await q('old', 'k-old');
      expect(again.status).toBe(202);
      expect(again.body.id).not.toBe(old);
    });
  });
});
