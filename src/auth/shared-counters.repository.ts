import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

/** One key's hits to add in a window (ms since epoch bounds). */
export interface CounterDelta {
  key: string;
  windowStart: number;
  windowEnd: number;
  add: number;
}

/**
 * Where the processes' counts meet (the port of {@link SharedCounters}): PostgreSQL's `rate_counters` by default
 * ({@link SharedCountersRepository}), Redis when REDIS_URL is set (RedisCountersStore, shared-counters.redis.ts).
 */
export abstract class SharedCountersStore {
  /**
   * Adds each delta (0 only reads) and returns the totals of every process, in input order, without losing an
   * increment when processes add at once. Deltas must not repeat a (key, windowStart).
   * @throws the store's error (the caller keeps the hits and adds them next time).
   */
  abstract addAndRead(deltas: CounterDelta[]): Promise<number[]>;
  /** Deletes windows that ended before `before` (ms since epoch). @returns how many were deleted (0 where they expire by themselves). */
  abstract prune(before: number): Promise<number>;
  /** Releases connections of its own at shutdown (none for the database's). */
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** SQL of the shared counters (`rate_counters`). */
@Injectable()
export class SharedCountersRepository extends SharedCountersStore {
  constructor(private readonly db: DataSource) {
    super();
  }

  /**
   * Adds each delta (0 only reads) and returns the totals, in input order: one statement for the whole batch.
   * Deltas must not repeat a (key, windowStart).
   */
  async addAndRead(deltas: CounterDelta[]): Promise<number[]> {
    if (deltas.length === 0) return [];
    const rows: { i: number; hits: number }[] = await this.db.query(
      `WITH input AS (
         SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(i int, key text, s double precision, e double precision, n int)
       ), up AS (
         INSERT INTO rate_counters AS r (key, window_start, window_end, hits)
         SELECT key, to_timestamp(s / 1000.0), to_timestamp(e / 1000.0), n FROM input
         ON CONFLICT (key, window_start) DO UPDATE SET hits = r.hits + EXCLUDED.hits
         RETURNING key, window_start, hits
       )
       SELECT input.i, up.hits FROM input JOIN up ON up.key = input.key AND up.window_start = to_timestamp(input.s / 1000.0)`,
      [JSON.stringify(deltas.map((d, i) => ({ i, key: d.key, s: d.windowStart, e: d.windowEnd, n: d.add })))],
    );
    const out = new Array<number>(deltas.length).fill(0);
    for (const r of rows) out[r.i] = Number(r.hits);
    return out;
  }

  /** Deletes windows that ended before `before` (ms since epoch). @returns rows deleted. */
  async prune(before: number): Promise<number> {
    const rows: unknown[] = await this.db.query(`DELETE FROM rate_counters WHERE window_end < to_timestamp($1 / 1000.0) RETURNING 1`, [
      before,
    ]);
    return rows.length;
  }
}
