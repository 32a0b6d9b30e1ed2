import { describe, expect, it } from 'vitest';
import type { Clock } from '../common/clock';
import { SendPacer } from './send-pacer';

/**
 * A clock that only moves when told. Sleepers wake in order of their wake-up time (then of their sleep calls),
 * each seeing `now()` at its wake-up time, and the code they resume runs before the next one wakes.
 */
class FakeClock implements Clock {
  private timers: { at: number; seq: number; wake: () => void }[] = [];
  private seq = 0;

  constructor(private t: number) {}

  now(): number {
    return this.t;
  }

  sleep(ms: number): Promise<void> {
    return new Promise((wake) => this.timers.push({ at: this.t + Math.max(0, ms), seq: this.seq++, wake }));
  }

  /** Moves time forward by `ms`, waking each sleeper on time. */
  async advance(ms: number): Promise<void> {
    const until = this.t + ms;
    for (let next = this.due(until); next; next = this.due(until)) {
      this.t = next.at;
      await this.fire(next);
    }
    this.t = until;
    await settle();
  }

  /**
   * Moves time forward by `ms` at once and only then wakes the sleepers that were due meanwhile, all late (as
   * timers after a blocked event loop): each sees the end time.
   */
  async jump(ms: number): Promise<void> {
    this.t += ms;
    for (let next = this.due(this.t); next; next = this.due(this.t)) await this.fire(next);
    await settle();
  }

  /** Runs until no sleeper is left, waking each on time. */
  async runAll(): Promise<void> {
    while (this.timers.length) await this.advance(Math.max(0, Math.min(...this.timers.map((x) => x.at)) - this.t));
  }

  private due(until: number) {
    const due = this.timers.filter((x) => x.at <= until).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
    if (due) this.timers = this.timers.filter((x) => x !== due);
    return due;
  }

  private async fire(timer: { wake: () => void }): Promise<void> {
    timer.wake();
    await settle();
  }
}

/** Lets every pending promise continuation run (the pacer awaits nothing but its clock). */
const settle = () => new Promise<void>((r) => setImmediate(r));

const T0 = 1_000_000;
const range = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i));

/** Starts `n` calls at once; `starts[i]` is call i's start time (relative to T0) once it started. */
function calls(pacer: SendPacer, n: number, session = 's1', recipient: (i: number) => string = () => ''): number[] {
  const starts: number[] = [];
  for (let i = 0; i < n; i++) void pacer.spaceCall(session, recipient(i)).then((at) => (starts[i] = at - T0));
  return starts;
}

/** Largest number of times in any window [t, t + ms). */
function busiest(times: number[], ms: number): number {
  return Math.max(...times.map((start) => times.filter((v) => v >= start && v < start + ms).length));
}

describe('SendPacer', () => {
  it('starts calls exactly one slot (1/rate s) apart', async () => {
    const clock = new FakeClock(T0);
    const starts = calls(new SendPacer(20, 0, clock), 40);
    await clock.advance(0);
    expect(starts).toEqual([0]);
    await clock.advance(49);
    expect(starts).toEqual([0]);
    await clock.advance(1);
    expect(starts).toEqual([0, 50]);
    await clock.runAll();
    expect(starts).toEqual(range(40, (i) => i * 50));
  });

  it('keeps the per-session cap when timers fire late (a blocked event loop must not cause a burst)', async () => {
    const clock = new FakeClock(T0);
    const starts = calls(new SendPacer(20, 0, clock), 40);
    await clock.advance(200); // calls 0-4 on time
    await clock.jump(600); // the slots of calls 5-16 (250..800 ms) all fire at 800 ms
    await clock.runAll();
    expect(starts).toEqual([
      0,
      50,
      100,
      150,
      200,
      ...range(12, () => 800), // late, but only 17 starts in [0, 1000): the cap allows them
      850,
      900,
      950, // the 20th start within [0, 1000)
      1000,
      1050,
      1100,
      1150,
      1200, // each as soon as the start 1 s earlier leaves the window
      ...range(12, () => 1800), // 1 s after the 12 late ones, not earlier
      1850,
      1900,
      1950,
    ]);
    expect(busiest(starts, 1000)).toBe(20);
  });

  it('waits for the oldest start of the last second to leave the window before starting the next call', async () => {
    const clock = new FakeClock(T0);
    const pacer = new SendPacer(2, 0, clock);
    const starts = calls(pacer, 3);
    await clock.advance(500);
    expect(starts).toEqual([0, 500]);
    await clock.advance(499);
    expect(starts).toEqual([0, 500]);
    await clock.advance(1);
    expect(starts).toEqual([0, 500, 1000]);
  });

  it('keeps sessions independent', async () => {
    const clock = new FakeClock(T0);
    const pacer = new SendPacer(10, 0, clock);
    const a = calls(pacer, 5, 'a');
    const b = calls(pacer, 5, 'b');
    await clock.runAll();
    expect(a).toEqual([0, 100, 200, 300, 400]);
    expect(b).toEqual([0, 100, 200, 300, 400]);
  });

  it('keeps the recipient gap from the real start of the previous call to that recipient', async () => {
    const clock = new FakeClock(T0);
    const to = ['x', 'x', 'y', 'x', 'y'];
    const starts = calls(new SendPacer(1000, 300, clock), to.length, 's', (i) => to[i]);
    await clock.runAll();
    // Slots 1 ms apart; x waits 300 ms after each x start, y after the y start at 2 ms.
    expect(starts).toEqual([0, 300, 2, 600, 302]);
  });

  it('reserve spreads a claimed batch at the rate and honours the recipient gap', async () => {
    const clock = new FakeClock(T0);
    const pacer = new SendPacer(4, 1000, clock);
    expect([0, 1, 2, 3].map((i) => pacer.reserve('s', `r${i}`))).toEqual([0, 250, 500, 750]);
    expect(pacer.reserve('s', 'r0')).toBe(1000);
    await clock.advance(5_000);
    expect(pacer.reserve('s', 'r0')).toBe(0);
  });
});
