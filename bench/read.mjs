// npm run bench:read — read-side latency at a million messages (issue 4).
// Seeds schema `bench_read` of DATABASE_URL (default the local `test` database) with 1,000,000 messages across
// 10,000 conversations (4 sessions: Meta, Wablas, 2 wwebjs; 10,000 contacts, 70% named, some with accents;
// timestamps spread over the last 365 days; 40% outgoing with sent/delivered/read/failed statuses and their
// status events; 20 messages carry the rare word "Xylophonique"). The schema is built by wa-hub's own migrations
// (the app boots on it) and the rows are generated in SQL; a seeded schema is reused (BENCH_RESEED=1 rebuilds).
// Then drives the built app over HTTP, one request at a time, and prints p50/p99 per query.
import { DATABASE_URL, databaseLabel, startWaHub } from './process.mjs';
import pg from 'pg';

const SCHEMA = 'bench_read';
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 1_000_000);
const CONVERSATIONS = Number(process.env.BENCH_CONVERSATIONS ?? 10_000);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 300);
const TARGET_MS = 50;
const PORT = '3110';
const KEY = 'bench-read-admin-key-0123456789';

const db = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });

const start = () => startWaHub({ schema: SCHEMA, port: PORT, adminKey: KEY, env: { RATE_LIMIT_PER_MINUTE: '100000000' } });

async function seeded() {
  const { rows } = await db.query(`SELECT to_regclass('${SCHEMA}.messages') AS t`);
  if (!rows[0].t) return false;
  const n = await db.query(`SELECT count(*)::int AS n FROM ${SCHEMA}.messages`);
  return n.rows[0].n === MESSAGES;
}

