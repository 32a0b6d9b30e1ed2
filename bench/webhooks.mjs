// npm run bench:webhooks — outgoing webhook deliveries (issue 13).
// A local receiver (its own process, so it does not share an event loop with the load generator) answers every
// delivery after 20 ms (BENCH_RECEIVER_MS) over keep-alive connections. wa-hub runs built (dist/) on PostgreSQL
// (DATABASE_URL, default the local `test` database, schema bench_webhooks), with WEBHOOK_ALLOW_HTTP/PRIVATE on.
// Measured:
//   1. deliveries/s draining a backlog: events are ingested as signed Meta webhooks of 20 messages each by a
//      process without the webhook worker, then a process with it starts; 1 subscription (default
//      WEBHOOK_CONCURRENCY=8, then 64) and 10 subscriptions; the rate is deliveries / (last − first received).
//      Every event must arrive at every subscription.
//   2. end-to-end lag (event committed: its occurredAt, the row's transaction time → received) at a steady
//      200 events/s with 1 subscription: p50/p99.
//   3. the ingest benchmark (bench/ingest.mjs's signed one-message webhooks, autocannon, concurrency 64) with no
//      subscription, then with 3 subscriptions receiving every event while it runs (the deliveries give way to the
//      ingest meanwhile: WEBHOOK_YIELD_ELU), and the time from its end until every event reached every subscription.
// Keep runs short (BENCH_EVENTS, BENCH_SECONDS): the machine is shared, so figures carry its noise.
import autocannon from 'autocannon';
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { metaEnvelope, metaSignature } from './meta-webhook.mjs';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { databaseLabel, DATABASE_URL, startWaHub, stop } from './process.mjs';

const RECEIVER_MS = Number(process.env.BENCH_RECEIVER_MS ?? 20);
const RECEIVER_PORT = 3202;

// ---------------------------------------------------------------- the receiver (child process)
if (process.argv[2] === 'receiver') {
  let stats;
  const reset = () => (stats = { count: 0, ids: new Map(), first: 0, last: 0, lags: [] });
  reset();
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const now = Date.now();
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      stats.count++;
      if (!stats.first) stats.first = now;
      stats.last = now;
      const key = `${req.url} ${body.id}`;
      stats.ids.set(key, (stats.ids.get(key) ?? 0) + 1);
      if (body.occurredAt) stats.lags.push(now - Date.parse(body.occurredAt));
      setTimeout(() => {
        res.writeHead(204);
        res.end();
      }, RECEIVER_MS);
    });
  });
  server.keepAliveTimeout = 30_000;
  server.listen(RECEIVER_PORT, '127.0.0.1', () => process.send({ ready: true }));
  // The benchmark ended (or died): so does the receiver.
  process.on('disconnect', () => process.exit(0));
  process.on('message', (m) => {
    if (m === 'reset') {
      reset();
      process.send({ reset: true });
    }
    if (m === 'stats') {
      const lags = [...stats.lags].sort((a, b) => a - b);
      const pct = (p) => (lags.length ? lags[Math.min(lags.length - 1, Math.floor((lags.length * p) / 100))] : NaN);
      const dupes = [...stats.ids.values()].filter((n) => n > 1).length;
      process.send({
        count: stats.count,
        distinct: stats.ids.size,
        dupes,
        first: stats.first,
        last: stats.last,
        p50: pct(50),
        p99: pct(99),
      });
    }
  });
} else {
  await main();
}

