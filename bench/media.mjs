// npm run bench:media — media downloads off the ack path (issue 14, "Performance").
// One built wa-hub process (dist/) on PostgreSQL (DATABASE_URL, default the local `test` database, schema
// bench_media, fresh for each run), started as the other benchmarks start it (bench/process.mjs), and a fake Graph
// API in this process answering Meta's documented media lookup (`GET /{version}/{media-id}` →
// `{url, mime_type, sha256, file_size, id}`) and serving the file at that URL (BENCH_FILE_BYTES, default 1 MiB,
// a JPEG header then random bytes, written in 64 KiB chunks).
//   1. ingest: signed one-message Meta webhooks (unique wamids, 500 senders, concurrency 64, wrk or autocannon) for
//      BENCH_SECONDS (10) s after a 3 s warm-up, three ways: text messages; image messages with the media worker off
//      (each webhook queues a download job: the enqueue cost); image messages with the worker downloading while
//      the load runs (MEDIA_CONCURRENCY 8). BENCH_ROUNDS (3) rounds, the order rotated each round; each round's
//      ratios against its own text run, and their median.
//   2. downloads: BENCH_DOWNLOADS (200) image webhooks at once with MEDIA_CONCURRENCY = BENCH_DOWNLOADS, for the
//      `postgres` and the `filesystem` driver: time until every item is `stored`, files/s, MB/s, and wa-hub's RSS
//      (VmRSS sampled every 20 ms, peak minus the value before) — a driver that buffered whole files would grow by
//      BENCH_DOWNLOADS × the file size. Then BENCH_BIG_DOWNLOADS (20) × BENCH_BIG_FILE_BYTES (32 MiB) the same way: a
//      whole-file buffer would grow RSS by 640 MiB, a streaming driver by its chunks in flight.
// The machine may be shared: each figure is printed with the load average when it was taken.
import autocannon from 'autocannon';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { metaEnvelope, metaSignature } from './meta-webhook.mjs';
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { performance } from 'node:perf_hooks';
import { join } from 'node:path';
import pg from 'pg';
import { databaseLabel, DATABASE_URL, root, startWaHub, stop } from './process.mjs';

const SCHEMA = 'bench_media';
const PORT = '3400';
const KEY = 'bench-media-admin-key-0123456789';
const SECRET = 'bench-app-secret';
const TOKEN = 'bench-graph-token';
const CONNECTIONS = 64;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WARMUP = 3;
const MAX_RATE = Number(process.env.BENCH_MAX_RATE ?? 8000);
const DOWNLOADS = Number(process.env.BENCH_DOWNLOADS ?? 200);
const FILE_BYTES = Number(process.env.BENCH_FILE_BYTES ?? 1024 * 1024);
const useWrk = process.env.BENCH_DRIVER !== 'autocannon' && spawnSync('wrk', ['--version']).error === undefined;
const runId = randomUUID().slice(0, 8);
const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

