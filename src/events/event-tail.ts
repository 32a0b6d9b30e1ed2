import { Injectable, OnModuleDestroy, Optional } from '@nestjs/common';
import { Metrics } from '../observability/metrics';
import { LiveEvent } from './live-event';
import { EventsRepository } from './events.repository';
import { GapTracker } from './gap-tracker';

/** The longest pause between two reads of the log while anyone listens (ms), reached after reads that found nothing. */
export const TAIL_POLL_MS = 100;
/** The pause after a read that found events (ms): under traffic the tail reads about this often. */
export const TAIL_BUSY_POLL_MS = 50;
const PAGE = 1000;

type Listener = (batch: readonly LiveEvent[]) => void;

/**
 * One poller per process over the event log, fanned out to every live subscriber (SSE streams, Socket.IO sockets):
 * however many subscribers, the database sees one query per read, and each event becomes one {@link LiveEvent}
 * shared by all of them. Every process reads the same table, so an event written by any wa-hub process on the
 * database reaches the subscribers of all of them.
 *
 * Ids are taken at insert time and transactions commit in any order, so a committed id can appear below one
 * already seen. The tail delivers in id order and never skips an id that may still commit: each read of every
 * committed event after the cursor goes through the {@link GapTracker} shared with the REST page, and delivery
 * stops at the first gap that is not settled. The next id after the cursor, once committed, is delivered at once;
 * a long transaction elsewhere in the cluster delays events only when there is a gap.
 * The first subscriber starts the tail at the newest committed id ({@link EventsRepository.latest}); an id below
 * it may still commit, which is why a stream's catch-up up to `from` is gap-checked too (EventsService.stream).
 */
@Injectable()
export class EventTail implements OnModuleDestroy {
  private readonly listeners = new Set<Listener>();
  private cursor: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  private idleMs = TAIL_BUSY_POLL_MS;
  private starting: Promise<void> | undefined;

  constructor(
    private readonly repo: EventsRepository,
    private readonly gaps: GapTracker,
    @Optional() private readonly metrics?: Metrics,
  ) {}

  /**
   * Calls `listener` with each new batch of events (all types and sessions; the listener filters), oldest first,
   * the same array and objects for every listener.
   * @returns `from`: the id the tail had reached when the listener joined (every event after it will be delivered;
   *   the ids up to it that the tail passed are committed or never will be, those below its start may still
   *   commit); `latest`: the newest committed id at that moment (≥ `from`; a stream that starts "now" skips up to
   *   it); and an unsubscribe function.
   */
  async subscribe(listener: Listener): Promise<{ from: string; latest: string; unsubscribe: () => void }> {
    while (this.cursor === undefined) {
      this.starting ??= this.repo.latest().then(
        (newest) => {
          this.cursor ??= newest;
          this.starting = undefined;
        },
        (e: unknown) => {
          this.starting = undefined;
          throw e;
        },
      );
      await this.starting;
    }
    this.listeners.add(listener);
    this.metrics?.eventSubscribers.set(this.listeners.size);
    const from = this.cursor;
    this.timer ??= setTimeout(() => void this.poll(), 0);
    const unsubscribe = () => {
      const removed = this.listeners.delete(listener);
      this.metrics?.eventSubscribers.set(this.listeners.size);
      if (removed && this.listeners.size === 0) this.stop();
    };
    let latest: string;
    try {
      latest = await this.repo.latest();
    } catch (e) {
      unsubscribe();
      throw e;
    }
    return { from, latest: BigInt(latest) > BigInt(from) ? latest : from, unsubscribe };
  }

  onModuleDestroy(): void {
    this.listeners.clear();
    this.stop();
  }

  private stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    // With nobody listening the cursor would go stale; the next subscriber starts from the head again.
    this.cursor = undefined;
  }

  private schedule(found: boolean): void {
    if (this.listeners.size === 0) return;
    this.idleMs = found ? TAIL_BUSY_POLL_MS : Math.min(TAIL_POLL_MS, this.idleMs * 2);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.poll(), this.idleMs);
  }

  private async poll(): Promise<void> {
    if (this.polling || this.cursor === undefined) return;
    this.polling = true;
    let found = false;
    try {
      for (;;) {
        const cursor = this.cursor;
        const read = await this.repo.tail(cursor, PAGE);
        if (this.cursor !== cursor) return; // stopped (and maybe restarted) meanwhile
        const batch = this.deliverable(
          BigInt(cursor),
          read.rows.map((r) => new LiveEvent(r)),
          BigInt(read.xmin),
          BigInt(read.xmax),
        );
        if (batch.length === 0) return;
        found = true;
        this.cursor = batch[batch.length - 1].row.id;
        for (const listener of this.listeners) listener(batch);
        if (read.rows.length < PAGE || batch.length < read.rows.length) return;
      }
    } catch {
      // The database is unavailable: the next read tries again from the same cursor.
    } finally {
      this.polling = false;
      if (this.timer !== undefined) this.schedule(found);
    }
  }

  /** The leading events of `events` (ids after `cursor`, ascending) that can be delivered now: see the class comment. */
  private deliverable(cursor: bigint, events: LiveEvent[], xmin: bigint, xmax: bigint): LiveEvent[] {
    const n = this.gaps.take(
      cursor,
      events.map((e) => ({ id: e.seq, xid: e.row.xid })),
      { xmin, xmax },
    );
    return n === events.length ? events : events.slice(0, n);
  }
}
