// The baseline the ingest benchmark compares wa-hub against (issue 2): a minimal node:http + pg handler that
// checks X-Hub-Signature-256, INSERTs the raw payload in one SQL round trip, and answers after the commit.
// Usage: DATABASE_URL=... META_APP_SECRET=... PORT=... BASELINE_SCHEMA=... node bench/baseline-server.mjs
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import pg from 'pg';

const secret = process.env.META_APP_SECRET;
const schema = process.env.BASELINE_SCHEMA ?? 'bench_baseline';
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.BASELINE_POOL ?? 10) });
await pool.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
await pool.query(
  `CREATE TABLE IF NOT EXISTS ${schema}.raw_events (id bigserial PRIMARY KEY, received_at timestamptz NOT NULL DEFAULT now(), body jsonb NOT NULL)`,
);

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
      await pool.query(`INSERT INTO ${schema}.raw_events (body) VALUES ($1::jsonb)`, [raw.toString('utf8')]);
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('EVENT_RECEIVED');
    } catch {
      res.writeHead(500).end();
    }
  });
}).listen(Number(process.env.PORT ?? 3101), () => process.send?.('ready'));
process.on('SIGINT', () => process.exit(0));
