import type { INestApplication, Logger } from '@nestjs/common';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Server as NetServer, type Socket } from 'node:net';
import { Readiness } from '../observability/readiness';

/** How long a connection with no request in flight may stay open once shutdown began (a request may be on its way). */
const IDLE_GRACE_MS = 1000;
const POLL_MS = 50;

interface Conn {
  busy: number;
  idleSince: number;
}

/**
 * Graceful shutdown for the process's HTTP server (install before `listen`). On SIGTERM/SIGINT:
 * 1. readiness goes false (`/health/ready` 503) and the listener stops accepting connections;
 * 2. every response from then on carries `Connection: close`; event streams (SSE) end now (clients resume with
 *    `Last-Event-ID`, on another process);
 * 3. requests in flight finish; a connection with none is closed once it has been idle for 1 s (a connection
 *    accepted just before the listener closed gets that long to send its request: nothing accepted is reset);
 * 4. the app closes: workers stop claiming, ingest batches flush, Baileys leases are released, Socket.IO clients
 *    are disconnected, the database closes last;
 * 5. exit 0; exit 1 if all this takes longer than `timeoutMs`.
 */
export function installGracefulShutdown(app: INestApplication, server: Server, timeoutMs: number, log: Logger): void {
  const conns = new Map<Socket, Conn>();
  const streams = new Set<ServerResponse>();
  let stopping = false;
  server.on('connection', (socket: Socket) => {
    conns.set(socket, { busy: 0, idleSince: Date.now() });
    socket.once('close', () => conns.delete(socket));
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const conn = conns.get(req.socket);
    if (conn) conn.busy++;
    if (stopping && !res.headersSent) res.setHeader('Connection', 'close');
    streams.add(res);
    res.once('close', () => {
      streams.delete(res);
      if (conn) {
        conn.busy--;
        conn.idleSince = Date.now();
      }
    });
  });
  // Upgraded sockets (Socket.IO's WebSockets) are the gateway's: app.close() disconnects them.
  server.on('upgrade', (req: IncomingMessage) => conns.delete(req.socket));

  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.log(`${signal}: shutting down (at most ${timeoutMs} ms)`);
    app.get(Readiness).beginShutdown();
    setTimeout(() => {
      log.error(`shutdown took longer than ${timeoutMs} ms; exiting`);
      process.exit(1);
    }, timeoutMs).unref();
    // net.Server's close, not http.Server's: since Node 19 the latter also closes "idle" connections at once,
    // including ones accepted a moment ago whose request has not been read yet: those clients would see a reset.
    NetServer.prototype.close.call(server);
    for (const res of streams) {
      if (String(res.getHeader('content-type') ?? '').startsWith('text/event-stream')) res.end();
      else if (!res.headersSent) res.setHeader('Connection', 'close');
    }
    const sweep = setInterval(() => {
      const now = Date.now();
      for (const [socket, conn] of conns) if (conn.busy === 0 && now - conn.idleSince >= IDLE_GRACE_MS) socket.destroy();
      if (conns.size > 0) return;
      clearInterval(sweep);
      app.close().then(
        () => process.exit(0),
        (e: Error) => {
          log.error(`shutdown failed: ${e.message}`, e.stack);
          process.exit(1);
        },
      );
    }, POLL_MS);
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}
