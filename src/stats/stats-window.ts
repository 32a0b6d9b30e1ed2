/** Where the counts of one part of a statistics window are read from. */
export type StatsSource = 'daily' | 'hourly' | 'live';

/**
 * One signed part of a window: the counts of `source` over [`from`, `to`) (whole UTC days for `daily`, whole UTC
 * hours for `hourly`, any instants for `live`), added (`sign` 1) or subtracted (-1).
 */
export interface StatsTerm {
  source: StatsSource;
  from: Date;
  to: Date;
  sign: 1 | -1;
}

const DAY = 86_400_000;
const HOUR = 3_600_000;
const floorTo = (t: number, unit: number) => Math.floor(t / unit) * unit;
const ceilTo = (t: number, unit: number) => Math.ceil(t / unit) * unit;

interface Plan {
  terms: StatsTerm[];
  /** Milliseconds of live ranges before `now` (messages after now are rare: that part costs nothing). */
  liveMs: number;
  /** Roll-up units read (hours, and days counted as hours), to break ties. */
  units: number;
}

/**
 * Splits the window [`from`, `to`) into signed terms whose sum is exactly its counts: whole days from the daily
 * roll-ups, whole hours from the hourly roll-ups, and instants from the messages themselves (migration
 * 1764720000000-ReadsUnderLoad explains why). Each edge is covered either by adding the part of its day (hour)
 * inside the window or by taking the whole day (hour) and subtracting the part outside it, whichever leaves the
 * fewest milliseconds to read live before `now`, then the fewest roll-up rows. A window ending now therefore
 * subtracts the rest of the current hour (no messages yet) instead of reading the hour so far.
 * @param from before `to` (epoch milliseconds or Date).
 * @returns terms in no particular order; empty when `from` is not before `to`.
 */
export function statsTerms(from: Date, to: Date, now: Date = new Date()): StatsTerm[] {
  return cover(from.getTime(), to.getTime(), 1, [DAY, HOUR], now.getTime()).terms;
}

function cover(a: number, b: number, sign: 1 | -1, units: number[], now: number): Plan {
  if (a >= b) return { terms: [], liveMs: 0, units: 0 };
  if (units.length === 0) {
    return { terms: [{ source: 'live', from: new Date(a), to: new Date(b), sign }], liveMs: Math.max(0, Math.min(b, now) - a), units: 0 };
  }
  const [unit, ...finer] = units;
  const source: StatsSource = unit === DAY ? 'daily' : 'hourly';
  const neg = (sign === 1 ? -1 : 1) as 1 | -1;
  // Without this granularity: everything at the finer ones.
  let best = cover(a, b, sign, finer, now);
  // Whole units [start, end): start is a's unit boundary after (edge added) or before (edge subtracted) it, and
  // likewise end for b.
  for (const start of new Set([ceilTo(a, unit), floorTo(a, unit)])) {
    for (const end of new Set([floorTo(b, unit), ceilTo(b, unit)])) {
      if (start >= end) continue;
      const lead = start >= a ? cover(a, start, sign, finer, now) : cover(start, a, neg, finer, now);
      const trail = end <= b ? cover(end, b, sign, finer, now) : cover(b, end, neg, finer, now);
      const plan: Plan = {
        terms: [{ source, from: new Date(start), to: new Date(end), sign }, ...lead.terms, ...trail.terms],
        liveMs: lead.liveMs + trail.liveMs,
        units: (end - start) / HOUR / (unit === DAY ? 24 : 1) + lead.units + trail.units,
      };
      if (plan.liveMs < best.liveMs || (plan.liveMs === best.liveMs && plan.units < best.units)) best = plan;
    }
  }
  return best;
}
