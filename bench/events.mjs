// npm run bench:events — live event delivery to 1,000 concurrent subscribers (issue 12, "Performance").
// One wa-hub process (built, dist/) on PostgreSQL (DATABASE_URL, default the local `test` database, schema
// bench_events), started as the other benchmarks start it (bench/process.mjs). Three runs, each on a fresh schema:
//   1. delivery: BENCH_SSE (500) SSE clients on GET /v1/events/stream and BENCH_IO (500) Socket.IO clients, split
//      over BENCH_CLIENT_PROCESSES (2) forked Node processes (bench/events-clients.mjs, so the clients do not share
//      wa-hub's event loop), while bench/events-sender.mjs (a third process) sends signed one-message Meta webhooks at
//      a paced BENCH_RATE (1,000)/s for BENCH_WARMUP_SECONDS (5) + BENCH_SECONDS (20) s from 10,000 distinct senders
//      (the warm-up's webhooks are checked like the rest, and left out of the latency figures). Per delivery of each
//      `message.received`: latency from the send time of the webhook carrying it (matched by its wamid, the
//      event's data.externalId) to the client's receipt, and from the event's occurredAt (the writing transaction's
//      start). Afterwards every subscriber must have got every row of `messages` of the run exactly once, in id order.
//   2. ingest, no subscribers: bench/ingest.mjs's unpaced load (signed one-message webhooks, 500 senders, unique
//      wamids, concurrency 64, wrk or autocannon) for BENCH_INGEST_SECONDS (10) s after a 3 s warm-up.
//   3. the same with the 1,000 subscribers connected; then the backlog drains (at most 20 s) and every subscriber
//      is checked against the rows again.
// BENCH_CPU_PROF=<dir> runs wa-hub, the clients and the sender with --cpu-prof (a .cpuprofile per process in <dir>). The machine may be shared:
// each figure is printed with the load average when it was taken. Exit code 1 when an event was missed.
import autocannon from 'autocannon';
import { execFileSync, fork, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { metaEnvelope, metaSignature } from './meta-webhook.mjs';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { cpuSeconds, databaseLabel, DATABASE_URL, root, startWaHub, stop } from './process.mjs';

const SCHEMA = 'bench_events';
const PORT = '3300';
const KEY = 'bench-events-admin-key-0123456789';
const SECRET = 'bench-app-secret';
const BASE = `http://127.0.0.1:${PORT}`;
const SSE_CLIENTS = Number(process.env.BENCH_SSE ?? 500);
const IO_CLIENTS = Number(process.env.BENCH_IO ?? 500);
const CLIENT_PROCESSES = Number(process.env.BENCH_CLIENT_PROCESSES ?? 2);
const RATE = Number(process.env.BENCH_RATE ?? 1000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
/** Seconds of the paced load before the measured BENCH_SECONDS (connections, JIT, first plans): checked, not timed. */
const DELIVERY_WARMUP = Number(process.env.BENCH_WARMUP_SECONDS ?? 5);
const INGEST_SECONDS = Number(process.env.BENCH_INGEST_SECONDS ?? 10);
const WARMUP = 3;
const CONNECTIONS = 64;
// Distinct requests for this many webhooks/s in the unpaced runs (bench/ingest.mjs's BENCH_MAX_RATE).
const MAX_RATE = Number(process.env.BENCH_MAX_RATE ?? 8000);
const CPU_PROF = process.env.BENCH_CPU_PROF;
const RUNS = (process.env.BENCH_RUNS ?? 'delivery,ingest').split(',');
const useWrk = process.env.BENCH_DRIVER !== 'autocannon' && spawnSync('wrk', ['--version']).error === undefined;
const here = (f) => join(root, 'bench', f);
const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

const METRICS_TOKEN = 'bench-events-metrics-token';

/**
 * wa-hub's own view of the applier from GET /metrics: the upper bounds (ms) of the histogram buckets holding the
 * 50th and 99th percentile of `wahub_ingest_lag_seconds` (acknowledged → applied) and of
 * `wahub_ingest_batch_duration_seconds`, and the mean batch size.
 */
async function applierFigures() {
  const text = await (await fetch(`${BASE}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
  const quantiles = (name) => {
    const buckets = [...text.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\d+)`, 'gm'))].map((m) => [
      Number(m[1]),
      Number(m[2]),
    ]);
    const total = buckets.at(-1)?.[1] ?? 0;
    const at = (p) => (buckets.find(([, n]) => n >= Math.ceil(total * p))?.[0] ?? NaN) * 1000;
    return { p50: at(0.5), p99: at(0.99), count: total };
  };
  const num = (name) => Number((text.match(new RegExp(`^${name} (\\S+)`, 'm')) ?? [])[1]);
  return {
    lag: quantiles('wahub_ingest_lag_seconds'),
    batch: quantiles('wahub_ingest_batch_duration_seconds'),
    batchSize: num('wahub_ingest_batch_size_sum') / num('wahub_ingest_batch_size_count'),
  };
}

