import { Logger } from '@nestjs/common';
import { type OnGatewayConnection, type OnGatewayDisconnect, WebSocketGateway, WebSocketServer } from '@nestjs/websockets';
import type { Server, Socket } from 'socket.io';
import { ApiKeysService, type AuthenticatedKey } from '../auth/api-keys.service';
import { FailedAuthLimiter } from '../auth/failed-auth-limiter';
import { AppConfig } from '../config/app-config';
import { Metrics } from '../observability/metrics';
import { EventsService } from './events.service';
import type { LiveEvent } from './live-event';
import { directSocket, waitingBytes, wsTextFrame } from './socket-io-batch';

/** What a Socket.IO client may put in its handshake `auth` (or query). */
interface Handshake {
  /** A read key (or better); also accepted as the `x-api-key` / `Authorization: Bearer` handshake headers. */
  apiKey?: string;
  /** Resume after this event id: every later event arrives exactly once (as SSE `Last-Event-ID`). */
  lastEventId?: string;
  /** Comma-separated event types (default all). */
  types?: string;
  /** Only this session's events (its room). */
  sessionId?: string;
}

const SEED_S2_STATUS: Record<string, string> = { qr: 'qr_ready', connected: 'connected' };

/**
 * Live events over Socket.IO (path `/socket.io`), for the web console and seed s2's page. Authenticate in the
 * handshake: `io(url, { auth: { apiKey } })`; a read key (or better) is required, a session-limited key sees only
 * its sessions' events; without one the connection is refused with `connect_error` "unauthorized". Each event is
 * emitted under its type (`message.received`, `session.status`, ...) with the event object `{id, type,
 * occurredAt, sessionId, data}`, plus seed s2's page events: `qr` (the QR string), `status` (`{status:
 * qr_ready|connected|disconnected, sessionId}`), `message` (`{from, message, timestamp, sessionId}` for inbound
 * texts). `ready` is emitted once the subscription is live. The socket joins the room of its `sessionId` filter, if any. Every process reads the shared event log,
 * so a client on any process gets every process's events.
 *
 * Emission: each event's packets (its type, then its seed s2 event) are encoded once, with the server's own
 * Socket.IO encoder, as WebSocket frames; the frames of a batch are joined once, and every socket that gets the
 * batch receives it with one write to its TCP socket (see directSocket), in id order as before. Emitting through
 * Socket.IO instead costs a packet object, a frame and a system call per event and socket, which does not keep up
 * with a few hundred sockets at a thousand events a second. A socket that cannot take frames directly (another
 * transport, packets queued in engine.io) gets the same packets through `socket.emit`. A socket with more than
 * EVENT_STREAM_MAX_BUFFER_BYTES waiting (a client reading too slowly) is disconnected; it resumes with `lastEventId`.
 */
@WebSocketGateway({ path: '/socket.io', cors: false, serveClient: false })
export class EventsGateway implements OnGatewayConnection, OnGatewayDisconnect {
  private readonly log = new Logger(EventsGateway.name);
  private readonly subscriptions = new Map<string, () => void>();
  /** Batches due this tick, per socket, in the order the stream handed them over. */
  private readonly pending = new Map<Socket, (readonly LiveEvent[])[]>();
  private flushQueued = false;
  private readonly eventFrames = new WeakMap<LiveEvent, Buffer>();
  private readonly batchFrames = new WeakMap<readonly LiveEvent[], Buffer>();

  @WebSocketServer() private readonly server!: Server;

  constructor(
    private readonly events: EventsService,
    private readonly keys: ApiKeysService,
    private readonly failures: FailedAuthLimiter,
    private readonly config: AppConfig,
    private readonly metrics: Metrics,
  ) {}

  async handleConnection(socket: Socket): Promise<void> {
    const h = { ...(socket.handshake.query as Handshake), ...(socket.handshake.auth as Handshake) };
    const key = await this.authenticate(socket, h);
    if (!key) {
      socket.emit('error', { error: 'unauthorized', message: 'A read API key is required: io(url, { auth: { apiKey } })' });
      socket.disconnect(true);
      return;
    }
    const lastEventId = typeof h.lastEventId === 'string' && /^\d{1,19}$/.test(h.lastEventId) ? h.lastEventId : undefined;
    const types = typeof h.types === 'string' ? h.types.split(',').filter(Boolean) : undefined;
    const sessionId = typeof h.sessionId === 'string' && /^[0-9a-f-]{36}$/i.test(h.sessionId) ? h.sessionId : undefined;
    if (sessionId) await socket.join(`session:${sessionId}`);
    try {
      const unsubscribe = await this.events.stream({ after: lastEventId, types, sessionId }, key, (events) => this.queue(socket, events));
      if (socket.disconnected) unsubscribe();
      else {
        this.subscriptions.set(socket.id, unsubscribe);
        // The subscription is live: every event from here on reaches this socket.
        socket.emit('ready', { lastEventId: lastEventId ?? null });
      }
    } catch (e) {
      this.log.warn(`event stream for socket ${socket.id} failed: ${(e as Error).message}`);
      socket.disconnect(true);
    }
  }

