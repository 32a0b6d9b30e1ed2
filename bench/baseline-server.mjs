// The baselines the ingest benchmark compares wa-hub against, minimal node:http + pg handlers that check
// X-Hub-Signature-256 and answer after the commit:
// - BASELINE_MODE=raw (issue 2, the old workload's): INSERTs the raw payload in one SQL round trip.
// - BASELINE_MODE=yardstick (issue 16, the realistic workload's): the job done the usual way, one statement per
//   request: a message inserts its row ON CONFLICT DO NOTHING and upserts its conversation with counters (message
//   count, unread, last message), in one CTE; a status callback updates its message's status (and counts it).
//   YARDSTICK_SEED=<prefix>:<n> pre-creates n outbound messages `<prefix><k>` (the status callbacks' targets).
// Usage: DATABASE_URL=... META_APP_SECRET=... PORT=... BASELINE_SCHEMA=... [BASELINE_MODE=...] node bench/baseline-server.mjs
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import pg from 'pg';

const secret = process.env.META_APP_SECRET;
const schema = process.env.BASELINE_SCHEMA ?? 'bench_baseline';
const mode = process.env.BASELINE_MODE ?? 'raw';
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.BASELINE_POOL ?? 10) });
await pool.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
if (mode === 'raw') {
  await pool.query(
    `CREATE TABLE IF NOT EXISTS ${schema}.raw_events (id bigserial PRIMARY KEY, received_at timestamptz NOT NULL DEFAULT now(), body jsonb NOT NULL)`,
  );
} else {
  await pool.query(`
    CREATE TABLE IF NOT EXISTS ${schema}.conversations (id bigserial PRIMARY KEY, chat_id text NOT NULL UNIQUE, contact_name text,
      message_count int NOT NULL DEFAULT 0, unread_count int NOT NULL DEFAULT 0, last_message_at timestamptz, last_message_preview text,
      updated_at timestamptz NOT NULL DEFAULT now());
    CREATE TABLE IF NOT EXISTS ${schema}.messages (id bigserial PRIMARY KEY, wamid text NOT NULL UNIQUE, chat_id text NOT NULL,
      direction text NOT NULL, type text NOT NULL, text text, media jsonb, status text NOT NULL, status_updates int NOT NULL DEFAULT 0,
      provider_timestamp timestamptz NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`);
  const [prefix, n] = (process.env.YARDSTICK_SEED ?? ':0').split(':');
  if (Number(n) > 0)
    await pool.query(
      `INSERT INTO ${schema}.messages (wamid, chat_id, direction, type, text, status, provider_timestamp)
       SELECT $1 || g, (16505600000 + g % 10000)::text, 'out', 'text', 'hello', 'sent', now() FROM generate_series(0, $2::int - 1) g
       ON CONFLICT DO NOTHING`,
      [prefix, Number(n)],
    );
}

const INSERT_MESSAGE = `
  WITH m AS (
    INSERT INTO ${schema}.messages (wamid, chat_id, direction, type, text, media, status, provider_timestamp)
    VALUES ($1, $2, 'in', $3, $4, $5::jsonb, 'received', to_timestamp($6::bigint))
    ON CONFLICT (wamid) DO NOTHING RETURNING chat_id, provider_timestamp, left(COALESCE(text, '[' || type || ']'), 200) AS preview
  )
  INSERT INTO ${schema}.conversations AS c (chat_id, contact_name, message_count, unread_count, last_message_at, last_message_preview)
  SELECT chat_id, $7, 1, 1, provider_timestamp, preview FROM m
  ON CONFLICT (chat_id) DO UPDATE SET message_count = c.message_count + 1, unread_count = c.unread_count + 1,
    last_message_at = GREATEST(c.last_message_at, EXCLUDED.last_message_at),
    last_message_preview = CASE WHEN EXCLUDED.last_message_at >= c.last_message_at THEN EXCLUDED.last_message_preview ELSE c.last_message_preview END,
    contact_name = COALESCE(EXCLUDED.contact_name, c.contact_name), updated_at = now()`;
const UPDATE_STATUS = `UPDATE ${schema}.messages SET status = $2, status_updates = status_updates + 1 WHERE wamid = $1`;

/** The one statement of a Meta webhook (its first message or status), as [sql, params]. */
function statementOf(body) {
  const value = body.entry?.[0]?.changes?.[0]?.value ?? {};
  const m = value.messages?.[0];
  if (m) {
    const media = m.type === 'text' ? null : JSON.stringify(m[m.type] ?? null);
    const text = m.type === 'text' ? m.text?.body : (m[m.type]?.caption ?? null);
    return [INSERT_MESSAGE, [m.id, m.from, m.type, text, media, m.timestamp, value.contacts?.[0]?.profile?.name ?? null]];
  }
  const s = value.statuses?.[0];
  if (s) return [UPDATE_STATUS, [s.id, s.status]];
  return null;
}

createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    const raw = Buffer.concat(chunks);
    const header = String(req.headers['x-hub-signature-256'] ?? '');
    const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`);
    if (header.length !== expected.length || !timingSafeEqual(Buffer.from(header), expected)) {
      res.writeHead(401).end();
      return;
    }
    try {
      if (mode === 'raw') await pool.query(`INSERT INTO ${schema}.raw_events (body) VALUES ($1::jsonb)`, [raw.toString('utf8')]);
      else {
        const statement = statementOf(JSON.parse(raw.toString('utf8')));
        if (statement) await pool.query(statement[0], statement[1]);
      }
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('EVENT_RECEIVED');
    } catch {
      res.writeHead(500).end();
    }
  });
}).listen(Number(process.env.PORT ?? 3101), () => process.send?.('ready'));
process.on('SIGINT', () => process.exit(0));
