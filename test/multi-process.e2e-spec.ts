import { ChildProcess, fork } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdvisoryLocks } from '../src/database/advisory-locks';
import { sharedWaHubBuild } from './helpers/build';
import { FakeProvider } from './helpers/fake-provider';
import { loadFixture } from './helpers/fixtures';
import { metaSignature, metaWireBytes } from './helpers/signing';
import { createTestApp, TEST_ENV, type TestApp } from './helpers/test-app';
import { until, windowLeft } from './helpers/until';
import { freePort } from './helpers/child-process';

const RATE_LIMIT = 20;
const AUTH_FAILURES = 5;
const SEND_RATE = 2;

/**
 * Two real wa-hub processes behind one PostgreSQL share what must be shared (issue 15, "several processes"): the
 * API rate limit and the failed-authentication limit count every process's requests; a session's sends are paced
 * once, not once per process; housekeeping runs under an advisory lock. Only Meta's Graph API is faked.
 * PostgreSQL only: the embedded PGlite database belongs to one process.
 */
describe.skipIf(!process.env.DATABASE_URL)('several wa-hub processes on one PostgreSQL (e2e)', () => {
  let t: TestApp;
  const meta = new FakeProvider();
  const children: ChildProcess[] = [];
  let a: string;
  let b: string;

  const start = async (graph: string): Promise<string> => {
    const port = await freePort();
    const child = fork(await sharedWaHubBuild(), [], {
      env: {
        ...process.env,
        PORT: String(port),
        LOG_LEVEL: 'error',
        DB_SCHEMA: process.env.DB_SCHEMA!,
        RATE_LIMIT_PER_MINUTE: String(RATE_LIMIT),
        AUTH_FAILURES_PER_MINUTE: String(AUTH_FAILURES),
        SEND_RATE_PER_SECOND: String(SEND_RATE),
        SEND_WORKER: 'true',
        META_ACCESS_TOKEN: 'multi-token',
        META_GRAPH_BASE_URL: graph,
        BAILEYS_WORKER: 'false',
      },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    children.push(child);
    const url = `http://127.0.0.1:${port}`;
    await until('the child answers', async () => ((await fetch(`${url}/health/ready`).catch(() => null))?.ok ? true : undefined), 60_000);
    return url;
  };
  const counter = async (prefix: string) => {
    const rows: { hits: number }[] = await t.db.query(`SELECT COALESCE(sum(hits), 0)::int AS hits FROM rate_counters WHERE key LIKE $1`, [
      `${prefix}%`,
    ]);
    return rows[0].hits;
  };
  const get = (url: string, key = TEST_ENV.ADMIN_API_KEY) => fetch(`${url}/v1/sessions`, { headers: { 'X-API-Key': key } });

  beforeAll(async () => {
    // The in-process app applies the migrations and resets the schema; it sends nothing and runs no sessions.
    t = await createTestApp({ SEND_WORKER: 'false', BAILEYS_WORKER: 'false' });
    await t.reset();
    const graph = await meta.start();
    meta.reply = () => {
      const body = loadFixture<any>('meta/outbound/responses/send_success.json');
      body.messages[0].id = `wamid.multi.${meta.requests.length}`;
      return { status: 200, body };
    };
    [a, b] = await Promise.all([start(graph), start(graph)]);
  }, 240_000);
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await meta.stop();
    await t?.close();
  });

  it("a session's sends are paced once across processes: at most SEND_RATE_PER_SECOND calls in any second", async () => {
    const bytes = metaWireBytes(loadFixture('meta/inbound/text.json'));
    const hook = await fetch(`${a}/webhooks/meta`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': metaSignature(TEST_ENV.META_APP_SECRET, bytes) },
      body: bytes,
    });
    expect(hook.status).toBe(200);
    // Acknowledged from the inbox: the session row follows when process A has applied the webhook.
    const sessionId = await until('the Meta session applied', async () => {
      const rows = (await t.db.query(`SELECT id FROM sessions WHERE provider = 'meta'`)) as { id: string }[];
      return rows[0]?.id;
    });
    const key = TEST_ENV.ADMIN_API_KEY;
    const TOTAL = 8;
    for (let i = 0; i < TOTAL; i++) {
      const res = await fetch(`${i % 2 ? b : a}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'X-API-Key': key },
        body: JSON.stringify({ sessionId, to: String(16505550100 + i), type: 'text', text: { body: `paced ${i}` } }),
      });
      expect(res.status).toBe(202);
    }
    await until('every message sent', async () => (meta.requests.length >= TOTAL ? true : undefined), 30_000);
    const times = meta.requests.map((r) => r.at).sort((x, y) => x - y);
    // Any SEND_RATE + 1 consecutive calls span at least one second (slack for timers and the network under load; two pacers would allow about 500 ms).
    for (let i = SEND_RATE; i < times.length; i++) expect(times[i] - times[i - SEND_RATE]).toBeGreaterThanOrEqual(800);
    const [{ n }] = await t.db.query(`SELECT count(DISTINCT owner)::int AS n FROM send_leases WHERE session_id = $1`, [sessionId]);
    expect(n).toBe(1);
  }, 60_000);

  it('the API rate limit counts the requests of both processes', async () => {
    // Counted per fixed minute: a test straddling two windows would start counting again in the second.
    await windowLeft(10_000);
    const created = await fetch(`${a}/v1/api-keys`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'X-API-Key': TEST_ENV.ADMIN_API_KEY },
      body: JSON.stringify({ name: 'limited', scopes: ['read'] }),
    });
    const { id, secret } = (await created.json()) as { id: string; secret: string };
    const get = (url: string) => fetch(`${url}/v1/sessions`, { headers: { 'X-API-Key': secret } });
    const counter = async () =>
      (await t.db.query(`SELECT COALESCE(sum(hits), 0)::int AS hits FROM rate_counters WHERE key LIKE $1`, [`api:%key:${id}`]))[0]
        .hits as number;
    for (let i = 0; i < 15; i++) expect((await get(a)).status).toBe(200);
    await until('A has shared its 15 hits', async () => ((await counter()) === 15 ? true : undefined));
    expect((await get(b)).status).toBe(200);
    await until('B has shared its hit (and read back 16)', async () => ((await counter()) === 16 ? true : undefined));
    // B alone has seen 1 request; 4 more reach the limit of 20 for the key, the next is refused.
    for (let i = 0; i < RATE_LIMIT - 16; i++) expect((await get(b)).status).toBe(200);
    const refused = await get(b);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('failed authentications from one address count on both processes', async () => {
    await windowLeft(10_000); // per fixed minute, as above
    const wrong = 'wrong-key-0123456789abcdef';
    for (let i = 0; i < 3; i++) expect((await get(a, wrong)).status).toBe(401);
    await until('A has shared its failures', async () => ((await counter('auth-failures:')) === 3 ? true : undefined));
    expect((await get(b, wrong)).status).toBe(401);
    await until('B has shared its failure', async () => ((await counter('auth-failures:')) === 4 ? true : undefined));
    expect((await get(b, wrong)).status).toBe(401); // the 5th
    expect((await get(b, wrong)).status).toBe(429); // over the limit on B, counted with A's
  });

  it('housekeeping under an advisory lock: while one holder runs a task, another connection cannot', async () => {
    const locks = t.app.get(AdvisoryLocks);
    let inner: boolean | undefined;
    const ran = await locks.runExclusive('wa-hub:test-task', async () => {
      inner = await locks.runExclusive('wa-hub:test-task', async () => undefined);
    });
    expect(ran).toBe(true);
    expect(inner).toBe(false);
    expect(await locks.runExclusive('wa-hub:test-task', async () => undefined)).toBe(true); // released
  });
});
