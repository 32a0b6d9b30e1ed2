import type { NestExpressApplication } from '@nestjs/platform-express';
import request from 'supertest';
import { createHmac } from 'node:crypto';
import type { Response, Test } from 'supertest';
import { IngestApplier } from '../../src/ingest/ingest-applier';
import { metaSignature, metaWireBytes } from './signing';
import { TEST_ENV } from './test-app';

/**
 * The webhook's answer, and after a 2xx the applier's signal that everything this app acknowledged is applied
 * (issue 16: webhooks are answered from the inbox, their rows written right after): tests then read what an
 * integrator sees a moment later, without polling.
 */
export async function applied(app: NestExpressApplication, req: Test): Promise<Response> {
  const res = await req;
  if (res.status < 300) await app.get(IngestApplier, { strict: false }).settled();
  return res;
}

/** POSTs `body` to /webhooks/meta exactly as Meta would: escaped wire bytes, signed with the app secret. */
export function postMeta(app: NestExpressApplication, body: unknown, path = '/webhooks/meta') {
  const bytes = metaWireBytes(body);
  return applied(
    app,
    request(app.getHttpServer())
      .post(path)
      .set('Content-Type', 'application/json')
      .set('X-Hub-Signature-256', metaSignature(TEST_ENV.META_APP_SECRET, bytes))
      .send(bytes.toString('utf8')),
  );
}

/** POSTs a Wablas body as JSON (or form-urlencoded) with the shared secret in the query. */
export function postWablas(app: NestExpressApplication, body: Record<string, unknown>, opts: { form?: boolean; path?: string } = {}) {
  const req = request(app.getHttpServer()).post(`${opts.path ?? '/webhooks/wablas'}?secret=${TEST_ENV.WABLAS_WEBHOOK_SECRET}`);
  if (opts.form) {
    return applied(
      app,
      req.set('Content-Type', 'application/x-www-form-urlencoded').send(new URLSearchParams(body as Record<string, string>).toString()),
    );
  }
  return applied(app, req.set('Content-Type', 'application/json').send(JSON.stringify(body)));
}

/** GET with the admin key. */
export function apiGet(app: NestExpressApplication, path: string) {
  return request(app.getHttpServer()).get(path).set('X-API-Key', TEST_ENV.ADMIN_API_KEY);
}

/**
 * Writes with the admin key: `post` sends `body` as given when it is a string (CSV, malformed JSON), else as JSON,
 * with Content-Type `type`; `patch` and `delete` as usual.
 */
export function asAdmin(app: NestExpressApplication) {
  const server = () => request(app.getHttpServer());
  return {
    post: (path: string, body: unknown, type = 'application/json') =>
      server()
        .post(path)
        .set('X-API-Key', TEST_ENV.ADMIN_API_KEY)
        .set('Content-Type', type)
        .send(typeof body === 'string' ? body : JSON.stringify(body)),
    patch: (path: string, body: object) => server().patch(path).set('X-API-Key', TEST_ENV.ADMIN_API_KEY).send(body),
    delete: (path: string) => server().delete(path).set('X-API-Key', TEST_ENV.ADMIN_API_KEY),
  };
}

/** Gives every message and status id in a Meta body a suffix, so fixtures that share spec wamids stay distinct. */
export function withFreshIds<T>(body: T, suffix: string): T {
  const copy = structuredClone(body) as {
    entry?: { changes?: { value?: { messages?: { id: string }[]; statuses?: { id: string }[] } }[] }[];
  };
  for (const entry of copy.entry ?? [])
    for (const change of entry.changes ?? []) {
      for (const m of change.value?.messages ?? []) m.id = `${m.id}.${suffix}`;
      for (const s of change.value?.statuses ?? []) s.id = `${s.id}.${suffix}`;
    }
  return copy as T;
}

/** A native wwebjs-api body as the server sends it: `x-api-key` header, no signature. */
export function postWwebjsNative(app: NestExpressApplication, body: unknown, path = '/webhooks/wwebjs') {
  return applied(
    app,
    request(app.getHttpServer())
      .post(path)
      .set('Content-Type', 'application/json')
      .set('x-api-key', TEST_ENV.WWEBJS_API_KEY)
      .send(JSON.stringify(body)),
  );
}

/** Seed s1's universal body `{ sessionId, event, data }`, signed as its triggerWebhook does (HMAC of JSON.stringify). */
export function postWwebjsSeed(
  app: NestExpressApplication,
  body: { sessionId?: string; event: string; data?: unknown },
  path = '/webhooks/wwebjs',
) {
  const bytes = JSON.stringify(body);
  const signature = `sha256=${createHmac('sha256', TEST_ENV.WWEBJS_WEBHOOK_SECRET).update(bytes).digest('hex')}`;
  return applied(
    app,
    request(app.getHttpServer()).post(path).set('Content-Type', 'application/json').set('X-Webhook-Signature', signature).send(bytes),
  );
}

/** Native `{ dataType, data, sessionId }` → seed `{ sessionId, event, data }` (data omitted when absent, as axios drops it). */
export function toSeedEnvelope(native: { dataType: string; data?: unknown; sessionId: string }): {
  sessionId: string;
  event: string;
  data?: unknown;
} {
  return { sessionId: native.sessionId, event: native.dataType, ...(native.data !== undefined ? { data: native.data } : {}) };
}
