import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiKeysService } from '../src/auth/api-keys.service';
import { loadForwardingConfig } from '../src/forwarding/forwarding.config';
import { ForwardingRepository } from '../src/forwarding/forwarding.repository';
import { ForwardingWorker } from '../src/forwarding/forwarding.worker';
import { IngestPressure } from '../src/observability/ingest-pressure';
import { Metrics } from '../src/observability/metrics';
import { MetricsRepository } from '../src/operations/metrics.repository';
import { loadFixture } from './helpers/fixtures';
import { postMeta, withFreshIds } from './helpers/http';
import { createTestApp, TEST_ENV, type TestApp } from './helpers/test-app';
import { until } from './helpers/until';

const ADMIN = { 'X-API-Key': TEST_ENV.ADMIN_API_KEY };
const metaText = (suffix: string) => withFreshIds(loadFixture('meta/inbound/text.json'), suffix);

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}
type Answer = { status: number; headers?: Record<string, string>; body?: string };

/** A local webhook receiver: records every request; `answer` decides each response (default 200). */
class Receiver {
  readonly requests: Received[] = [];
  /** Requests being answered right now, and the most at once. */
  open = 0;
  maxOpen = 0;
  answer: (r: Received, nth: number) => Answer | Promise<Answer> = () => ({ status: 200, body: 'ok' });
  private server!: Server;
  private waiters: (() => void)[] = [];
  port = 0;

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const r: Received = { path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
        this.requests.push(r);
        this.open++;
        this.maxOpen = Math.max(this.maxOpen, this.open);
        this.waiters.forEach((w) => w());
        void Promise.resolve(this.answer(r, this.requests.filter((x) => x.path === r.path).length)).then((a) => {
          this.open--;
          if (res.destroyed) return;
          res.writeHead(a.status, a.headers ?? {});
          res.end(a.body ?? '');
        });
      });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
  }

  stop(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** Resolves with the requests to `path` once there are `count` of them; rejects after `timeoutMs`. */
  wait(path: string, count: number, timeoutMs = 15_000): Promise<Received[]> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const got = this.requests.filter((r) => r.path === path);
        if (got.length < count) return false;
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== check);
        resolve(got);
        return true;
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== check);
        reject(
          new Error(`timed out waiting for ${count} request(s) to ${path}; got ${this.requests.filter((r) => r.path === path).length}`),
        );
      }, timeoutMs);
      if (!check()) this.waiters.push(check);
    });
  }
}

/** Checks a request with the standardwebhooks library and X-Hub-Signature-256 with node:crypto. @returns the parsed body. */
function verify(r: Received, secret: string, opts: { hub?: boolean } = {}): Record<string, unknown> {
  const parsed = new Webhook(secret).verify(r.body, r.headers as Record<string, string>) as Record<string, unknown>;
  if (opts.hub !== false) {
    const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
    expect(r.headers['x-hub-signature-256']).toBe(`sha256=${createHmac('sha256', key).update(r.body).digest('hex')}`);
  }
  return parsed;
}

/**
 * The real AppModule with plain-http private targets allowed (the receivers are local) and `env` on top. Its
 * ingest-pressure sampler is stopped: the event loop's real samples would make the delivery cap (WEBHOOK_YIELD_ELU)
 * depend on this machine's load, so these tests report their own samples.
 */
async function forwardingApp(env: Record<string, string>): Promise<TestApp> {
  const t = await createTestApp({ WEBHOOK_ALLOW_HTTP: 'true', WEBHOOK_ALLOW_PRIVATE: 'true', ...env });
  t.app.get(IngestPressure).onModuleDestroy();
  return t;
}

