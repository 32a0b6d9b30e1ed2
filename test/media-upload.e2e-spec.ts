import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { toContent } from '../src/providers/baileys/baileys.sender';
import { loadFixture } from './helpers/fixtures';
import { postMeta, postWablas, postWwebjsNative } from './helpers/http';
import { until } from './helpers/until';
import { ADMIN, binary, createMediaApp, jpeg, type MediaTestApp } from './media-kit';

const PHONE_NUMBER_ID = '106540352242922';
const MAX = 512 * 1024;
const fixture = (name: string) => loadFixture<any>(name);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface RawRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  raw: Buffer;
}

/**
 * One local server standing in for the three HTTP providers (Meta's Graph API, Wablas, a wwebjs server): records each
 * request's exact bytes (multipart uploads are binary) and answers with `reply`.
 */
class RawFake {
  readonly requests: RawRequest[] = [];
  reply: (r: RawRequest) => { status: number; body: unknown } = () => ({ status: 500, body: {} });
  private server?: Server;

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const r = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, raw: Buffer.concat(chunks) };
        this.requests.push(r);
        const { status, body } = this.reply(r);
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((r) => this.server?.close(() => r()));
  }
}

/** Parses a recorded multipart body as Meta would (the web platform's parser). */
async function form(r: RawRequest): Promise<FormData> {
  return new Request('http://x/', {
    method: 'POST',
    headers: { 'content-type': r.headers['content-type']! },
    body: new Uint8Array(r.raw),
  }).formData();
}

/**
 * Sending files you upload (issue 14): POST /v1/media stores the bytes (raw body or multipart) in the media store;
 * POST /v1/messages with `{image|video|audio|document: {mediaId}}` sends them: Meta through its media upload endpoint
 * at send time and then by id, wwebjs as base64 MessageMedia, Wablas by a signed URL (MEDIA_PUBLIC_BASE_URL),
 * Baileys as a buffer.
 */