  handleDisconnect(socket: Socket): void {
    this.subscriptions.get(socket.id)?.();
    this.subscriptions.delete(socket.id);
  }

  private async authenticate(socket: Socket, h: Handshake): Promise<AuthenticatedKey | null> {
    const header = socket.handshake.headers['x-api-key'];
    const bearer = socket.handshake.headers.authorization?.replace(/^bearer\s+/i, '');
    const secret = typeof h.apiKey === 'string' && h.apiKey ? h.apiKey : typeof header === 'string' ? header : bearer;
    if (!secret) return null;
    const ip = socket.handshake.address;
    try {
      this.failures.assertAllowed(ip);
    } catch {
      return null;
    }
    const key = await this.keys.authenticate(secret.trim());
    if (!key) this.failures.recordFailure(ip);
    if (!key || !(key.scopes.includes('read') || key.scopes.includes('admin'))) return null;
    return key;
  }

  private queue(socket: Socket, events: readonly LiveEvent[]): void {
    const due = this.pending.get(socket);
    if (due) due.push(events);
    else this.pending.set(socket, [events]);
    if (!this.flushQueued) {
      this.flushQueued = true;
      // After the tail has handed this batch to every subscriber.
      queueMicrotask(() => this.flush());
    }
  }

  private flush(): void {
    this.flushQueued = false;
    for (const [socket, batches] of this.pending) {
      if (socket.disconnected) continue;
      const tcp = directSocket(socket);
      // More than the limit still waiting from before, once the subscription is live (a catch-up is written whole):
      // the client reads too slowly and is disconnected (it resumes with lastEventId).
      if (this.subscriptions.has(socket.id) && waitingBytes(socket, tcp) > this.config.EVENT_STREAM_MAX_BUFFER_BYTES) {
        this.metrics.eventStreamsDropped.inc({ transport: 'socket.io' });
        socket.disconnect(true);
        continue;
      }
      if (tcp) tcp.write(batches.length === 1 ? this.framesOf(batches[0]) : Buffer.concat(batches.map((b) => this.framesOf(b))));
      else for (const batch of batches) for (const e of batch) for (const [name, payload] of packetsOf(e)) socket.emit(name, payload);
    }
    this.pending.clear();
  }

  /** The WebSocket frames of every packet of `batch`, built once per batch. */
  private framesOf(batch: readonly LiveEvent[]): Buffer {
    let frames = this.batchFrames.get(batch);
    if (!frames) {
      frames = batch.length === 1 ? this.framesOfEvent(batch[0]) : Buffer.concat(batch.map((e) => this.framesOfEvent(e)));
      this.batchFrames.set(batch, frames);
    }
    return frames;
  }

  private framesOfEvent(e: LiveEvent): Buffer {
    let frames = this.eventFrames.get(e);
    if (!frames) {
      const packets = packetsOf(e).map(([name, payload]) =>
        // The Socket.IO EVENT packet (type 2) on the main namespace, as `socket.emit(name, payload)` encodes it;
        // engine.io message packets are prefixed with `4`.
        this.server.encoder.encode({ type: 2, nsp: '/', data: [name, payload] } as Parameters<Server['encoder']['encode']>[0]),
      );
      frames = Buffer.concat(packets.map(([text]) => wsTextFrame(`4${String(text)}`)));
      this.eventFrames.set(e, frames);
    }
    return frames;
  }
}

/** The packets an event is emitted as: under its type, then seed s2's page event (it listens for qr, status, message). */
function packetsOf(e: LiveEvent): [string, unknown][] {
  const dto = e.dto;
  const d = dto.data;
  const packets: [string, unknown][] = [[dto.type, dto]];
  if (dto.type === 'session.qr') packets.push(['qr', d.qr]);
  else if (dto.type === 'session.status')
    packets.push(['status', { status: SEED_S2_STATUS[String(d.status)] ?? 'disconnected', sessionId: dto.sessionId }]);
  else if (dto.type === 'message.received' && d.type === 'text')
    packets.push(['message', { from: d.chatId, message: d.preview, timestamp: d.timestamp, sessionId: dto.sessionId }]);
  return packets;
}