describe('outgoing webhooks (e2e)', () => {
  let t: TestApp;
  const rx = new Receiver();
  let n = 0;
  let path = '';
  const api = () => request(t.app.getHttpServer());
  const subscribe = async (body: Record<string, unknown> = {}) => {
    const res = await api()
      .post('/v1/webhooks')
      .set(ADMIN)
      .send({ url: rx.url(path), events: ['message.received'], ...body });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body as { id: string; secret: string };
  };
  const deliveries = async (id: string) => (await api().get(`/v1/webhooks/${id}/deliveries`).set(ADMIN)).body.data;

  beforeAll(async () => {
    await rx.start();
    t = await forwardingApp({ WEBHOOK_RETRY_BASE_SECONDS: '0.2', WEBHOOK_TIMEOUT_MS: '1000', WEBHOOK_CONCURRENCY: '2' });
  });
  afterAll(async () => {
    await t?.close();
    await rx.stop();
  });
  beforeEach(async () => {
    await t.reset();
    path = `/hook/${++n}`;
    rx.answer = () => ({ status: 200, body: 'ok' });
    // An answer of the previous test may still be pending (the redirect test's slow one outlives the call it timed
    // out): counted in `open`, it would count towards this test's maxOpen.
    await until('the receiver has answered every request', async () => (rx.open === 0 ? true : undefined));
    rx.maxOpen = 0;
  });

  it('a Meta message arrives as a signed message.received envelope; the secret is shown only at creation', async () => {
    const sub = await subscribe({ description: 'crm' });
    expect(sub.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const got = await api().get(`/v1/webhooks/${sub.id}`).set(ADMIN);
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ id: sub.id, url: rx.url(path), events: ['message.received'], format: 'standard', enabled: true });
    expect(JSON.stringify(got.body)).not.toContain(sub.secret.slice(6, 20));
    expect(JSON.stringify((await api().get('/v1/webhooks').set(ADMIN)).body)).not.toContain('whsec_');

    expect((await postMeta(t.app, metaText('f1'))).status).toBe(200);
    const [r] = await rx.wait(path, 1);
    const body = verify(r, sub.secret);
    const [msg] = await t.db.query(`SELECT id::text, external_id, session_id FROM messages`);
    expect(body).toMatchObject({
      type: 'message.received',
      sessionId: msg.session_id,
      data: { messageId: msg.id, externalId: msg.external_id, direction: 'in', type: 'text' },
    });
    expect(Object.keys(body).sort()).toEqual(['data', 'id', 'occurredAt', 'sessionId', 'type']);
    expect(r.headers['webhook-id']).toMatch(/^wd_\d+$/);
    await until('delivered', async () => ((await deliveries(sub.id))[0]?.state === 'delivered' ? true : undefined));
    const [d] = await deliveries(sub.id);
    expect(d).toMatchObject({ webhookId: r.headers['webhook-id'], eventType: 'message.received', attempts: 1, lastStatus: 200 });
    expect(d.attemptLog).toEqual([expect.objectContaining({ status: 200, responseExcerpt: 'ok', error: null })]);
  });

  it('a 500 is retried with backoff; the second attempt carries the same webhook-id; both attempts are recorded', async () => {
    const sub = await subscribe();
    rx.answer = (_r, nth) => (nth === 1 ? { status: 500, body: 'x'.repeat(5000) } : { status: 204 });
    await postMeta(t.app, metaText('f2'));
    const [a, b] = await rx.wait(path, 2);
    expect(b.headers['webhook-id']).toBe(a.headers['webhook-id']);
    verify(b, sub.secret);
    await until('delivered', async () => ((await deliveries(sub.id))[0]?.state === 'delivered' ? true : undefined));
    const [d] = await deliveries(sub.id);
    expect(d.attempts).toBe(2);
    expect(d.attemptLog.map((x: { status: number }) => x.status)).toEqual([500, 204]);
    expect(Buffer.byteLength(d.attemptLog[0].responseExcerpt)).toBeLessThanOrEqual(1024);
  });

  it('410 Gone disables the subscription and fails the delivery', async () => {
    const sub = await subscribe();
    rx.answer = () => ({ status: 410 });
    await postMeta(t.app, metaText('f3'));
    await rx.wait(path, 1);
    const w = await until('disabled', async () => {
      const res = await api().get(`/v1/webhooks/${sub.id}`).set(ADMIN);
      return res.body.enabled === false ? res.body : undefined;
    });
    expect(w.disabledReason).toContain('410');
    expect((await deliveries(sub.id))[0]).toMatchObject({ state: 'failed', lastStatus: 410 });
    // The worker's disabling is audited (no actor key: nobody's request did it).
    const audit = await t.db.query(`SELECT action, target_id, actor_key_id, details FROM audit_log WHERE action = 'webhook.disabled'`);
    expect(audit).toEqual([
      { action: 'webhook.disabled', target_id: sub.id, actor_key_id: null, details: expect.objectContaining({ status: 410 }) },
    ]);
    // Disabled: later events are not sent; re-enabling clears the reason.
    await postMeta(t.app, metaText('f3b'));
    const enabled = await api().patch(`/v1/webhooks/${sub.id}`).set(ADMIN).send({ enabled: true });
    expect(enabled.body).toMatchObject({ enabled: true, disabledReason: null });
  });

  it('Retry-After on 429 is honoured', async () => {
    await subscribe();
    rx.answer = (_r, nth) => (nth === 1 ? { status: 429, headers: { 'Retry-After': '2' } } : { status: 200 });
    await postMeta(t.app, metaText('f4'));
    const [a, b] = await rx.wait(path, 2);
    expect(b.at - a.at).toBeGreaterThanOrEqual(1800); // the 0.2 s backoff would have retried much sooner
  });

  it('replay queues the window again; test and retry endpoints send once more with the same webhook-id', async () => {
    const sub = await subscribe();
    await postMeta(t.app, metaText('f5a'));
    await postMeta(t.app, metaText('f5b'));
    const first = await rx.wait(path, 2);
    const replay = await api()
      .post(`/v1/webhooks/${sub.id}/replay`)
      .set(ADMIN)
      .send({ from: new Date(Date.now() - 3_600_000).toISOString(), to: new Date(Date.now() + 60_000).toISOString() });
    expect(replay.status).toBe(202);
    expect(replay.body).toEqual({ queued: 2 });
    const all = await rx.wait(path, 4);
    expect(new Set(all.slice(2).map((r) => r.headers['webhook-id']))).toEqual(new Set(first.map((r) => r.headers['webhook-id'])));
    // types filter: nothing of another type
    const none = await api()
      .post(`/v1/webhooks/${sub.id}/replay`)
      .set(ADMIN)
      .send({ from: new Date(Date.now() - 3_600_000).toISOString(), to: new Date().toISOString(), types: ['session.updated'] });
    expect(none.body).toEqual({ queued: 0 });

    const test = await api().post(`/v1/webhooks/${sub.id}/test`).set(ADMIN);
    expect(test.status).toBe(202);
    const [, , , , r5] = await rx.wait(path, 5);
    expect(verify(r5, sub.secret)).toMatchObject({ type: 'webhook.test' });

    await until('delivered', async () =>
      (await deliveries(sub.id)).every((d: { state: string }) => d.state === 'delivered') ? true : undefined,
    );
    const retry = await api().post(`/v1/webhook-deliveries/${test.body.id}/retry`).set(ADMIN);
    expect(retry.status).toBe(202);
    const sixth = (await rx.wait(path, 6))[5];
    expect(sixth.headers['webhook-id']).toBe(r5.headers['webhook-id']);
  });

  it('after a rotation both secrets verify the signature for the overlap', async () => {
    const sub = await subscribe();
    const rotated = await api().post(`/v1/webhooks/${sub.id}/rotate-secret`).set(ADMIN);
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(sub.secret);
    expect(Date.parse(rotated.body.previousSecretUntil) - Date.now()).toBeGreaterThan(23 * 3_600_000);
    await postMeta(t.app, metaText('f6'));
    const [r] = await rx.wait(path, 1);
    expect(String(r.headers['webhook-signature']).split(' ')).toHaveLength(2);
    verify(r, rotated.body.secret);
    verify(r, sub.secret, { hub: false });

    // Once the overlap is over, only the new secret signs.
    await t.db.query(`UPDATE webhook_subscriptions SET previous_secret_until = now() - interval '1 second'`);
    await postMeta(t.app, metaText('f6b'));
    const [, r2] = await rx.wait(path, 2);
    expect(String(r2.headers['webhook-signature']).split(' ')).toHaveLength(1);
    verify(r2, rotated.body.secret);
    expect(() => verify(r2, sub.secret, { hub: false })).toThrow();
    expect((await api().get(`/v1/webhooks/${sub.id}`).set(ADMIN)).body.previousSecretUntil).toBeNull();
  });

  it('format s0 sends seed s0’s forward body', async () => {
    const sub = await subscribe({ format: 's0', events: undefined });
    await postMeta(t.app, metaText('f7'));
    const [r] = await rx.wait(path, 1);
    const body = verify(r, sub.secret);
    const [msg] = await t.db.query(`SELECT id::text FROM messages`);
    expect(body).toEqual({
      id: Number(msg.id),
      sender_number: '16505551234',
      sender_name: 'Sheena Nelson',
      message: 'Does it come in another color?',
      direction: 'in',
      timestamp: new Date(1749416383 * 1000).toISOString(),
    });
  });

  it('unknown ids are 404, bad bodies 400, a read key 403', async () => {
    const unknown = '00000000-0000-4000-8000-000000000000';
    expect((await api().get(`/v1/webhooks/${unknown}`).set(ADMIN)).status).toBe(404);
    expect((await api().get(`/v1/webhooks/not-a-uuid`).set(ADMIN)).body.error.code).toBe('NOT_FOUND');
    expect((await api().patch(`/v1/webhooks/${unknown}`).set(ADMIN).send({ enabled: false })).status).toBe(404);
    expect((await api().delete(`/v1/webhooks/${unknown}`).set(ADMIN)).status).toBe(404);
    expect((await api().post(`/v1/webhook-deliveries/123456/retry`).set(ADMIN)).status).toBe(404);
    expect((await api().post('/v1/webhooks').set(ADMIN).send({ url: 'ftp://x.example' })).status).toBe(400);
    expect(
      (
        await api()
          .post('/v1/webhooks')
          .set(ADMIN)
          .send({ url: rx.url('/x'), format: 'xml' })
      ).status,
    ).toBe(400);
    const reserved = await api()
      .post('/v1/webhooks')
      .set(ADMIN)
      .send({ url: rx.url('/x'), headers: { 'Webhook-Signature': 'forged' } });
    expect(reserved.status).toBe(400);
    const { secret } = await t.app.get(ApiKeysService).create('reader', ['read']);
    const denied = await api().get('/v1/webhooks').set('X-API-Key', secret);
    expect(denied.status).toBe(403);
    expect(denied.body.error.code).toBe('FORBIDDEN');
    expect(
      (
        await api()
          .post('/v1/webhooks')
          .set('X-API-Key', secret)
          .send({ url: rx.url('/x') })
      ).status,
    ).toBe(403);
    const sub = await subscribe();
    expect((await api().delete(`/v1/webhooks/${sub.id}`).set(ADMIN)).status).toBe(200);
    expect((await api().get(`/v1/webhooks/${sub.id}`).set(ADMIN)).status).toBe(404);
  });

  it('redirects are not followed and a timeout is an attempt error: both are retried', async () => {
    const sub = await subscribe();
    rx.answer = (_r, nth) =>
      nth === 1
        ? { status: 302, headers: { Location: rx.url(`${path}/elsewhere`) } }
        : nth === 2
          ? new Promise((r) => setTimeout(() => r({ status: 200 }), 1500))
          : { status: 200, body: 'fine' };
    await postMeta(t.app, metaText('f8'));
    await rx.wait(path, 3);
    await until('delivered', async () => ((await deliveries(sub.id))[0]?.state === 'delivered' ? true : undefined));
    const [d] = await deliveries(sub.id);
    expect(d.attemptLog.map((a: { status: number | null }) => a.status)).toEqual([302, null, 200]);
    expect(d.attemptLog[1].error).toMatch(/timed out/);
    expect(rx.requests.filter((r) => r.path === `${path}/elsewhere`)).toEqual([]);
  });

  it('at most WEBHOOK_CONCURRENCY deliveries are in flight per subscription', async () => {
    await subscribe();
    const held: (() => void)[] = [];
    rx.answer = () => new Promise((r) => held.push(() => r({ status: 200 })));
    for (const k of [1, 2, 3, 4]) await postMeta(t.app, metaText(`f9-${k}`));
    await rx.wait(path, 2);
    // Instead of a fixed sleep: all four deliveries are queued, and the worker has claimed since (it claims every
    // 100 ms tick, one claim at a time, so the first claim counted here has ended once a second one starts): a
    // third delivery would have been claimed (leased) by then.
    await until('four deliveries queued', async () =>
      Number((await t.db.query(`SELECT count(*) AS n FROM webhook_deliveries`))[0].n) === 4 ? true : undefined,
    );
    const claims = vi.spyOn(t.app.get(ForwardingRepository), 'claim');
    try {
      await until('two claims since', async () => (claims.mock.calls.length >= 2 ? true : undefined));
    } finally {
      claims.mockRestore();
    }
    expect((await t.db.query(`SELECT count(*)::int AS n FROM webhook_deliveries WHERE locked_by IS NOT NULL`))[0].n).toBe(2);
    expect(rx.requests.filter((r) => r.path === path)).toHaveLength(2);
    rx.answer = () => ({ status: 200 });
    held.splice(0).forEach((release) => release());
    await rx.wait(path, 4);
    expect(rx.maxOpen).toBe(2);
  });

  it('past WEBHOOK_RETRY_HOURS a delivery fails; failing for WEBHOOK_DISABLE_AFTER_HOURS disables the subscription', async () => {
    const sub = await subscribe();
    rx.answer = () => ({ status: 500 });
    await postMeta(t.app, metaText('f10'));
    await rx.wait(path, 1);
    await until('first attempt recorded', async () => ((await deliveries(sub.id))[0]?.attempts === 1 ? true : undefined));
    // One statement: a retry claimed between two would find the delivery past its retry window but the
    // subscription not failing for long enough, and fail it without disabling the subscription.
    await t.db.query(
      `WITH d AS (UPDATE webhook_deliveries SET created_at = now() - interval '73 hours' RETURNING 1)
       UPDATE webhook_subscriptions SET failing_since = now() - interval '121 hours'`,
    );
    await rx.wait(path, 2);
    await until('failed', async () => ((await deliveries(sub.id))[0]?.state === 'failed' ? true : undefined));
    // The worker disables the subscription after it has written the delivery's outcome (a statement of its own).
    const w = await until('disabled', async () => {
      const res = await api().get(`/v1/webhooks/${sub.id}`).set(ADMIN);
      return res.body.enabled === false ? res.body : undefined;
    });
    expect(w).toMatchObject({ enabled: false });
    expect(w.disabledReason).toMatch(/failing for more than 120 h/);
    const audit = await t.db.query(`SELECT target_id, details FROM audit_log WHERE action = 'webhook.disabled'`);
    expect(audit).toEqual([{ target_id: sub.id, details: expect.objectContaining({ reason: w.disabledReason, status: 500 }) }]);
  });

  it('the configuration is validated, naming the variable', () => {
    expect(() => loadForwardingConfig({ WEBHOOK_CONCURRENCY: '0' })).toThrow(/WEBHOOK_CONCURRENCY/);
    expect(() => loadForwardingConfig({ WEBHOOK_ALLOW_HTTP: 'yes' })).toThrow(/WEBHOOK_ALLOW_HTTP/);
    expect(() => loadForwardingConfig({ WEBHOOK_TIMEOUT_MS: 'ten' })).toThrow(/WEBHOOK_TIMEOUT_MS/);
    expect(loadForwardingConfig({})).toMatchObject({ WEBHOOK_CONCURRENCY: 8, WEBHOOK_TIMEOUT_MS: 10_000, WEBHOOK_RETRY_BASE_SECONDS: 5 });
    expect(loadForwardingConfig({ WEBHOOK_RETRY_BASE_SECONDS: '0.2' }).WEBHOOK_RETRY_BASE_SECONDS).toBe(0.2);
  });
});