const db = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
const freshSchema = () => db.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE; CREATE SCHEMA ${SCHEMA}`);
const hub = () => {
  // --cpu-prof is not allowed in NODE_OPTIONS: the fork inherits process.execArgv, so lend it the flags for this call.
  const execArgv = process.execArgv;
  if (CPU_PROF) process.execArgv = [...execArgv, '--cpu-prof', `--cpu-prof-dir=${CPU_PROF}`];
  try {
    return startWaHub({
      schema: SCHEMA,
      port: PORT,
      adminKey: KEY,
      env: { META_APP_SECRET: SECRET, RATE_LIMIT_PER_MINUTE: '100000000', METRICS_TOKEN },
    });
  } finally {
    process.execArgv = execArgv;
  }
};
// ---------------------------------------------------------------- child processes
const ask = (child, m) =>
  new Promise((r) => {
    child.once('message', r);
    child.send(m);
  });
const forkReady = (file, env) =>
  new Promise((resolve, reject) => {
    const execArgv = CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF}`] : [];
    const child = fork(here(file), [], { env: { ...process.env, ...env }, execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.once('message', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`${file} exited with ${code}`)));
  });

const split = (total, parts, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0);
const clients = await Promise.all(
  Array.from({ length: CLIENT_PROCESSES }, (_, i) =>
    forkReady('events-clients.mjs', {
      BENCH_URL: BASE,
      BENCH_KEY: KEY,
      BENCH_SSE: String(split(SSE_CLIENTS, CLIENT_PROCESSES, i)),
      BENCH_IO: String(split(IO_CLIENTS, CLIENT_PROCESSES, i)),
    }),
  ),
);
const subscribers = SSE_CLIENTS + IO_CLIENTS;

async function connectAll(prefix, capacity, keepTimes, measuredFrom = 0) {
  const r = await Promise.all(clients.map((c) => ask(c, { cmd: 'connect', prefix, capacity, keepTimes, measuredFrom })));
  const connected = r.reduce((a, x) => a + x.connected, 0);
  const failed = r.reduce((a, x) => a + x.failed, 0);
  console.log(`  ${connected} subscribers live (${failed} failed) in ${Math.max(...r.map((x) => x.ms)).toFixed(0)} ms`);
  if (connected !== subscribers) throw new Error(`only ${connected} of ${subscribers} subscribers connected`);
}
const closeAll = () => Promise.all(clients.map((c) => ask(c, { cmd: 'close' })));

/** Waits until every subscriber has `expected` deliveries, or no progress for 10 s, or `maxMs`. */
async function drain(expected, maxMs) {
  const started = Date.now();
  let last = -1;
  let lastChange = Date.now();
  for (;;) {
    const r = await Promise.all(clients.map((c) => ask(c, { cmd: 'count' })));
    const total = r.reduce((a, x) => a + x.deliveries, 0);
    if (total >= expected * subscribers) return { ms: Date.now() - started, complete: true };
    if (total !== last) [last, lastChange] = [total, Date.now()];
    if (Date.now() - lastChange > 10_000 || Date.now() - started > maxMs) return { ms: Date.now() - started, complete: false };
    await new Promise((res) => setTimeout(res, 100));
  }
}

/** The run's rows in `messages`, as wamid numbers. */
/**
 * The numbers of the stored messages whose wamid starts with `prefix`, once the ingest inbox is empty (webhooks are
 * acknowledged before they are applied: counted at once, rows would trail the acks). Waits at most 60 s.
 */
