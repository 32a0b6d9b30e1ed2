/**
 * Baileys sessions at scale (benchmark, not a test): `npm run bench:baileys`
 * (= `vitest run --config bench/vitest.baileys.config.mts`).
 *
 * One wa-hub app (the real AppModule, in this process) runs BENCH_SESSIONS (default 50) Baileys sessions against the
 * fake WhatsApp Web server (test/fakes/whatsapp-web). It measures
 *  1. start-to-connected per session (POST /v1/sessions → QR → phone scan → 515 → login → `connected`) and the RSS
 *     the sessions cost;
 *  2. inbound load: one peer per session, all peers together sending BENCH_RATE (default 500) texts/s, paced evenly,
 *     for BENCH_SECONDS (default 10); per message the time the Baileys client acked the stanza (its receipt) and the time its row
 *     became visible in `messages`.
 * It asserts only that every message sent became a row. Database: PostgreSQL when DATABASE_URL is set (schema
 * `bench_baileys`, dropped and recreated here), else a fresh in-memory PGlite.
 *
 * One fake world per session. A FakeWhatsApp world models one account with one companion slot (one `current`
 * connection, one uploaded prekey bundle, one `linked` flag), so N sessions need N worlds. The app connects every
 * session to one BAILEYS_WA_WS_URL, so the worlds share one FakeWAServer (one port, one PKI) and a dispatcher hands
 * each connection, after its Noise handshake, to a world: a login (`username` = the account's PN) to the world of
 * that account (every world has its own PN/LID), a registration (QR) connection to a world that is neither linked
 * nor holding a registration connection. The phone that scans a QR is the world whose registration connection has
 * the QR's Noise key.
 *
 * Memory: the fakes live in this process. RSS is read (after global.gc()) with the app booted, again after the N
 * worlds exist (nothing linked: the fakes' idle share), and after every session is connected. Per session =
 * (connected − before the worlds − fakes' idle share) / N. What the worlds keep per linked client (the uploaded prekey
 * bundle, the Signal sessions of the phone) is not in the idle share: the heap figure says how large that can be.
 */
import { Client } from 'pg';
import { performance } from 'node:perf_hooks';
import { EventEmitter } from 'node:events';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FakeWAServer,
  FakeWhatsApp,
  makeFakePki,
  parsePairingQr,
  trustFakeRoot,
  type FakeConnection,
  type FakePeer,
} from '../test/fakes/whatsapp-web';
import { createTestApp, TEST_ENV, type TestApp } from '../test/helpers/test-app';

const SESSIONS = Number(process.env.BENCH_SESSIONS) || 50;
const SECONDS = Number(process.env.BENCH_SECONDS) || 10;
const RATE = Number(process.env.BENCH_RATE) || 500;
const SCHEMA = 'bench_baileys';
const ADMIN = { 'X-API-Key': TEST_ENV.ADMIN_API_KEY };
const STATE_POLL_MS = 50;
const ROW_POLL_MS = 20;
const LINK_TIMEOUT_MS = 150_000;
const DRAIN_TIMEOUT_MS = 60_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mb = (bytes: number) => bytes / 1024 / 1024;
const gc = () => (globalThis as { gc?: () => void }).gc?.();

function memory() {
  gc();
  gc();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed, external: m.external + m.arrayBuffers };
}

function percentile(values: number[], p: number): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '-');

/**
 * Stands in for the FakeWAServer of one world: the world only subscribes to `connection`, reads `url`/`pki` and calls
 * `close()`; the shared server's connections reach it through {@link Dispatcher}.
 */
class WorldPort extends EventEmitter {
  constructor(private readonly shared: FakeWAServer) {
    super();
  }
  get url(): string {
    return this.shared.url;
  }
  get pki() {
    return this.shared.pki;
  }
  async close(): Promise<void> {}
}

interface BenchWorld {
  index: number;
  world: FakeWhatsApp;
  port: WorldPort;
  registration: FakeConnection | undefined;
}

/** Hands each connection of the shared server to one world (see the file comment). */
class Dispatcher {
  readonly worlds: BenchWorld[] = [];
  private readonly byPn = new Map<string, BenchWorld>();
  unroutedLogins = 0;

  constructor(private readonly shared: FakeWAServer) {
    shared.on('connection', (c) => this.route(c));
  }

