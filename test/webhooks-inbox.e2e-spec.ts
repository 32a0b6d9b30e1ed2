import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { IngestApplier } from '../src/ingest/ingest-applier';
import { IngestRepository } from '../src/ingest/ingest.repository';
import { MetaNormalizer } from '../src/providers/meta/meta.normalizer';
import { sharedWaHubBuild } from './helpers/build';
import { forkWaHub, freePort } from './helpers/child-process';
import { SCHEMA_PREFIX } from './helpers/db-schema';
import { loadFixture } from './helpers/fixtures';
import { postMeta, withFreshIds } from './helpers/http';
import { metaSignature, metaWireBytes } from './helpers/signing';
import { createTestApp, TEST_ENV, type TestApp } from './helpers/test-app';
import { until } from './helpers/until';

const ADMIN = { 'X-API-Key': TEST_ENV.ADMIN_API_KEY };
const metaText = (suffix: string) => withFreshIds(loadFixture('meta/inbound/text.json'), suffix);

/**
 * Issue 16's inbox: a webhook is answered once its bytes and canonical events are committed to `ingest_inbox`;
 * the applier writes its rows right after, exactly once, in this process or, after a crash, in the next one.
 */
describe('ingest inbox (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    // The periodic orphan sweep (every INGEST_SWEEP_MS, rows older than 5 s) would apply the test's aged orphan
    // rows on its own, possibly before /health/ready is asked about them: here only the start-up sweep runs.
    t = await createTestApp({ METRICS_TOKEN: 'inbox-metrics-token-0123456789', INGEST_SWEEP_MS: '3600000' });
  });
  afterAll(() => t.close());
  beforeEach(() => t.reset());

  it('acknowledged from the inbox, applied right after: the message is listed, the inbox is empty, the lag is measured', async () => {
    const res = await request(t.app.getHttpServer())
      .post('/webhooks/meta')
      .set('Content-Type', 'application/json')
      .set('X-Hub-Signature-256', metaSignature(TEST_ENV.META_APP_SECRET, metaWireBytes(metaText('inbox-1'))))
      .send(metaWireBytes(metaText('inbox-1')).toString('utf8'));
    expect(res.status).toBe(200);
    expect(res.body.state).toBe('processed');
    // The raw event is there at the answer; its message once the applier has run (polled as a client would).
    expect(await t.db.query(`SELECT id FROM webhook_events WHERE id = $1`, [res.body.webhookEventId])).toHaveLength(1);
    const listed = await until('the message listed', async () => {
      const page = await request(t.app.getHttpServer()).get('/v1/messages').set(ADMIN);
      return page.body.data.length ? page.body.data : undefined;
    });
    expect(listed.map((m: { externalId: string }) => m.externalId)).toEqual([expect.stringContaining('inbox-1')]);
    await t.app.get(IngestApplier).settled();
    expect(await t.db.query(`SELECT id FROM ingest_inbox`)).toEqual([]);
    const metrics = await request(t.app.getHttpServer()).get('/metrics').set('Authorization', 'Bearer inbox-metrics-token-0123456789');
    expect(metrics.text).toMatch(/^wahub_ingest_lag_seconds_count [1-9]/m);
    expect(metrics.text).toMatch(/^wahub_ingest_inbox_pending 0$/m);
  });

  it('a retry of the same bytes while the original is pending: one raw event, one message, one message.received, counted once', async () => {
    const body = metaText('inbox-dup');
    const [a, b] = await Promise.all([postMeta(t.app, body), postMeta(t.app, body)]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(a.body.webhookEventId).toBe(b.body.webhookEventId);
    expect(await t.db.query(`SELECT count(*)::int AS n FROM messages`)).toEqual([{ n: 1 }]);
    expect(await t.db.query(`SELECT count(*)::int AS n FROM events WHERE type = 'message.received'`)).toEqual([{ n: 1 }]);
    expect(await t.db.query(`SELECT message_count FROM conversations`)).toEqual([{ message_count: 1 }]);
  });

  it('rows a dead process acknowledged are applied at start; /health/ready reports the lag past INGEST_READY_MAX_LAG_SECONDS', async () => {
    // What a process that crashed after its acknowledgement left: raw events and their inbox rows, nothing applied.
    const repo = t.app.get(IngestRepository);
    const job = (suffix: string) => {
      const bytes = metaWireBytes(metaText(suffix));
      return { bytes, body: JSON.parse(bytes.toString('utf8')) as unknown };
    };
    const jobs = ['orphan-1', 'orphan-2'].map(job);
    const normalizer = t.app.get(MetaNormalizer, { strict: false });
    const acks = await repo.acknowledge(
      jobs.map(({ bytes, body }) => ({
        provider: 'meta',
        dedupeKey: createHash('sha256').update(bytes).digest('hex'),
        receivedAt: new Date(),
        contentType: 'application/json',
        rawBody: bytes,
        bodyJson: bytes.toString('utf8'),
        events: normalizer.normalize(body, new Date()),
        state: 'processed',
        error: null,
      })),
    );
    expect(acks.every((a) => a.inboxId !== null)).toBe(true);
    await t.db.query(`UPDATE ingest_inbox SET acked_at = now() - interval '1 hour'`);
    const ready = await request(t.app.getHttpServer()).get('/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body.checks).toMatchObject({ ingest: 'lagging' });
    expect(ready.body.checks.ingestLagSeconds).toBeGreaterThan(3000);
    // The next process's start (the same sweep also runs every INGEST_SWEEP_MS for rows older than 5 s).
    await t.app.get(IngestApplier).onApplicationBootstrap();
    await until('the orphans applied', async () =>
      (await t.db.query(`SELECT count(*)::int AS n FROM messages`))[0].n === 2 ? true : undefined,
    );
    await t.app.get(IngestApplier).settled();
    expect(await t.db.query(`SELECT id FROM ingest_inbox`)).toEqual([]);
    expect((await request(t.app.getHttpServer()).get('/health/ready')).body.checks).toMatchObject({ ingest: 'ok', ingestLagSeconds: 0 });
  });
});