// ---------------------------------------------------------------- the benchmark
async function main() {
  const SCHEMA = 'bench_webhooks';
  const KEY = 'bench-webhooks-admin-key-0123456789';
  const SECRET = 'bench-app-secret';
  const PORT = '3200';
  const WORKER_PORT = '3203';
  const EVENTS = Number(process.env.BENCH_EVENTS ?? 3000);
  const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
  const runId = randomUUID().slice(0, 8);
  let sequence = 0;

  const receiver = fork(fileURLToPath(import.meta.url), ['receiver'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  await new Promise((r) => receiver.once('message', r));
  receiver.unref();
  receiver.channel?.unref();
  const ask = (m) =>
    new Promise((r) => {
      receiver.once('message', r);
      receiver.send(m);
    });

  const db = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
  const freshSchema = () => db.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE; CREATE SCHEMA ${SCHEMA}`);

  /** A Meta webhook carrying `count` text messages (unique wamids, 500 senders). */
  const metaBody = (count) => {
    const messages = [];
    const contacts = [];
    for (let i = 0; i < count; i++) {
      const n = sequence++;
      const from = String(16505550000 + (n % 500));
      contacts.push({ profile: { name: `Bench ${n % 500}` }, wa_id: from });
      messages.push({
        from,
        id: `wamid.bench.${runId}.${n}`,
        timestamp: String(1750000000 + Math.floor(n / 100)),
        type: 'text',
        text: { body: `Does it come in another color? #${n}` },
      });
    }
    return metaEnvelope({ contacts, messages });
  };
  const sign = (body) => metaSignature(SECRET, body);
  const base = `http://127.0.0.1:${PORT}`;
  const postMeta = async (messages) => {
    const body = metaBody(messages);
    const res = await fetch(`${base}/webhooks/meta`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': sign(body) },
      body,
    });
    if (res.status !== 200) throw new Error(`webhook answered ${res.status}: ${await res.text()}`);
  };
  const subscribe = async (path, events = ['message.received']) => {
    const res = await fetch(`${base}/v1/webhooks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': KEY },
      body: JSON.stringify({ url: `http://127.0.0.1:${RECEIVER_PORT}${path}`, events }),
    });
    if (res.status !== 201) throw new Error(`subscribe answered ${res.status}: ${await res.text()}`);
  };
  const hub = (env = {}, port = PORT) =>
    startWaHub({
      schema: SCHEMA,
      port,
      adminKey: KEY,
      env: {
        META_APP_SECRET: SECRET,
        WEBHOOK_ALLOW_HTTP: 'true',
        WEBHOOK_ALLOW_PRIVATE: 'true',
        RATE_LIMIT_PER_MINUTE: '100000000',
        LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
        ...env,
      },
    });
  /** `check()`'s first value other than undefined, polled every `everyMs`; throws `failure()` after `timeoutMs`. */
  const poll = async (check, timeoutMs, everyMs, failure) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await check();
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error(await failure());
      await new Promise((r) => setTimeout(r, everyMs));
    }
  };
  const waitDelivered = (expected, timeoutMs = 120_000) =>
    poll(
      async () => {
        const s = await ask('stats');
        return s.distinct >= expected ? s : undefined;
      },
      timeoutMs,
      100,
      async () => `only ${(await ask('stats')).distinct} of ${expected} deliveries arrived`,
    );

  console.log(`receiver answers after ${RECEIVER_MS} ms; PostgreSQL ${databaseLabel}; ${EVENTS} events per burst; ${SECONDS}s ingest runs`);
  const rows = [];

  const unsubscribeAll = async () => {
    const list = await (await fetch(`${base}/v1/webhooks`, { headers: { 'x-api-key': KEY } })).json();
    for (const w of list.data) await fetch(`${base}/v1/webhooks/${w.id}`, { method: 'DELETE', headers: { 'x-api-key': KEY } });
  };

  // 1. Burst drain: `subs` subscriptions; `events` events are ingested by a process without the webhook worker,
  // then a process with it (WEBHOOK_CONCURRENCY=`concurrency`) starts and fans out and delivers the backlog: the
  // rate is deliveries / (last − first received), the worker's own pace.
  const burst = async (subs, events, concurrency) => {
    await unsubscribeAll();
    for (let i = 0; i < subs; i++) await subscribe(`/s${i}`);
    let next = 0;
    const posts = Math.ceil(events / 20);
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < posts) {
          next++;
          await postMeta(20);
        }
      }),
    );
    await ask('reset');
    const worker = await hub({ WEBHOOK_CONCURRENCY: String(concurrency) }, WORKER_PORT);
    const s = await waitDelivered(posts * 20 * subs);
    await stop(worker);
    const rate = (s.count - 1) / ((s.last - s.first) / 1000);
    rows.push({
      run: `backlog: ${subs} subscription${subs > 1 ? 's' : ''}, WEBHOOK_CONCURRENCY=${concurrency}`,
      deliveries: s.count,
      perSecond: rate,
      p50: '–',
      p99: '–',
      dupes: s.dupes,
    });
    console.log(`  ${rows.at(-1).run}: ${s.count} deliveries, ${rate.toFixed(0)}/s, duplicates ${s.dupes}`);
  };

  // 2. Steady lag: 200 events/s for SECONDS/2 s, 1 subscription.
  const steady = async () => {
    await unsubscribeAll();
    await subscribe('/lag');
    await ask('reset');
    const total = Math.round(200 * (SECONDS / 2));
    const started = Date.now();
    const sends = [];
    for (let i = 0; i < total; i++) {
      const wait = started + i * 5 - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      sends.push(postMeta(1));
    }
    await Promise.all(sends);
    const s = await waitDelivered(total);
    rows.push({ run: 'steady 200 events/s, 1 subscription', deliveries: s.count, perSecond: NaN, p50: s.p50, p99: s.p99, dupes: s.dupes });
    console.log(`  steady: lag p50 ${s.p50} ms, p99 ${s.p99} ms`);
  };

  // 3. Ingest (bench/ingest.mjs's one-message webhooks, autocannon) with `subs` subscriptions to every event. With
  // subscriptions, the deliveries give way to the ingest while it saturates the process (WEBHOOK_YIELD_ELU): the
  // drain afterwards is timed (ingest end → every event received by every subscription).
  // Drained: the fan-out is past the last event and no delivery is pending; then every delivery row is delivered,
  // and the receiver must have seen each (subscription, event) once at least.
  const drained = async () => {
    const { rows } = await db.query(
      `SELECT (SELECT COALESCE(max(id), 0) FROM ${SCHEMA}.events) <= (SELECT last_event_id FROM ${SCHEMA}.forwarding_cursor WHERE id = 1)
              AND NOT EXISTS (SELECT 1 FROM ${SCHEMA}.webhook_deliveries WHERE state = 'pending') AS done,
              (SELECT count(*) FROM ${SCHEMA}.webhook_deliveries WHERE state = 'delivered')::int AS delivered`,
    );
    return rows[0].done ? rows[0].delivered : undefined;
  };
  const ingest = async (label, subs) => {
    await unsubscribeAll();
    for (let i = 0; i < subs; i++) await subscribe(`/i${i}`, null);
    await ask('reset');
    const run = (duration) =>
      autocannon({
        url: `${base}/webhooks/meta`,
        connections: 64,
        duration,
        requests: [
          {
            method: 'POST',
            setupRequest: (req) => {
              const body = metaBody(1);
              return { ...req, body, headers: { 'content-type': 'application/json', 'x-hub-signature-256': sign(body) } };
            },
          },
        ],
      });
    await run(2);
    const r = await run(SECONDS);
    const ended = Date.now();
    const s = await ask('stats');
    const row = {
      run: label,
      webhooksPerSecond: r.requests.average,
      ingestP99: r.latency.p99,
      non2xx: r.non2xx + r.errors + r.timeouts,
      delivered: s.count,
      drainSeconds: NaN,
      drained: 0,
    };
    if (subs > 0) {
      const expected = await poll(drained, 600_000, 200, () => 'the deliveries did not drain within 600 s');
      const d = await waitDelivered(expected, 60_000);
      row.drainSeconds = Math.max(0, d.last - ended) / 1000; // 0: all delivered before the run ended
      row.drained = d.distinct;
    }
    console.log(
      `  ${label}: ${row.webhooksPerSecond.toFixed(0)} webhooks/s, p99 ${row.ingestP99} ms, non-2xx/errors ${row.non2xx}, deliveries during the run ${s.count}` +
        (subs > 0 ? `; all ${row.drained} delivered ${row.drainSeconds.toFixed(1)} s after the run` : ''),
    );
    return row;
  };

  // The bursts: an ingest-only process (it runs the migrations: slow on a busy machine) and a worker process per
  // run. Then one process with the worker for the steady lag and the ingest runs.
  await freshSchema();
  let child = await hub({ WEBHOOK_WORKER: 'false' });
  await burst(1, EVENTS, 8);
  await burst(1, EVENTS, 64);
  await burst(10, Math.ceil(EVENTS / 2), 8);
  await unsubscribeAll();
  await stop(child);
  child = await hub();
  await steady();
  const without = await ingest('ingest, no subscription', 0);
  const with3 = await ingest('ingest, 3 subscriptions', 3);
  await unsubscribeAll();
  await stop(child);

  console.log('\n| run | deliveries | deliveries/s | lag p50 ms | lag p99 ms | duplicates |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const r of rows)
    console.log(
      `| ${r.run} | ${r.deliveries} | ${Number.isNaN(r.perSecond) ? '–' : r.perSecond.toFixed(0)} | ${r.p50} | ${r.p99} | ${r.dupes} |`,
    );
  console.log('\n| ingest run | webhooks/s | p99 ms | non-2xx/errors | deliveries meanwhile | all delivered after (s) |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const r of [without, with3])
    console.log(
      `| ${r.run} | ${r.webhooksPerSecond.toFixed(0)} | ${r.ingestP99} | ${r.non2xx} | ${r.delivered} | ${Number.isNaN(r.drainSeconds) ? '–' : `${r.drainSeconds.toFixed(1)} (${r.drained})`} |`,
    );
  const ratio = with3.webhooksPerSecond / without.webhooksPerSecond;
  console.log(`\ningest with 3 subscriptions / without: ${ratio.toFixed(2)} (target >= 0.90); delivery target 2,000/s`);
  await db.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await db.end();
  receiver.kill();
  process.exit(0);
}
