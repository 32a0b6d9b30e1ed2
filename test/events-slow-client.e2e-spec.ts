import { request as httpRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Metrics } from '../src/observability/metrics';
import { openStream } from './helpers/sse';
import { createTestApp, NO_WORKERS, TEST_ENV, type TestApp } from './helpers/test-app';
import { until } from './helpers/until';

const ADMIN = { 'X-API-Key': TEST_ENV.ADMIN_API_KEY };
/** Events of 256 KiB each, 20 MiB in all: more than the kernel's socket buffers on both ends take from a stalled reader. */
const EVENTS = 80;

/**
 * A live SSE client that stops reading must not make wa-hub buffer the event log for it without bound: when a
 * batch is due while more than EVENT_STREAM_MAX_BUFFER_BYTES still wait for it, the stream is closed;
 * reconnecting with `Last-Event-ID` gives every event after the last one it had, none missed, however large the
 * catch-up (its pages wait for the socket to drain instead), and after it the stream is live.
 */
describe('a live stream whose client stops reading (e2e)', () => {
  let t: TestApp;
  let port: number;

  beforeAll(async () => {
    t = await createTestApp({
      EVENT_STREAM_MAX_BUFFER_BYTES: String(64 * 1024),
      ...NO_WORKERS,
    });
    await t.app.listen(0, '127.0.0.1');
    port = (t.app.getHttpServer().address() as AddressInfo).port;
  });
  afterAll(() => t?.close());

  it('is closed once 64 KiB wait for it, and a resume with Last-Event-ID gets every event', async () => {
    const [{ id: before }] = (await t.db.query(`SELECT COALESCE(max(id), 0)::text AS id FROM events`)) as { id: string }[];
    // A client that reads the stream's first bytes (`: connected`, the subscription is live) and then no more.
    const metrics = t.app.get(Metrics);
    const req = httpRequest({ host: '127.0.0.1', port, path: '/v1/events/stream', headers: { accept: 'text/event-stream', ...ADMIN } });
    req.on('error', () => undefined);
    await new Promise<void>((resolve) => {
      req.on('response', (res: IncomingMessage) => {
        res.on('error', () => undefined);
        res.once('data', () => {
          res.pause();
          resolve();
        });
      });
      req.end();
    });
    const dropped = async () => (await metrics.eventStreamsDropped.get()).values.find((v) => v.labels.transport === 'sse')?.value ?? 0;
    const subscribers = async () => (await metrics.eventSubscribers.get()).values[0]?.value ?? 0;
    expect([await dropped(), await subscribers()]).toEqual([0, 1]);
    await t.db.query(
      `INSERT INTO events (type, data) SELECT 'session.status', jsonb_build_object('n', g, 'pad', repeat('x', 262144))
       FROM generate_series(1, ${EVENTS}) g`,
    );
    // The limit is looked at when a batch is due (the one before it is written whole): more events keep coming.
    // The server lets go of the stream (what its socket still holds is the kernel's to send, then the FIN).
    let more = 0;
    await until(
      'the stalled stream closed by the server',
      async () => {
        if ((await dropped()) === 1 && (await subscribers()) === 0) return true;
        await t.db.query(`INSERT INTO events (type, data) VALUES ('session.status', $1::jsonb)`, [JSON.stringify({ more: ++more })]);
        return undefined;
      },
      30_000,
    );
    req.destroy();

    const resumed = await openStream(port, '/v1/events/stream', { ...ADMIN, 'Last-Event-ID': before });
    try {
      await until('every event after the resume point', async () => (resumed.events.length >= EVENTS + more ? true : undefined), 30_000);
      const data = resumed.events.map((e) => e.data.data as { n?: number; more?: number });
      expect(data.slice(0, EVENTS).map((d) => d.n)).toEqual(Array.from({ length: EVENTS }, (_, i) => i + 1));
      expect(data.slice(EVENTS).map((d) => d.more)).toEqual(Array.from({ length: more }, (_, i) => i + 1));
      // Live after the catch-up: its 20 MiB page drained and the stream went on (it once waited for a 'drain' the
      // response never emits for a chunk written to its socket directly).
      await t.db.query(`INSERT INTO events (type, data) VALUES ('session.status', '{"after": true}'::jsonb)`);
      await until('a live event after the catch-up', async () => (resumed.events.length > EVENTS + more ? true : undefined), 10_000);
    } finally {
      resumed.close();
    }
  }, 90_000);
});
