import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedWaHubBuild } from './helpers/build';
import { SCHEMA_PREFIX } from './helpers/db-schema';
import { waitFor } from './helpers/fake-provider';
import { loadFixture } from './helpers/fixtures';
import { withFreshIds } from './helpers/http';
import { metaSignature, metaWireBytes } from './helpers/signing';
import { TEST_ENV } from './helpers/test-app';
import { forkWaHub, freePort } from './helpers/child-process';

/** This file's child processes' schemas (PostgreSQL): one per test, dropped afterwards. */
const CRASH_SCHEMA = `${SCHEMA_PREFIX}_fwcrash`;
const SHARE_SCHEMA = `${SCHEMA_PREFIX}_fwshare`;
/** In flight per subscription: bounds how many deliveries the killed process can have sent without recording. */
const CONCURRENCY = 4;

interface Got {
  webhookId: string;
  eventId: string;
  /** The worker that held the delivery's lease while the request was answered (share test only). */
  worker?: string;
}

/**
 * The webhook receiver: verifies each request's Standard Webhooks signature with the library, records its
 * `webhook-id` and event id, and answers 200 after `delayMs` (slow enough that calls are in flight at any
 * moment); `beforeAnswer` runs first.
 */
class Receiver {
  readonly got: Got[] = [];
  secret = '';
  beforeAnswer: (g: Got) => Promise<void> = async () => {};
  private server!: Server;
  port = 0;

  constructor(private readonly delayMs: number) {}

  async start(): Promise<string> {
    this.server = createHttpServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        let g: Got;
        try {
          const body = new Webhook(this.secret).verify(raw, req.headers as Record<string, string>) as { id: string };
          g = { webhookId: String(req.headers['webhook-id']), eventId: body.id };
        } catch {
          res.writeHead(400).end();
          return;
        }
        void this.beforeAnswer(g).then(() =>
          setTimeout(() => {
            if (res.destroyed) return; // the caller is gone (killed while this call was held): it never saw an answer
            this.got.push(g);
            res.writeHead(200).end('ok');
          }, this.delayMs),
        );
      });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
    return `http://127.0.0.1:${this.port}/hook`;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }

  /** How often each event id was received. */
  counts(): Map<string, number> {
    const m = new Map<string, number>();
    for (const g of this.got) m.set(g.eventId, (m.get(g.eventId) ?? 0) + 1);
    return m;
  }
}

/** A wa-hub child process on `port`; resolves once /health answers. */
function startHub(main: string, port: number, env: Record<string, string>): Promise<ChildProcess> {
  return forkWaHub(main, port, env, 'inherit');
}

const exited = (c: ChildProcess) => new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r(null) : c.once('exit', r)));

function api(port: number, path: string, init: RequestInit = {}) {
  return fetch(`http://127.0.0.1:${port}${path}`, {
    ...init,
    headers: { 'content-type': 'application/json', 'x-api-key': TEST_ENV.ADMIN_API_KEY, ...init.headers },
  });
}

/** POSTs one signed Meta webhook with one text message (a fresh wamid) to the process on `port`. */
async function postMessage(port: number, suffix: string): Promise<void> {
  const bytes = metaWireBytes(withFreshIds(loadFixture('meta/inbound/text.json'), suffix));
  const res = await fetch(`http://127.0.0.1:${port}/webhooks/meta`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-hub-signature-256': metaSignature(TEST_ENV.META_APP_SECRET, bytes) },
    body: bytes,
  });
  expect(res.status).toBe(200);
}

/** Every message.received event id in the log, read through the API of the process on `port`. */
async function eventIds(port: number): Promise<string[]> {
  const ids: string[] = [];
  let after: string | null = null;
  for (;;) {
    const res = await api(port, `/v1/events?types=message.received&limit=1000${after ? `&after=${after}` : ''}`);
    const page = (await res.json()) as { data: { id: string }[]; nextCursor: string | null };
    ids.push(...page.data.map((e) => e.id));
    if (page.data.length < 1000) return ids;
    after = page.data[page.data.length - 1].id;
  }
}

async function subscribe(port: number, url: string): Promise<string> {
  const res = await api(port, '/v1/webhooks', { method: 'POST', body: JSON.stringify({ url, events: ['message.received'] }) });
  expect(res.status).toBe(201);
  return ((await res.json()) as { secret: string }).secret;
}