async function storedNumbers(prefix) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && Number((await db.query(`SELECT count(*) AS n FROM ${SCHEMA}.ingest_inbox`)).rows[0].n) > 0)
    await new Promise((r) => setTimeout(r, 50));
  const { rows } = await db.query(`SELECT external_id FROM ${SCHEMA}.messages WHERE starts_with(external_id, $1)`, [prefix]);
  return rows.map((r) => Number(r.external_id.slice(prefix.length)));
}

/** Merges the clients' reports: percentiles per kind and over all, and what each subscriber missed. */
async function collect(sendTimes, ackTimes, expected) {
  const reports = await Promise.all(clients.map((c) => ask(c, { cmd: 'report', sendTimes, ackTimes, expected })));
  const binMs = reports[0].binMs;
  const merge = (pick) => {
    const m = new Map();
    for (const r of reports) for (const [bin, n] of pick(r)) m.set(bin, (m.get(bin) ?? 0) + n);
    return [...m].sort((a, b) => a[0] - b[0]);
  };
  const stats = (hist, offset = 0) => {
    const total = hist.reduce((a, [, n]) => a + n, 0);
    const at = (p) => {
      let seen = 0;
      for (const [bin, n] of hist) if ((seen += n) >= Math.ceil(total * p)) return (bin + 1) * binMs - offset;
      return NaN;
    };
    return { count: total, p50: at(0.5), p99: at(0.99), max: hist.length ? (hist[hist.length - 1][0] + 1) * binMs - offset : NaN };
  };
  const perSub = reports.flatMap((r) => r.perSub);
  const sum = (k) => perSub.reduce((a, s) => a + s[k], 0);
  return {
    sent: {
      all: stats(merge((r) => [...r.sent.sse, ...r.sent.io])),
      sse: stats(merge((r) => r.sent.sse)),
      io: stats(merge((r) => r.sent.io)),
    },
    acked: stats(
      merge((r) => r.acked),
      10_000,
    ),
    occurred: {
      all: stats(merge((r) => [...r.occurred.sse, ...r.occurred.io])),
      sse: stats(merge((r) => r.occurred.sse)),
      io: stats(merge((r) => r.occurred.io)),
    },
    missed: sum('missed'),
    subsMissing: perSub.filter((s) => s.missed > 0).length,
    maxMissed: Math.max(...perSub.map((s) => s.missed)),
    missedSample: reports.flatMap((r) => r.missedSample).slice(0, 10),
    slowestBySecond: Array.from({ length: Math.max(...reports.map((r) => r.slowestBySecond.length)) }, (_, i) =>
      Math.max(...reports.map((r) => r.slowestBySecond[i] ?? 0)),
    ),
    lost: Object.entries(
      perSub.filter((s) => s.lost).reduce((a, s) => ({ ...a, [`${s.kind}: ${s.lost}`]: (a[`${s.kind}: ${s.lost}`] ?? 0) + 1 }), {}),
    ).map(([k, v]) => `${v} × ${k}`),
    duplicates: sum('duplicates'),
    extra: sum('extra'),
    outOfOrder: sum('outOfOrder'),
    clientLoopP99: Math.max(...reports.map((r) => r.loopDelayP99)),
    clientCpu: reports.map((r) => (r.cpu.user + r.cpu.system) / 1e6),
    clientSystemCpu: reports.map((r) => r.cpu.system / 1e6),
  };
}

// ---------------------------------------------------------------- unpaced load (bench/ingest.mjs's)
function ingestBody(prefix, n) {
  const from = String(16505550000 + (n % 500));
  return metaEnvelope({
    contacts: [{ profile: { name: `Bench ${n % 500}` }, wa_id: from }],
    messages: [
      {
        from,
        id: `${prefix}${n}`,
        timestamp: String(1750000000 + Math.floor(n / 100)),
        type: 'text',
        text: { body: `Does it come in another color? #${n}` },
      },
    ],
  });
}
const sign = (body) => metaSignature(SECRET, body);

