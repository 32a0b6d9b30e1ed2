import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { seedExample } from './fixtures/seeds/seeds';
import { loadFixture } from './helpers/fixtures';
import { apiGet, postMeta, withFreshIds } from './helpers/http';
import { createTestApp, TEST_ENV, TestApp } from './helpers/test-app';
import { binary, createMediaAppWithGraph, FakeGraph, jpeg, type MediaTestApp, settled } from './media-kit';

const ex = <T = Record<string, unknown>>(section: string) => seedExample<T>('s3-django-meta', section);
const ADMIN = { 'X-API-Key': TEST_ENV.ADMIN_API_KEY };
const meta = (name: string, suffix: string) => withFreshIds(loadFixture<object>(`meta/inbound/${name}.json`), suffix);
// The columns of its whatsapp_whatsappmessage rows the seed shows, with the Message Types table's stored data.
const MESSAGE_KEYS = [
  'id',
  'message_id',
  'from_number',
  'from_name',
  'phone_number',
  'message_type',
  'text_body',
  'caption',
  'media_id',
  'media_url',
  'latitude',
  'longitude',
  'direction',
  'status',
  'is_read',
  'timestamp',
];

/**
 * Seed s3 (shared/seeds/s3-django-meta-cloud-webhook.md), section by section: Meta's verification and signed
 * notifications on `/api/whatsapp/webhook/`, the Django admin URLs, the REST endpoints (`messages/?phone=&type=&limit=`,
 * `conversations/`, `mark-read/`), the SQL columns they mirror, the custom-frontend fetches and the
 * troubleshooting commands. Deliberate deviations: the REST endpoints need an API key; the verify token and
 * app secret are wa-hub's (META_VERIFY_TOKEN, META_APP_SECRET); `media_url` is wa-hub's signed URL of the file it
 * downloaded (the seed stored Meta's), valid MEDIA_URL_TTL_SECONDS.
 */