/**
 * Backpressure: past INGEST_APPLY_BACKLOG_MAX unapplied webhooks an answer waits for its own apply. With 0 every
 * answer waits; the apply is held on a lock (PostgreSQL only: the embedded database has one connection).
 */
describe.runIf(process.env.DATABASE_URL)('ingest inbox: backpressure past INGEST_APPLY_BACKLOG_MAX (e2e, PostgreSQL)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ INGEST_APPLY_BACKLOG_MAX: '0', INGEST_SWEEP_MS: '3600000', METRICS_TOKEN: 'inbox-metrics-token-0123456789' });
  });
  afterAll(() => t.close());
  beforeEach(() => t.reset());

  it('an answer waits for its own apply: none while the apply is blocked, the message row there when it comes', async () => {
    const holder = t.db.createQueryRunner();
    await holder.connect();
    await holder.startTransaction();
    await holder.query('LOCK TABLE messages IN SHARE MODE'); // the apply's INSERT waits for it
    const bytes = metaWireBytes(metaText('backpressure'));
    const answer = request(t.app.getHttpServer())
      .post('/webhooks/meta')
      .set('Content-Type', 'application/json')
      .set('X-Hub-Signature-256', metaSignature(TEST_ENV.META_APP_SECRET, bytes))
      .send(bytes.toString('utf8'))
      .then((res) => res);
    const blocked = until('the apply waiting for the lock', async () => {
      // This schema's `messages` in this database: pg_locks is the cluster's, and the other test workers' schemas
      // have a `messages` table too (a TRUNCATE of theirs waiting would look like this apply waiting).
      const [{ n }] = await t.db.query(
        `SELECT count(*)::int AS n FROM pg_locks l
         WHERE l.relation = 'messages'::regclass AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
           AND NOT l.granted`,
      );
      return n > 0 ? 'blocked' : undefined;
    });
    try {
      // Without backpressure the 200 is written right after the inbox commit, before the apply even starts.
      expect(await Promise.race([answer.then(() => 'answered'), blocked])).toBe('blocked');
      expect(await t.db.query(`SELECT id FROM ingest_inbox`)).toHaveLength(1); // acknowledged, durably
    } finally {
      await holder.commitTransaction();
      await holder.release();
    }
    const res = await answer;
    expect(res.status).toBe(200);
    expect(await t.db.query(`SELECT external_id FROM messages`)).toEqual([{ external_id: expect.stringContaining('backpressure') }]);
    const metrics = await request(t.app.getHttpServer()).get('/metrics').set('Authorization', 'Bearer inbox-metrics-token-0123456789');
    expect(metrics.text).toMatch(/^wahub_ingest_backpressure_total\{provider="meta"\} 1$/m);
  });
});

const exited = (c: ChildProcess) => new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r(null) : c.once('exit', r)));
const CRASH_SCHEMA = `${SCHEMA_PREFIX}_inbox_crash`;

async function withDb<T>(fn: (db: pg.Client) => Promise<T>): Promise<T> {
  const db = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await db.connect();
  try {
    return await fn(db);
  } finally {
    await db.end();
  }
}

/**
 * kill -9 under load: webhooks are posted 16 at a time to a real wa-hub process and it is killed with SIGKILL while
 * they flow; restarted on the same database, every webhook that got its 200 is applied, exactly once: one message
 * row, one `message.received` event, and the conversation's counter equal to the messages (all from one sender).
 * PostgreSQL (own schema) or PGlite in a data directory that survives the kill.
 */
