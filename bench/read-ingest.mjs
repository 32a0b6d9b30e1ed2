// The webhook load of `npm run bench:read -- --ingest RATE` (issue 18), forked by bench/read.mjs so its timers and
// sockets do not share the reader's event loop: signed one-message Meta webhooks (X-Hub-Signature-256 over the exact
// bytes, as bench/ingest.mjs signs them; unique wamids) from 10,000 senders with mixed text lengths (~70% under 80
// characters, 25% 80–400, 5% 400–1,500), sent open-loop at a fixed rate: every 5 ms the requests due by then are
// started, whether or not earlier ones were answered, over at most BENCH_INGEST_SOCKETS keep-alive sockets.
// An ack's latency runs from the moment its request was due (so a server that falls behind shows in the p99 instead
// of slowing the sender down). Messages: parent → child {cmd: 'measure'} (start counting), {cmd: 'stop'};
// child → parent {ready}, then {result: {seconds, due, acked, non2xx, errors, errorCodes, heldPerSecond, p50, p99}}.
// Env: BENCH_INGEST_URL, BENCH_INGEST_RATE (webhooks/s), BENCH_INGEST_SECRET, BENCH_INGEST_SENDERS (10000),
// BENCH_INGEST_PHONE_NUMBER_ID, BENCH_INGEST_SOCKETS (256).
import { randomUUID } from 'node:crypto';
import { BENCH_PHONE_NUMBER_ID, metaEnvelope, metaSignature, senderAgent } from './meta-webhook.mjs';
import http from 'node:http';
import { performance } from 'node:perf_hooks';

const url = new URL(process.env.BENCH_INGEST_URL);
const RATE = Number(process.env.BENCH_INGEST_RATE);
const SECRET = process.env.BENCH_INGEST_SECRET;
const SENDERS = Number(process.env.BENCH_INGEST_SENDERS ?? 10_000);
const PHONE_NUMBER_ID = process.env.BENCH_INGEST_PHONE_NUMBER_ID ?? BENCH_PHONE_NUMBER_ID;
const agent = senderAgent(Number(process.env.BENCH_INGEST_SOCKETS ?? 256));
/** Request errors of the measured part by code (ECONNRESET, ...). */
const errorCodes = {};
const runId = randomUUID().slice(0, 8);

// Deterministic pseudo-random numbers (mulberry32), so every run sends the same mix.
let seed = 0x5eed;
const rand = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const WORDS =
  'hello order price thanks delivery tomorrow invoice payment color size café menu résumé shipping available please confirm address pickup discount'.split(
    ' ',
  );
/** A text of about `length` characters (whole words). */
function text(length) {
  let s = WORDS[Math.floor(rand() * WORDS.length)];
  while (s.length < length) s += ' ' + WORDS[Math.floor(rand() * WORDS.length)];
  return s.charAt(0).toUpperCase() + s.slice(1);
}
/** ~70% under 80 characters, 25% 80–400, 5% 400–1,500. */
function textLength() {
  const r = rand();
  if (r < 0.7) return 5 + Math.floor(rand() * 70);
  if (r < 0.95) return 80 + Math.floor(rand() * 320);
  return 400 + Math.floor(rand() * 1100);
}

let sequence = 0;
/** Shape of fixture meta.inbound.text; the senders are the seeded contacts' numbers (62812 + 7 digits). */
function metaBody() {
  const n = sequence++;
  const k = 1 + Math.floor(rand() * SENDERS);
  const from = '62812' + String(k).padStart(7, '0');
  return metaEnvelope(
    {
      contacts: [{ profile: { name: `Profile ${k}` }, wa_id: from }],
      messages: [
        {
          from,
          id: `wamid.benchread.${runId}.${n}`,
          timestamp: String(Math.floor(Date.now() / 1000)),
          type: 'text',
          text: { body: text(textLength()) },
        },
      ],
    },
    PHONE_NUMBER_ID,
  );
}

let measuring = false;
let measureStart = 0;
let acked = 0;
let non2xx = 0;
let errors = 0;
let due = 0;
const latencies = [];

function send(dueAt) {
  const body = metaBody();
  const counted = measuring;
  if (counted) due++;
  const req = http.request(
    {
      host: url.hostname,
      port: url.port,
      path: url.pathname,
      method: 'POST',
      agent,
      headers: {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        'x-hub-signature-256': metaSignature(SECRET, body),
      },
    },
    (res) => {
      res.resume();
      res.on('end', () => {
        if (!counted) return;
        if (res.statusCode >= 200 && res.statusCode < 300) {
          acked++;
          latencies.push(performance.now() - dueAt);
        } else non2xx++;
      });
    },
  );
  req.on('error', (e) => {
    if (!counted) return;
    errors++;
    errorCodes[e.code ?? e.message] = (errorCodes[e.code ?? e.message] ?? 0) + 1;
  });
  req.end(body);
}

const t0 = performance.now();
let started = 0;
const timer = setInterval(() => {
  const now = performance.now();
  const target = Math.floor(((now - t0) / 1000) * RATE);
  // Each request is stamped with the moment it was due, not the moment this tick got to it.
  for (; started < target; started++) send(t0 + (started / RATE) * 1000);
}, 5);

const pct = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : NaN);

process.on('message', (m) => {
  if (m.cmd === 'measure') {
    measuring = true;
    measureStart = performance.now();
  } else if (m.cmd === 'stop') {
    const seconds = (performance.now() - measureStart) / 1000;
    measuring = false;
    clearInterval(timer);
    // Answers still in flight within 2 s count; later ones are reported as missing (due - acked - non2xx - errors).
    setTimeout(() => {
      const sorted = latencies.slice().sort((a, b) => a - b);
      process.send({
        result: {
          seconds,
          due,
          acked,
          non2xx,
          errors,
          errorCodes,
          heldPerSecond: acked / seconds,
          p50: pct(sorted, 50),
          p99: pct(sorted, 99),
        },
      });
      agent.destroy();
      setTimeout(() => process.exit(0), 50);
    }, 2000);
  }
});
process.send({ ready: true });
