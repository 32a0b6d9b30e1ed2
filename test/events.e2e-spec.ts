import type { AddressInfo } from 'node:net';
import { io as ioClient } from 'socket.io-client';
import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadFixture } from './helpers/fixtures';
import { postMeta, withFreshIds } from './helpers/http';
import { openStream } from './helpers/sse';
import { createTestApp, TEST_ENV, type TestApp } from './helpers/test-app';
import { until } from './helpers/until';

const ADMIN = { 'X-API-Key': TEST_ENV.ADMIN_API_KEY };

const metaText = (suffix: string) => withFreshIds(loadFixture('meta/inbound/text.json'), suffix);

describe('the event log: GET /v1/events and the SSE stream (e2e)', () => {
  let t: TestApp;
  let port: number;
  beforeAll(async () => {
    t = await createTestApp();
    port =
      (t.app.getHttpServer().address() as AddressInfo | null)?.port ??
      (await new Promise<number>((r) => t.app.getHttpServer().listen(0, () => r((t.app.getHttpServer().address() as AddressInfo).port))));
  });
  afterAll(() => t.close());
  beforeEach(() => t.reset());

  it('a signed webhook writes message.received with the message; statuses write message.updated', async () => {
    expect((await postMeta(t.app, metaText('e1'))).status).toBe(200);
    const page = await request(t.app.getHttpServer()).get('/v1/events').set(ADMIN);
    expect(page.status).toBe(200);
    const received = page.body.data.filter((e: { type: string }) => e.type === 'message.received');
    expect(received).toHaveLength(1);
    const [row] = await t.db.query(`SELECT id::text, external_id, session_id FROM messages`);
    expect(received[0]).toMatchObject({
      sessionId: row.session_id,
      data: { messageId: row.id, externalId: row.external_id, direction: 'in', type: 'text' },
    });
    expect(page.body.nextAfter).toBe(page.body.data[page.body.data.length - 1].id);
    const next = await request(t.app.getHttpServer()).get(`/v1/events?after=${page.body.nextAfter}`).set(ADMIN);
    expect(next.body.data).toEqual([]);
  });

  it('SSE: a live event arrives; after a disconnect, Last-Event-ID replays every missed event exactly once', async () => {
    const first = await openStream(port, '/v1/events/stream?types=message.received', ADMIN);
    expect(first.status).toBe(200);
    await postMeta(t.app, metaText('live-1'));
    await until('the live event', async () => (first.events.length === 1 ? true : undefined));
    const lastSeen = first.events[0].id;
    first.close();
    for (const n of [2, 3, 4]) await postMeta(t.app, metaText(`live-${n}`));
    const second = await openStream(port, '/v1/events/stream?types=message.received', { ...ADMIN, 'Last-Event-ID': lastSeen });
    await postMeta(t.app, metaText('live-5'));
    await until('the missed and the new events', async () => (second.events.length >= 4 ? true : undefined));
    second.close();
    const externalIds = second.events.map((e) => e.data.data.externalId);
    expect(new Set(externalIds).size).toBe(4); // exactly once each
    expect(second.events.map((e) => BigInt(e.id))).toEqual([...second.events.map((e) => BigInt(e.id))].sort((a, b) => (a < b ? -1 : 1)));
    expect(second.events.every((e) => BigInt(e.id) > BigInt(lastSeen))).toBe(true);
  });

  it('a session-limited key sees only its sessions; no key is 401', async () => {
    await postMeta(t.app, metaText('k1'));
    const [{ id: sessionId }] = await t.db.query(`SELECT id FROM sessions`);
    const make = async (sessionIds: string[]) =>
      (
        await request(t.app.getHttpServer())
          .post('/v1/api-keys')
          .set(ADMIN)
          .send({ name: 'scoped', scopes: ['read'], sessionIds })
      ).body.secret as string;
    const mine = await make([sessionId]);
    const other = await make(['00000000-0000-4000-8000-000000000000']);
    expect((await request(t.app.getHttpServer()).get('/v1/events').set('X-API-Key', mine)).body.data.length).toBeGreaterThan(0);
    expect((await request(t.app.getHttpServer()).get('/v1/events').set('X-API-Key', other)).body.data).toEqual([]);
    expect((await request(t.app.getHttpServer()).get('/v1/events')).status).toBe(401);
    expect((await openStream(port, '/v1/events/stream', {})).status).toBe(401);
  });
});