describe('media uploads: POST /v1/media and sending them (e2e)', () => {
  let t: MediaTestApp;
  const fake = new RawFake();
  let sessions: Record<string, string>;
  const http = () => request(t.app.getHttpServer());
  const upload = (bytes: Buffer, type: string, query = '') =>
    http().post(`/v1/media${query}`).set(ADMIN).set('content-type', type).send(bytes);
  const send = (body: object) => http().post('/v1/messages').set(ADMIN).send(body);
  const settled = (id: string) =>
    until(`message ${id} sent or failed`, async () => {
      const m = (await http().get(`/v1/messages/${id}`).set(ADMIN)).body;
      return m.status !== 'queued' ? m : undefined;
    });

  beforeAll(async () => {
    const base = await fake.start();
    t = await createMediaApp({
      META_ACCESS_TOKEN: 'meta-upload-token',
      META_GRAPH_BASE_URL: base,
      META_API_VERSION: 'v21.0',
      WABLAS_BASE_URL: base,
      WABLAS_TOKEN: 'wablas-token',
      WWEBJS_BASE_URL: base,
      MEDIA_MAX_BYTES: String(MAX),
      MEDIA_PUBLIC_BASE_URL: 'https://hub.example.com',
    });
  });
  beforeEach(async () => {
    await t.reset();
    fake.requests.length = 0;
    fake.reply = (r) => {
      if (r.path.endsWith(`/${PHONE_NUMBER_ID}/media`)) return { status: 200, body: { id: `uploaded-${fake.requests.length}` } };
      if (r.path.includes(`/${PHONE_NUMBER_ID}/messages`))
        return { status: 200, body: fixture('meta/outbound/responses/send_success.json') };
      if (r.path.startsWith('/api/v2/')) return { status: 200, body: fixture('wablas/outbound/responses/v2_send_success.json') };
      if (r.path.startsWith('/client/sendMessage/'))
        return { status: 200, body: fixture('wwebjs/api/responses/send_message_ok.json').body };
      return { status: 404, body: {} };
    };
    await postMeta(t.app, fixture('meta/inbound/text.json'));
    await postWablas(t.app, fixture('wablas/inbound/text_private.json'));
    await postWwebjsNative(t.app, fixture('wwebjs/inbound/ready.json'));
    const rows = (await t.db.query(`SELECT id, provider FROM sessions`)) as { id: string; provider: string }[];
    sessions = Object.fromEntries(rows.map((r) => [r.provider, r.id]));
  });
  afterAll(async () => {
    await t?.close();
    await fake.stop();
  });

  describe('POST /v1/media', () => {
    it('a raw body with its Content-Type → 201 {id, mimeType, size, sha256, filename}, stored once in the store', async () => {
      const bytes = jpeg(70_000);
      const res = await upload(bytes, 'image/jpeg', '?filename=photo.jpg');
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        mimeType: 'image/jpeg',
        size: 70_000,
        sha256: sha(bytes),
        filename: 'photo.jpg',
      });
      const rows = await t.db.query(`SELECT message_id, state, size::int AS size, sha256, storage FROM media WHERE id = $1`, [res.body.id]);
      expect(rows).toEqual([{ message_id: null, state: 'stored', size: 70_000, sha256: sha(bytes), storage: 'postgres' }]);
      const chunks = await t.db.query(`SELECT sum(length(data))::int AS n FROM media_chunks WHERE object_key = $1`, [res.body.id]);
      expect(chunks).toEqual([{ n: 70_000 }]);
    });

    it('multipart/form-data with a file part; the type is sniffed (a JPEG declared as octet-stream is image/jpeg)', async () => {
      const bytes = jpeg(20_000);
      const res = await http()
        .post('/v1/media')
        .set(ADMIN)
        .attach('file', bytes, { filename: 'C:\\fakepath\\holiday.jpg', contentType: 'application/octet-stream' });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ mimeType: 'image/jpeg', size: 20_000, sha256: sha(bytes), filename: 'holiday.jpg' });
      const [row] = await t.db.query(`SELECT declared_mime_type FROM media WHERE id = $1`, [res.body.id]);
      expect(row.declared_mime_type).toBe('application/octet-stream');
    });

    it('refusals: empty body 400, multipart without a file 400, over MEDIA_MAX_BYTES 413 (declared or counted; nothing kept), no key 401', async () => {
      const empty = await upload(Buffer.alloc(0), 'image/jpeg');
      expect(empty.status).toBe(400);
      expect(empty.body.error.code).toBe('VALIDATION_FAILED');
      const noFile = await http().post('/v1/media').set(ADMIN).field('caption', 'x');
      expect(noFile.status).toBe(400);
      expect(noFile.body.error.message).toContain('file');
      const big = await upload(Buffer.alloc(MAX + 1, 7), 'application/pdf');
      expect(big.status).toBe(413);
      expect(big.body.error.code).toBe('PAYLOAD_TOO_LARGE');
      // Chunked (no Content-Length): refused once the count passes the limit.
      const chunked = await new Promise<{ status: number; body: any }>((resolve, reject) => {
        const req = http().post('/v1/media').set(ADMIN).set('content-type', 'application/pdf');
        req.on('response', (r) => resolve({ status: r.status, body: r.body }));
        req.on('error', reject);
        for (let i = 0; i < 10; i++) req.write(Buffer.alloc(MAX / 8, i));
        req.end();
      });
      expect(chunked.status).toBe(413);
      const bigMultipart = await http()
        .post('/v1/media')
        .set(ADMIN)
        .attach('file', Buffer.alloc(MAX + 100_000, 7), 'big.bin');
      expect(bigMultipart.status).toBe(413);
      expect(await t.db.query(`SELECT count(*)::int AS n FROM media`)).toEqual([{ n: 0 }]);
      expect(await t.db.query(`SELECT count(*)::int AS n FROM media_chunks`)).toEqual([{ n: 0 }]);
      expect((await http().post('/v1/media').set('content-type', 'image/jpeg').send(jpeg(100))).status).toBe(401);
    });
  });

  describe('POST /v1/messages with {mediaId}', () => {
    it('Meta: uploads the bytes to POST /{version}/{phone_number_id}/media at send time, then sends the image by that id', async () => {
      const bytes = jpeg(50_000);
      const { id: mediaId } = (await upload(bytes, 'image/jpeg', '?filename=taj.jpg')).body;
      const res = await send({ sessionId: sessions.meta, to: '16505551234', type: 'image', image: { mediaId, caption: 'Taj Mahal' } });
      expect(res.status).toBe(202);
      expect((await settled(res.body.id)).status).toBe('sent');
      expect(fake.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
        `POST /v21.0/${PHONE_NUMBER_ID}/media`,
        `POST /v21.0/${PHONE_NUMBER_ID}/messages`,
      ]);
      const [up, msg] = fake.requests;
      expect(up.headers.authorization).toBe('Bearer meta-upload-token');
      const f = await form(up);
      expect(f.get('messaging_product')).toBe('whatsapp');
      expect(f.get('type')).toBe('image/jpeg');
      const file = f.get('file') as File;
      expect(file.name).toBe('taj.jpg');
      expect(file.type).toBe('image/jpeg');
      expect(sha(Buffer.from(await file.arrayBuffer()))).toBe(sha(bytes));
      expect(JSON.parse(msg.raw.toString())).toEqual({
        messaging_product: 'whatsapp',
        recipient_type: 'individual',
        to: '16505551234',
        type: 'image',
        image: { id: 'uploaded-1', caption: 'Taj Mahal' },
      });
    });

    it('Meta: an upload refused by Graph (code 100) fails the message with its code, and nothing is sent', async () => {
      const { id: mediaId } = (await upload(Buffer.from('%PDF-1.4\n' + 'x'.repeat(500)), 'application/pdf')).body;
      fake.reply = () => ({
        status: 400,
        body: { error: { message: '(#100) Param file must be a file with one of the following types', type: 'OAuthException', code: 100 } },
      });
      const res = await send({ sessionId: sessions.meta, to: '16505551234', type: 'document', document: { mediaId, filename: 'a.pdf' } });
      const m = await settled(res.body.id);
      expect(m.status).toBe('failed');
      expect(m.error).toMatchObject({ code: '100' });
      expect(fake.requests.map((r) => r.path)).toEqual([`/v21.0/${PHONE_NUMBER_ID}/media`]);
    });

    it('wwebjs: MessageMedia with the base64 bytes, mimetype and filename (document: sendMediaAsDocument)', async () => {
      const pdf = Buffer.from('%PDF-1.4\n' + 'y'.repeat(3000));
      const { id: mediaId } = (await upload(pdf, 'application/pdf', '?filename=invoice.pdf')).body;
      const res = await send({
        sessionId: sessions.wwebjs,
        to: '6281288888888',
        type: 'document',
        document: { mediaId, caption: 'Invoice' },
      });
      expect((await settled(res.body.id)).status).toBe('sent');
      expect(fake.requests).toHaveLength(1);
      expect(fake.requests[0].path).toMatch(/^\/client\/sendMessage\//);
      expect(JSON.parse(fake.requests[0].raw.toString())).toEqual({
        chatId: '6281288888888@c.us',
        contentType: 'MessageMedia',
        content: { mimetype: 'application/pdf', data: pdf.toString('base64'), filename: 'invoice.pdf' },
        options: { caption: 'Invoice', sendMediaAsDocument: true },
      });
    });

    it('Wablas (links only): a signed URL of the upload on MEDIA_PUBLIC_BASE_URL, which serves the bytes without a key', async () => {
      const bytes = jpeg(30_000);
      const { id: mediaId } = (await upload(bytes, 'image/jpeg')).body;
      const res = await send({ sessionId: sessions.wablas, to: '6281234567890', type: 'image', image: { mediaId, caption: 'hi' } });
      expect((await settled(res.body.id)).status).toBe('sent');
      const body = JSON.parse(fake.requests[0].raw.toString());
      expect(fake.requests[0].path).toBe('/api/v2/send-image');
      const link = new URL(body.data[0].image);
      expect(link.origin).toBe('https://hub.example.com');
      expect(link.pathname).toBe(`/v1/media/${mediaId}/content`);
      const got = await http()
        .get(link.pathname + link.search)
        .buffer(true)
        .parse(binary);
      expect(got.status).toBe(200);
      expect(sha(got.body as Buffer)).toBe(sha(bytes));
    });

    it('Baileys: the bytes as a Buffer with the file type (AnyMessageContent), documents with their file name', () => {
      const bytes = jpeg(1000);
      const r = { type: 'image' as const, to: '628', isGroup: false, media: { caption: 'c' } };
      expect(toContent(r, '628@s.whatsapp.net', { bytes, mimeType: 'image/jpeg', filename: null })).toEqual({
        image: bytes,
        caption: 'c',
        mimetype: 'image/jpeg',
      });
      const doc = toContent({ ...r, type: 'document', media: {} }, 'j', { bytes, mimeType: 'application/pdf', filename: 'a.pdf' });
      expect(doc).toEqual({ document: bytes, mimetype: 'application/pdf', fileName: 'a.pdf' });
    });

    it("refusals before queueing: unknown mediaId 400, a received file's id 400, two sources 400, non-uuid 400", async () => {
      const to = '16505551234';
      const unknown = await send({
        sessionId: sessions.meta,
        to,
        type: 'image',
        image: { mediaId: '00000000-0000-4000-8000-000000000000' },
      });
      expect(unknown.status).toBe(400);
      expect(unknown.body.error.details).toEqual([{ field: 'image.mediaId', errors: ['unknown upload'] }]);
      const { id: mediaId } = (await upload(jpeg(100), 'image/jpeg')).body;
      const both = await send({ sessionId: sessions.meta, to, type: 'image', image: { mediaId, link: 'https://example.com/a.jpg' } });
      expect(both.status).toBe(400);
      expect((await send({ sessionId: sessions.meta, to, type: 'image', image: { mediaId: 'nope' } })).status).toBe(400);
      await t.db.query(`INSERT INTO media (message_id, state) SELECT id, 'pending' FROM messages LIMIT 1`);
      const [received] = await t.db.query(`SELECT id FROM media WHERE message_id IS NOT NULL`);
      expect((await send({ sessionId: sessions.meta, to, type: 'image', image: { mediaId: received.id } })).status).toBe(400);
      expect(fake.requests).toEqual([]);
    });
  });
});