describe('compat: seed s3 Django on the Meta Cloud API (e2e)', () => {
  let t: TestApp;
  const http = () => request(t.app.getHttpServer());
  beforeAll(async () => {
    t = await createTestApp();
  });
  beforeEach(async () => t.reset());
  afterAll(async () => t?.close());

  describe('Step 4 / Troubleshooting 3. Test webhook manually: verification on /api/whatsapp/webhook/', () => {
    it('the curl with the configured verify token "Should return: 123"', async () => {
      const query = {
        ...ex<Record<string, string>>('Troubleshooting 3. Test webhook manually'),
        'hub.verify_token': TEST_ENV.META_VERIFY_TOKEN,
      };
      const ok = await http().get('/api/whatsapp/webhook/').query(query);
      expect(ok.status).toBe(200);
      expect(ok.text).toBe('123');
    });

    it('a wrong token (the example\'s "YourToken") is refused with 403', async () => {
      const bad = await http().get('/api/whatsapp/webhook/').query(ex('Troubleshooting 3. Test webhook manually'));
      expect(bad.status).toBe(403);
      expect(bad.text).not.toBe('123');
    });
  });

  describe('Step 5 / Testing Webhooks: messages sent TO the number are stored and listed', () => {
    it("a signed whatsapp_business_account POST goes to the Meta handler under Meta's signature rules", async () => {
      const res = await postMeta(t.app, meta('text', 'a'), '/api/whatsapp/webhook/');
      expect(res.status).toBe(200);
      expect((await apiGet(t.app, '/v1/messages?provider=meta')).body.total).toBe(1);
      const unsigned = await http().post('/api/whatsapp/webhook/').set('x-api-key', TEST_ENV.WWEBJS_API_KEY).send(meta('image', 'b'));
      expect(unsigned.status).toBe(401);
      expect((await apiGet(t.app, '/v1/messages?provider=meta')).body.total).toBe(1);
    });

    it('Test Different Message Types: text, image, location, document, reply, interactive all appear in the API', async () => {
      for (const [name, i] of [
        ['text', 1],
        ['image', 2],
        ['location', 3],
        ['document', 4],
        ['reply_context', 5],
        ['interactive_button_reply', 6],
      ] as const)
        expect((await postMeta(t.app, meta(name, `t${i}`), '/api/whatsapp/webhook/')).status, name).toBe(200);
      const res = await apiGet(t.app, '/api/whatsapp/messages/');
      expect(res.status).toBe(200);
      expect(res.body.map((m: { message_type: string }) => m.message_type).sort()).toEqual(
        ['document', 'image', 'interactive', 'location', 'text', 'text'].sort(),
      );
      const byType = (type: string) => res.body.filter((m: { message_type: string }) => m.message_type === type);
      expect(
        byType('text')
          .map((m: { text_body: string }) => m.text_body)
          .sort(),
      ).toEqual(['Does it come in another color?', 'replied text']);
      expect(byType('interactive')[0].text_body).toEqual(expect.any(String)); // Message Types: interactive → text_body
    });

    it('Handle duplicates: the same message_id twice is one row', async () => {
      await postMeta(t.app, meta('text', 'dup'), '/api/whatsapp/webhook/');
      await postMeta(t.app, meta('text', 'dup'), '/api/whatsapp/webhook/');
      expect((await apiGet(t.app, '/api/whatsapp/messages/')).body).toHaveLength(1);
    });

    it('Message Status Updates: status callbacks are accepted on the same URL', async () => {
      for (const name of ['status_sent', 'status_delivered', 'status_read', 'status_failed_131047'])
        expect((await postMeta(t.app, loadFixture(`meta/inbound/${name}.json`), '/api/whatsapp/webhook/')).status, name).toBe(200);
      expect(await t.db.query(`SELECT count(*)::int AS n FROM webhook_events WHERE state = 'failed'`)).toEqual([{ n: 0 }]);
    });
  });

  describe('Where to See Incoming Messages', () => {
    it('1. Django Admin Panel: /admin/ and /admin/whatsapp/whatsappmessage/ → 302 to the console inbox', async () => {
      for (const path of ['/admin/', '/admin', '/admin/whatsapp/whatsappmessage/', '/admin/whatsapp/whatsappmessage']) {
        const res = await http().get(path).redirects(0);
        expect(res.status, path).toBe(302);
        expect(res.headers.location, path).toBe('/inbox');
      }
    });

    describe('2. REST API Endpoints', () => {
      beforeEach(async () => {
        await postMeta(t.app, meta('text', 'r1'), '/api/whatsapp/webhook/');
        await postMeta(t.app, meta('image', 'r2'), '/api/whatsapp/webhook/');
        await postMeta(t.app, meta('reply_context', 'r3'), '/api/whatsapp/webhook/');
      });

      it("GET /api/whatsapp/messages/: a JSON array of message rows, newest first, with the seed's columns", async () => {
        const res = await apiGet(t.app, '/api/whatsapp/messages/');
        expect(res.status).toBe(200);
        expect(Array.isArray(res.body)).toBe(true);
        expect(res.body).toHaveLength(3);
        for (const m of res.body) for (const k of MESSAGE_KEYS) expect(m, k).toHaveProperty(k);
        const times = res.body.map((m: { timestamp: string }) => m.timestamp);
        expect(times).toEqual([...times].sort().reverse());
        expect(res.body.find((m: { text_body: string }) => m.text_body === 'Does it come in another color?')).toMatchObject({
          from_number: '16505551234',
          from_name: 'Sheena Nelson',
          phone_number: '16505551234',
          message_type: 'text',
          direction: 'in',
          is_read: false,
          message_id: expect.stringMatching(/^wamid\./),
        });
      });

      it('?phone=919876543210-style filter, ?type=text, ?limit=50', async () => {
        expect((await apiGet(t.app, '/api/whatsapp/messages/?phone=16505551234')).body).toHaveLength(2);
        expect((await apiGet(t.app, '/api/whatsapp/messages/?phone=%2B1%20650-555-1234')).body).toHaveLength(2);
        const text = (await apiGet(t.app, '/api/whatsapp/messages/?type=text')).body;
        expect(text.map((m: { message_type: string }) => m.message_type)).toEqual(['text', 'text']);
        expect((await apiGet(t.app, '/api/whatsapp/messages/?limit=50')).body).toHaveLength(3);
        expect((await apiGet(t.app, '/api/whatsapp/messages/?limit=1')).body).toHaveLength(1);
      });

      it('GET /api/whatsapp/conversations/: phone_number, contact_name, message_count, unread_count by last_message_at', async () => {
        const res = await apiGet(t.app, '/api/whatsapp/conversations/');
        expect(res.status).toBe(200);
        expect(res.body).toHaveLength(2);
        for (const c of res.body)
          expect(Object.keys(c).sort()).toEqual(['contact_name', 'last_message_at', 'message_count', 'phone_number', 'unread_count']);
        expect(res.body.find((c: { phone_number: string }) => c.phone_number === '16505551234')).toEqual({
          phone_number: '16505551234',
          contact_name: 'Sheena Nelson',
          message_count: 2,
          unread_count: 2,
          last_message_at: expect.any(String),
        });
        const at = res.body.map((c: { last_message_at: string }) => c.last_message_at);
        expect(at).toEqual([...at].sort().reverse());
      });

      it('POST /api/whatsapp/mark-read/ with Body {"phone_number"}: unread to zero, is_read true', async () => {
        const res = await http().post('/api/whatsapp/mark-read/').set(ADMIN).send({ phone_number: '16505551234' });
        expect(res.status).toBe(200);
        expect(res.body).toEqual({ status: 'success', phone_number: '16505551234', marked_read: 2 });
        const conv = (await apiGet(t.app, '/api/whatsapp/conversations/')).body.find(
          (c: { phone_number: string }) => c.phone_number === '16505551234',
        );
        expect(conv.unread_count).toBe(0);
        const msgs = (await apiGet(t.app, '/api/whatsapp/messages/?phone=16505551234')).body;
        expect(msgs.every((m: { is_read: boolean }) => m.is_read)).toBe(true);
      });

      it('mark-read with the seed example number that has no conversation → 404; bad bodies → 400, in the shape of the views', async () => {
        const none = await http()
          .post('/api/whatsapp/mark-read/')
          .set(ADMIN)
          .send(ex('Where to See Incoming Messages 2. Mark as read: Body'));
        expect(none.status).toBe(404);
        expect(none.body).toEqual({ status: 'error', message: expect.any(String) });
        const missing = await http().post('/api/whatsapp/mark-read/').set(ADMIN).send({});
        expect(missing.status).toBe(400);
        expect(missing.body).toEqual({ status: 'error', message: expect.stringContaining('phone_number') });
        const malformed = await http()
          .post('/api/whatsapp/mark-read/')
          .set(ADMIN)
          .set('Content-Type', 'application/json')
          .send('{"phone_number"');
        expect(malformed.status).toBe(400);
        expect(malformed.body).toEqual({ status: 'error', message: 'Request body is not valid JSON' });
        const badType = await apiGet(t.app, '/api/whatsapp/messages/?type=nope');
        expect(badType.status).toBe(400);
        expect(badType.body).toEqual({ status: 'error', message: expect.stringContaining('type') });
        const unknown = await apiGet(t.app, '/api/whatsapp/messages/123/extra/');
        expect(unknown.status).toBe(404);
        expect(unknown.body).toEqual({ status: 'error', message: expect.any(String) });
      });
    });
  });

  it('Custom Frontend: fetch conversations, messages?phone=, and mark-read with a JSON body', async () => {
    await postMeta(t.app, meta('text', 'f1'), '/api/whatsapp/webhook/');
    const conversations = (await apiGet(t.app, '/api/whatsapp/conversations/')).body;
    expect(conversations[0].phone_number).toBe('16505551234');
    const messages = (await apiGet(t.app, `/api/whatsapp/messages/?phone=${conversations[0].phone_number}`)).body;
    expect(messages).toHaveLength(1);
    const marked = await http()
      .post('/api/whatsapp/mark-read/')
      .set(ADMIN)
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ phone_number: conversations[0].phone_number }));
    expect(marked.status).toBe(200);
    expect(marked.body.marked_read).toBe(1);
  });

  it('REST endpoints without a key → 401 (a deliberate deviation), in the shape of the views', async () => {
    const res = await http().get('/api/whatsapp/messages/');
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ status: 'error', message: expect.any(String) });
  });
});