// ---------------------------------------------------------------- the fake Graph API and its CDN
// Shapes from Meta's media reference: https://developers.facebook.com/docs/whatsapp/cloud-api/reference/media
/** The file the fake CDN serves (switched by {@link useFile}), with its SHA-256 (base64 for webhooks, hex for the lookup). */
let file, fileSha256, fileHex;
function useFile(bytes) {
  file = randomBytes(bytes);
  file.set([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01]); // JPEG/JFIF magic for file-type
  fileSha256 = createHash('sha256').update(file).digest('base64');
  fileHex = createHash('sha256').update(file).digest('hex');
}
useFile(FILE_BYTES);
let served = 0;
const graph = createServer((req, res) => {
  if (req.headers.authorization !== `Bearer ${TOKEN}`) return void res.writeHead(401).end();
  const lookup = req.url.match(/^\/v21\.0\/([\w.-]+)$/);
  if (lookup) {
    res.writeHead(200, { 'content-type': 'application/json' });
    return void res.end(
      JSON.stringify({
        url: `http://127.0.0.1:${graph.address().port}/cdn/${lookup[1]}`,
        mime_type: 'image/jpeg',
        sha256: fileHex,
        file_size: file.length,
        id: lookup[1],
        messaging_product: 'whatsapp',
      }),
    );
  }
  if (req.url.startsWith('/cdn/')) {
    served++;
    res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': file.length });
    let at = 0;
    const bytes = file;
    const pump = () => {
      while (at < bytes.length) {
        const chunk = bytes.subarray(at, at + 65536);
        at += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      res.end();
    };
    return pump();
  }
  res.writeHead(404).end();
});
await new Promise((r) => graph.listen(0, '127.0.0.1', r));
const GRAPH = `http://127.0.0.1:${graph.address().port}`;

// ---------------------------------------------------------------- webhooks
let sequence = 0;
/** One Meta message webhook: a text, or an image whose media id is unique (so each queues its own download). */
function metaBody(kind) {
  const n = sequence++;
  const from = String(16505550000 + (n % 500));
  const message =
    kind === 'image'
      ? { type: 'image', image: { id: `bench.${runId}.${n}`, mime_type: 'image/jpeg', sha256: fileSha256, caption: `photo #${n}` } }
      : { type: 'text', text: { body: `Does it come in another color? #${n}` } };
  return metaEnvelope({
    contacts: [{ profile: { name: `Bench ${n % 500}` }, wa_id: from }],
    messages: [{ from, id: `wamid.media.${runId}.${n}`, timestamp: String(1750000000 + Math.floor(n / 100)), ...message }],
  });
}
const sign = (body) => metaSignature(SECRET, body);

async function drive(url, seconds, kind) {
  if (!useWrk) {
    const r = await autocannon({
      url,
      connections: CONNECTIONS,
      duration: seconds,
      requests: [
        {
          method: 'POST',
          setupRequest: (req) => {
            const body = metaBody(kind);
            return { ...req, body, headers: { 'content-type': 'application/json', 'x-hub-signature-256': sign(body) } };
          },
        },
      ],
    });
    return { rps: r.requests.average, p99: r.latency.p99, ok: r['2xx'] };
  }
  const dir = mkdtempSync(join(tmpdir(), 'wahub-bench-media-'));
  const path = join(dir, 'requests.tsv');
  const out = createWriteStream(path);
  for (let i = 0; i < Math.ceil(MAX_RATE * seconds); i++) {
    const body = metaBody(kind);
    if (!out.write(`${sign(body)}\t${body}\n`)) await new Promise((r) => out.once('drain', r));
  }
  await new Promise((r) => out.end(r));
  const stdout = execFileSync(
    'wrk',
    ['-t2', `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency', '-s', join(root, 'bench/wrk-replay.lua'), url, '--', path, '2'],
    { encoding: 'utf8' },
  );
  rmSync(dir, { recursive: true, force: true });
  const m = stdout.match(/99%\s+([\d.]+)(us|ms|s)/);
  const total = Number((stdout.match(/(\d+) requests in/) ?? [])[1] ?? 0);
  const non2xx = Number((stdout.match(/Non-2xx or 3xx responses: (\d+)/) ?? [])[1] ?? 0);
  return {
    rps: Number((stdout.match(/Requests\/sec:\s+([\d.]+)/) ?? [])[1]),
    p99: m ? Number(m[1]) * { us: 0.001, ms: 1, s: 1000 }[m[2]] : NaN,
    ok: total - non2xx,
  };
}

// ---------------------------------------------------------------- wa-hub
const db = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
const freshSchema = () => db.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE; CREATE SCHEMA ${SCHEMA}`);
const count = async (sql) => Number((await db.query(`SELECT count(*) AS n FROM ${SCHEMA}.${sql}`)).rows[0].n);
const hub = (env) =>
  startWaHub({
    schema: SCHEMA,
    port: PORT,
    adminKey: KEY,
    env: {
      META_APP_SECRET: SECRET,
      META_ACCESS_TOKEN: TOKEN,
      META_GRAPH_BASE_URL: GRAPH,
      META_API_VERSION: 'v21.0',
      MEDIA_ALLOW_HTTP: 'true',
      MEDIA_ALLOW_PRIVATE: 'true',
      MEDIA_POLL_MS: '50',
      RATE_LIMIT_PER_MINUTE: '100000000',
      ...env,
    },
  });
const rss = (pid) => Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]) * 1024;
const url = `http://127.0.0.1:${PORT}/webhooks/meta`;

console.log(
  `driver ${useWrk ? 'wrk (2 threads)' : 'autocannon'}, concurrency ${CONNECTIONS}, ${SECONDS}s measured after ${WARMUP}s warm-up, ` +
    `files ${(FILE_BYTES / 1048576).toFixed(2)} MiB, PostgreSQL ${databaseLabel}`,
);

// 1. ingest with and without media jobs queued: BENCH_ROUNDS rounds of the three runs, each on a fresh schema
// and process, the order rotated each round (a checkpoint or autovacuum lands on some run: one round's ratio
// swings by ±10 % and more on this machine); the ratios are each round's against its own text run, and the
// figure to compare with the target is their median.
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const modes = [
  ['text', 'text', 'true'],
  ['image, worker off', 'image', 'false'],
  ['image, worker on', 'image', 'true'],
];
const ratios = { 'image, worker off': [], 'image, worker on': [] };
for (let round = 0; round < ROUNDS; round++) {
  const ingest = {};
  for (let k = 0; k < modes.length; k++) {
    const [name, kind, worker] = modes[(k + round) % modes.length];
    await freshSchema();
    const child = await hub({ MEDIA_WORKER: worker, MEDIA_CONCURRENCY: '8' });
    await drive(url, WARMUP, kind);
    const before = await count('messages');
    const r = await drive(url, SECONDS, kind);
    // Acknowledged from the ingest inbox: wait until the applier has written every acknowledged webhook.
    const drainStart = performance.now();
    while ((await count('ingest_inbox')) > 0 && performance.now() - drainStart < 120_000) await new Promise((res) => setTimeout(res, 50));
    const drain = (performance.now() - drainStart) / 1000;
    const stored = (await count('messages')) - before;
    const jobs = kind === 'image' ? await count(`media WHERE state = 'stored'`) : 0;
    await stop(child);
    ingest[name] = r;
    console.log(
      `round ${round + 1} ingest ${name.padEnd(18)} ${r.rps.toFixed(0).padStart(6)} webhooks/s  p99 ${r.p99.toFixed(1)} ms  acknowledged ${r.ok}  rows ${stored}` +
        `  drain ${drain.toFixed(2)} s` +
        (kind === 'image' ? `  files stored meanwhile ${jobs}` : '') +
        `  (load ${load()})`,
    );
    if (stored < r.ok) throw new Error(`${name}: ${r.ok} acknowledged but ${stored} rows`);
  }
  for (const name of Object.keys(ratios)) ratios[name].push(ingest[name].rps / ingest.text.rps);
  console.log(
    `round ${round + 1} ratios: ${Object.keys(ratios)
      .map((n) => `${n} ${ratios[n].at(-1).toFixed(2)}`)
      .join(', ')}`,
  );
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const [name, xs] of Object.entries(ratios))
  if (xs.length)
    console.log(`ingest ${name} / text: median ${median(xs).toFixed(2)} of ${xs.map((x) => x.toFixed(2)).join(', ')}  (target >= 0.95)`);

// 2. concurrent downloads: BENCH_DOWNLOADS × the file, then BENCH_BIG_DOWNLOADS (20) × BENCH_BIG_FILE_BYTES (32 MiB),
// where a driver that buffered whole files would grow by 640 MiB and a streaming one by its chunks in flight.
const BIG_FILE_BYTES = Number(process.env.BENCH_BIG_FILE_BYTES ?? 32 * 1024 * 1024);
const BIG_DOWNLOADS = Number(process.env.BENCH_BIG_DOWNLOADS ?? 20);
for (const [files, bytes] of [
  [DOWNLOADS, FILE_BYTES],
  [BIG_DOWNLOADS, BIG_FILE_BYTES],
]) {
  for (const storage of ['postgres', 'filesystem']) {
    if (file.length !== bytes) useFile(bytes);
    await freshSchema();
    const dir = mkdtempSync(join(tmpdir(), 'wahub-bench-media-store-'));
    const child = await hub({ MEDIA_WORKER: 'true', MEDIA_CONCURRENCY: String(files), MEDIA_STORAGE: storage, MEDIA_DIR: dir });
    const rssBefore = rss(child.pid);
    let peak = rssBefore;
    const sampler = setInterval(() => (peak = Math.max(peak, rss(child.pid))), 20);
    served = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: files }, async () => {
        const body = metaBody('image');
        const res = await fetch(url, {
          method: 'POST',
          body,
          headers: { 'content-type': 'application/json', 'x-hub-signature-256': sign(body) },
        });
        if (res.status !== 200) throw new Error(`webhook answered ${res.status}`);
      }),
    );
    let stored = 0;
    let failed = 0;
    while (stored + failed < files && performance.now() - t0 < 300_000) {
      await new Promise((r) => setTimeout(r, 25));
      stored = await count(`media WHERE state = 'stored'`);
      failed = await count(`media WHERE state = 'failed'`);
    }
    const seconds = (performance.now() - t0) / 1000;
    clearInterval(sampler);
    await stop(child);
    rmSync(dir, { recursive: true, force: true });
    console.log(
      `downloads ${storage.padEnd(10)} ${files} × ${(bytes / 1048576).toFixed(2)} MiB at concurrency ${files}: ${seconds.toFixed(2)} s, ` +
        `${(stored / seconds).toFixed(1)} files/s, ${((stored * bytes) / 1048576 / seconds).toFixed(1)} MiB/s, stored ${stored}, failed ${failed}, ` +
        `served ${served}; RSS ${(rssBefore / 1048576).toFixed(0)} → peak ${(peak / 1048576).toFixed(0)} MiB (+${((peak - rssBefore) / 1048576).toFixed(0)} MiB; ` +
        `${((peak - rssBefore) / (files * bytes)).toFixed(2)}× the bytes in flight)  (load ${load()})`,
    );
    if (failed) throw new Error(`${failed} downloads failed`);
  }
}

await db.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
await db.end();
graph.close();