async function seed() {
  const t0 = Date.now();
  const c = await db.connect();
  try {
    await c.query(`SET search_path = ${SCHEMA}, public; SET maintenance_work_mem = '1GB'; SET synchronous_commit = off`);
    await c.query(`TRUNCATE sessions, contacts, conversations, messages, message_status_events, webhook_events CASCADE`);
    await c.query(`
      INSERT INTO sessions (provider, external_id, display_number, status, connected_at) VALUES
        ('meta', '106540352242922', '15550783881', 'session_connected', now()),
        ('wablas', 'device-bench', '6281200000001', 'session_connected', now()),
        ('wwebjs', 'sales', '6281200000002', 'session_connected', now()),
        ('wwebjs', 'support', '6281200000003', 'session_connected', now())`);
    const names = [
      'José Álvarez',
      'Renée Dubois',
      'Zoë Martin',
      'Budi Santoso',
      'Siti Rahma',
      'Ana María López',
      'Łukasz Nowak',
      'Ahmad Fauzi',
      'Chloé Bernard',
      'Dewi Lestari',
    ];
    await c.query(
      `
      INSERT INTO contacts (phone, name, profile_name)
      SELECT '62812' || lpad(g::text, 7, '0'),
        CASE WHEN g % 10 < 7 THEN ($1::text[])[1 + g % 10] || ' ' || g END,
        'Profile ' || g
      FROM generate_series(1, ${CONVERSATIONS}) g`,
      [names],
    );
    await c.query(`
      INSERT INTO conversations (session_id, chat_id, contact_id)
      SELECT s.id, c.phone, c.id
      FROM contacts c JOIN (SELECT id, provider, row_number() OVER (ORDER BY external_id) - 1 AS k FROM sessions) s
        ON s.k = (substr(c.phone, 6)::int % 4)`);
    await c.query(
      `CREATE TEMP TABLE conv_idx AS SELECT row_number() OVER (ORDER BY id) - 1 AS k, id, session_id, chat_id, contact_id FROM conversations`,
    );
    await c.query(`CREATE UNIQUE INDEX ON conv_idx (k)`);
    // The trigram index is built once after the rows are in (as a restore would), not row by row.
    await c.query(`DROP INDEX ix_messages_search`);
    const words = [
      'hello',
      'order',
      'price',
      'thanks',
      'delivery',
      'tomorrow',
      'invoice',
      'payment',
      'color',
      'size',
      'café',
      'menu',
      'résumé',
      'shipping',
      'available',
      'please',
      'confirm',
      'address',
      'pickup',
      'discount',
    ];
    await c.query(
      `
      INSERT INTO messages (session_id, conversation_id, contact_id, external_id, direction, type, chat_id, sender,
        sender_name, text, caption, media, status, status_at, provider_timestamp, raw)
      SELECT v.session_id, v.id, v.contact_id, 'bench.' || g, d.direction,
        CASE WHEN g % 10 = 0 THEN 'image' ELSE 'text' END, v.chat_id,
        CASE WHEN d.direction = 'in' THEN v.chat_id END,
        CASE WHEN d.direction = 'in' THEN 'Profile ' || v.k END,
        CASE WHEN g % 10 <> 0 THEN t.body END,
        CASE WHEN g % 10 = 0 THEN t.body END,
        CASE WHEN g % 10 = 0 THEN jsonb_build_object('mimeType', 'image/jpeg', 'id', 'media.' || g) END,
        d.status, ts.at, ts.at,
        jsonb_build_object('id', 'bench.' || g, 'from', v.chat_id, 'timestamp', extract(epoch FROM ts.at)::bigint::text, 'type', 'text', 'text', jsonb_build_object('body', t.body))
      FROM generate_series(1, ${MESSAGES}) g
      JOIN conv_idx v ON v.k = g % ${CONVERSATIONS}
      CROSS JOIN LATERAL (SELECT now() - ((g::bigint * 7919) % 31536000) * interval '1 second' AS at) ts
      CROSS JOIN LATERAL (SELECT CASE WHEN g % 5 < 3 THEN 'in' ELSE 'out' END AS direction,
        CASE WHEN g % 5 < 3 THEN 'received' ELSE (ARRAY['sent', 'delivered', 'delivered', 'read', 'read', 'read', 'failed'])[1 + g % 7] END AS status) d
      CROSS JOIN LATERAL (SELECT initcap(($1::text[])[1 + g % 20]) || ' ' || ($1::text[])[1 + (g / 20) % 20] || ' ' ||
        ($1::text[])[1 + (g / 400) % 20] || ' ' || ($1::text[])[1 + (g / 7) % 20] || ' #' || g ||
        CASE WHEN g % ${Math.floor(MESSAGES / 20)} = 7 THEN ' Xylophonique' ELSE '' END AS body) t`,
      [words],
    );
    await c.query(
      `CREATE INDEX ix_messages_search ON messages USING gin (wa_fold(coalesce(text, '') || ' ' || coalesce(caption, '')) public.gin_trgm_ops)`,
    );
    await c.query(`
      INSERT INTO message_status_events (session_id, external_id, status, occurred_at)
      SELECT m.session_id, m.external_id, e.status, m.provider_timestamp + e.after
      FROM messages m CROSS JOIN LATERAL (VALUES ('sent', interval '1 second', 0), ('delivered', interval '4 seconds', 1), ('read', interval '95 seconds', 2)) e(status, after, r)
      WHERE m.direction = 'out' AND e.r <= CASE m.status WHEN 'sent' THEN 0 WHEN 'delivered' THEN 1 WHEN 'read' THEN 2 ELSE -1 END`);
    await c.query(`
      UPDATE conversations v SET message_count = a.n, unread_count = a.unread, last_message_at = a.last_at,
        last_message_preview = left(a.preview, 200), last_message_direction = a.dir
      FROM (SELECT conversation_id, count(*) AS n, count(*) FILTER (WHERE direction = 'in' AND provider_timestamp > now() - interval '2 days') AS unread,
              max(provider_timestamp) AS last_at,
              (array_agg(coalesce(text, caption) ORDER BY provider_timestamp DESC))[1] AS preview,
              (array_agg(direction ORDER BY provider_timestamp DESC))[1] AS dir
            FROM messages GROUP BY conversation_id) a
      WHERE v.id = a.conversation_id`);
  } finally {
    c.release();
  }
  await db.query(`VACUUM ANALYZE ${SCHEMA}.messages, ${SCHEMA}.conversations, ${SCHEMA}.contacts, ${SCHEMA}.message_status_events`);
  console.log(`seeded ${MESSAGES} messages in ${CONVERSATIONS} conversations in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

async function measure(name, pathFor) {
  const get = async (path) => {
    const t = process.hrtime.bigint();
    const res = await fetch(`http://127.0.0.1:${PORT}${path}`, { headers: { 'x-api-key': KEY } });
    const body = await res.text();
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    if (res.status !== 200) throw new Error(`${name}: ${path} answered ${res.status} ${body.slice(0, 300)}`);
    return { ms, body };
  };
  for (let i = 0; i < 10; i++) await get(pathFor(i));
  const times = [];
  let last;
  for (let i = 0; i < SAMPLES; i++) {
    const r = await get(pathFor(i));
    times.push(r.ms);
    last = r.body;
  }
  times.sort((a, b) => a - b);
  const row = { name, p50: pct(times, 50), p99: pct(times, 99) };
  console.log(
    `${name.padEnd(40)} p50 ${row.p50.toFixed(1).padStart(6)} ms   p99 ${row.p99.toFixed(1).padStart(6)} ms   ${row.p99 < TARGET_MS ? 'ok' : 'OVER TARGET'}`,
  );
  return { ...row, last };
}

