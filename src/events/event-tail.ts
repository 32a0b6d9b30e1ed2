import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { EventsRepository, type EventRow } from './events.repository';

/** How often the tail polls the log while anyone listens (ms). Events are visible about this fast. */
export const TAIL_POLL_MS = 200;

type Listener = (batch: EventRow[]) => void;

/**
 * One poller per process over the event log, fanned out to every live subscriber (SSE streams): however many
 * subscribers, the database sees one query per poll. Every process polls the same table, so an event written by
 * any process (or any wa-hub process on the database) reaches the subscribers of all of them.
 */
@Injectable()
export class EventTail implements OnModuleDestroy {
  private readonly listeners = new Set<Listener>();
  private cursor: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private polling = false;

  constructor(private readonly repo: EventsRepository) {}

  /**
   * Calls `listener` with each new batch of events (all types and sessions; the listener filters), oldest first.
   * @returns the id the tail had reached when the listener joined (events after it will be delivered), and an
   *   unsubscribe function.
   */
  async subscribe(listener: Listener): Promise<{ from: string; unsubscribe: () => void }> {
    if (this.cursor === undefined) this.cursor = await this.repo.head();
    this.listeners.add(listener);
    this.timer ??= setInterval(() => void this.poll(), TAIL_POLL_MS);
    return {
      from: this.cursor,
      unsubscribe: () => {
        this.listeners.delete(listener);
        if (this.listeners.size === 0) this.stop();
      },
    };
  }

  onModuleDestroy(): void {
    this.listeners.clear();
    this.stop();
  }

  private stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    // With nobody listening the cursor would go stale; the next subscriber starts from the head again.
    this.cursor = undefined;
  }

  private async poll(): Promise<void> {
    if (this.polling || this.cursor === undefined) return;
    this.polling = true;
    try {
      for (;;) {
        const batch = await this.repo.page({ after: this.cursor }, 1000);
        if (batch.length === 0 || this.cursor === undefined) return;
        this.cursor = batch[batch.length - 1].id;
        for (const listener of this.listeners) listener(batch);
        if (batch.length < 1000) return;
      }
    } catch {
      // The database is unavailable: the next poll tries again from the same cursor.
    } finally {
      this.polling = false;
    }
  }
}
