import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, TEST_ENV, type TestApp } from './helpers/test-app';

// 350,000 rows (about 20 MB) as in the report that found the problem; the embedded database writes in-process, 100,000.
const ROWS = Number(process.env.WAHUB_TEST_IMPORT_ROWS) || (process.env.DATABASE_URL ? 350_000 : 100_000);

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/**
 * A 350,000-row contact import (about 20 MB of CSV) leaves the server responsive: `/health` is polled throughout
 * and answers quickly (target p99 100 ms; asserted under 500 ms), because the import parses, validates and writes in
 * chunks, yielding in between. Runs in the `alone` project (it measures time).
 */
describe('a large contact import keeps the server responsive (e2e)', () => {
  let t: TestApp;
  let base: string;

  beforeAll(async () => {
    t = await createTestApp();
    await t.reset();
    await new Promise<void>((r) => t.app.getHttpServer().listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(t.app.getHttpServer().address() as { port: number }).port}`;
  }, 120_000);
  afterAll(async () => t?.close());

  it(`${ROWS} rows of CSV: every row stored; /health answers quickly meanwhile`, async () => {
    const lines = ['phone,name,email,tags'];
    for (let i = 0; i < ROWS; i++) {
      lines.push(`+1650${String(2000000 + i).padStart(7, '0')},Customer ${i},c${i}@example.com,vip;bulk`);
    }
    const csv = lines.join('\n');
    expect(csv.length).toBeGreaterThan(ROWS * 45); // 350,000 rows: about 18 MB, under the import's 20 MiB limit
    let done = false;
    const latencies: number[] = [];
    const poll = (async () => {
      while (!done) {
        const t0 = performance.now();
        const res = await fetch(`${base}/health`);
        await res.arrayBuffer();
        latencies.push(performance.now() - t0);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const res = await fetch(`${base}/v1/contacts/import`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv', 'x-api-key': TEST_ENV.ADMIN_API_KEY },
      body: csv,
    });
    done = true;
    await poll;
    const body = (await res.json()) as { created: number; updated: number; rejected: number; errors: unknown[] };
    expect(res.status).toBe(200);
    expect(body.rejected, JSON.stringify(body.errors.slice(0, 3))).toBe(0);
    expect(body.created + body.updated).toBe(ROWS);
    const [{ n }] = await t.db.query(`SELECT count(*)::int AS n FROM contacts`);
    expect(n).toBe(ROWS);
    expect(latencies.length).toBeGreaterThan(20);
    const p99 = percentile(latencies, 99);
    console.log(
      `import of ${ROWS} rows: /health polled ${latencies.length}×, p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${p99.toFixed(1)} ms`,
    );
    // The target is 100 ms (measured in the closing note on a quiet machine); the test's bound is looser so that a
    // loaded CI machine cannot make it flaky, and still catches an import that holds the event loop (8.9 s before).
    expect(p99).toBeLessThan(500);
  }, 600_000);
});
