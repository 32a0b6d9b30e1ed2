import { Injectable } from '@nestjs/common';

/** The bounds of one read of the event log (xid8). */
export interface SnapshotBounds {
  /** `pg_snapshot_xmin` of the read's snapshot: every transaction below it had ended. */
  xmin: bigint;
  /**
   * The next xid when the read ran (`pg_current_xact_id()`, which gives the read an xid of its own): every
   * transaction that had an xid by then is below it. Not `pg_snapshot_xmax`: that is latestCompletedXid + 1, so a
   * running transaction younger than every completed one is at or above it and in no snapshot's xip (it took the
   * lower id while an older transaction wrote the higher one and committed): bounded by it, the gap would be passed
   * while still held.
   */
  xmax: bigint;
}

/** A visible event id (ascending order) and the xid of the transaction that wrote it (decimal text), when known. */
export interface VisibleId {
  id: bigint;
  xid?: string;
}

/** A gap as first seen: its first missing id, the xid of the row right after it, and that snapshot's xmax. */
interface GapRecord {
  from: bigint;
  toXid: string | undefined;
  xmax: bigint;
}

/** Most gaps remembered; past it the oldest are forgotten (a forgotten gap is only waited for again, never skipped). */
const MAX_GAPS = 10_000;

/**
 * Which ids of the event log a reader may move past, shared by every reader that keeps a position in it: the REST
 * page (`GET /v1/events`), the live tail (EventTail) and the outgoing-webhook fan-out (ForwardingWorker).
 *
 * Ids are taken at insert time and transactions commit in any order, so a committed id can appear above one that
 * is not visible yet: a reader that moves past the missing id would skip it for ever if it commits later. A run
 * of missing ids between two visible ones (a gap) is held by transactions still running, or lost for good (rolled
 * back, deleted by retention, or the identity cache after a crash). Every transaction that held a gap id when the
 * gap was first seen had its xid by then (`events.xid` defaults to `pg_current_xact_id()` in the same insert,
 * evaluated right after the identity), so its xid is below that read's next xid ({@link SnapshotBounds.xmax}).
 * Once a later snapshot's xmin reaches that bound every such transaction has ended, and ids still missing never
 * come: the gap is settled (at the earliest on the read after the one that first saw it).
 *
 * A gap is remembered by the visible row right after it (its id and xid, so a log emptied and refilled with
 * RESTART IDENTITY is not mistaken for the old one). The contiguous case (no gap) never waits, whatever runs
 * elsewhere in the cluster.
 */
@Injectable()
export class GapTracker {
  /** By the id of the visible row right after the gap. */
  private readonly gaps = new Map<bigint, GapRecord>();

  /**
   * Whether the missing ids `[from, to)` may be passed, seen in a read whose snapshot is `snap` where `to` was
   * visible (written by transaction `toXid`). The first time the gap is seen it is noted with `snap.xmax`.
   */
  settled(from: bigint, to: bigint, toXid: string | undefined, snap: SnapshotBounds): boolean {
    if (from >= to) return true;
    let g = this.gaps.get(to);
    if (!g || g.toXid !== toXid || from < g.from) {
      g = { from, toXid, xmax: snap.xmax };
      this.gaps.delete(to);
      this.gaps.set(to, g);
      if (this.gaps.size > MAX_GAPS) this.gaps.delete(this.gaps.keys().next().value!);
    }
    return snap.xmin >= g.xmax;
  }

  /**
   * How many of the leading `ids` (visible ids after `cursor` from one read, ascending) the reader may take: up to
   * the first gap that is not settled. Every gap of the read is noted (not only the first), so a later read can
   * pass all those that settled meanwhile.
   */
  take(cursor: bigint, ids: readonly VisibleId[], snap: SnapshotBounds): number {
    let expected = cursor + 1n;
    let n = 0;
    let blocked = false;
    for (const v of ids) {
      if (v.id !== expected && !this.settled(expected, v.id, v.xid, snap)) blocked = true;
      if (!blocked) n++;
      expected = v.id + 1n;
    }
    return n;
  }

  /** Forgets the gaps that end at or before `upTo` (a reader with its own tracker that moved past them). */
  forget(upTo: bigint): void {
    for (const to of this.gaps.keys()) if (to <= upTo) this.gaps.delete(to);
  }

  /** Forgets every gap (the log was emptied). */
  clear(): void {
    this.gaps.clear();
  }

  /** Gaps remembered (tests). */
  get size(): number {
    return this.gaps.size;
  }
}
