import { describe, expect, it } from 'vitest';
import { StatsTerm, statsTerms } from './stats-window';

const H = 3_600_000;
const D = 24 * H;

/** How many times the terms count instant `t` (each term adds or subtracts its range). */
const coverage = (terms: StatsTerm[], t: number) =>
  terms.reduce((a, x) => a + (t >= x.from.getTime() && t < x.to.getTime() ? x.sign : 0), 0);
const liveMs = (terms: StatsTerm[], now: number) =>
  terms.filter((x) => x.source === 'live').reduce((a, x) => a + Math.max(0, Math.min(x.to.getTime(), now) - x.from.getTime()), 0);

/** Deterministic pseudo-random numbers in [0, 1). */
function rng(seed: number) {
  return () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return seed / 2_147_483_648;
  };
}

describe('statsTerms', () => {
  const now = Date.UTC(2026, 11, 1, 11, 47, 13, 250);

  it('counts every instant of the window once and nothing outside it, for any window', () => {
    const r = rng(18);
    for (let i = 0; i < 400; i++) {
      const from = now - Math.floor(r() * 40 * D);
      const to = from + 1 + Math.floor(r() * (r() < 0.3 ? 2 * H : 35 * D));
      const terms = statsTerms(new Date(from), new Date(to), new Date(now));
      for (const x of terms) {
        const unit = x.source === 'daily' ? D : x.source === 'hourly' ? H : 1;
        expect(x.from.getTime() % unit).toBe(0);
        expect(x.to.getTime() % unit).toBe(0);
        expect(x.from.getTime()).toBeLessThan(x.to.getTime());
      }
      const probes = [from, to - 1, from - 1, to, ...terms.flatMap((x) => [x.from.getTime(), x.to.getTime() - 1, x.to.getTime()])];
      for (let k = 0; k < 50; k++) probes.push(from - H + Math.floor(r() * (to - from + 2 * H)));
      for (const t of probes) expect(coverage(terms, t)).toBe(t >= from && t < to ? 1 : 0);
    }
  });

  it('reads at most half an hour of messages live, and none before now for a window ending now', () => {
    const terms = statsTerms(new Date(now - 30 * D), new Date(now), new Date(now));
    // The 30-day-old edge: the 12 min 47 s of 11:47:13 to 12:00 are fewer than the 47 min before it.
    expect(liveMs(terms, now)).toBe(12 * 60_000 + 46_750);
    expect(terms.filter((x) => x.source === 'daily')).toHaveLength(1);
    // Today: no message before now is read; what is after now (none) is subtracted from the roll-ups.
    const today = terms.filter((x) => x.source === 'live' && x.to.getTime() > now - D);
    expect(today).toEqual([{ source: 'live', from: new Date(now), to: new Date(Date.UTC(2026, 11, 2)), sign: -1 }]);
    const r = rng(4);
    for (let i = 0; i < 200; i++) {
      const from = now - Math.floor(r() * 400 * D);
      const to = from + Math.floor(r() * 30 * D) + 1;
      expect(liveMs(statsTerms(new Date(from), new Date(to), new Date(now)), now)).toBeLessThanOrEqual(H);
    }
  });

  it('answers whole days from the daily roll-ups alone', () => {
    const terms = statsTerms(new Date(Date.UTC(2026, 10, 1)), new Date(Date.UTC(2026, 10, 8)), new Date(now));
    expect(terms).toEqual([{ source: 'daily', from: new Date(Date.UTC(2026, 10, 1)), to: new Date(Date.UTC(2026, 10, 8)), sign: 1 }]);
  });
});
