import { Injectable } from '@nestjs/common';
import type { AuthenticatedKey } from '../auth/api-keys.service';
import { EventTail } from './event-tail';
import type { EventPageDto, EventResponseDto } from './event.dto';
import { EventsRepository, type EventFilter, type EventRow } from './events.repository';

/** Reading the event log: pages for catching up, and live subscriptions for streams. */
@Injectable()
export class EventsService {
  constructor(
    private readonly repo: EventsRepository,
    private readonly tail: EventTail,
  ) {}

  /** A page of events after `after`, oldest first; a session-limited key sees only its sessions' events. */
  async page(q: { after?: string; types?: string[]; sessionId?: string; limit: number }, key?: AuthenticatedKey): Promise<EventPageDto> {
    const rows = await this.repo.page(filterOf(q, key), q.limit);
    return { data: rows.map(toEventDto), nextAfter: rows.length ? rows[rows.length - 1].id : null };
  }

  /**
   * Streams events after `after` (or from now when undefined) to `send`, in id order, each once: the log is read
   * up to where the live tail was when the stream joined, then the tail's batches follow.
   * @returns a function that ends the subscription.
   */
  async stream(
    q: { after?: string; types?: string[]; sessionId?: string },
    key: AuthenticatedKey | undefined,
    send: (event: EventResponseDto) => void,
  ): Promise<() => void> {
    const filter = filterOf(q, key);
    let cursor = q.after;
    let live = false;
    const buffered: EventRow[] = [];
    const deliver = (row: EventRow) => {
      if (cursor !== undefined && BigInt(row.id) <= BigInt(cursor)) return;
      cursor = row.id;
      if (matches(row, filter)) send(toEventDto(row));
    };
    const { from, unsubscribe } = await this.tail.subscribe((batch) => {
      if (live) batch.forEach(deliver);
      else buffered.push(...batch);
    });
    if (cursor !== undefined) {
      // Catch up from the log up to the tail's position, page by page.
      for (;;) {
        const rows = await this.repo.page({ ...filter, after: cursor }, 1000);
        const upTo = rows.filter((r) => BigInt(r.id) <= BigInt(from));
        upTo.forEach(deliver);
        if (rows.length < 1000 || upTo.length < rows.length) break;
      }
      if (BigInt(cursor) < BigInt(from)) cursor = from; // nothing matching between: skip to the tail
    } else cursor = from;
    live = true;
    buffered.forEach(deliver);
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

function toEventDto(r: EventRow): EventResponseDto {
  return { id: r.id, type: r.type, occurredAt: new Date(r.occurred_at).toISOString(), sessionId: r.session_id, data: r.data };
}