/**
 * Deliveries giving way to the ingest, with samples this test reports itself (the real ones would depend on the
 * machine's load) and a long WEBHOOK_TIMEOUT_MS, so the calls it holds open are never cut while it looks.
 */
describe('outgoing webhooks: giving way to the ingest (e2e)', () => {
  let t: TestApp;
  const rx = new Receiver();
  const path = '/hook/yield';
  /** Resolves once the worker's periodic run (every 100 ms; each wakes the pump) has started `n` more times. */
  const workerTicks = async (n: number) => {
    const runs = vi.spyOn(t.app.get(ForwardingWorker) as unknown as { run(): Promise<void> }, 'run');
    try {
      await until(`${n} worker ticks`, async () => (runs.mock.calls.length >= n ? true : undefined));
    } finally {
      runs.mockRestore();
    }
  };

  beforeAll(async () => {
    await rx.start();
    t = await forwardingApp({ WEBHOOK_TIMEOUT_MS: '60000', WEBHOOK_CONCURRENCY: '2', WEBHOOK_YIELD_IN_FLIGHT: '1' });
  });
  afterAll(async () => {
    await t?.close();
    await rx.stop();
  });

  it('while the ingest keeps the event loop busy, deliveries give way (WEBHOOK_YIELD_IN_FLIGHT), then resume', async () => {
    const pressure = t.app.get(IngestPressure);
    // Busy samples: 4,000 webhooks/s acknowledged (WEBHOOK_YIELD_MIN_RATE 1,000), the event loop at or above
    // WEBHOOK_YIELD_ELU (0.8). The cap halves per sample from WEBHOOK_MAX_IN_FLIGHT (128) to WEBHOOK_YIELD_IN_FLIGHT (1).
    for (let i = 0; i < 8; i++) pressure.report({ elu: 0.95, acknowledged: 1000 });
    const res = await request(t.app.getHttpServer())
      .post('/v1/webhooks')
      .set(ADMIN)
      .send({ url: rx.url(path), events: ['message.received'] });
    expect(res.status).toBe(201);
    const held: (() => void)[] = [];
    rx.answer = () => new Promise((r) => held.push(() => r({ status: 200 })));
    for (const k of [1, 2, 3]) await postMeta(t.app, metaText(`fy-${k}`));
    await rx.wait(path, 1);
    // Two of the worker's 100 ms ticks since the first call (each wakes the pump): a worker not giving way would
    // have sent a second call by then (WEBHOOK_CONCURRENCY is 2).
    await workerTicks(2);
    expect(rx.requests.filter((r) => r.path === path)).toHaveLength(1);
    const cap = async () => (await t.app.get(Metrics).webhookDeliveryCap.get()).values[0].value;
    expect(await cap()).toBe(1);
    // The fan-out gives way too: with the one slot taken (the last claim was full) new events wait in the log,
    // which the metrics report.
    for (const k of [4, 5]) await postMeta(t.app, metaText(`fy-${k}`));
    await workerTicks(2);
    const waiting = await t.app.get(MetricsRepository).deliveries();
    expect(waiting.unfanned).toBeGreaterThanOrEqual(2);
    // The pressure ends (a sample without webhooks): the cap doubles back at once and the second slot fills while
    // the first call is still held.
    for (let i = 0; i < 8; i++) pressure.report({ elu: 0.95, acknowledged: 0 });
    expect(await cap()).toBe(128);
    await rx.wait(path, 2);
    expect(rx.open).toBe(2);
    rx.answer = () => ({ status: 200 });
    held.splice(0).forEach((release) => release());
    await rx.wait(path, 5);
    const done = await until('all delivered', async () => {
      const m = await t.app.get(MetricsRepository).deliveries();
      return m.pending === 0 && m.unfanned === 0 ? m : undefined;
    });
    expect(done).toMatchObject({ failed: 0, lag: 0 });
  });
});