describe('ingest inbox: SIGKILL under load, restart (e2e, separate process)', () => {
  let child: ChildProcess | undefined;
  let dataDir: string | undefined;
  const env: Record<string, string> = { LOG_LEVEL: 'error', SEND_WORKER: 'false', MEDIA_WORKER: 'false' };

  beforeAll(async () => {
    if (process.env.DATABASE_URL) {
      await withDb((db) => db.query(`DROP SCHEMA IF EXISTS ${CRASH_SCHEMA} CASCADE; CREATE SCHEMA ${CRASH_SCHEMA}`));
      Object.assign(env, { DATABASE_URL: process.env.DATABASE_URL, DB_SCHEMA: CRASH_SCHEMA });
    } else {
      dataDir = mkdtempSync(join(tmpdir(), 'wa-hub-inbox-crash-'));
      env.DATA_DIR = dataDir;
    }
  }, 180_000);

  afterAll(async () => {
    child?.kill('SIGKILL');
    if (child) await exited(child);
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    if (process.env.DATABASE_URL) await withDb((db) => db.query(`DROP SCHEMA IF EXISTS ${CRASH_SCHEMA} CASCADE`));
  });

  it('every acknowledged webhook is applied exactly once after the restart', async () => {
    const main = await sharedWaHubBuild();
    const port = await freePort();
    child = await forkWaHub(main, port, env, 'inherit');
    const acknowledged = new Set<string>();
    let sent = 0;
    let killed = false;
    const post = async (i: number) => {
      const body = metaText(`crash-${i}`) as { entry: { changes: { value: { messages: { id: string }[] } }[] }[] };
      const wamid = body.entry[0].changes[0].value.messages[0].id;
      const bytes = metaWireBytes(body);
      try {
        const res = await fetch(`http://127.0.0.1:${port}/webhooks/meta`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-hub-signature-256': metaSignature(TEST_ENV.META_APP_SECRET, bytes) },
          body: bytes,
        });
        if (res.status === 200) acknowledged.add(wamid);
      } catch {
        /* the process is gone: not acknowledged */
      }
    };
    const lanes = Array.from({ length: 16 }, async () => {
      while (!killed) await post(sent++);
    });
    await until('300 acknowledged', async () => (acknowledged.size >= 300 ? true : undefined), 60_000);
    child.kill('SIGKILL');
    killed = true;
    await exited(child);
    await Promise.all(lanes);
    if (process.env.DATABASE_URL) {
      const left = await withDb((db) => db.query(`SELECT count(*)::int AS n FROM ${CRASH_SCHEMA}.ingest_inbox`));
      console.log(`inbox rows left by the killed process: ${left.rows[0].n} (of ${acknowledged.size} acknowledged)`);
    }

    child = await forkWaHub(main, port, env, 'inherit');
    const api = (path: string) => fetch(`http://127.0.0.1:${port}${path}`, { headers: ADMIN }).then((r) => r.json());
    await until(
      'the inbox drained',
      async () =>
        ((await fetch(`http://127.0.0.1:${port}/health/ready`).then((r) => r.json())) as { checks: { ingestLagSeconds: number } }).checks
          .ingestLagSeconds === 0
          ? true
          : undefined,
      60_000,
    );
    const readLog = async () => {
      const received: string[] = [];
      for (let after: string | null = null; ;) {
        const page = (await api(`/v1/events?types=message.received&limit=1000${after ? `&after=${after}` : ''}`)) as {
          data: { id: string; data: { externalId: string } }[];
        };
        received.push(...page.data.map((e) => e.data.externalId));
        if (page.data.length < 1000) return received;
        after = page.data[page.data.length - 1].id;
      }
    };
    const conversations = (await api('/v1/conversations')) as { data: { messageCount: number }[] };
    // A page stops before a gap in the event ids until the gap is settled, i.e. until every transaction of the
    // cluster that ran when it was first seen has ended (other test files' included): the killed process's
    // rolled-back writes leave one, first seen by this read. Polled (as a client would) until the log holds every
    // acknowledged webhook and as many events as messages.
    const received = await until(
      'the event log past the killed process',
      async () => {
        const r = await readLog();
        return [...acknowledged].every((w) => r.includes(w)) && r.length >= (conversations.data[0]?.messageCount ?? 0) ? r : undefined;
      },
      60_000,
    );
    for (const wamid of acknowledged) expect(received.filter((x) => x === wamid)).toHaveLength(1);
    expect(new Set(received).size).toBe(received.length);
    expect(conversations.data).toHaveLength(1);
    expect(conversations.data[0].messageCount).toBe(received.length);
    child.kill('SIGTERM');
    await exited(child);
    child = undefined;
  }, 240_000);
});
