import { describe, expect, it } from 'vitest';
import { SendPacer } from './send-pacer';

/** Largest number of times in any window [t, t + ms). */
function busiest(times: number[], ms: number): number {
  return Math.max(...times.map((start) => times.filter((v) => v >= start && v < start + ms).length));
}

function block(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end);
}

describe('SendPacer', () => {
  it('keeps the per-session cap when timers fire late (a blocked event loop must not cause a burst)', async () => {
    const pacer = new SendPacer(20, 0);
    const started: number[] = [];
    const calls = Array.from({ length: 40 }, () => pacer.spaceCall('s1', '').then((at) => started.push(at)));
    await new Promise((r) => setTimeout(r, 200));
    block(600); // slots due in the next 600 ms all fire together afterwards
    await Promise.all(calls);
    expect(started).toHaveLength(40);
    expect(busiest(started, 1000)).toBeLessThanOrEqual(20);
    // Still close to the rate: 40 calls at 20/s need about 2 s (the first 20 may start within the first second).
    expect(started[39] - started[0]).toBeLessThan(2600);
  });

  it('spaces calls evenly and keeps sessions independent', async () => {
    const pacer = new SendPacer(10, 0);
    const a: number[] = [];
    const b: number[] = [];
    await Promise.all([
      ...Array.from({ length: 5 }, () => pacer.spaceCall('a', '').then((at) => a.push(at))),
      ...Array.from({ length: 5 }, () => pacer.spaceCall('b', '').then((at) => b.push(at))),
    ]);
    for (const times of [a, b]) {
      // Slots are planned 100 ms apart; a timer that fires late shortens the gap after it by that much (the hard
      // limit is the per-second cap, tested above), so allow a CI machine's timer lateness.
      for (let i = 1; i < times.length; i++) expect(times[i] - times[i - 1]).toBeGreaterThanOrEqual(80);
      expect(times[4] - times[0]).toBeLessThan(700);
    }
    expect(Math.abs(a[0] - b[0])).toBeLessThan(50);
  });

  it('keeps the recipient gap from the real start of the previous call to that recipient', async () => {
    const pacer = new SendPacer(1000, 300);
    const times: Record<string, number[]> = { x: [], y: [] };
    await Promise.all(['x', 'x', 'y', 'x', 'y'].map((to) => pacer.spaceCall('s', to).then((at) => times[to].push(at))));
    expect(times.x[1] - times.x[0]).toBeGreaterThanOrEqual(299);
    expect(times.x[2] - times.x[1]).toBeGreaterThanOrEqual(299);
    expect(times.y[1] - times.y[0]).toBeGreaterThanOrEqual(299);
    expect(Math.abs(times.y[0] - times.x[0])).toBeLessThan(50);
  });

  it('reserve spreads a claimed batch at the rate and honours the recipient gap', () => {
    let now = 1_000;
    const pacer = new SendPacer(4, 1000, () => now);
    expect([0, 1, 2, 3].map((i) => pacer.reserve('s', `r${i}`))).toEqual([0, 250, 500, 750]);
    expect(pacer.reserve('s', 'r0')).toBe(1000);
    now += 5_000;
    expect(pacer.reserve('s', 'r0')).toBe(0);
  });
});
