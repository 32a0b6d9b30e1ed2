// npm run bench:send — outbound delivery throughput (issue 5).
// A local fake Meta Graph API answers every send after 50 ms (BENCH_PROVIDER_MS) with a fresh wamid. wa-hub runs on
// PostgreSQL (DATABASE_URL, default the local `test` database, schema bench_send) with the default 80 messages/s
// per session. Two runs: 1 session × 2,000 messages, then 20 sessions × 500 (10,000). Each run queues every message
// through POST /v1/messages with the worker off (SEND_WORKER=false), then starts a process with the worker and
// times delivery from the first to the last provider call. Checks none was lost or sent twice.
import { databaseLabel, DATABASE_URL, startWaHub, stop } from './process.mjs';
import { createServer } from 'node:http';
import pg from 'pg';

const SCHEMA = 'bench_send';
const PROVIDER_MS = Number(process.env.BENCH_PROVIDER_MS ?? 50);
const KEY = 'bench-send-admin-key-0123456789';
const PORT = '3130';
const db = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });

// The fake provider: counts each message body it receives (bodies are unique per queued message).
const seen = new Map();
let calls = 0;
let first = 0;
let last = 0;
const provider = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    const now = Date.now();
    if (!first) first = now;
    last = now;
    const n = ++calls;
    seen.set(body.text.body, (seen.get(body.text.body) ?? 0) + 1);
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          messaging_product: 'whatsapp',
          contacts: [{ input: body.to, wa_id: body.to }],
          messages: [{ id: `wamid.bench.${n}.${now}` }],
        }),
      );
    }, PROVIDER_MS);
  });
});
await new Promise((r) => provider.listen(0, '127.0.0.1', r));
const providerUrl = `http://127.0.0.1:${provider.address().port}`;

const start = (worker) =>
  startWaHub({
    schema: SCHEMA,
    port: PORT,
    adminKey: KEY,
    env: {
      RATE_LIMIT_PER_MINUTE: '100000000',
      META_ACCESS_TOKEN: 'bench-token',
      META_GRAPH_BASE_URL: providerUrl,
      SEND_WORKER: worker ? 'true' : 'false',
    },
  });

async function run(label, sessions, perSession) {
  await db.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE; CREATE SCHEMA ${SCHEMA}`);
  seen.clear();
  calls = first = last = 0;
  let app = await start(false);
  const ids = [];
  for (let s = 0; s < sessions; s++) {
    const { rows } = await db.query(
      `INSERT INTO ${SCHEMA}.sessions (provider, external_id, status) VALUES ('meta', $1, 'session_connected') RETURNING id`,
      [`10654035224${String(s).padStart(4, '0')}`],
    );
    ids.push(rows[0].id);
  }
  const total = sessions * perSession;
  const t0 = Date.now();
  let next = 0;
  const post = async () => {
    for (let i = next++; i < total; i = next++) {
      const res = await fetch(`http://127.0.0.1:${PORT}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': KEY },
        body: JSON.stringify({
          sessionId: ids[i % sessions],
          to: String(16505550000 + (i % 5000)),
          type: 'text',
          text: { body: `bench message ${i}` },
        }),
      });
      if (res.status !== 202) throw new Error(`queue: ${res.status} ${await res.text()}`);
    }
  };
  await Promise.all(Array.from({ length: 16 }, post));
  const queueSeconds = (Date.now() - t0) / 1000;
  await stop(app);

  app = await start(true);
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    const { rows } = await db.query(
      `SELECT count(*) FILTER (WHERE state = 'pending')::int AS pending, count(*) FILTER (WHERE state = 'failed')::int AS failed FROM ${SCHEMA}.outbox_jobs`,
    );
    if (rows[0].pending === 0 || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  await stop(app);
  const {
    rows: [m],
  } = await db.query(
    `SELECT count(*) FILTER (WHERE status = 'sent')::int AS sent, count(DISTINCT external_id)::int AS ids, count(*)::int AS n FROM ${SCHEMA}.messages WHERE direction = 'out'`,
  );
  const duplicates = [...seen.values()].filter((v) => v > 1).length;
  const rate = (calls - 1) / ((last - first) / 1000);
  console.log(
    `${label.padEnd(22)} queued ${total} in ${queueSeconds.toFixed(1)} s (${(total / queueSeconds).toFixed(0)}/s via POST /v1/messages, 16 clients)`,
  );
  console.log(
    `${''.padEnd(22)} delivered ${calls} provider calls in ${((last - first) / 1000).toFixed(1)} s = ${rate.toFixed(0)} msg/s (${(rate / sessions).toFixed(1)}/s per session, limit 80); rows sent ${m.sent}/${m.n}, distinct provider ids ${m.ids}; lost ${total - seen.size}, sent twice ${duplicates}`,
  );
  return { rate, perSession: rate / sessions, lost: total - seen.size, duplicates, sent: m.sent, total };
}

console.log(`fake Meta Graph API answering in ${PROVIDER_MS} ms; PostgreSQL ${databaseLabel}, schema ${SCHEMA}`);
const one = await run('1 session × 2,000', 1, 2000);
const twenty = await run('20 sessions × 500', 20, 500);
const ok =
  one.perSession >= 76 && twenty.rate >= 1000 && [one, twenty].every((r) => r.lost === 0 && r.duplicates === 0 && r.sent === r.total);
console.log(
  `targets: >= 80/s per session held (${one.perSession.toFixed(1)}), >= 1,000/s across 20 sessions (${twenty.rate.toFixed(0)}), none lost or duplicated: ${ok ? 'met' : 'NOT met'}`,
);
provider.close();
await db.end();
process.exit(ok ? 0 : 1);