describe('the event log over Socket.IO (e2e)', () => {
  let t: TestApp;
  let url: string;
  beforeAll(async () => {
    t = await createTestApp();
    const server = t.app.getHttpServer();
    if (!server.listening) await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => t.close());
  beforeEach(() => t.reset());

  const connect = (auth: Record<string, string>) =>
    ioClient(url, { path: '/socket.io', transports: ['websocket'], auth, reconnection: false, forceNew: true });

  it('a read key receives each event under its type and seed s2 message; lastEventId resumes with nothing missed', async () => {
    const socket = connect({ apiKey: TEST_ENV.ADMIN_API_KEY, types: 'message.received' });
    // `ready`: the server-side subscription is live, every later event reaches this socket.
    await new Promise<void>((resolve, reject) => {
      socket.once('ready', () => resolve());
      socket.once('connect_error', reject);
    });
    const received: { id: string; data: { externalId: string } }[] = [];
    const seed: unknown[] = [];
    socket.on('message.received', (e) => received.push(e));
    socket.on('message', (m) => seed.push(m));
    await postMeta(t.app, metaText('io-1'));
    // The seed s2 `message` packet is a packet of its own after the typed one: waited for too, not assumed to have
    // arrived with it.
    await until('the live event', async () => (received.length === 1 && seed.length > 0 ? true : undefined));
    expect(seed).toEqual([expect.objectContaining({ from: expect.any(String), message: expect.any(String) })]);
    const lastSeen = received[0].id;
    socket.disconnect();
    await postMeta(t.app, metaText('io-2'));
    await postMeta(t.app, metaText('io-3'));
    const again = connect({ apiKey: TEST_ENV.ADMIN_API_KEY, types: 'message.received', lastEventId: lastSeen });
    const replayed: { id: string }[] = [];
    again.on('message.received', (e) => replayed.push(e));
    await until('the missed events', async () => (replayed.length >= 2 ? true : undefined));
    again.disconnect();
    expect(replayed).toHaveLength(2);
    expect(replayed.every((e) => BigInt(e.id) > BigInt(lastSeen))).toBe(true);
  });

  it('without a key the connection is refused', async () => {
    const socket = connect({});
    const reason = await new Promise<string>((resolve) => socket.once('disconnect', (r) => resolve(r)));
    expect(reason).toBe('io server disconnect');
  });
});

/** Two wa-hub apps on one PostgreSQL database: a client of one gets the events the other wrote. */
describe.runIf(process.env.DATABASE_URL)('events across processes (e2e, PostgreSQL)', () => {
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    a = await createTestApp();
    await a.reset();
    b = await createTestApp();
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it('a webhook received by A reaches a Socket.IO client and an SSE client of B', async () => {
    const server = b.app.getHttpServer();
    if (!server.listening) await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as AddressInfo).port;
    const socket = ioClient(`http://127.0.0.1:${port}`, {
      path: '/socket.io',
      transports: ['websocket'],
      auth: { apiKey: TEST_ENV.ADMIN_API_KEY },
      forceNew: true,
    });
    await new Promise<void>((resolve) => socket.once('ready', () => resolve()));
    const got: { data: { externalId: string } }[] = [];
    socket.on('message.received', (e) => got.push(e));
    const sse = await openStream(port, '/v1/events/stream?types=message.received', ADMIN);
    await postMeta(a.app, metaText('cross-1'));
    await until('the event on B', async () => (got.length === 1 && sse.events.length === 1 ? true : undefined));
    socket.disconnect();
    sse.close();
    expect(got[0].data.externalId).toBe(sse.events[0].data.data.externalId);
  });
});
