// Subscribers for `npm run bench:events` (issue 12), forked by bench/events.mjs so that parsing what they receive does
// not share wa-hub's event loop: BENCH_SSE Server-Sent Events clients on GET /v1/events/stream and BENCH_IO Socket.IO
// clients (path /socket.io, websocket transport, `auth: {apiKey}`), all with the same read key and no filter.
// Each subscriber counts every `message.received` event whose externalId is `<prefix><n>` in a per-subscriber
// Uint8Array indexed by n, remembers when it arrived (wall clock, ms, sub-millisecond: performance.timeOrigin + now())
// and checks that event ids only grow. The first client of this process to see event n parses its occurredAt once.
// Messages: parent → child {cmd: 'connect', prefix, capacity, keepTimes} (answers {connected, failed, ms}),
// {cmd: 'count'} (answers {deliveries, min}), {cmd: 'report', sendTimes, ackTimes, expected} (answers per-kind histograms and
// per-subscriber missed/duplicate/extra counts), {cmd: 'close'} (answers {closed}).
// Env: BENCH_URL, BENCH_KEY, BENCH_SSE, BENCH_IO.
import http from 'node:http';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { io } from 'socket.io-client';

const url = new URL(process.env.BENCH_URL);
const KEY = process.env.BENCH_KEY;
const SSE = Number(process.env.BENCH_SSE ?? 250);
const IO = Number(process.env.BENCH_IO ?? 250);
/** Histogram bin width (ms) and range: latencies above the range land in the last bin. */
const BIN_MS = 0.25;
const BINS = Math.ceil(60_000 / BIN_MS);
const now = () => performance.timeOrigin + performance.now();

let subs = [];
let prefix = '';
let capacity = 0;
let keepTimes = false;
let base = 0;
/** occurredAt (ms) of event n, parsed by the first subscriber of this process that received it. */
let occurred = new Float64Array(0);
/** Latency from occurredAt, per kind, filled as events arrive. */
let occurredHist = { sse: new Uint32Array(BINS), io: new Uint32Array(BINS) };
const loop = monitorEventLoopDelay({ resolution: 10 });

const bin = (ms) => Math.max(0, Math.min(BINS - 1, Math.floor(ms / BIN_MS)));

function newSub(kind) {
  return {
    kind,
    counts: new Uint8Array(capacity),
    times: keepTimes ? new Float32Array(capacity) : null,
    lastId: 0,
    outOfOrder: 0,
    foreign: 0,
    deliveries: 0,
    close: () => {},
  };
}

/** One `message.received` delivery to `sub`. */
function received(sub, id, externalId, occurredAt, at) {
  if (id <= sub.lastId) sub.outOfOrder++;
  sub.lastId = id;
  if (typeof externalId !== 'string' || !externalId.startsWith(prefix)) {
    sub.foreign++;
    return;
  }
  const n = Number(externalId.slice(prefix.length));
  if (!(n >= 0 && n < capacity)) {
    sub.foreign++;
    return;
  }
  sub.deliveries++;
  if (sub.counts[n] < 255) sub.counts[n]++;
  if (sub.times && sub.counts[n] === 1) sub.times[n] = at - base;
  let o = occurred[n];
  if (o === 0) o = occurred[n] = typeof occurredAt === 'string' ? Date.parse(occurredAt) : Date.parse(occurredAt());
  occurredHist[sub.kind][bin(at - o)]++;
}

const EXTERNAL = '"externalId":"';
const OCCURRED = '"occurredAt":"';

/** An SSE subscriber; resolves once the server wrote `: connected` (the subscription is live). */
function openSse() {
  const sub = newSub('sse');
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: '/v1/events/stream',
        headers: { accept: 'text/event-stream', 'x-api-key': KEY },
        agent: false,
      },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(new Error(`SSE answered ${res.statusCode}`));
          return;
        }
        res.setEncoding('utf8');
        let buffer = '';
        let live = false;
        res.on('data', (chunk) => {
          const at = now();
          buffer = buffer ? buffer + chunk : chunk;
          let start = 0;
          let end;
          while ((end = buffer.indexOf('\n\n', start)) >= 0) {
            const block = buffer.slice(start, end);
            start = end + 2;
            if (block.charCodeAt(0) === 58 /* ':' */) {
              if (!live && block === ': connected') {
                live = true;
                resolve(sub);
              }
              continue;
            }
            if (!block.includes('\nevent: message.received\n')) continue;
            const id = Number(block.slice(4, block.indexOf('\n')));
            const e = block.indexOf(EXTERNAL);
            const externalId = e < 0 ? undefined : block.slice(e + EXTERNAL.length, block.indexOf('"', e + EXTERNAL.length));
            received(
              sub,
              id,
              externalId,
              () => {
                const o = block.indexOf(OCCURRED) + OCCURRED.length;
                return block.slice(o, o + 24);
              },
              at,
            );
          }
          buffer = start < buffer.length ? buffer.slice(start) : '';
        });
        res.on('error', () => {});
        res.on('close', () => {
          if (!sub.closed) sub.lost = 'stream closed';
        });
      },
    );
    req.on('error', (e) => (sub.closed ? undefined : reject(e)));
    req.end();
    sub.close = () => {
      sub.closed = true;
      req.destroy();
    };
  });
}