await db.query(`CREATE SCHEMA IF NOT EXISTS ${SCHEMA}`);
let app = await start(); // runs the migrations on the schema
if (process.env.BENCH_RESEED === '1' || !(await seeded())) {
  app.kill();
  await seed();
  app = await start();
}
try {
  const convs = (await db.query(`SELECT id FROM ${SCHEMA}.conversations ORDER BY id`)).rows.map((r) => r.id);
  const pick = (i) => convs[(i * 7919) % convs.length];
  // Cursors 20,000 rows deep and at page 20,000 of 50 (the last page of a million), taken from the API itself.
  const cursorAt = async (depth) => {
    const r = await fetch(`http://127.0.0.1:${PORT}/v1/messages?limit=1&offset=${depth - 1}`, { headers: { 'x-api-key': KEY } });
    return (await r.json()).nextCursor;
  };
  const deep = await cursorAt(20_000);
  const deepest = await cursorAt(MESSAGES - 50);
  const {
    rows: [msgCount],
  } = await db.query(`SELECT count(*)::int AS n FROM ${SCHEMA}.messages`);
  console.log(
    `PostgreSQL ${databaseLabel}, schema ${SCHEMA}: ${msgCount.n} messages, ${convs.length} conversations; ${SAMPLES} sequential requests per query after 10 warm-up`,
  );
  const results = [];
  results.push(await measure("a conversation's latest 50", (i) => `/v1/conversations/${pick(i)}/messages?limit=50`));
  results.push(await measure('history page 1 (50)', () => `/v1/messages?limit=50`));
  results.push(await measure('history 20,000 rows deep by cursor', () => `/v1/messages?limit=50&cursor=${deep}`));
  results.push(await measure('history page 20,000 of 50 by cursor', () => `/v1/messages?limit=50&cursor=${deepest}`));
  results.push(await measure('stats, 30 days', () => `/v1/stats?days=30`));
  const search = await measure(
    'search for a rare word',
    (i) => `/v1/messages?limit=50&q=${['Xylophonique', 'XYLOPHONIQUE', 'xylophoniqué'][i % 3]}`,
  );
  results.push(search);
  results.push(await measure('conversation list (50)', () => `/v1/conversations?limit=50`));
  results.push(
    await measure(
      'conversation list, unread, by name',
      (i) => `/v1/conversations?limit=50&unread=true&q=${['jose', 'Renée', 'budi'][i % 3]}`,
    ),
  );
  const found = JSON.parse(search.last).data.length;
  console.log(`search found ${found} messages (20 seeded)`);
  const over = results.filter((r) => r.p99 >= TARGET_MS);
  console.log(
    over.length ? `OVER the ${TARGET_MS} ms p99 target: ${over.map((r) => r.name).join(', ')}` : `every p99 under ${TARGET_MS} ms`,
  );
  process.exitCode = over.length || found !== 20 ? 1 : 0;
} finally {
  app.kill();
  await db.end();
}