async function freshSchema(schema: string): Promise<void> {
  const db = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await db.connect();
  await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}`);
  await db.end();
}

async function dropSchema(schema: string): Promise<void> {
  const db = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await db.connect();
  await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await db.end();
}

/**
 * Settings of every child: local http targets allowed; a 3 s timeout (ample for a 30 ms answer on a busy machine,
 * and a dead process's leases end 18 s after their claim); quick retries.
 */
const HUB_ENV = {
  LOG_LEVEL: 'error',
  WEBHOOK_ALLOW_HTTP: 'true',
  WEBHOOK_ALLOW_PRIVATE: 'true',
  WEBHOOK_TIMEOUT_MS: '3000',
  WEBHOOK_RETRY_BASE_SECONDS: '0.5',
  WEBHOOK_CONCURRENCY: String(CONCURRENCY),
  SEND_WORKER: 'false',
};

/**
 * A real wa-hub process killed with SIGKILL while webhook calls are in flight, then started again on the same
 * database: every event is delivered at least once (the dead process's leases run out and the new process sends
 * those deliveries again with the same webhook-id), and only the calls the dead process had in flight can arrive
 * twice. Runs on PostgreSQL (own schema) or, without DATABASE_URL, on the embedded PGlite in a data directory
 * that survives the kill (one process at a time, as PGlite allows).
 */
describe('outgoing webhooks: a process killed mid-delivery (e2e, separate processes)', () => {
  const TOTAL = 120;
  const rx = new Receiver(30);
  let main: string;
  let child: ChildProcess | undefined;
  let dataDir: string | undefined;
  let env: Record<string, string>;

  beforeAll(async () => {
    main = await sharedWaHubBuild();
    await rx.start();
    env = { ...HUB_ENV };
    if (process.env.DATABASE_URL) {
      await freshSchema(CRASH_SCHEMA);
      Object.assign(env, { DATABASE_URL: process.env.DATABASE_URL, DB_SCHEMA: CRASH_SCHEMA });
    } else {
      dataDir = mkdtempSync(join(tmpdir(), 'wa-hub-fwcrash-'));
      env.DATA_DIR = dataDir;
    }
  }, 180_000);

  afterAll(async () => {
    child?.kill('SIGKILL');
    if (child) await exited(child);
    await rx.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    if (process.env.DATABASE_URL) await dropSchema(CRASH_SCHEMA);
  });

  it(`${TOTAL} events, SIGKILL while deliveries are in flight, restart: each delivered at least once`, async () => {
    const port = await freePort();
    child = await startHub(main, port, env);
    rx.secret = await subscribe(port, `http://127.0.0.1:${rx.port}/hook`);
    // Ingest is much faster than 4 calls at a time of 30 ms each: most events are still queued when the kill comes.
    // Once 20 have arrived the receiver holds further calls (set before the first webhook: on the embedded database
    // all 120 were sometimes delivered while the test was still posting), so the kill surely finds deliveries in
    // flight and others queued however fast the first 20 went.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    rx.beforeAnswer = async () => {
      if (rx.got.length >= 20) await held;
    };
    for (let i = 0; i < TOTAL; i++) await postMessage(port, `fwcrash-${i}`);
    // A 200 means the bytes are stored; the events are written when the webhook is applied, just after.
    const ids = await waitFor(async () => {
      const all = await eventIds(port);
      return all.length >= TOTAL ? all : undefined;
    }, 30_000);
    expect(ids).toHaveLength(TOTAL);

    await waitFor(async () => rx.got.length >= 20, 30_000);
    child.kill('SIGKILL');
    await exited(child);
    const beforeKill = rx.counts();
    rx.beforeAnswer = async () => {};
    release();
    expect(beforeKill.size).toBeLessThan(TOTAL);

    child = await startHub(main, port, env);
    await waitFor(async () => (rx.counts().size >= TOTAL ? true : undefined), 90_000);
    const counts = rx.counts();
    expect([...counts.keys()].sort()).toEqual([...ids].sort());
    // At least once, and twice only for what the dead process had in flight (≤ WEBHOOK_CONCURRENCY calls).
    const twice = [...counts].filter(([, n]) => n > 1);
    expect(twice.length).toBeLessThanOrEqual(CONCURRENCY);
    for (const [id, n] of twice) {
      expect(n).toBe(2);
      expect(beforeKill.has(id)).toBe(true);
      // The repeat carries the same webhook-id, so the receiver can drop it.
      expect(new Set(rx.got.filter((g) => g.eventId === id).map((g) => g.webhookId)).size).toBe(1);
    }
    // Nothing is left pending.
    const list = (await (await api(port, '/v1/webhooks')).json()) as { data: { id: string }[] };
    await waitFor(async () => {
      const p = (await (await api(port, `/v1/webhooks/${list.data[0].id}/deliveries?state=pending`)).json()) as { data: unknown[] };
      return p.data.length === 0 ? true : undefined;
    }, 30_000);

    child.kill('SIGTERM');
    await exited(child);
    child = undefined;
  }, 180_000);
});

