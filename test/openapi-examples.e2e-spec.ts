import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFixture } from './helpers/fixtures';
import { metaSignature, metaWireBytes } from './helpers/signing';
import { postMeta } from './helpers/http';
import { createTestApp, TEST_ENV, TestApp } from './helpers/test-app';

type Media = { examples?: Record<string, { value: unknown }>; example?: unknown };
type Operation = { operationId: string; requestBody?: { content: Record<string, Media> }; tags?: string[] };

/**
 * Operations whose examples cannot succeed in a test without a real WhatsApp connection: the answer needs a live
 * Baileys socket (a pairing code, or a send that waits for WhatsApp to take the message).
 */
const NEEDS_WHATSAPP = new Set(['requestPairingCode', 'compatFlaskSend']);

/**
 * Sends every request example of /docs-json, as written, to the app and expects no 4xx: what a user trying the
 * "Try it out" button or copying an example gets. Ids in paths are of rows created first (sessions come from a
 * webhook, as in production); provider webhooks are sent with the provider's credentials.
 */
describe('OpenAPI request examples succeed when sent as written (e2e)', () => {
  let t: TestApp;
  let doc: { paths: Record<string, Record<string, Operation>> };
  const ids: Record<string, string> = {};
  const admin = () => ({ 'X-API-Key': TEST_ENV.ADMIN_API_KEY });

  beforeAll(async () => {
    t = await createTestApp({
      // Sends are queued: the outbox's attempt at this closed port fails later, after the 202.
      META_ACCESS_TOKEN: 'meta-test-token',
      META_GRAPH_BASE_URL: 'http://127.0.0.1:9',
      WABLAS_BASE_URL: 'http://127.0.0.1:9',
      WABLAS_TOKEN: 'wablas-token',
      WABLAS_SECRET_KEY: 'wablas-secret',
      WEBHOOK_ALLOW_PRIVATE: 'true',
    });
    await t.reset();
    doc = (await request(t.app.getHttpServer()).get('/docs-json').expect(200)).body;
    // A Meta session (connected by its traffic: the one `POST /v1/messages` picks without a sessionId).
    expect((await postMeta(t.app, loadFixture('meta/inbound/text.json'))).status).toBe(200);
    // The contact seed s3's mark-read example names has written (its conversation exists).
    const fromIndia = JSON.parse(JSON.stringify(loadFixture('meta/inbound/text.json')).replaceAll('16505551234', '919876543210'));
    fromIndia.entry[0].changes[0].value.messages[0].id = 'wamid.docs-example-in';
    expect((await postMeta(t.app, fromIndia)).status).toBe(200);
    const [session] = (await t.db.query(`SELECT id FROM sessions WHERE provider = 'meta'`)) as { id: string }[];
    ids.sessions = session.id;
    const server = t.app.getHttpServer();
    ids.contacts = (await request(server).post('/v1/contacts').set(admin()).send({ phone: '+62 813-9999-0001' }).expect(201)).body.id;
    ids['auto-replies'] = (
      await request(server)
        .post('/v1/auto-replies')
        .set(admin())
        .send({ name: 'x', matchType: 'exact', pattern: 'x', reply: 'y' })
        .expect(201)
    ).body.id;
    ids.webhooks = (
      await request(server).post('/v1/webhooks').set(admin()).send({ url: 'https://example.com/hooks/setup' }).expect(201)
    ).body.id;
  }, 120_000);
  afterAll(async () => t?.close());

  /**
   * The examples of every operation with a request body, provider webhooks last: they create sessions, and the
   * send examples (no `sessionId`) are for an install with one connected session.
   */
  function examples(): { method: string; path: string; op: Operation; type: string; name: string; value: unknown }[] {
    const out: { method: string; path: string; op: Operation; type: string; name: string; value: unknown }[] = [];
    for (const [path, item] of Object.entries(doc.paths))
      for (const [method, op] of Object.entries(item))
        for (const [type, media] of Object.entries(op.requestBody?.content ?? {})) {
          if (media.example !== undefined) out.push({ method, path, op, type, name: 'example', value: media.example });
          for (const [name, ex] of Object.entries(media.examples ?? {})) out.push({ method, path, op, type, name, value: ex.value });
        }
    const webhook = (e: { path: string }) => (/^\/webhooks\//.test(e.path) ? 1 : 0);
    return out.sort((a, b) => webhook(a) - webhook(b));
  }

  it('every JSON, CSV and form request body has an example', () => {
    const missing = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.entries(item).flatMap(([method, op]) =>
        Object.entries(op.requestBody?.content ?? {})
          .filter(([type, media]) => /json|csv|form-urlencoded/.test(type) && media.example === undefined && !media.examples)
          .map(([type]) => `${method} ${path} ${type}`),
      ),
    );
    expect(missing).toEqual([]);
  });

  it('each example is answered without a 4xx', async () => {
    const all = examples();
    expect(all.length).toBeGreaterThanOrEqual(25);
    const failures: string[] = [];
    for (const { method, path, op, type, name, value } of all) {
      if (NEEDS_WHATSAPP.has(op.operationId)) continue;
      const url = path
        .replace('{provider}', 'wwebjs')
        .replace('{sessionId}', 'docs-example')
        .replace(/^\/v1\/([^/]+)\/\{id\}/, (_m, segment: string) => `/v1/${segment}/${ids[segment] ?? 'unknown'}`);
      const body =
        typeof value === 'string'
          ? value
          : type.includes('form')
            ? new URLSearchParams(value as Record<string, string>).toString()
            : JSON.stringify(value);
      let req = request(t.app.getHttpServer())[method as 'post'](url).set('Content-Type', type);
      if (path === '/webhooks/meta') {
        const bytes = metaWireBytes(value);
        req = request(t.app.getHttpServer())
          .post(url)
          .set('Content-Type', type)
          .set('X-Hub-Signature-256', metaSignature(TEST_ENV.META_APP_SECRET, bytes));
        const res = await req.send(bytes.toString('utf8'));
        if (res.status >= 400) failures.push(`${method} ${path} [${type} ${name}] → ${res.status} ${JSON.stringify(res.body)}`);
        continue;
      }
      if (path === '/webhooks/wablas') req = req.query({ secret: TEST_ENV.WABLAS_WEBHOOK_SECRET });
      else if (path.startsWith('/webhooks/wwebjs')) req = req.set('x-api-key', TEST_ENV.WWEBJS_API_KEY);
      else req = req.set(admin());
      const res = await req.send(body);
      if (res.status >= 400) failures.push(`${method} ${path} [${type} ${name}] → ${res.status} ${JSON.stringify(res.body)}`);
    }
    expect(failures).toEqual([]);
  }, 120_000);
});