/** Drives `seconds` of unpaced load with webhooks prefix+from..; returns the figures and how many wamids it used. */
async function drive(prefix, from, seconds) {
  const count = Math.ceil(MAX_RATE * seconds);
  if (!useWrk) {
    let n = from;
    const r = await autocannon({
      url: `${BASE}/webhooks/meta`,
      connections: CONNECTIONS,
      duration: seconds,
      requests: [
        {
          method: 'POST',
          setupRequest: (req) => {
            const body = ingestBody(prefix, n++);
            return { ...req, body, headers: { 'content-type': 'application/json', 'x-hub-signature-256': sign(body) } };
          },
        },
      ],
    });
    return {
      rps: r.requests.average,
      p50: r.latency.p50,
      p99: r.latency.p99,
      ok: r['2xx'],
      bad: r.non2xx + r.errors + r.timeouts,
      used: n - from,
    };
  }
  const dir = mkdtempSync(join(tmpdir(), 'wahub-bench-events-'));
  const file = join(dir, 'requests.tsv');
  const out = createWriteStream(file);
  for (let i = 0; i < count; i++) {
    const body = ingestBody(prefix, from + i);
    if (!out.write(`${sign(body)}\t${body}\n`)) await new Promise((r) => out.once('drain', r));
  }
  await new Promise((r) => out.end(r));
  const stdout = execFileSync(
    'wrk',
    ['-t2', `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency', '-s', here('wrk-replay.lua'), `${BASE}/webhooks/meta`, '--', file, '2'],
    { encoding: 'utf8' },
  );
  rmSync(dir, { recursive: true, force: true });
  const num = (re) => Number((stdout.match(re) ?? [])[1] ?? 0);
  const ms = (re) => {
    const m = stdout.match(re);
    return m ? Number(m[1]) * ({ us: 0.001, ms: 1, s: 1000 }[m[2]] ?? 1) : NaN;
  };
  const total = num(/(\d+) requests in/);
  if (total > count) console.log(`  (wrk sent ${total} requests for ${count} distinct webhooks: raise BENCH_MAX_RATE)`);
  const non2xx = num(/Non-2xx or 3xx responses: (\d+)/);
  const errors = [...stdout.matchAll(/(connect|read|write|timeout) (\d+)/g)].reduce((a, m) => a + Number(m[2]), 0);
  return {
    rps: Number((stdout.match(/Requests\/sec:\s+([\d.]+)/) ?? [])[1]),
    p50: ms(/50%\s+([\d.]+)(us|ms|s)/),
    p99: ms(/99%\s+([\d.]+)(us|ms|s)/),
    ok: total - non2xx,
    bad: non2xx + errors,
    used: count,
  };
}

// ---------------------------------------------------------------- the runs
console.log(
  `${SSE_CLIENTS} SSE + ${IO_CLIENTS} Socket.IO subscribers in ${CLIENT_PROCESSES} client processes; ${RATE} webhooks/s for ${SECONDS}s after ${DELIVERY_WARMUP}s of warm-up; ` +
    `unpaced ingest ${INGEST_SECONDS}s by ${useWrk ? 'wrk (2 threads)' : 'autocannon'} at concurrency ${CONNECTIONS}; PostgreSQL ${databaseLabel}; ` +
    `${CPU_PROF ? `CPU profiles in ${CPU_PROF}` : 'no profiling'}`,
);
const runId = randomUUID().slice(0, 8);
const results = {};

if (RUNS.includes('delivery')) {
  console.log(`delivery run (load ${load()})`);
  await freshSchema();
  const child = await hub();
  const prefix = `wamid.benchev.${runId}.d.`;
  // The first webhook creates the session and the conversation paths; keep it out of the measured run.
  for (let i = 0; i < 20; i++) {
    const body = ingestBody(`wamid.benchev.${runId}.warm.`, i);
    await fetch(`${BASE}/webhooks/meta`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': sign(body) },
      body,
    });
  }
  const measuredFrom = RATE * DELIVERY_WARMUP;
  const count = measuredFrom + RATE * SECONDS;
  await connectAll(prefix, count, true, measuredFrom);
  const sender = await forkReady('events-sender.mjs', {
    BENCH_URL: `${BASE}/webhooks/meta`,
    BENCH_RATE: String(RATE),
    BENCH_COUNT: String(count),
    BENCH_MEASURED_FROM: String(measuredFrom),
    BENCH_SECRET: SECRET,
    BENCH_PREFIX: prefix,
  });
  const cpu0 = cpuSeconds(child.pid);
  const t0 = Date.now();
  const loadDuring = [];
  const loadTimer = setInterval(() => loadDuring.push(loadavg()[0]), 5000);
  const sent = (await ask(sender, { cmd: 'go' })).result;
  const drained = await drain(count, 30_000);
  clearInterval(loadTimer);
  const hubCpuSeconds = cpuSeconds(child.pid) - cpu0;
  const hubCpu = hubCpuSeconds / ((Date.now() - t0) / 1000);
  const expected = await storedNumbers(prefix);
  const applier = await applierFigures();
  const r = await collect(sent.sendTimes, sent.ackTimes, expected);
  const measuredExpected = expected.filter((n) => n >= measuredFrom).length;
  results.delivery = {
    ...r,
    sender: sent,
    expected: expected.length,
    measuredExpected,
    drained,
    hubCpu,
    hubCpuSeconds,
    load: load(),
    loadDuring,
    applier,
  };
  console.log(
    `  sent ${sent.sent} in ${sent.seconds.toFixed(1)} s, acked ${sent.acked} (non-2xx ${sent.non2xx}, errors ${sent.errors}${sent.errors ? ` ${JSON.stringify(sent.errorCodes)}` : ''}), ack p50 ${sent.p50.toFixed(1)} ms p99 ${sent.p99.toFixed(1)} ms; ` +
      `rows ${expected.length}; delivery p50 ${r.sent.all.p50} ms p99 ${r.sent.all.p99} ms; missed ${r.missed}; wa-hub CPU ${(hubCpu * 100).toFixed(0)}% (load ${load()})`,
  );
  await closeAll();
  await stop(child);
}

if (RUNS.includes('ingest')) {
  for (const withSubs of [false, true]) {
    const label = withSubs ? `ingest, ${subscribers} subscribers` : 'ingest, no subscribers';
    console.log(`${label} (load ${load()})`);
    await freshSchema();
    const child = await hub();
    const prefix = `wamid.benchev.${runId}.${withSubs ? 's' : 'n'}.`;
    const capacity = Math.ceil(MAX_RATE * (WARMUP + INGEST_SECONDS)) + 1;
    if (withSubs) await connectAll(prefix, capacity, false);
    const warm = await drive(prefix, 0, WARMUP);
    const cpu0 = cpuSeconds(child.pid);
    const t0 = Date.now();
    const r = await drive(prefix, warm.used, INGEST_SECONDS);
    const hubCpu = (cpuSeconds(child.pid) - cpu0) / ((Date.now() - t0) / 1000);
    const loadAfter = load();
    const expected = await storedNumbers(prefix);
    const row = { ...r, hubCpu, load: loadAfter, rows: expected.length, acked: warm.ok + r.ok };
    if (withSubs) {
      row.drained = await drain(expected.length, 20_000);
      row.delivery = await collect(null, null, expected);
      await closeAll();
    }
    results[withSubs ? 'withSubs' : 'noSubs'] = row;
    console.log(
      `  ${r.rps.toFixed(0)} webhooks/s, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, non-2xx/errors ${r.bad}, rows ${expected.length} of ${row.acked} acked, wa-hub CPU ${(hubCpu * 100).toFixed(0)}% (load ${loadAfter})` +
        (withSubs
          ? `; backlog ${row.drained.complete ? 'drained' : 'NOT drained'} in ${row.drained.ms} ms, missed ${row.delivery.missed}, occurredAt→client p99 ${row.delivery.occurred.all.p99} ms`
          : ''),
    );
    await stop(child);
  }
}

// ---------------------------------------------------------------- the table
const f = (x, d = 1) => (x === undefined || Number.isNaN(x) ? '–' : x.toFixed(d));
console.log('\n| figure | value | target | load avg (1/5/15 min) |');
console.log('|---|---:|---|---|');
const d = results.delivery;
if (d) {
  const l = `${d.load} (1-min during: ${d.loadDuring.map((x) => x.toFixed(1)).join(', ')})`;
  console.log(`| webhooks sent / acked / rows in messages | ${d.sender.sent} / ${d.sender.acked} / ${d.expected} | | ${l} |`);
  console.log(`| webhook ack p50 / p99 at ${RATE}/s (from due time) | ${f(d.sender.p50)} / ${f(d.sender.p99)} ms | | |`);
  console.log(
    `| deliveries timed (the webhooks after the warm-up × subscribers) / received | ${d.measuredExpected * subscribers} / ${d.sent.all.count} | all | |`,
  );
  console.log(
    `| delivery p50 / p99 / max, send → client, all ${subscribers} | ${f(d.sent.all.p50)} / ${f(d.sent.all.p99)} / ${f(d.sent.all.max)} ms | p99 < 250 ms | |`,
  );
  console.log(`| ... SSE (${SSE_CLIENTS}) | ${f(d.sent.sse.p50)} / ${f(d.sent.sse.p99)} / ${f(d.sent.sse.max)} ms | | |`);
  console.log(`| ... Socket.IO (${IO_CLIENTS}) | ${f(d.sent.io.p50)} / ${f(d.sent.io.p99)} / ${f(d.sent.io.max)} ms | | |`);
  console.log(`| delivery p50 / p99, occurredAt → client | ${f(d.occurred.all.p50)} / ${f(d.occurred.all.p99)} ms | | |`);
  console.log(`| delivery p50 / p99, webhook ack → client | ${f(d.acked.p50)} / ${f(d.acked.p99)} ms | | |`);
  console.log(
    `| slowest delivery of the webhooks sent in each second after the warm-up (ms) | ${d.slowestBySecond.slice(DELIVERY_WARMUP).join(' ')} | | |`,
  );
  const a = d.applier;
  console.log(
    `| applier (wa-hub's histograms, bucket bounds): ack → applied p50 / p99; batch p50 / p99; mean batch | ≤ ${a.lag.p50} / ≤ ${a.lag.p99} ms; ≤ ${a.batch.p50} / ≤ ${a.batch.p99} ms; ${f(a.batchSize)} webhooks | | |`,
  );
  console.log(
    `| missed (subscribers missing any; worst) | ${d.missed} (${d.subsMissing}; ${d.maxMissed})${d.missed ? `, e.g. ${d.missedSample.join(', ')}` : ''} | 0 | |`,
  );
  console.log(`| subscribers disconnected by the server | ${d.lost.length ? d.lost.join('; ') : 'none'} | none | |`);
  console.log(`| duplicates / out of order / not in messages | ${d.duplicates} / ${d.outOfOrder} / ${d.extra} | 0 | |`);
  console.log(
    `| wa-hub CPU (one core = 100%); per delivery (ingest included) | ${f(d.hubCpu * 100, 0)}%; ${f((d.hubCpuSeconds * 1e6) / Math.max(1, d.sent.all.count), 2)} µs | | |`,
  );
  console.log(
    `| client processes: CPU s (of it system) / worst event-loop delay p99 | ${d.clientCpu.map((x) => x.toFixed(1)).join(' + ')} s (${d.clientSystemCpu.map((x) => x.toFixed(1)).join(' + ')} s) / ${f(d.clientLoopP99)} ms | | |`,
  );
}
const n = results.noSubs;
const w = results.withSubs;
for (const r of [n, w].filter(Boolean)) {
  const label = r === n ? 'no subscribers' : `${subscribers} subscribers`;
  console.log(
    `| ingest, ${label}: webhooks/s, p50 / p99 | ${f(r.rps, 0)}, ${f(r.p50, 2)} / ${f(r.p99, 2)} ms (${r.bad} non-2xx/errors; rows ${r.rows} of ${r.acked} acked; wa-hub CPU ${f(r.hubCpu * 100, 0)}%) | | ${r.load} |`,
  );
}
if (n && w) {
  console.log(`| ingest ratio with / without subscribers | ${f(w.rps / n.rps, 2)} | | |`);
  console.log(
    `| ... then: backlog drained in / missed / duplicates / occurredAt → client p99 | ${w.drained.complete ? `${w.drained.ms} ms` : `not within ${w.drained.ms} ms`} / ${w.delivery.missed} / ${w.delivery.duplicates} / ${f(w.delivery.occurred.all.p99)} ms | | |`,
  );
}
const missed = (d?.missed ?? 0) + (w?.delivery.missed ?? 0) + (d?.duplicates ?? 0) + (w?.delivery.duplicates ?? 0);
if (d)
  console.log(
    `\ntarget: delivery p99 < 250 ms and nothing missed — ${d.sent.all.p99 < 250 && d.missed === 0 && d.duplicates === 0 ? 'met' : 'MISSED'}`,
  );
await Promise.all(clients.map((c) => new Promise((r) => (c.once('exit', r), c.kill()))));
await db.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
await db.end();
process.exit(missed ? 1 : 0);