/**
 * Seed s3's "📊 Message Types Supported" table, row by row, with the media worker on and a fake Graph API serving
 * the files: image → media_id, media_url, caption; video → media_id, media_url; audio ("Voice messages, audio") →
 * media_id; document → media_id, media_url; location → latitude, longitude; text → text_body.
 */
describe('compat: seed s3 "Message Types Supported" stored data (e2e)', () => {
  let t: MediaTestApp;
  let graph: FakeGraph;
  const http = () => request(t.app.getHttpServer());
  type Body = { entry: { changes: { value: { messages: Record<string, any>[] } }[] }[] };
  const post = async (name: string, suffix: string, mediaId?: string, bytes?: Buffer, mime?: string) => {
    const body = meta(name, suffix) as Body;
    const m = body.entry[0].changes[0].value.messages[0];
    if (mediaId) {
      m[m.type as string].id = mediaId;
      graph.files.set(mediaId, { bytes: bytes!, mime: mime! });
    }
    expect((await postMeta(t.app, body, '/api/whatsapp/webhook/')).status, name).toBe(200);
    if (mediaId) expect((await settled(t.db, m.id as string)).state, name).toBe('stored');
    return m.id as string;
  };
  const row = async (wamid: string, query = '') => {
    const list = (await apiGet(t.app, `/api/whatsapp/messages/${query}`)).body as Record<string, any>[];
    return list.find((r) => r.message_id === wamid);
  };

  beforeAll(async () => {
    ({ t, graph } = await createMediaAppWithGraph({ META_API_VERSION: 'v21.0', MEDIA_URL_TTL_SECONDS: '600' }));
  });
  beforeEach(async () => {
    await t.reset();
    graph.files.clear();
  });
  afterAll(async () => {
    await t?.close();
    await graph?.stop();
  });

  it('image: media_id, media_url (fetches the stored file without a key), caption no longer folded into text_body', async () => {
    const bytes = jpeg(40_000);
    const wamid = await post('image', 'i1', 'img-s3-1', bytes, 'image/jpeg');
    const r = await row(wamid);
    expect(r).toMatchObject({ message_type: 'image', media_id: 'img-s3-1', caption: 'Taj Mahal', text_body: null, latitude: null });
    expect(r!.media_url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1\/media\/[0-9a-f-]{36}\/content\?expires=\d+&signature=/);
    const url = new URL(r!.media_url as string);
    const file = await http()
      .get(url.pathname + url.search)
      .buffer(true)
      .parse(binary);
    expect(file.status).toBe(200);
    expect(file.headers['content-type']).toBe('image/jpeg');
    expect(Buffer.compare(file.body as Buffer, bytes)).toBe(0);
    // Tampered: the seed's consumers get a refusal, not the file.
    // (Change the signature's first character to one it is not: replacing it with a fixed letter left it
    // unchanged whenever the signature already began with that letter.)
    const tampered = url.search.replace(/signature=(.)/, (_m, c: string) => `signature=${c === 'A' ? 'B' : 'A'}`);
    expect(tampered).not.toBe(url.search);
    expect((await http().get(url.pathname + tampered)).status).toBe(403);
  });

  it('image not downloaded yet (or failed): media_id set, media_url null', async () => {
    const body = meta('image', 'i2') as Body;
    body.entry[0].changes[0].value.messages[0].image.id = 'img-s3-missing'; // Graph answers 404 (code 100): failed
    await postMeta(t.app, body, '/api/whatsapp/webhook/');
    const wamid = body.entry[0].changes[0].value.messages[0].id as string;
    expect((await settled(t.db, wamid)).state).toBe('failed');
    expect(await row(wamid)).toMatchObject({ media_id: 'img-s3-missing', media_url: null, caption: 'Taj Mahal' });
  });

  it('video and document: media_id, media_url (document with its caption)', async () => {
    const mp4 = Buffer.concat([Buffer.from('000000186674797069736f6d', 'hex'), Buffer.alloc(5000, 1)]);
    const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.alloc(5000, 2)]);
    const video = await post('video', 'v1', 'vid-s3-1', mp4, 'video/mp4');
    const doc = await post('document', 'd1', 'doc-s3-1', pdf, 'application/pdf');
    expect(await row(video)).toMatchObject({
      message_type: 'video',
      media_id: 'vid-s3-1',
      media_url: expect.stringContaining('/v1/media/'),
    });
    expect(await row(doc)).toMatchObject({
      message_type: 'document',
      media_id: 'doc-s3-1',
      media_url: expect.stringContaining('/v1/media/'),
      caption: 'caption',
      text_body: null,
    });
  });

  it('audio: "Voice messages, audio": ?type=audio lists voice notes and audio files, each with its media_id', async () => {
    const ogg = Buffer.concat([Buffer.from('OggS'), Buffer.alloc(3000, 3)]);
    const voice = await post('audio_voice', 'a1', 'voice-s3-1', ogg, 'audio/ogg');
    const audio = await post('audio_forwarded', 'a2', 'audio-s3-1', ogg, 'audio/ogg');
    await post('text', 'a3');
    const list = (await apiGet(t.app, '/api/whatsapp/messages/?type=audio')).body as Record<string, any>[];
    expect(list.map((r) => r.message_id).sort()).toEqual([voice, audio].sort());
    expect(list.map((r) => r.media_id).sort()).toEqual(['audio-s3-1', 'voice-s3-1']);
    expect((await apiGet(t.app, '/api/whatsapp/messages/?type=voice')).body.map((r: { message_id: string }) => r.message_id)).toEqual([
      voice,
    ]);
  });

  it('location: latitude, longitude (numbers); text: text_body, media fields null', async () => {
    const location = await post('location', 'l1');
    const text = await post('text', 'l2');
    expect(await row(location)).toMatchObject({
      message_type: 'location',
      latitude: 37.44221496582,
      longitude: -122.16165924072,
      media_id: null,
      media_url: null,
    });
    expect(await row(text)).toMatchObject({
      text_body: 'Does it come in another color?',
      caption: null,
      media_id: null,
      media_url: null,
      latitude: null,
      longitude: null,
    });
  });
});
