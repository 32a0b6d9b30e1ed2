import { Injectable } from '@nestjs/common';
import type { AuthenticatedKey } from '../auth/api-keys.service';
import { EventTail } from './event-tail';
import { LiveEvent } from './live-event';
import type { EventPageDto } from './event.dto';
import { EventsRepository, GAP_SCAN, type CheckedPage, type EventFilter, type EventRow } from './events.repository';
import { GapTracker } from './gap-tracker';

/** Pauses before a REST page looks again at a gap that cut it short, in ms. */
const RETRY_MS = [20, 50, 120];
/** Pauses before a stream's catch-up looks again at a gap that holds it (ms); the last repeats until it settles. */
const CATCH_UP_RETRY_MS = [20, 50, 100];
/** Rows per catch-up read. */
const PAGE = 1000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Reading the event log: pages for catching up, and live subscriptions for streams. */
@Injectable()
export class EventsService {
  constructor(
    private readonly repo: EventsRepository,
    private readonly tail: EventTail,
    private readonly gaps: GapTracker,
  ) {}

  /**
   * A page of events after `after` (without it: from the oldest retained), oldest first; a session-limited key
   * sees only its sessions' events. The page never passes an id that may still commit: it stops before the first
   * gap in the ids that is not settled ({@link GapTracker}), so resuming after `nextAfter` (the last id returned,
   * null for an empty page) misses nothing. A gap first seen by this request is looked at again up to 3 times
   * within about 200 ms, since most close (commit or roll back) within milliseconds.
   */
  async page(q: { after?: string; types?: string[]; sessionId?: string; limit: number }, key?: AuthenticatedKey): Promise<EventPageDto> {
    const filter = filterOf(q, key);
    for (let attempt = 0; ; attempt++) {
      const { rows, cut } = this.passable(await this.repo.pageChecked(filter, q.limit));
      if (!cut || attempt === RETRY_MS.length) {
        return { data: rows.map((r) => new LiveEvent(r).dto), nextAfter: rows.length ? rows[rows.length - 1].id : null };
      }
      await sleep(RETRY_MS[attempt]);
    }
  }

  /**
   * The rows of `read` a reader may move past: those before the first gap in the ids that is not settled
   * ({@link GapTracker}; every gap of the read is noted). `cut` when some rows (or ids up to the read's bound)
   * were held back and a later read should look again.
   */
  private passable(read: CheckedPage): { rows: EventRow[]; cut: boolean } {
    const snap = { xmin: BigInt(read.xmin), xmax: BigInt(read.xmax) };
    let cut: bigint | undefined;
    // Every gap is looked at (so each is noted), the first one not settled ends the page.
    for (const g of read.gaps) if (!this.gaps.settled(BigInt(g.from), BigInt(g.to), g.toXid, snap)) cut ??= BigInt(g.from);
    // Gaps past the last one reported were not looked for: rows after it wait for the next read.
    if (cut === undefined && read.gaps.length === GAP_SCAN) cut = BigInt(read.gaps[GAP_SCAN - 1].to) + 1n;
    if (cut === undefined) return { rows: read.rows, cut: false };
    return { rows: read.rows.filter((r) => BigInt(r.id) < cut), cut: true };
  }

  /**
   * Streams events after `after` (or from now when undefined) to `send`, in id order, each once: the log is read
   * up to where the live tail was when the stream joined, then the tail's batches follow. The catch-up passes no id
   * that may still commit (as the REST page, but it waits for the gap instead of returning short), so the promise
   * resolves once it is done; "from now" means after the newest id committed when the stream joined. `send` gets the events
   * of one tail read (or one catch-up page) at a time, never an empty array; the array and its objects may be
   * shared with other subscribers and must not be changed. `catchUp` is true for the pages read from the log
   * before the stream is live: a promise `send` returns for one is waited for before the next page is read
   * (back-pressure); live batches are not waited for.
   * @returns a function that ends the subscription.
   */
  async stream(
    q: { after?: string; types?: string[]; sessionId?: string },
    key: AuthenticatedKey | undefined,
    send: (events: readonly LiveEvent[], catchUp: boolean) => void | Promise<void>,
  ): Promise<() => void> {
    const filter = filterOf(q, key);
    const everything = !filter.types?.length && !filter.sessionId && !filter.visibleSessionIds;
    let cursor = q.after === undefined ? undefined : BigInt(q.after);
    let live = false;
    const buffered: (readonly LiveEvent[])[] = [];
    const deliver = (batch: readonly LiveEvent[], catchUp = false): void | Promise<void> => {
      if (batch.length === 0) return;
      // The common case: a subscriber that wants every event and is behind the whole batch gets the batch itself.
      if (everything && cursor !== undefined && batch[0].seq > cursor) {
        cursor = batch[batch.length - 1].seq;
        return send(batch, catchUp);
      }
      const out: LiveEvent[] = [];
      for (const e of batch) {
        if (cursor !== undefined && e.seq <= cursor) continue;
        cursor = e.seq;
        if (matches(e.row, filter)) out.push(e);
      }
      if (out.length) return send(out, catchUp);
    };
    const { from, latest, unsubscribe } = await this.tail.subscribe((batch) => {
      if (live) void deliver(batch);
      else buffered.push(batch);
    });
    try {
      if (cursor !== undefined) {
        // Catch up from the log up to the tail's position, page by page, never past an id that may still commit
        // (the tail started at the newest committed id: below it, a transaction may still hold an id).
        const upTo = BigInt(from);
        for (let attempt = 0; cursor < upTo;) {
          const { rows, cut } = this.passable(await this.repo.pageChecked({ ...filter, after: cursor.toString(), upTo: from }, PAGE));
          // The next page once `send` has taken this one (an SSE response waits for its socket to drain).
          await deliver(
            rows.map((r) => new LiveEvent(r)),
            true,
          );
          if (cut) await sleep(CATCH_UP_RETRY_MS[Math.min(attempt++, CATCH_UP_RETRY_MS.length - 1)]);
          else if (rows.length < PAGE) break;
          else attempt = 0;
        }
        if (cursor < upTo) cursor = upTo; // nothing matching between: skip to the tail
      } else cursor = BigInt(latest); // from now: what had committed when the stream joined is history
    } catch (e) {
      unsubscribe();
      throw e;
    }
    live = true;
    for (const batch of buffered) void deliver(batch);
    buffered.length = 0;
    return unsubscribe;
  }
}

function filterOf(q: { after?: string; types?: string[]; sessionId?: string }, key?: AuthenticatedKey): EventFilter {
  return { after: q.after, types: q.types, sessionId: q.sessionId, visibleSessionIds: key?.sessionIds ?? null };
}

function matches(row: EventRow, f: EventFilter): boolean {
  if (f.types?.length && !f.types.includes(row.type)) return false;
  if (f.sessionId && row.session_id !== f.sessionId) return false;
  if (f.visibleSessionIds && (!row.session_id || !f.visibleSessionIds.includes(row.session_id))) return false;
  return true;
}