describe('outgoing webhooks: target checks without the allow flags (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
    await t.reset();
  });
  afterAll(async () => t?.close());

  it.each([
    'http://127.0.0.1:9/hook',
    'https://127.0.0.1/hook',
    'https://10.1.2.3/hook',
    'https://169.254.169.254/latest/meta-data',
    'https://[::1]/hook',
    'https://[::ffff:127.0.0.1]/hook',
    'https://localhost/hook',
  ])('%s → 400', async (url) => {
    const res = await request(t.app.getHttpServer()).post('/v1/webhooks').set(ADMIN).send({ url });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('VALIDATION_FAILED');
  });

  it('a target that is (or resolves to) a blocked address is refused at delivery time too', async () => {
    await t.reset();
    // Rows written behind the API's back, as if the address had changed since creation.
    for (const url of ['https://127.0.0.1:9/hook', 'https://localhost:9/hook'])
      await t.db.query(`INSERT INTO webhook_subscriptions (url, secret) VALUES ($1, 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw')`, [url]);
    await postMeta(t.app, metaText('s1'));
    const attempts = await until('two refused attempts', async () => {
      const rows = (await t.db.query(`SELECT DISTINCT ON (delivery_id) status, error FROM webhook_attempts ORDER BY delivery_id, id`)) as {
        status: number | null;
        error: string;
      }[];
      return rows.length >= 2 ? rows : undefined;
    });
    for (const a of attempts) {
      expect(a.status).toBeNull();
      expect(a.error).toMatch(/blocked address/);
    }
  });
});
