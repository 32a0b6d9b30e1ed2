import { Controller, Get, Headers, Query, Req, Res } from '@nestjs/common';
import { ApiHeader, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import type { Socket } from 'node:net';
import { ApiKeyAuth, apiKeyOf } from '../auth/api-key.guard';
import { AppError } from '../common/app-error';
import { AppConfig } from '../config/app-config';
import { Metrics } from '../observability/metrics';
import { EventPageDto, ListEventsQueryDto } from './event.dto';
import { EventsService } from './events.service';
import type { LiveEvent } from './live-event';
import { sseChunk, sseHttpChunk } from './live-event';

/** How often an idle stream sends a comment line, so proxies and clients keep the connection (ms). */
export const HEARTBEAT_MS = 15_000;

/** The event log: pages (`GET /v1/events`) and a live Server-Sent Events stream (`GET /v1/events/stream`). */
@ApiTags('events')
@ApiKeyAuth('read')
@Controller('v1/events')
export class EventsController {
  constructor(
    private readonly events: EventsService,
    private readonly config: AppConfig,
    private readonly metrics: Metrics,
  ) {}

  /** Events after `after`, oldest first (retained EVENT_RETENTION_DAYS); resume with `nextAfter`. */
  @Get()
  @ApiOperation({ summary: 'Page through the event log' })
  @ApiOkResponse({ type: EventPageDto })
  list(@Query() q: ListEventsQueryDto, @Req() req: Request): Promise<EventPageDto> {
    return this.events.page({ ...parse(q), limit: limitOf(q.limit) }, apiKeyOf(req));
  }

  /**
   * Server-Sent Events: each event as `id: <id>`, `event: <type>`, `data: <JSON of the event>`. Reconnect with
   * `Last-Event-ID` (or `?after=`) and every event after it arrives exactly once, none missed; without either the
   * stream starts at now. A comment line every 15 s keeps idle connections open. A client that reads so slowly
   * that more than EVENT_STREAM_MAX_BUFFER_BYTES wait for it is disconnected (it resumes with `Last-Event-ID`).
   */
  @Get('stream')
  @ApiOperation({ summary: 'Live events (Server-Sent Events)' })
  @ApiProduces('text/event-stream')
  @ApiHeader({ name: 'Last-Event-ID', required: false, description: 'Resume after this event id' })
  @ApiOkResponse({ description: 'text/event-stream', content: { 'text/event-stream': { schema: { type: 'string' } } } })
  async stream(
    @Query() q: ListEventsQueryDto,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    if (lastEventId !== undefined && !/^\d{1,19}$/.test(lastEventId)) throw AppError.badRequest('Last-Event-ID must be an event id');
    const filters = parse(q);
    res.status(200).set({
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.flushHeaders();
    // One write per batch; subscribers that get the same batch share its encoded frames (see sseChunk).
    // A batch finds more than the limit still waiting from before: the client reads too slowly, it is closed. A
    // catch-up page (however large) is written whole and the next one read once it has drained.
    const max = this.config.EVENT_STREAM_MAX_BUFFER_BYTES;
    const unsubscribe = await this.events.stream({ ...filters, after: lastEventId ?? filters.after }, apiKeyOf(req), (events, catchUp) => {
      if (res.destroyed) return;
      if (res.writableLength > max) {
        this.metrics.eventStreamsDropped.inc({ transport: 'sse' });
        res.destroy();
        return;
      }
      if (writeChunk(res, events) || !catchUp || !res.socket) return;
      return drained(res.socket);
    });
    // After the subscription is live: a client that waits for this line misses nothing posted after it.
    res.write(': connected\n\n');
    const heartbeat = setInterval(() => res.write(': ping\n\n'), HEARTBEAT_MS);
    req.on('close', () => {
      clearInterval(heartbeat);
      unsubscribe();
    });
  }
}

/**
 * Writes the SSE frames of `events` to `res`: while the response is chunked, its socket open and nothing queued
 * in the response itself, as one pre-framed HTTP chunk straight to the socket (the buffer is shared by every
 * subscriber of the batch: one write, no per-subscriber framing); otherwise through `res.write`.
 * @returns false when the socket's buffer is full (as `write`).
 */
function writeChunk(res: Response, events: readonly LiveEvent[]): boolean {
  const socket = res.socket;
  const direct =
    res.chunkedEncoding &&
    res.headersSent &&
    socket &&
    socket.writable &&
    !socket.destroyed &&
    res.writableLength === socket.writableLength;
  return direct ? socket.write(sseHttpChunk(events)) : res.write(sseChunk(events));
}

/**
 * Resolves once `socket` has written out its buffer ('drain') or closed, whichever comes first; the other
 * listener is removed. The socket's own 'drain': the response emits one only after a `res.write` that returned
 * false, not after a chunk {@link writeChunk} wrote to the socket directly.
 */
function drained(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.on('drain', done);
    socket.on('close', done);
  });
}

function parse(q: ListEventsQueryDto): { after?: string; types?: string[]; sessionId?: string } {
  const types = q.types?.split(',').filter(Boolean);
  return { after: q.after, ...(types?.length ? { types } : {}), ...(q.sessionId ? { sessionId: q.sessionId } : {}) };
}

function limitOf(limit: string | undefined): number {
  const n = limit === undefined ? 100 : Number(limit);
  if (!Number.isInteger(n) || n < 1 || n > 1000)
    throw AppError.badRequest('limit must be 1-1000', [{ field: 'limit', errors: ['1-1000'] }]);
  return n;
}
