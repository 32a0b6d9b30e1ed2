// Subscribers for `npm run bench:events` (issue 12), forked by bench/events.mjs so that parsing what they receive does
// not share wa-hub's event loop: BENCH_SSE Server-Sent Events clients on GET /v1/events/stream and BENCH_IO Socket.IO
// clients (path /socket.io, engine.io 4 over the WebSocket transport, `auth: {apiKey}`, spoken here on the upgraded
// socket rather than through socket.io-client: its per-packet decoding and event emitter cost more CPU than wa-hub's
// whole delivery, and on a 2-core host the clients then starve the server they measure), all with the same read key
// and no filter. Each subscriber counts every `message.received` event whose externalId is `<prefix><n>` in a
// per-subscriber Uint8Array indexed by n, remembers when it arrived (wall clock, ms, sub-millisecond:
// performance.timeOrigin + now()) and checks that event ids only grow. Each subscriber finds every event in its own
// bytes and reads its id; what the id carries (wamid, occurredAt) is parsed once per process (see numberOf).
// Messages: parent → child {cmd: 'connect', prefix, capacity, keepTimes, measuredFrom} (answers {connected, failed, ms}),
// {cmd: 'count'} (answers {deliveries, min}), {cmd: 'report', sendTimes, ackTimes, expected} (answers per-kind histograms and
// per-subscriber missed/duplicate/extra counts), {cmd: 'close'} (answers {closed}).
// Env: BENCH_URL, BENCH_KEY, BENCH_SSE, BENCH_IO.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';

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
/** Events n below this are the warm-up: counted for missed/duplicates, left out of the latency figures. */
let measuredFrom = 0;
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
    /** An unfinished SSE block or WebSocket frame at the end of the last read (see feed). */
    rest: null,
    close: () => {},
  };
}

const EXTERNAL = '"externalId":"';
const OCCURRED = '"occurredAt":"';

/**
 * Per event id, the run's wamid number n it carries (-1: not this run's), read from the bytes of the first
 * subscriber of this process that received it (its occurredAt too); the others read only the id from their bytes.
 */
let known = new Map();

const wamidNumber = (externalId) => {
  if (!externalId.startsWith(prefix)) return -1;
  const n = Number(externalId.slice(prefix.length));
  return n >= 0 && n < capacity ? n : -1;
};

/** The decimal digits at b[i..] as a number. */
function digits(b, i) {
  let v = 0;
  for (let c = b[i]; c >= 48 && c <= 57; c = b[++i]) v = v * 10 + (c - 48);
  return v;
}

/** The wamid number of event `id`, whose JSON is b[from, to), parsed the first time this process sees the id. */
function numberOf(id, b, from, to) {
  let n = known.get(id);
  if (n !== undefined) return n;
  const s = b.latin1Slice(from, to);
  const e = s.indexOf(EXTERNAL);
  n = e < 0 ? -1 : wamidNumber(s.slice(e + EXTERNAL.length, s.indexOf('"', e + EXTERNAL.length)));
  if (n >= 0 && occurred[n] === 0) {
    const o = s.indexOf(OCCURRED) + OCCURRED.length;
    occurred[n] = Date.parse(s.slice(o, o + 24));
  }
  known.set(id, n);
  return n;
}

/** One `message.received` event (id, wamid number n) received by `sub` at `at`. */
function deliver(sub, id, n, at) {
  if (id <= sub.lastId) sub.outOfOrder++;
  sub.lastId = id;
  if (n < 0) {
    sub.foreign++;
    return;
  }
  sub.deliveries++;
  if (sub.counts[n] < 255) sub.counts[n]++;
  if (sub.times && sub.counts[n] === 1) sub.times[n] = at - base;
  if (n >= measuredFrom) occurredHist[sub.kind][bin(at - occurred[n])]++;
}

/** Whether b[at..] starts with the bytes of `text` (ASCII); a JS loop: Buffer.compare's native call costs more here. */
function startsWith(b, at, text) {
  if (at + text.length > b.length) return false;
  for (let i = 0; i < text.length; i++) if (b[at + i] !== text[i]) return false;
  return true;
}
const bytes = (s) => Uint8Array.from(Buffer.from(s, 'latin1'));
const BLANK_LINE = Buffer.from('\n\n');
const SSE_ID = bytes('id: ');
const SSE_TYPE = bytes('event: message.received\n');
const SSE_CONNECTED = bytes(': connected');

/**
 * Consumes the whole SSE blocks of `b` from `start` (`id:`, `event:`, `data:` lines, or a `:` comment); returns
 * where the rest starts.
 */
function sseBlocks(sub, b, start, at, onControl) {
  let end;
  while ((end = b.indexOf(BLANK_LINE, start)) >= 0) {
    if (b[start] === 0x3a /* ':' */) {
      if (startsWith(b, start, SSE_CONNECTED)) onControl('connected');
    } else if (startsWith(b, start, SSE_ID)) {
      const nl = b.indexOf(0x0a, start);
      if (nl + 1 + SSE_TYPE.length <= end && startsWith(b, nl + 1, SSE_TYPE)) {
        const id = digits(b, start + 4);
        deliver(sub, id, numberOf(id, b, nl + 1 + SSE_TYPE.length, end), at);
      }
    }
    start = end + 2;
  }
  return start;
}

const IO_EVENT = bytes('42["message.received",{"id":"');
const IO_READY = bytes('42["ready"');

/**
 * Consumes the whole WebSocket frames of `b` from `p` (server frames are unmasked, RFC 6455 §5.2), each an
 * engine.io packet: `0` open, `2` ping, `40` namespace connected, `44` refused, `42[name, payload]` an event.
 * Returns where the rest starts.
 */