/** A Socket.IO subscriber; resolves on `ready` (the subscription is live). */
function openIo() {
  const sub = newSub('io');
  return new Promise((resolve, reject) => {
    const socket = io(url.origin, {
      path: '/socket.io',
      transports: ['websocket'],
      auth: { apiKey: KEY },
      reconnection: false,
      forceNew: true,
    });
    socket.once('ready', () => resolve(sub));
    socket.once('connect_error', reject);
    socket.on('message.received', (e) => received(sub, Number(e.id), e.data?.externalId, e.occurredAt, now()));
    socket.on('disconnect', (reason) => {
      if (!sub.closed) sub.lost = reason;
    });
    sub.close = () => {
      sub.closed = true;
      socket.disconnect();
    };
  });
}

function histogram(hist) {
  const pairs = [];
  for (let i = 0; i < hist.length; i++) if (hist[i]) pairs.push([i, hist[i]]);
  return pairs;
}

function report(sendTimes, ackTimes, expected) {
  const sent = { sse: new Uint32Array(BINS), io: new Uint32Array(BINS) };
  // ack → client may be negative (the event can reach a client before the ack reaches the sender): offset by 10 s.
  const acked = new Uint32Array(BINS);
  const expectedSet = new Uint8Array(capacity);
  for (const n of expected) if (n < capacity) expectedSet[n] = 1;
  const missedSample = [];
  const perSub = subs.map((s) => {
    let missed = 0;
    let duplicates = 0;
    let extra = 0;
    for (let n = 0; n < capacity; n++) {
      const c = s.counts[n];
      if (expectedSet[n]) {
        if (c === 0) {
          missed++;
          if (missedSample.length < 10) missedSample.push(`${s.kind} ${n}`);
        } else {
          if (c > 1) duplicates += c - 1;
          if (s.times && sendTimes?.[n]) sent[s.kind][bin(base + s.times[n] - sendTimes[n])]++;
          if (s.times && ackTimes?.[n]) acked[bin(10_000 + base + s.times[n] - ackTimes[n])]++;
        }
      } else if (c) extra += c;
    }
    return { kind: s.kind, missed, duplicates, extra, outOfOrder: s.outOfOrder, foreign: s.foreign, lost: s.lost ?? null };
  });
  return {
    binMs: BIN_MS,
    sent: { sse: histogram(sent.sse), io: histogram(sent.io) },
    acked: histogram(acked),
    occurred: { sse: histogram(occurredHist.sse), io: histogram(occurredHist.io) },
    perSub,
    missedSample,
    loopDelayP99: loop.percentile(99) / 1e6,
    loopDelayMax: loop.max / 1e6,
    cpu: process.cpuUsage(),
  };
}

process.on('message', async (m) => {
  if (m.cmd === 'connect') {
    ({ prefix, capacity, keepTimes } = m);
    base = now();
    occurred = new Float64Array(capacity);
    occurredHist = { sse: new Uint32Array(BINS), io: new Uint32Array(BINS) };
    subs = [];
    const started = now();
    let failed = 0;
    const kinds = [...Array(SSE).fill(openSse), ...Array(IO).fill(openIo)];
    // 25 at a time, so the handshakes do not all land on the server in one tick.
    for (let i = 0; i < kinds.length; i += 25) {
      const settled = await Promise.allSettled(kinds.slice(i, i + 25).map((open) => open()));
      for (const s of settled) {
        if (s.status === 'fulfilled') subs.push(s.value);
        else failed++;
      }
    }
    loop.reset();
    loop.enable();
    process.send({ connected: subs.length, failed, ms: now() - started });
  } else if (m.cmd === 'count') {
    let deliveries = 0;
    let min = Infinity;
    for (const s of subs) {
      deliveries += s.deliveries;
      min = Math.min(min, s.deliveries);
    }
    process.send({ deliveries, min: subs.length ? min : 0 });
  } else if (m.cmd === 'report') {
    process.send(report(m.sendTimes, m.ackTimes, m.expected));
  } else if (m.cmd === 'close') {
    loop.disable();
    for (const s of subs) s.close();
    subs = [];
    process.send({ closed: true });
  }
});
process.send({ ready: true });
