import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedWaHubBuild } from './helpers/build';
import { SCHEMA_PREFIX } from './helpers/db-schema';
import { metaSignature, metaWireBytes } from './helpers/signing';
import { TEST_ENV } from './helpers/test-app';
import { until } from './helpers/until';
import { FakeGraph, jpeg, metaMedia, TOKEN } from './media-kit';
import { forkWaHub, freePort } from './helpers/child-process';

// This file's own schema (the child process runs migrations in it); dropped before and after.
const SCHEMA = `${SCHEMA_PREFIX}_media_crash`;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/**
 * A real wa-hub process killed with SIGKILL while a media download is half done (the fake Graph API has sent half
 * the bytes and holds the connection), then started again on the same database: once the dead process's lease runs
 * out (MEDIA_TIMEOUT_MS + MEDIA_LEASE_GRACE_SECONDS, 3 s here) the item is claimed again, downloaded from the start
 * and stored once, with the right bytes. PostgreSQL (own schema) or, without DATABASE_URL, PGlite in a data
 * directory that survives the kill. Only Meta's Graph API is faked.
 */
describe('a process killed mid-download (e2e, separate processes)', () => {
  const graph = new FakeGraph();
  let dataDir: string | undefined;
  let port: number;
  let child: ChildProcess | undefined;
  let main: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    main = await sharedWaHubBuild();
    const base = await graph.start();
    port = await freePort();
    env = {
      PORT: String(port),
      LOG_LEVEL: 'error',
      META_ACCESS_TOKEN: TOKEN,
      META_GRAPH_BASE_URL: base,
      META_API_VERSION: 'v21.0',
      MEDIA_WORKER: 'true',
      MEDIA_POLL_MS: '50',
      MEDIA_TIMEOUT_MS: '2000',
      MEDIA_LEASE_GRACE_SECONDS: '1',
      SEND_WORKER: 'false',
    };
    if (process.env.DATABASE_URL) {
      const db = new pg.Client({ connectionString: process.env.DATABASE_URL });
      await db.connect();
      await db.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE; CREATE SCHEMA ${SCHEMA}`);
      await db.end();
      env.DB_SCHEMA = SCHEMA;
    } else {
      dataDir = mkdtempSync(join(tmpdir(), 'wa-hub-media-crash-'));
      env.DATA_DIR = dataDir;
    }
  }, 180_000);

  afterAll(async () => {
    child?.kill('SIGKILL');
    await graph.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    if (process.env.DATABASE_URL) {
      const db = new pg.Client({ connectionString: process.env.DATABASE_URL });
      await db.connect();
      await db.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
      await db.end();
    }
  });

  const start = () => forkWaHub(main, port, env);
  const api = (path: string) => fetch(`http://127.0.0.1:${port}${path}`, { headers: { 'x-api-key': TEST_ENV.ADMIN_API_KEY } });
  const downloads = () => graph.calls.filter((c) => c.path.startsWith('/dl/crash-img?')).length;

  it('SIGKILL with half the bytes received, restart: downloaded again from the start after the lease, stored once', async () => {
    const bytes = jpeg(400_000);
    graph.files.set('crash-img', { bytes, mime: 'image/jpeg', stallFirst: true });
    child = await start();
    const { body, wamid } = metaMedia('image', 'crash-img', 'crash');
    const wire = metaWireBytes(body);
    const hook = await fetch(`http://127.0.0.1:${port}/webhooks/meta`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': metaSignature(TEST_ENV.META_APP_SECRET, wire) },
      body: wire,
    });
    expect(hook.status).toBe(200);

    // The download is in flight: half the bytes are on the wire and the server holds the rest.
    await until('the first download to stall', async () => graph.stalled.length === 1 || undefined);
    const exited = new Promise((r) => child!.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    expect(downloads()).toBe(1);

    child = await start();
    const list = (await (await api('/v1/messages?limit=10')).json()) as { data: { id: string; externalId: string }[] };
    const id = list.data.find((m) => m.externalId === wamid)!.id;
    const media = await until(
      'the media to be stored after the restart',
      async () => {
        const m = (await (await api(`/v1/messages/${id}`)).json()) as { media: { state: string; size: number; sha256: string } };
        return m.media.state === 'stored' ? m.media : undefined;
      },
      30_000,
    );
    expect(media).toMatchObject({ state: 'stored', size: bytes.length, sha256: sha(bytes) });
    // Once more from the start, not resumed, and no third time.
    expect(downloads()).toBe(2);
    const file = await api(`/v1/messages/${id}/media`);
    expect(file.status).toBe(200);
    expect(sha(Buffer.from(await file.arrayBuffer()))).toBe(sha(bytes));

    if (process.env.DATABASE_URL) {
      const db = new pg.Client({ connectionString: process.env.DATABASE_URL });
      await db.connect();
      try {
        const [row] = (
          await db.query(
            `SELECT md.attempts, md.state, (SELECT sum(length(c.data))::int FROM ${SCHEMA}.media_chunks c WHERE c.object_key = md.object_key) AS bytes,
               (SELECT count(*)::int FROM ${SCHEMA}.media WHERE message_id = md.message_id) AS items
             FROM ${SCHEMA}.media md WHERE md.message_id = $1`,
            [id],
          )
        ).rows;
        // Two claims (the dead one and the finishing one); one item; exactly the file's bytes in the store.
        expect(row).toEqual({ attempts: 2, state: 'stored', bytes: bytes.length, items: 1 });
      } finally {
        await db.end();
      }
    }

    const stopped = new Promise((r) => child!.once('exit', r));
    child.kill('SIGTERM');
    await stopped;
    child = undefined;
  }, 120_000);
});