/**
 * Two wa-hub processes on one PostgreSQL database, both running the webhook worker, with events ingested by both:
 * every event is delivered, none twice (claims are `FOR UPDATE SKIP LOCKED` under a lease; a second send happens
 * only after a lease expires or a process dies, neither of which happens here), and both processes deliver some.
 * The receiver attributes each call to the process holding its delivery's lease while it answers. PGlite is
 * embedded in one process: it cannot be shared, so this needs PostgreSQL.
 */
describe.runIf(process.env.DATABASE_URL)('outgoing webhooks: two processes share the work (e2e, PostgreSQL)', () => {
  const TOTAL = 200;
  const rx = new Receiver(20);
  let main: string;
  const children: ChildProcess[] = [];
  let db: pg.Pool;

  beforeAll(async () => {
    main = await sharedWaHubBuild();
    await rx.start();
    await freshSchema(SHARE_SCHEMA);
    db = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 4 });
  }, 180_000);

  afterAll(async () => {
    for (const c of children) {
      c.kill('SIGKILL');
      await exited(c);
    }
    await rx.stop();
    await db?.end();
    await dropSchema(SHARE_SCHEMA);
  });

  it(`${TOTAL} events ingested by two processes: each delivered once, by both processes`, async () => {
    // No lease expiry here: a generous timeout, and quick retries should a call fail on a busy machine.
    // Each process holds at most half of the subscription's WEBHOOK_CONCURRENCY, so the other always finds room.
    const env = {
      ...HUB_ENV,
      WEBHOOK_TIMEOUT_MS: '10000',
      WEBHOOK_CONCURRENCY: String(2 * CONCURRENCY),
      WEBHOOK_MAX_IN_FLIGHT: String(CONCURRENCY),
      DATABASE_URL: process.env.DATABASE_URL!,
      DB_SCHEMA: SHARE_SCHEMA,
    };
    const ports = [await freePort(), await freePort()];
    // One after the other: the first runs the migrations.
    children.push(await startHub(main, ports[0], env));
    children.push(await startHub(main, ports[1], env));
    const pids = children.map((c) => c.pid!);
    rx.secret = await subscribe(ports[0], `http://127.0.0.1:${rx.port}/hook`);
    // No answer until both processes have a call open: the first process cannot finish the work alone before the
    // second one's pump comes round (it can fill only its own WEBHOOK_MAX_IN_FLIGHT), whatever the timing.
    const workers = new Set<string>();
    let bothCalling!: () => void;
    const both = new Promise<void>((r) => (bothCalling = r));
    rx.beforeAnswer = async (g) => {
      const [row] = (
        await db.query(`SELECT locked_by FROM ${SHARE_SCHEMA}.webhook_deliveries WHERE id = $1`, [g.webhookId.slice('wd_'.length)])
      ).rows as { locked_by: string | null }[];
      g.worker = row?.locked_by ?? 'none';
      workers.add(g.worker);
      if (workers.size >= 2) bothCalling();
      await both;
    };

    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let i = next++; i < TOTAL; i = next++) await postMessage(ports[i % 2], `fwshare-${i}`);
      }),
    );
    const ids = await waitFor(async () => {
      const all = await eventIds(ports[1]);
      return all.length >= TOTAL ? all : undefined;
    }, 30_000);
    expect(ids).toHaveLength(TOTAL);

    await waitFor(async () => (rx.counts().size >= TOTAL ? true : undefined), 60_000).catch(async (e: Error) => {
      const states = await db.query(
        `SELECT state, count(*)::int AS n, max(attempts) AS attempts, max(last_error) AS error FROM ${SHARE_SCHEMA}.webhook_deliveries GROUP BY 1`,
      );
      throw new Error(`${e.message}: received ${rx.counts().size} of ${TOTAL}; deliveries ${JSON.stringify(states.rows)}`);
    });
    const counts = rx.counts();
    expect([...counts.keys()].sort()).toEqual([...ids].sort());
    expect([...counts.values()].filter((n) => n > 1)).toEqual([]);
    // Each call was made by the process holding the lease (its worker id names its pid); both made some.
    const byPid = new Map<number, number>();
    for (const g of rx.got) {
      const pid = Number(String(g.worker).split(':')[1]);
      expect(pids).toContain(pid);
      byPid.set(pid, (byPid.get(pid) ?? 0) + 1);
    }
    for (const pid of pids) expect(byPid.get(pid) ?? 0).toBeGreaterThan(0);
  }, 180_000);
});
