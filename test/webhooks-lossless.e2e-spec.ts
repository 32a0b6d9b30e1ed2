import { fork, type ChildProcess } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sharedWaHubBuild } from './helpers/build';
import { loadFixture } from './helpers/fixtures';
import { postMeta } from './helpers/http';
import { metaWireBytes } from './helpers/signing';
import { createTestApp, TEST_ENV, type TestApp } from './helpers/test-app';
import { freePort } from './helpers/child-process';

/**
 * Issue 10's three defects, each reproduced as it was found: nothing an authenticated provider delivers is lost or
 * merged, and unauthenticated clients cannot make the server hold their bodies.
 */
describe('nothing acknowledged is lost (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());
  beforeEach(() => t.reset());

  it('a signed Meta webhook whose text holds U+0000: both messages stored (U+FFFD in the text), the exact bytes kept', async () => {
    const body = loadFixture<any>('meta/inbound/text.json');
    const value = body.entry[0].changes[0].value;
    const first = { ...value.messages[0], id: 'wamid.NUL-1', text: { body: 'before\u0000after' } };
    const second = { ...value.messages[0], id: 'wamid.NUL-2', text: { body: 'second message' } };
    value.messages = [first, second];
    const bytes = metaWireBytes(body);
    expect(bytes.toString()).toContain('\\u0000');
    const res = await postMeta(t.app, body);
    expect(res.status).toBe(200);
    expect(res.body.state).toBe('processed');
    const rows = await t.db.query(`SELECT external_id, text FROM messages ORDER BY external_id`);
    expect(rows).toEqual([
      { external_id: 'wamid.NUL-1', text: 'before\uFFFDafter' },
      { external_id: 'wamid.NUL-2', text: 'second message' },
    ]);
    const [event] = await t.db.query(
      `SELECT raw_body, body IS NOT NULL AS has_body FROM webhook_events WHERE dedupe_key = encode(sha256($1), 'hex')`,
      [bytes],
    );
    expect(Buffer.compare(event.raw_body, bytes)).toBe(0);
    expect(event.has_body).toBe(true);
  });

  it('two different text/plain bodies to the wwebjs webhook are two raw events with their own bytes', async () => {
    const post = (text: string) =>
      request(t.app.getHttpServer())
        .post('/webhooks/wwebjs')
        .set('x-api-key', TEST_ENV.WWEBJS_API_KEY)
        .set('content-type', 'text/plain')
        .send(text);
    expect((await post('first plain body')).status).toBe(200);
    expect((await post('second plain body')).status).toBe(200);
    const rows = await t.db.query(`SELECT dedupe_key, convert_from(raw_body, 'UTF8') AS raw, state FROM webhook_events ORDER BY id`);
    expect(rows.map((r: { raw: string }) => r.raw)).toEqual(['first plain body', 'second plain body']);
    expect(new Set(rows.map((r: { dedupe_key: string }) => r.dedupe_key)).size).toBe(2);
    expect(rows.every((r: { state: string }) => r.state === 'failed')).toBe(true); // kept and reported, not understood
  });
});

/** Peak and current resident memory of a process, in bytes (Linux /proc). */
function memoryOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)![1]) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/** Streams `size` bytes as the body of a POST without ever holding them (one 1 MiB chunk written again and again). */
function streamPost(port: number, path: string, size: number, headers: Record<string, string>): Promise<number> {
  const chunk = Buffer.alloc(1_048_576, 0x61);
  return new Promise((resolve) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, path, method: 'POST', headers: { ...headers, 'content-length': String(size) } },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
        req.destroy();
      },
    );
    req.on('error', () => resolve(0)); // the server may close the connection while we still write: refused
    let sent = 0;
    const write = () => {
      while (sent < size) {
        const n = Math.min(chunk.length, size - sent);
        sent += n;
        if (!req.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void req.once('drain', write);
      }
      req.end();
    };
    write();
  });
}

describe('authenticate before buffering (e2e, a separate wa-hub process)', () => {
  let child: ChildProcess;
  let port: number;

  beforeAll(async () => {
    const main = await sharedWaHubBuild();
    port = await freePort();
    // Its own in-memory database: this test measures the process, not the data.
    const env: Record<string, string> = {
      ...(process.env as Record<string, string>),
      ...TEST_ENV,
      PORT: String(port),
      DATA_DIR: 'memory://',
      LOG_LEVEL: 'error',
    };
    delete env.DATABASE_URL;
    delete env.DB_SCHEMA; // the worker's PostgreSQL schema, not for this embedded database
    child = fork(main, [], { env, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    for (let i = 0; ; i++) {
      try {
        if ((await fetch(`http://127.0.0.1:${port}/health`)).ok) break;
      } catch {
        // not listening yet
      }
      if (i > 1200) throw new Error('wa-hub did not start within 60 s');
      await new Promise((r) => setTimeout(r, 50));
    }
  }, 120_000);
  afterAll(() => {
    child?.kill('SIGKILL');
  });

  it('20 × 19 MB without a key to the import and to the wwebjs webhook: refused at the headers, RSS grows < 100 MB', async () => {
    // Reset the peak (VmHWM) to the current RSS, so the peak afterwards is the burst's (Linux clear_refs "5").
    writeFileSync(`/proc/${child.pid}/clear_refs`, '5');
    const before = memoryOf(child.pid!);
    const size = 19 * 1_048_576;
    const statuses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        streamPost(port, i % 2 ? '/v1/contacts/import' : '/webhooks/wwebjs', size, {
          'content-type': i % 2 ? 'text/csv' : 'application/json',
        }),
      ),
    );
    // 401 (or 429 once the failed-auth limit per IP is reached; 0 if the socket was closed under our writes).
    expect(statuses.every((s) => s === 401 || s === 429 || s === 0)).toBe(true);
    expect(statuses.filter((s) => s === 401).length).toBeGreaterThan(0);
    const after = memoryOf(child.pid!);
    expect(after.peak - before.rss).toBeLessThan(100 * 1_048_576);
  }, 60_000);
});
