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
 * The fake (bench/baileys-fake-fleet.ts: one fake world per session behind one FakeWAServer, and the peers that
 * send the load) runs in a child process: it is WhatsApp's network edge, another machine in reality, so its
 * Signal encryption and Noise framing are not charged to wa-hub's event loop. `BENCH_FAKES=inline` runs it in this
 * process instead (the earlier set-up, for comparison). Times cross the process boundary as epoch milliseconds
 * (same host, same clock): the ack is when the client's receipt reached the fake, the row when this process saw it
 * in `messages`.
 *
 * Memory: RSS of this process (wa-hub, Baileys; with BENCH_FAKES=inline the fakes too) is read (after global.gc())
 * with the app booted, again after the N worlds exist, and after every session is connected. Per session =
 * (connected − before the worlds − fakes' idle share) / N; the fakes' idle share is 0 when they run in the child,
 * whose own RSS is printed apart. What the worlds keep per linked client (the prekey bundle, the phone's Signal
 * sessions) is not in the idle share: inline, the heap figure says how large that can be.
 */
import { Client } from 'pg';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trustFakeRoot } from '../test/fakes/whatsapp-web';
import { epochNow, FakeFleet, forkFakeFleet, type FakeFleetApi, type FleetMessage } from './baileys-fake-fleet';
import { createTestApp, TEST_ENV, type TestApp } from '../test/helpers/test-app';

const SESSIONS = Number(process.env.BENCH_SESSIONS) || 50;
const SECONDS = Number(process.env.BENCH_SECONDS) || 10;
const RATE = Number(process.env.BENCH_RATE) || 500;
const INLINE = process.env.BENCH_FAKES === 'inline';
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

interface SessionRun {
  index: number;
  id: string;
  postedAt: number;
  qrAt?: number;
  scanning?: boolean;
  scannedAt?: number;
  connectedAt?: number;
  world?: number;
}

/** A message of the load: what the fake saw, and when this process saw its row. Times: epoch ms. */
interface MessageRun extends FleetMessage {
  rowSeenAt?: number;
  rowCreatedAt?: number;
}

describe('bench: Baileys sessions (fake WhatsApp Web)', () => {
  let t: TestApp;
  let fleet: FakeFleetApi;
  let restoreRoot: (() => void) | undefined;
  const sessions: SessionRun[] = [];
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
    fleet = INLINE ? await FakeFleet.start() : await forkFakeFleet();
    restoreRoot = trustFakeRoot(fleet.rootPublicKey);
    t = await createTestApp({ BAILEYS_WA_WS_URL: fleet.url, ...(url ? { DB_SCHEMA: SCHEMA } : {}) });
    await t.reset();
  });

  afterAll(async () => {
    console.log(
      [
        '',
        `Baileys bench: ${SESSIONS} sessions, ${RATE} msg/s for ${SECONDS} s, ${database}, fakes ${INLINE ? 'in this process' : 'in a child process'}`,
        ...results.map((r) => `  ${r.metric.padEnd(52)} ${r.value}`),
        '',
      ].join('\n'),
    );
    await t?.close();
    await fleet?.close();
    restoreRoot?.();
  });

  it(`links ${SESSIONS} sessions`, async () => {
    memBoot = memory();
    await fleet.addWorlds(SESSIONS);
    memWorlds = memory();

    const start = epochNow();
    // All sessions at once, as after a deploy that brings N new numbers; the POSTs go out concurrently.
    await Promise.all(
      Array.from({ length: SESSIONS }, async (_, index) => {
        const postedAt = epochNow();
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
      const now = epochNow();
      for (const row of rows) {
        const s = byId.get(row.id)!;
        if (row.status === 'connected' && s.connectedAt === undefined) s.connectedAt = now;
        if (row.qr && s.qrAt === undefined && !s.scanning) {
          s.scanning = true;
          scans.push(
            fleet.scan(row.qr).then((r) => {
              s.scanning = false;
              if (!r) return; // the registration connection is not routed yet: next poll
              s.qrAt = now;
              s.world = r.world;
              s.scannedAt = r.scannedAt;
            }),
          );
        }
      }
      await sleep(STATE_POLL_MS);
    }
    await Promise.all(scans);
    const wall = epochNow() - start;
    const memConnected = memory();
    const fleetMem = await fleet.memory();

    const connected = sessions.filter((s) => s.connectedAt !== undefined);
    const toConnected = connected.map((s) => s.connectedAt! - s.postedAt);
    const toQr = sessions.filter((s) => s.qrAt !== undefined).map((s) => s.qrAt! - s.postedAt);
    const scanToConnected = connected.filter((s) => s.scannedAt !== undefined).map((s) => s.connectedAt! - s.scannedAt!);
    const fakesShare = INLINE ? memWorlds.rss - memBoot.rss : 0; // in the child, the worlds cost this process nothing
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
    if (!INLINE) note('fake child process RSS / heap (all linked)', `${fmt(mb(fleetMem.rss), 1)} / ${fmt(mb(fleetMem.heap), 1)} MB`);
    const unrouted = await fleet.unroutedLogins();
    if (unrouted) note('logins for no fake account (refused)', String(unrouted));
    expect(connected.length).toBe(SESSIONS);
  });

  it(`inbound: ${RATE} msg/s for ${SECONDS} s across the sessions, every message a row`, async () => {
    const total = Math.round(RATE * SECONDS);
    const pending = new Set<string>();
    const seen = new Map<string, { rowSeenAt: number; rowCreatedAt: number }>();
    let sentCount = 0;
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
          const now = epochNow();
          for (const row of rows) {
            if (!pending.delete(row.external_id)) continue;
            seen.set(row.external_id, { rowSeenAt: now, rowCreatedAt: new Date(row.created_at).getTime() });
          }
        }
        await sleep(ROW_POLL_MS);
      }
    })();

    const { startedAt: start, prekeysWaitMs } = await fleet.load(
      { rate: RATE, seconds: SECONDS, worlds: sessions.map((s) => s.world!) },
      (ids) => {
        sentCount += ids.length;
        for (const id of ids) pending.add(id);
      },
    );
    const sendEnd = epochNow();
    const drainDeadline = Date.now() + DRAIN_TIMEOUT_MS;
    while ((pending.size || sentCount < total) && Date.now() < drainDeadline) await sleep(50);
    polling = false;
    await poller;
    const drained = epochNow();

    const all: MessageRun[] = (await fleet.results()).map((m) => ({ ...m, ...seen.get(m.id) }));
    const sendErrors = all.filter((m) => m.error !== undefined).map((m) => `${m.id}: ${m.error}`);
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

    note('wait for every client prekey upload before the load', `${fmt(prekeysWaitMs)} ms`);
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