  add(index: number): BenchWorld {
    const port = new WorldPort(this.shared);
    const suffix = String(index).padStart(4, '0');
    const world = new FakeWhatsApp(port as unknown as FakeWAServer, [], {
      trustFakeRoot: false, // one PKI for all: trusted once, by the bench
      account: { pn: `1555100${suffix}`, lid: `20000010000${suffix}`, name: `Bench ${index}` },
    });
    const entry: BenchWorld = { index, world, port, registration: undefined };
    this.worlds.push(entry);
    this.byPn.set(world.account.pn, entry);
    return entry;
  }

  /** The world whose registration connection showed this QR. */
  worldForQr(qr: string): BenchWorld | undefined {
    const { noiseKey } = parsePairingQr(qr);
    return this.worlds.find((w) => w.registration?.isOpen && w.registration.clientStatic.equals(noiseKey));
  }

  private route(connection: FakeConnection): void {
    if (connection.isRegistration) {
      const free = this.worlds.find((w) => !w.world.linked && !w.registration?.isOpen);
      if (!free) {
        connection.close();
        return;
      }
      free.registration = connection;
      free.port.emit('connection', connection);
      return;
    }
    const target = this.byPn.get(String(connection.clientPayload.username));
    if (!target) {
      this.unroutedLogins++;
      connection.send({ tag: 'failure', attrs: { reason: '401' } });
      return;
    }
    target.port.emit('connection', connection);
  }
}

interface SessionRun {
  index: number;
  id: string;
  postedAt: number;
  qrAt?: number;
  scannedAt?: number;
  connectedAt?: number;
  world?: BenchWorld;
  peer?: FakePeer;
}

interface MessageRun {
  id: string;
  session: number;
  scheduledAt: number;
  sentAt: number;
  wiredAt?: number;
  ackAt?: number;
  rowSeenAt?: number;
  rowCreatedAt?: number;
}

