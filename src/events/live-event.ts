import type { EventResponseDto } from './event.dto';
import type { EventRow } from './events.repository';

/**
 * One row of the event log on its way to live subscribers. The tail makes one per row and hands the same object
 * to every subscriber, so the response shape, its JSON and its SSE frame are each built once per event, however
 * many subscribers receive it.
 */
export class LiveEvent {
  /** The id as a bigint, compared without parsing per subscriber. */
  readonly seq: bigint;
  private dtoCache: EventResponseDto | undefined;
  private frameCache: string | undefined;

  constructor(readonly row: EventRow) {
    this.seq = BigInt(row.id);
  }

  /** `{id, type, occurredAt, sessionId, data}`: what both streams send. */
  get dto(): EventResponseDto {
    const r = this.row;
    return (this.dtoCache ??= {
      id: r.id,
      type: r.type,
      occurredAt: new Date(r.occurred_at).toISOString(),
      sessionId: r.session_id,
      data: r.data,
    });
  }

  /** The Server-Sent Events frame: `id:`, `event:` (the type) and `data:` (the JSON of `dto`) lines. */
  get sseFrame(): string {
    return (this.frameCache ??= `id: ${this.row.id}\nevent: ${this.row.type}\ndata: ${JSON.stringify(this.dto)}\n\n`);
  }
}

const chunks = new WeakMap<readonly LiveEvent[], Buffer>();
const framedChunks = new WeakMap<readonly LiveEvent[], Buffer>();
const CRLF = Buffer.from('\r\n', 'latin1');

/**
 * The SSE frames of `events` as one buffer, for one write per batch instead of one per event. Subscribers that get
 * the same array (the tail's batch, when their filter passes all of it) share one buffer.
 */
export function sseChunk(events: readonly LiveEvent[]): Buffer {
  let chunk = chunks.get(events);
  if (!chunk) {
    let text = '';
    for (const e of events) text += e.sseFrame;
    chunk = Buffer.from(text, 'utf8');
    chunks.set(events, chunk);
  }
  return chunk;
}

/**
 * {@link sseChunk} as one HTTP/1.1 chunk of a chunked response (RFC 9112 §7.1: the size in hex, CRLF, the bytes,
 * CRLF), built once per batch like the chunk itself, for a write straight to the response's socket.
 */
export function sseHttpChunk(events: readonly LiveEvent[]): Buffer {
  let framed = framedChunks.get(events);
  if (!framed) {
    const chunk = sseChunk(events);
    framed = Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`, 'latin1'), chunk, CRLF]);
    framedChunks.set(events, framed);
  }
  return framed;
}
