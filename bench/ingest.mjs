// npm run bench:ingest — webhook ingest throughput of wa-hub against the baseline in bench/baseline-server.mjs.
// Both run on real PostgreSQL (DATABASE_URL, default the local `test` database), each in its own schema, and
// are driven with the same signed one-message Meta webhooks (unique wamids) at concurrency 64 by wrk (Debian
// package `wrk`; it is light, so the servers get the CPU), or autocannon when wrk is not installed.
// Afterwards every acknowledged webhook must be a stored row. Prints throughput, p50/p99 latency and the ratio.
import autocannon from 'autocannon';
import { execFileSync, spawnSync } from 'node:child_process';
import { databaseLabel, DATABASE_URL, root, start, startWaHub } from './process.mjs';
import { createHmac, randomUUID } from 'node:crypto';
import { createWriteStream, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

const SECRET = 'bench-app-secret';
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const DURATION = Number(process.env.BENCH_SECONDS ?? 15);
const WARMUP = Number(process.env.BENCH_WARMUP_SECONDS ?? 3);
// Enough distinct requests for this many webhooks/s over the whole run without reuse.
const MAX_RATE = Number(process.env.BENCH_MAX_RATE ?? 20_000);
const useWrk = process.env.BENCH_DRIVER !== 'autocannon' && spawnSync('wrk', ['--version']).error === undefined;
const runId = randomUUID().slice(0, 8);
let sequence = 0;

/** Shape of fixture meta.inbound.text; a unique wamid per request, 500 different senders. */
function metaBody() {
  const n = sequence++;
  const from = String(16505550000 + (n % 500));
  return JSON.stringify({
    object: 'whatsapp_business_account',
    entry: [
      {
        id: '419561257915477',
        changes: [
          {
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: '15550783881', phone_number_id: '106540352242922' },
              contacts: [{ profile: { name: `Bench ${n % 500}` }, wa_id: from }],
              messages: [
                {
                  from,
                  id: `wamid.bench.${runId}.${n}`,
                  timestamp: String(1750000000 + Math.floor(n / 100)),
                  type: 'text',
                  text: { body: `Does it come in another color? #${n}` },
                },
              ],
            },
          },
        ],
      },
    ],
  });
}
const sign = (body) => `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;

async function requestFile(count) {
  const path = join(mkdtempSync(join(tmpdir(), 'wahub-bench-')), 'requests.tsv');
  const out = createWriteStream(path);
  for (let i = 0; i < count; i++) {
    const body = metaBody();
    if (!out.write(`${sign(body)}\t${body}\n`)) await new Promise((r) => out.once('drain', r));
  }
  await new Promise((r) => out.end(r));
  return path;
}

async function driveWrk(url, seconds) {
  const file = await requestFile(Math.ceil(MAX_RATE * seconds));
  const stdout = execFileSync(
    'wrk',
    ['-t2', `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency', '-s', join(root, 'bench/wrk-replay.lua'), url, '--', file, '2'],
    { encoding: 'utf8' },
  );
  const num = (re) => Number((stdout.match(re) ?? [])[1] ?? 0);
  const ms = (re) => {
    const m = stdout.match(re);
    if (!m) return NaN;
    return Number(m[1]) * ({ us: 0.001, ms: 1, s: 1000 }[m[2]] ?? 1);
  };
  const total = num(/(\d+) requests in/);
  const non2xx = num(/Non-2xx or 3xx responses: (\d+)/);
  const errors = [...stdout.matchAll(/(connect|read|write|timeout) (\d+)/g)].reduce((a, m) => a + Number(m[2]), 0);
  return {
    rps: Number((stdout.match(/Requests\/sec:\s+([\d.]+)/) ?? [])[1]),
    p50: ms(/50%\s+([\d.]+)(us|ms|s)/),
    p99: ms(/99%\s+([\d.]+)(us|ms|s)/),
    ok: total - non2xx,
    non2xx,
    errors,
  };
}

async function driveAutocannon(url, seconds) {
  const r = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        setupRequest: (req) => {
          const body = metaBody();
          return { ...req, body, headers: { 'content-type': 'application/json', 'x-hub-signature-256': sign(body) } };
        },
      },
    ],
  });
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, ok: r['2xx'], non2xx: r.non2xx, errors: r.errors + r.timeouts };
}

async function measure(name, url, countRows) {
  const drive = useWrk ? driveWrk : driveAutocannon;
  await drive(url, WARMUP);
  await new Promise((r) => setTimeout(r, 500));
  const before = await countRows();
  const r = await drive(url, DURATION);
  await new Promise((res) => setTimeout(res, 500));
  const stored = (await countRows()) - before;
  console.log(
    `${name.padEnd(9)} ${r.rps.toFixed(0).padStart(7)} webhooks/s  p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  acknowledged ${r.ok}  non-2xx ${r.non2xx}  errors ${r.errors}  rows stored ${stored}`,
  );
  return { name, ...r, stored };
}

const db = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
await db.query('DROP SCHEMA IF EXISTS bench_wahub CASCADE; CREATE SCHEMA bench_wahub; DROP SCHEMA IF EXISTS bench_baseline CASCADE');
console.log(
  `driver ${useWrk ? 'wrk (2 threads)' : 'autocannon'}, concurrency ${CONNECTIONS}, ${DURATION}s measured after ${WARMUP}s warm-up, PostgreSQL ${databaseLabel}`,
);

const baseline = await start(
  join(root, 'bench/baseline-server.mjs'),
  { DATABASE_URL, META_APP_SECRET: SECRET, PORT: '3101', BASELINE_SCHEMA: 'bench_baseline' },
  '/',
);
const base = await measure('baseline', 'http://127.0.0.1:3101/', async () =>
  Number((await db.query('SELECT count(*) AS n FROM bench_baseline.raw_events')).rows[0].n),
);
baseline.kill();

const wahub = await startWaHub({
  schema: 'bench_wahub',
  port: '3100',
  adminKey: 'bench-admin-key-0123456789',
  env: { META_APP_SECRET: SECRET },
});
const hub = await measure('wa-hub', 'http://127.0.0.1:3100/webhooks/meta', async () =>
  Number((await db.query('SELECT count(*) AS n FROM bench_wahub.messages')).rows[0].n),
);
wahub.kill();

console.log(
  `ratio wa-hub/baseline: ${(hub.rps / base.rps).toFixed(2)}x   (target >= 1.0; wa-hub p99 ${hub.p99.toFixed(2)} ms, target <= 25 ms)`,
);
const lost = [base, hub].filter((s) => s.stored < s.ok);
if (lost.length) console.log(`LOST: ${lost.map((s) => `${s.name} acknowledged ${s.ok} but stored ${s.stored}`).join('; ')}`);
else console.log('nothing lost: every acknowledged webhook is a stored row');
await db.end();
process.exit(lost.length ? 1 : 0);
