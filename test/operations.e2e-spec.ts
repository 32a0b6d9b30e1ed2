import { ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedWaHubBuild } from './helpers/build';
import { loadFixture } from './helpers/fixtures';
import { metaSignature, metaWireBytes } from './helpers/signing';
import { TEST_ENV } from './helpers/test-app';
import { until } from './helpers/until';
import { freePort } from './helpers/child-process';

const METRICS_TOKEN = 'metrics-token-0123456789abcdef';

interface Running {
  child: ChildProcess;
  url: string;
  lines: Record<string, any>[];
  raw: string[];
  exit: Promise<number | null>;
}

/**
 * Operations, against the built wa-hub run as a real process (its stdout is the log under test): JSON request
 * logs with redaction, rejected webhooks logged and collapsed, /metrics, the probes, `.env` and unknown
 * variables, and SIGTERM during load (nothing accepted is reset; exit 0 within SHUTDOWN_TIMEOUT_MS).
 * PostgreSQL (its own schema) or, without DATABASE_URL, the embedded PGlite in a fresh data directory.
 */
describe('operations: logs, metrics, probes, .env, graceful shutdown (e2e, separate process)', () => {
  let main: string;
  let dir: string;
  const schema = `${process.env.DB_SCHEMA ?? 'public'}_ops`;
  const started: Running[] = [];

  beforeAll(async () => {
    main = await sharedWaHubBuild();
    dir = mkdtempSync(join(tmpdir(), 'wa-hub-ops-'));
    if (process.env.DATABASE_URL) {
      const db = new pg.Client({ connectionString: process.env.DATABASE_URL });
      await db.connect();
      await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}`);
      await db.end();
    }
  }, 180_000);
  afterAll(async () => {
    for (const r of started) r.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    if (process.env.DATABASE_URL) {
      const db = new pg.Client({ connectionString: process.env.DATABASE_URL });
      await db.connect();
      await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await db.end();
    }
  });

  const start = async (env: Record<string, string> = {}, cwd = dir, embedded = !process.env.DATABASE_URL): Promise<Running> => {
    const port = await freePort();
    const childEnv: Record<string, string | undefined> = {
      ...process.env,
      PORT: String(port),
      LOG_LEVEL: 'log',
      LOG_FORMAT: 'json',
      METRICS_TOKEN,
      ...env,
    };
    if (!embedded) childEnv.DB_SCHEMA = schema;
    else {
      delete childEnv.DATABASE_URL;
      delete childEnv.DB_SCHEMA; // the worker's PostgreSQL schema

      childEnv.DATA_DIR = env.DATA_DIR ?? join(dir, 'data');
    }
    const child = fork(main, [], { cwd, env: childEnv, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    const running: Running = {
      child,
      url: `http://127.0.0.1:${port}`,
      lines: [],
      raw: [],
      exit: new Promise((r) => child.once('exit', (code) => r(code))),
    };
    started.push(running);
    let buffered = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        running.raw.push(line);
        try {
          running.lines.push(JSON.parse(line));
        } catch {
          running.lines.push({ notJson: line });
        }
      }
    });
    await Promise.race([
      until(
        'the child answers /health/live',
        async () => ((await fetch(`${running.url}/health/live`).catch(() => null))?.ok ? true : undefined),
        60_000,
      ),
      running.exit.then((code) => {
        throw new Error(`wa-hub exited with ${code}: ${running.raw.slice(-5).join('\n')}`);
      }),
    ]);
    return running;
  };
  const stopGracefully = async (r: Running) => {
    r.child.kill('SIGTERM');
    return r.exit;
  };

  it('logs one JSON line per request with id, route, status, latency, key id and IP; secrets never appear', async () => {
    const r = await start();
    const res = await fetch(`${r.url}/v1/messages?limit=1&secret=hunter2-secret-value`, {
      headers: { 'X-API-Key': TEST_ENV.ADMIN_API_KEY, 'X-Request-Id': 'ops-req-1' },
    });
    expect(res.status).toBe(400); // an unknown query parameter: still logged, its value redacted
    const line = await until('the request line', async () => r.lines.find((l) => l.req?.id === 'ops-req-1'));
    expect(line).toMatchObject({ level: 'warn', route: '/v1/messages', res: { statusCode: 400 }, req: { method: 'GET' } });
    expect(typeof line.responseTime).toBe('number');
    expect(line.apiKeyId).toMatch(/\S/);
    expect(line.ip).toMatch(/127\.0\.0\.1/);
    expect(line.req.url).toContain('secret=[redacted]');
    for (const l of r.lines) expect(l.notJson, 'every stdout line is JSON').toBeUndefined();
    const all = r.raw.join('\n');
    expect(all).not.toContain('hunter2-secret-value');
    expect(all).not.toContain(TEST_ENV.ADMIN_API_KEY);

    // A 404 is a warn line with the unmatched route.
    await fetch(`${r.url}/v1/nope`, { headers: { 'X-API-Key': TEST_ENV.ADMIN_API_KEY, 'X-Request-Id': 'ops-req-404' } });
    expect(await until('the 404 line', async () => r.lines.find((l) => l.req?.id === 'ops-req-404'))).toMatchObject({
      level: 'warn',
      res: { statusCode: 404 },
    });
    expect(await stopGracefully(r)).toBe(0);
  }, 90_000);

  it('at LOG_LEVEL=warn a 2xx writes no line and a 4xx the same line as at info', async () => {
    const lineFor = async (r: Running, id: string) => {
      const res = await fetch(`${r.url}/v1/messages?limit=1&secret=hunter2-secret-value`, {
        headers: { 'X-API-Key': TEST_ENV.ADMIN_API_KEY, 'X-Request-Id': id },
      });
      expect(res.status).toBe(400);
      return until(`the request line of ${id}`, async () => r.lines.find((l) => l.req?.id === id));
    };
    const info = await start();
    const atInfo = await lineFor(info, 'ops-info-400');
    expect(await stopGracefully(info)).toBe(0);

    const warn = await start({ LOG_LEVEL: 'warn' });
    const ok = await fetch(`${warn.url}/v1/messages?limit=1`, {
      headers: { 'X-API-Key': TEST_ENV.ADMIN_API_KEY, 'X-Request-Id': 'ops-warn-200' },
    });
    expect(ok.status).toBe(200);
    const atWarn = await lineFor(warn, 'ops-warn-400');
    // Lines are written in order: the 2xx before it would be there by now.
    expect(warn.lines.find((l) => l.req?.id === 'ops-warn-200')).toBeUndefined();
    const shape = (l: Record<string, any>) => ({ keys: Object.keys(l).sort(), req: Object.keys(l.req).sort(), res: l.res });
    expect(shape(atWarn)).toEqual(shape(atInfo));
    expect(atWarn).toMatchObject({
      level: 'warn',
      route: '/v1/messages',
      msg: 'GET /v1/messages 400',
      ip: atInfo.ip,
      apiKeyId: atInfo.apiKeyId,
    });
    expect(atWarn.req.url).toContain('secret=[redacted]');
    expect(warn.raw.join('\n')).not.toContain('hunter2-secret-value');
    expect(await stopGracefully(warn)).toBe(0);
  }, 90_000);

  it('rejected webhooks: a warn line with provider, route and reason; a flood collapses to about one line a second', async () => {
    const r = await start();
    const body = metaWireBytes(loadFixture('meta/inbound/text.json'));
    const bad = () =>
      fetch(`${r.url}/webhooks/meta`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-hub-signature-256': `sha256=${'0'.repeat(64)}` },
        body,
      });
    const first = await bad();
    expect(first.status).toBe(401);
    const warn = await until('the rejection line', async () => r.lines.find((l) => l.msg?.startsWith('webhook rejected')));
    expect(warn).toMatchObject({ level: 'warn', provider: 'meta', route: '/webhooks/meta', status: 401 });
    expect(warn.reason).toMatch(/\S/);
    const t0 = Date.now();
    for (let i = 0; i < 60; i++) await bad();
    const seconds = (Date.now() - t0) / 1000;
    await until('the request lines', async () => (r.lines.filter((l) => l.route === '/webhooks/meta').length >= 61 ? true : undefined));
    const rejections = r.lines.filter((l) => l.msg?.startsWith('webhook rejected'));
    expect(rejections.length).toBeLessThanOrEqual(Math.ceil(seconds) + 2);
    expect(rejections.length).toBeLessThan(61);
    expect(await stopGracefully(r)).toBe(0);
  }, 90_000);

  it('GET /metrics: 404 when METRICS_TOKEN is unset, 401 without the token; counters move after a webhook', async () => {
    const off = await start({ METRICS_TOKEN: '' });
    expect((await fetch(`${off.url}/metrics`)).status).toBe(404);
    expect(await stopGracefully(off)).toBe(0);

    const r = await start();
    expect((await fetch(`${r.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${r.url}/metrics`, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status).toBe(401);
    const scrape = async (auth: Record<string, string> = { authorization: `Bearer ${METRICS_TOKEN}` }) => {
      const res = await fetch(`${r.url}/metrics`, { headers: auth });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/plain');
      return res.text();
    };
    const value = (text: string, series: string) => {
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      return line ? Number(line.split(' ').pop()) : 0;
    };
    const processed = 'wahub_webhooks_total{provider="meta",state="processed"}';
    const before = value(await scrape(), processed);
    const body = metaWireBytes(loadFixture('meta/inbound/text.json'));
    const ok = await fetch(`${r.url}/webhooks/meta`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': metaSignature(TEST_ENV.META_APP_SECRET, body) },
      body,
    });
    expect(ok.status).toBe(200);
    const text = await scrape({ 'X-API-Key': TEST_ENV.ADMIN_API_KEY }); // an admin key works too
    expect(value(text, processed)).toBe(before + 1);
    for (const name of [
      'wahub_http_requests_total',
      'wahub_http_request_duration_seconds_bucket',
      'wahub_ingest_batch_size_bucket',
      'wahub_ingest_batch_duration_seconds_bucket',
      'wahub_sessions',
      'wahub_nodejs_eventloop_lag_seconds',
    ])
      expect(text, name).toContain(name);
    expect(text).toMatch(/wahub_http_requests_total\{method="POST",route="\/webhooks\/meta",status="200"\} \d+/);
    expect(await stopGracefully(r)).toBe(0);
  }, 90_000);

  it('/health/live and /health/ready; .env is read; an unknown variable that looks like ours is named with the nearest', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'wa-hub-ops-env-'));
    writeFileSync(join(cwd, '.env'), `# comment\nBAILEYS_LEASE_SECOND=12\nDEFAULT_PHONE_REGION=ID\n`);
    try {
      const r = await start({}, cwd);
      expect(await (await fetch(`${r.url}/health/live`)).json()).toEqual({ status: 'ok' });
      const ready = await fetch(`${r.url}/health/ready`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({
        status: 'ok',
        checks: { database: 'up', migrations: 'applied', ingest: 'ok', ingestLagSeconds: 0, shuttingDown: false },
      });
      const warning = r.lines.find((l) => String(l.msg).includes('BAILEYS_LEASE_SECOND '));
      expect(warning?.msg).toContain('did you mean BAILEYS_LEASE_SECONDS');
      expect(r.lines.some((l) => String(l.msg).includes('.env'))).toBe(true);
      expect(await stopGracefully(r)).toBe(0);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  }, 90_000);

  it('SIGTERM under load: every accepted request is answered (none reset), exit 0 within SHUTDOWN_TIMEOUT_MS', async () => {
    const r = await start({ SHUTDOWN_TIMEOUT_MS: '8000' });
    const outcomes = { ok: 0, refused: 0, reset: [] as string[], other: [] as string[] };
    let stop = false;
    const body = metaWireBytes(loadFixture('meta/inbound/text.json'));
    const port = Number(new URL(r.url).port);
    let n = 0;
    // Persistent connections, as a load balancer or an integrator's HTTP client keeps them: after SIGTERM each
    // gets its answer with `Connection: close`; reconnecting then is refused (the listener is closed), not reset.
    const agent = new Agent({ keepAlive: true, maxSockets: 16 });
    const once = () =>
      new Promise<void>((resolve) => {
        const payload = body.toString('utf8').replace(/wamid\.[A-Za-z0-9=_-]+/, `wamid.ops.${n++}.${Date.now()}`);
        const req = httpRequest(
          {
            host: '127.0.0.1',
            port,
            path: '/webhooks/meta',
            method: 'POST',
            agent,
            headers: { 'content-type': 'application/json', 'x-hub-signature-256': metaSignature(TEST_ENV.META_APP_SECRET, payload) },
          },
          (res) => {
            res.resume();
            res.on('end', () => {
              if (res.statusCode === 200) outcomes.ok++;
              else outcomes.other.push(String(res.statusCode));
              resolve();
            });
            res.on('error', (e) => {
              outcomes.reset.push(e.message);
              resolve();
            });
          },
        );
        req.on('error', (e: NodeJS.ErrnoException) => {
          if (e.code === 'ECONNREFUSED') {
            outcomes.refused++;
            stop = true;
          } else outcomes.reset.push(`${e.code}: ${e.message}`);
          resolve();
        });
        req.end(payload);
      });
    const loops = Array.from({ length: 16 }, async () => {
      while (!stop) await once();
    });
    await until('load running', async () => (outcomes.ok >= 100 ? true : undefined), 30_000);
    const t0 = Date.now();
    r.child.kill('SIGTERM');
    const code = await r.exit;
    const took = Date.now() - t0;
    stop = true;
    await Promise.all(loops);
    agent.destroy();
    expect({ reset: outcomes.reset }, 'no accepted request is reset').toMatchObject({ reset: [] });
    expect(outcomes.other).toEqual([]);
    expect(code).toBe(0);
    expect(took).toBeLessThan(8000);
    // Every acknowledged webhook is stored: a new process sees them all.
    const again = await start();
    const res = await fetch(`${again.url}/v1/webhook-events?limit=1`, { headers: { 'X-API-Key': TEST_ENV.ADMIN_API_KEY } });
    expect(res.status).toBe(200);
    expect(await stopGracefully(again)).toBe(0);
  }, 120_000);

  it('the embedded database lock: a second process is refused while the holder lives; after kill -9 a restart takes it at once', async () => {
    const dataDir = join(dir, 'locked');
    const holder = await start({ DATA_DIR: dataDir }, dir, true);
    const env: Record<string, string | undefined> = {
      ...process.env,
      DATA_DIR: dataDir,
      PORT: String(await freePort()),
      LOG_LEVEL: 'error',
    };
    delete env.DATABASE_URL;
    delete env.DB_SCHEMA;
    const second = fork(main, [], { env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    let stderr = '';
    second.stdout!.on('data', (d: Buffer) => (stderr += d.toString()));
    second.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise((r) => second.once('exit', r));
    expect(code).not.toBe(0);
    expect(stderr).toContain(`is in use by process ${holder.child.pid}`);

    holder.child.kill('SIGKILL');
    await holder.exit;
    const again = await start({ DATA_DIR: dataDir }, dir, true); // no stale-lock wait, no manual cleanup
    expect((await fetch(`${again.url}/health/ready`)).status).toBe(200);
    expect(await stopGracefully(again)).toBe(0);
  }, 120_000);
});
