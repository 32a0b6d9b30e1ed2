import { describe, expect, it } from 'vitest';
import { GapTracker } from './gap-tracker';

const ids = (...xs: number[]) => xs.map((x) => ({ id: BigInt(x), xid: `x${x}` }));
const snap = (xmin: number, xmax: number) => ({ xmin: BigInt(xmin), xmax: BigInt(xmax) });

describe('GapTracker', () => {
  it('takes contiguous ids at once, whatever runs elsewhere (xmin < xmax)', () => {
    const g = new GapTracker();
    expect(g.take(10n, ids(11, 12, 13), snap(100, 200))).toBe(3);
    expect(g.size).toBe(0);
  });

  it('stops at a gap first seen while transactions run, and passes it once every one of them has ended', () => {
    const g = new GapTracker();
    // 12 is missing: its writer may still commit (its xid is below this snapshot's xmax, 200).
    expect(g.take(10n, ids(11, 13, 14), snap(100, 200))).toBe(1);
    // Later reads: still below 200 → still held, whatever the later snapshots' own xmax.
    expect(g.take(11n, ids(13, 14), snap(150, 300))).toBe(0);
    expect(g.take(11n, ids(13, 14), snap(199, 400))).toBe(0);
    // Every transaction below 200 has ended and 12 is still missing: it never comes.
    expect(g.take(11n, ids(13, 14), snap(200, 400))).toBe(2);
  });

  it('a late commit fills the gap: taken in order with no wait', () => {
    const g = new GapTracker();
    expect(g.take(10n, ids(11, 13), snap(100, 200))).toBe(1);
    expect(g.take(11n, ids(12, 13), snap(120, 220))).toBe(2);
  });

  it('passes a gap at once when no transaction ran in the snapshot it is first seen in (xmin = xmax)', () => {
    const g = new GapTracker();
    expect(g.take(0n, ids(1, 3), snap(50, 50))).toBe(2);
  });

  it('notes every gap of a read, so a later read passes all those that settled meanwhile', () => {
    const g = new GapTracker();
    expect(g.take(0n, ids(1, 3, 5, 7), snap(100, 200))).toBe(1);
    expect(g.size).toBe(3);
    expect(g.take(1n, ids(3, 5, 7), snap(200, 300))).toBe(3);
  });

  it('a gap seen from a cursor inside it is the same gap (REST clients at any position)', () => {
    const g = new GapTracker();
    expect(g.settled(5n, 9n, 'x9', snap(100, 200))).toBe(false);
    expect(g.settled(7n, 9n, 'x9', snap(200, 300))).toBe(true);
  });

  it("a gap that grew at the front, or whose next row is another transaction's (log emptied and refilled), is new", () => {
    const g = new GapTracker();
    expect(g.settled(5n, 9n, 'x9', snap(100, 200))).toBe(false);
    expect(g.settled(3n, 9n, 'x9', snap(200, 300))).toBe(false); // noted again with xmax 300
    expect(g.settled(3n, 9n, 'x9', snap(300, 400))).toBe(true);
    expect(g.settled(3n, 9n, 'other', snap(300, 400))).toBe(false);
  });

  it('forget drops gaps at or before a position; clear drops all', () => {
    const g = new GapTracker();
    g.take(0n, ids(2, 4, 6), snap(1, 2));
    expect(g.size).toBe(3);
    g.forget(4n);
    expect(g.size).toBe(1);
    g.clear();
    expect(g.size).toBe(0);
  });
});
