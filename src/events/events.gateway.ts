import { Logger } from '@nestjs/common';
import { type OnGatewayConnection, type OnGatewayDisconnect, WebSocketGateway } from '@nestjs/websockets';
import type { Socket } from 'socket.io';
import { ApiKeysService, type AuthenticatedKey } from '../auth/api-keys.service';
import { FailedAuthLimiter } from '../auth/failed-auth-limiter';
import type { EventResponseDto } from './event.dto';
import { EventsService } from './events.service';

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
 */
@WebSocketGateway({ path: '/socket.io', cors: false, serveClient: false })
export class EventsGateway implements OnGatewayConnection, OnGatewayDisconnect {
  private readonly log = new Logger(EventsGateway.name);
  private readonly subscriptions = new Map<string, () => void>();

  constructor(
    private readonly events: EventsService,
    private readonly keys: ApiKeysService,
    private readonly failures: FailedAuthLimiter,
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
      const unsubscribe = await this.events.stream({ after: lastEventId, types, sessionId }, key, (e) => this.emit(socket, e));
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

  private emit(socket: Socket, e: EventResponseDto): void {
    socket.emit(e.type, e);
    // Seed s2's page (its index.html listens for qr, status and message).
    const d = e.data;
    if (e.type === 'session.qr') socket.emit('qr', d.qr);
    else if (e.type === 'session.status')
      socket.emit('status', { status: SEED_S2_STATUS[String(d.status)] ?? 'disconnected', sessionId: e.sessionId });
    else if (e.type === 'message.received' && d.type === 'text')
      socket.emit('message', { from: d.chatId, message: d.preview, timestamp: d.timestamp, sessionId: e.sessionId });
  }
}
