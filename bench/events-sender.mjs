// The paced webhook load of `npm run bench:events` (issue 12), forked by bench/events.mjs so its timers do not share
// an event loop with wa-hub or the subscribers: BENCH_COUNT signed one-message Meta webhooks (X-Hub-Signature-256
// over the exact bytes, as bench/ingest.mjs signs them; the shape of fixture meta.inbound.text) with wamids
// `<BENCH_PREFIX><n>`, n = 0..BENCH_COUNT-1, from BENCH_SENDERS distinct senders, sent open-loop at BENCH_RATE/s:
// every 2 ms the requests due by then are started whether or not earlier ones were answered (keep-alive sockets).
// Each request's send time is when its bytes were handed to the socket ('finish', wall clock in ms with
// sub-millisecond precision); its ack latency runs from when it was due, so a server that falls behind shows.
// Child → parent: {ready}, then {result: {seconds, sent, acked, non2xx, errors, p50, p99, sendLagP99, sendTimes, ackTimes}}
// once every request was answered (or 10 s after the last was due).
// Env: BENCH_URL, BENCH_RATE, BENCH_COUNT, BENCH_SECRET, BENCH_PREFIX, BENCH_SENDERS (10000), BENCH_MEASURED_FROM (0:
// the first n that counts in the latency percentiles; those before are the warm-up).
import { metaEnvelope, metaSignature, senderAgent } from './meta-webhook.mjs';
import http from 'node:http';
import { performance } from 'node:perf_hooks';

const url = new URL(process.env.BENCH_URL);
const RATE = Number(process.env.BENCH_RATE ?? 1000);
const COUNT = Number(process.env.BENCH_COUNT ?? 20_000);
const SECRET = process.env.BENCH_SECRET;
const PREFIX = process.env.BENCH_PREFIX;
const SENDERS = Number(process.env.BENCH_SENDERS ?? 10_000);
/** Webhooks n below this are the warm-up: sent and answered like the rest, left out of the latency figures. */
const MEASURED_FROM = Number(process.env.BENCH_MEASURED_FROM ?? 0);
const agent = senderAgent(256);
/** Request errors by code (ECONNRESET, ...). */
const errorCodes = {};
const now = () => performance.timeOrigin + performance.now();

function metaBody(n) {
  const k = n % SENDERS;
  const from = '62813' + String(k).padStart(7, '0');
  return metaEnvelope({
    contacts: [{ profile: { name: `Sender ${k}` }, wa_id: from }],
    messages: [
      {
        from,
        id: `${PREFIX}${n}`,
        timestamp: String(Math.floor(Date.now() / 1000)),
        type: 'text',
        text: { body: `Does it come in another color? #${n}` },
      },
    ],
  });
}

const sendTimes = new Array(COUNT).fill(0);
const ackTimes = new Array(COUNT).fill(0);
const latencies = [];
const sendLags = [];
let acked = 0;
let non2xx = 0;
let errors = 0;
let answered = 0;

function send(n, dueAt) {
  const body = metaBody(n);
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
        answered++;
        if (res.statusCode >= 200 && res.statusCode < 300) {
          acked++;
          ackTimes[n] = now();
          if (n >= MEASURED_FROM) latencies.push(ackTimes[n] - dueAt);
        } else non2xx++;
      });
    },
  );
  req.on('finish', () => {
    sendTimes[n] = now();
    if (n >= MEASURED_FROM) sendLags.push(sendTimes[n] - dueAt);
  });
  req.on('error', (e) => {
    answered++;
    errors++;
    errorCodes[e.code ?? e.message] = (errorCodes[e.code ?? e.message] ?? 0) + 1;
  });
  req.end(body);
}

const pct = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : NaN);

process.once('message', () => {
  const t0 = now();
  let started = 0;
  const timer = setInterval(() => {
    const target = Math.min(COUNT, Math.floor(((now() - t0) / 1000) * RATE));
    for (; started < target; started++) send(started, t0 + (started / RATE) * 1000);
    if (started < COUNT) return;
    clearInterval(timer);
    const seconds = (now() - t0) / 1000;
    const deadline = now() + 10_000;
    const done = setInterval(() => {
      if (answered < COUNT && now() < deadline) return;
      clearInterval(done);
      const sorted = latencies.sort((a, b) => a - b);
      const lags = sendLags.sort((a, b) => a - b);
      process.send({
        result: {
          seconds,
          sent: COUNT,
          acked,
          non2xx,
          errors,
          errorCodes,
          p50: pct(sorted, 50),
          p99: pct(sorted, 99),
          sendLagP99: pct(lags, 99),
          sendTimes,
          ackTimes,
        },
      });
      agent.destroy();
      setTimeout(() => process.exit(0), 50);
    }, 20);
  }, 2);
});
process.send({ ready: true });