describe('bench: Baileys sessions (fake WhatsApp Web)', () => {
  let t: TestApp;
  let shared: FakeWAServer;
  let restoreRoot: (() => void) | undefined;
  let dispatcher: Dispatcher;
  const sessions: SessionRun[] = [];
  const messages = new Map<string, MessageRun>();
  const results: { metric: string; value: string }[] = [];
  const note = (metric: string, value: string) => results.push({ metric, value });
  let memBoot: ReturnType<typeof memory>;
  let memWorlds: ReturnType<typeof memory>;

  const http = () => request(t.app.getHttpServer());
  const database = process.env.DATABASE_URL ? `PostgreSQL (schema ${SCHEMA})` : 'PGlite (memory)';

  beforeAll(async () => {
    const url = process.env.DATABASE_URL;
    if (url) {
      const client = new Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`);
        await client.query(`CREATE SCHEMA "${SCHEMA}"`);
      } finally {
        await client.end();
      }
    }
    const pki = makeFakePki();
    shared = await FakeWAServer.start({ pki });
    restoreRoot = trustFakeRoot(pki.root.public);
    dispatcher = new Dispatcher(shared);
    t = await createTestApp({ BAILEYS_WA_WS_URL: shared.url, ...(url ? { DB_SCHEMA: SCHEMA } : {}) });
    await t.reset();
  });

  afterAll(async () => {
    console.log(
      [
        '',
        `Baileys bench: ${SESSIONS} sessions, ${RATE} msg/s for ${SECONDS} s, ${database}`,
        ...results.map((r) => `  ${r.metric.padEnd(52)} ${r.value}`),
        '',
      ].join('\n'),
    );
    await t?.close();
    await shared?.close();
    restoreRoot?.();
  });

  it(`links ${SESSIONS} sessions`, async () => {
    memBoot = memory();
    for (let i = 0; i < SESSIONS; i++) dispatcher.add(i);
    memWorlds = memory();

    const start = performance.now();
    // All sessions at once, as after a deploy that brings N new numbers; the POSTs go out concurrently.
    await Promise.all(
      Array.from({ length: SESSIONS }, async (_, index) => {
        const postedAt = performance.now();
        const res = await http()
          .post('/v1/sessions')
          .set(ADMIN)
          .send({ provider: 'baileys', name: `bench-${index}` });
        expect(res.status).toBe(201);
        sessions.push({ index, id: res.body.id, postedAt });
      }),
    );
    sessions.sort((a, b) => a.index - b.index);
    const byId = new Map(sessions.map((s) => [s.id, s]));
    const ids = sessions.map((s) => s.id);
    // Session state is read from the sessions table (one query for all, every 50 ms) rather than GET
    // /v1/sessions/:id, which would render a QR data URL per call and load the app N×20 times a second.
    const scans: Promise<unknown>[] = [];
    const deadline = Date.now() + LINK_TIMEOUT_MS;
    while (sessions.some((s) => s.connectedAt === undefined)) {
      if (Date.now() > deadline) break;
      const rows: { id: string; status: string; qr: string | null }[] = await t.db.query(
        `SELECT id, status, qr FROM sessions WHERE id = ANY($1)`,
        [ids],
      );
      const now = performance.now();
      for (const row of rows) {
        const s = byId.get(row.id)!;
        if (row.status === 'connected' && s.connectedAt === undefined) s.connectedAt = now;
        if (row.qr && s.qrAt === undefined) {
          const w = dispatcher.worldForQr(row.qr);
          if (!w) continue; // the registration connection is not routed yet: next poll
          s.qrAt = now;
          s.world = w;
          scans.push(
            w.world.phone.scanQr(row.qr, { timeoutMs: 60_000 }).then(() => {
              s.scannedAt = performance.now();
            }),
          );
        }
      }
      await sleep(STATE_POLL_MS);
    }
    await Promise.all(scans);
    const wall = performance.now() - start;
    const memConnected = memory();

    const connected = sessions.filter((s) => s.connectedAt !== undefined);
    const toConnected = connected.map((s) => s.connectedAt! - s.postedAt);
    const toQr = sessions.filter((s) => s.qrAt !== undefined).map((s) => s.qrAt! - s.postedAt);
    const scanToConnected = connected.filter((s) => s.scannedAt !== undefined).map((s) => s.connectedAt! - s.scannedAt!);
    const fakesShare = memWorlds.rss - memBoot.rss;
    const gross = memConnected.rss - memBoot.rss;
    note('sessions connected', `${connected.length} / ${SESSIONS}`);
    note('link wall time (first POST → last connected)', `${fmt(wall / 1000, 1)} s`);
    note('start → connected p50 / p99 / max', msTriple(toConnected));
    note('  start → QR in table p50 / p99', `${fmt(percentile(toQr, 50))} / ${fmt(percentile(toQr, 99))} ms`);
    note('  QR scan done → connected p50 / p99', `${fmt(percentile(scanToConnected, 50))} / ${fmt(percentile(scanToConnected, 99))} ms`);
    note('RSS app booted (before worlds)', `${fmt(mb(memBoot.rss), 1)} MB`);
    note(`RSS fakes' idle share (${SESSIONS} worlds, nothing linked)`, `${fmt(mb(fakesShare), 1)} MB`);
    note('RSS all connected', `${fmt(mb(memConnected.rss), 1)} MB`);
    note('RSS per session, gross ((connected − booted) / N)', `${fmt(mb(gross / SESSIONS), 2)} MB`);
    note('RSS per session, net of the fakes idle share', `${fmt(mb((gross - fakesShare) / SESSIONS), 2)} MB`);
    note('heap used per session (connected − worlds) / N', `${fmt(mb((memConnected.heap - memWorlds.heap) / SESSIONS), 2)} MB`);
    if (dispatcher.unroutedLogins) note('logins for no fake account (refused)', String(dispatcher.unroutedLogins));
    expect(connected.length).toBe(SESSIONS);
  });

  it(`inbound: ${RATE} msg/s for ${SECONDS} s across the sessions, every message a row`, async () => {
    for (const s of sessions) {
      const digits = String(s.index).padStart(4, '0');
      s.peer = s.world!.world.addPeer({ pn: `1555300${digits}`, lid: `20000030000${digits}`, name: `Peer ${s.index}` });
      // rc14 acknowledges a message it decrypted with a `<receipt id>` (delivery; `type=inactive` here, as wa-hub
      // sends no active receipts), a failed one with `<ack class=message>` (a nack): either counts as the ack.
      s.world!.world.on('node', (node) => {
        if (node.tag !== 'receipt' && !(node.tag === 'ack' && node.attrs.class === 'message')) return;
        const now = performance.now();
        const list = Array.isArray(node.content) ? node.content.find((c) => c.tag === 'list') : undefined;
        const items = Array.isArray(list?.content) ? list.content.map((c) => c.attrs.id) : [];
        for (const id of [node.attrs.id, ...items]) {
          const m = id === undefined ? undefined : messages.get(id);
          if (m && m.ackAt === undefined) m.ackAt = now;
        }
      });
    }

    const total = Math.round(RATE * SECONDS);
    const pending = new Set<string>();
    let polling = true;
    let polls = 0;
    const poller = (async () => {
      while (polling) {
        const batch = [...pending];
        if (batch.length) {
          const rows: { external_id: string; created_at: Date }[] = await t.db.query(
            `SELECT external_id, created_at FROM messages WHERE external_id = ANY($1)`,
            [batch],
          );
          polls++;
          const now = performance.now();
          for (const row of rows) {
            const m = messages.get(row.external_id);
            if (!m || m.rowSeenAt !== undefined) continue;
            m.rowSeenAt = now;
            m.rowCreatedAt = new Date(row.created_at).getTime() - performance.timeOrigin;
            pending.delete(row.external_id);
          }
        }
        await sleep(ROW_POLL_MS);
      }
    })();

    const sendErrors: string[] = [];
    const start = performance.now();
    let k = 0;
    while (k < total) {
      const due = Math.min(total, Math.floor(((performance.now() - start) * RATE) / 1000) + 1);
      for (; k < due; k++) {
        const s = sessions[k % SESSIONS];
        const id = `BENCH-${s.index}-${k}`;
        const now = performance.now();
        const m: MessageRun = { id, session: s.index, scheduledAt: start + (k * 1000) / RATE, sentAt: now };
        messages.set(id, m);
        pending.add(id);
        s.peer!.sendText(`bench message ${k}`, { id }).then(
          () => {
            m.wiredAt = performance.now();
          },
          (e: unknown) => sendErrors.push(`${id}: ${(e as Error).message}`),
        );
      }
      const next = start + (k * 1000) / RATE;
      await sleep(Math.max(0, next - performance.now()));
    }
    const sendEnd = performance.now();
    const drainDeadline = Date.now() + DRAIN_TIMEOUT_MS;
    while (pending.size && Date.now() < drainDeadline) await sleep(50);
    polling = false;
    await poller;
    const drained = performance.now();

    const all = [...messages.values()];
    const rows = all.filter((m) => m.rowSeenAt !== undefined);
    const acked = all.filter((m) => m.ackAt !== undefined);
    const lastWired = Math.max(...all.map((m) => m.wiredAt ?? 0));
    const lastRow = Math.max(...rows.map((m) => m.rowSeenAt!));
    const ackToRow = rows.filter((m) => m.ackAt !== undefined).map((m) => m.rowSeenAt! - m.ackAt!);
    const ackToCreated = rows.filter((m) => m.ackAt !== undefined).map((m) => m.rowCreatedAt! - m.ackAt!);
    const sendToRow = rows.map((m) => m.rowSeenAt! - m.sentAt);
    const sendToAck = acked.map((m) => m.ackAt! - m.sentAt);
    const sendToWire = all.filter((m) => m.wiredAt !== undefined).map((m) => m.wiredAt! - m.sentAt);
    const lateness = all.map((m) => m.sentAt - m.scheduledAt);

    note('messages sent / acked by client / rows', `${all.length} / ${acked.length} / ${rows.length}`);
    note('send errors (fake side)', String(sendErrors.length));
    note('rate scheduled (sendText calls over the window)', `${fmt(total / ((sendEnd - start) / 1000), 0)} msg/s`);
    note('rate on the wire (stanzas written / (last − start))', `${fmt(all.length / ((lastWired - start) / 1000), 0)} msg/s`);
    note('rate held end to end (rows / (last row − start))', `${fmt(rows.length / ((lastRow - start) / 1000), 0)} msg/s`);
    note('pacing lateness p99 (sendText call − schedule)', `${fmt(percentile(lateness, 99), 1)} ms`);
    note('fake: sendText → stanza written p50 / p99', `${fmt(percentile(sendToWire, 50), 1)} / ${fmt(percentile(sendToWire, 99), 1)} ms`);
    note('client: sendText → its receipt (the ack) p50/p99/max', msTriple(sendToAck));
    note('ack → row visible (poll 20 ms) p50 / p99 / max', msTriple(ackToRow));
    note('ack → row created_at p50 / p99 / max', msTriple(ackToCreated));
    note('sendText → row visible p50 / p99 / max', msTriple(sendToRow));
    note('row polls / drain after the last send', `${polls} / ${fmt((drained - sendEnd) / 1000, 1)} s`);
    note('target ack → row p99 < 1000 ms', percentile(ackToRow, 99) < 1000 ? 'met' : 'NOT met');
    if (sendErrors.length) console.log(sendErrors.slice(0, 5).join('\n'));

    expect(sendErrors).toEqual([]);
    expect([...pending]).toEqual([]);
    expect(rows.length).toBe(total);
  });
});

function msTriple(values: number[]): string {
  return `${fmt(percentile(values, 50))} / ${fmt(percentile(values, 99))} / ${fmt(Math.max(...values))} ms`;
}