function wsFrames(sub, b, p, at, onControl) {
  while (p + 2 <= b.length) {
    const op = b[p] & 0x0f;
    let len = b[p + 1] & 0x7f;
    let h = 2;
    if (len === 126) {
      if (p + 4 > b.length) break;
      len = b.readUInt16BE(p + 2);
      h = 4;
    } else if (len === 127) {
      if (p + 10 > b.length) break;
      len = Number(b.readBigUInt64BE(p + 2));
      h = 10;
    }
    const from = p + h;
    if (from + len > b.length) break;
    p = from + len;
    if (op === 8) onControl('close');
    if (op !== 1) continue;
    const t = b[from];
    const k = b[from + 1];
    if (t === 0x34 /* '4' message */ && k === 0x32 /* '2' event */) {
      if (len > IO_EVENT.length && startsWith(b, from, IO_EVENT)) {
        const id = digits(b, from + IO_EVENT.length);
        deliver(sub, id, numberOf(id, b, from, p), at);
      } else if (startsWith(b, from, IO_READY)) onControl('ready');
    } else if (t === 0x34 && k === 0x34 /* '44' connect error */) onControl('refused');
    else if (t === 0x32 /* '2' ping */) onControl('ping');
    else if (t === 0x30 /* '0' open */) onControl('open');
  }
  return p;
}

/** Bytes of a new read joined to an unfinished block or frame before the rest of the read is consumed in place. */
const JOIN = 8192;

/**
 * Feeds one read of `sub`'s connection to `consume`; `sub.rest` keeps an unfinished block or frame for the next.
 * An unfinished one is completed from the head of the read (a small copy), the rest is consumed where it lies.
 */
function feed(sub, chunk, consume, onControl) {
  const at = now();
  let b = chunk;
  let start = 0;
  if (sub.rest) {
    const rest = sub.rest;
    const head = Buffer.concat([rest, chunk.subarray(0, JOIN)]);
    const used = consume(sub, head, 0, at, onControl);
    if (used > rest.length)
      start = used - rest.length; // the unfinished one was completed: go on in the read
    else b = Buffer.concat([rest, chunk]); // longer than JOIN: join the whole read
  }
  const used = consume(sub, b, start, at, onControl);
  sub.rest = used < b.length ? b.subarray(used) : null;
}

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
        res.on('data', (chunk) => feed(sub, chunk, sseBlocks, (c) => c === 'connected' && resolve(sub)));
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

/** A client → server WebSocket text frame (masked, as RFC 6455 requires of clients; a zero mask key). */
function clientFrame(text) {
  const body = Buffer.from(text, 'utf8');
  if (body.length >= 126) throw new Error('frame too long for this client');
  return Buffer.concat([Buffer.from([0x81, 0x80 | body.length, 0, 0, 0, 0]), body]);
}

/**
 * A Socket.IO subscriber speaking the protocol itself (engine.io 4 over the WebSocket transport, as socket.io-client
 * does with `transports: ['websocket']`): `GET /socket.io/?EIO=4&transport=websocket` upgraded, then `40{apiKey}`
 * once the open packet came, a pong for every ping. Resolves on `ready` (the subscription is live).
 */
function openIo() {
  const sub = newSub('io');
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: url.hostname,
      port: url.port,
      path: '/socket.io/?EIO=4&transport=websocket',
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': randomBytes(16).toString('base64'),
      },
      agent: false,
    });
    req.on('response', (res) => {
      res.resume();
      reject(new Error(`Socket.IO upgrade answered ${res.statusCode}`));
    });
    req.on('upgrade', (res, socket, head) => {
      socket.setNoDelay(true);
      const onControl = (c) => {
        if (c === 'open') socket.write(clientFrame(`40${JSON.stringify({ apiKey: KEY })}`));
        else if (c === 'ping') socket.write(clientFrame('3'));
        else if (c === 'ready') resolve(sub);
        else if (c === 'refused') reject(new Error('Socket.IO connection refused'));
      };
      socket.on('data', (chunk) => feed(sub, chunk, wsFrames, onControl));
      socket.on('error', () => {});
      socket.on('close', () => {
        if (!sub.closed) sub.lost = 'socket closed';
      });
      if (head.length) feed(sub, head, wsFrames, onControl);
      sub.close = () => {
        sub.closed = true;
        socket.destroy();
      };
    });
    req.on('error', (e) => (sub.closed ? undefined : reject(e)));
    req.end();
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
  // The slowest delivery of the webhooks sent in each second of the run (ms), over all subscribers.
  const firstSend = sendTimes ? Math.min(...sendTimes.filter((t) => t > 0)) : 0;
  const slowestBySecond = [];
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
          if (s.times && sendTimes?.[n] && n >= measuredFrom) {
            const ms = base + s.times[n] - sendTimes[n];
            sent[s.kind][bin(ms)]++;
            const sec = Math.floor((sendTimes[n] - firstSend) / 1000);
            slowestBySecond[sec] = Math.max(slowestBySecond[sec] ?? 0, ms);
          }
          if (s.times && ackTimes?.[n] && n >= measuredFrom) acked[bin(10_000 + base + s.times[n] - ackTimes[n])]++;
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
    slowestBySecond: Array.from(slowestBySecond, (x) => Math.round(x ?? 0)),
    loopDelayP99: loop.percentile(99) / 1e6,
    loopDelayMax: loop.max / 1e6,
    cpu: process.cpuUsage(),
  };
}

process.on('message', async (m) => {
  if (m.cmd === 'connect') {
    ({ prefix, capacity, keepTimes } = m);
    measuredFrom = m.measuredFrom ?? 0;
    base = now();
    occurred = new Float64Array(capacity);
    known = new Map();
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
// Exit on SIGTERM (the parent's kill) through process.exit, so that --cpu-prof writes its profile.
process.on('SIGTERM', () => process.exit(0));
