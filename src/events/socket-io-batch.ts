import { Socket as NetSocket } from 'node:net';
import type { Socket } from 'socket.io';

/**
 * An unmasked WebSocket text frame (RFC 6455 §5.2: FIN + opcode 1; a server never masks) carrying `payload`.
 * Socket.IO over the WebSocket transport sends each packet as one such frame, its text being the engine.io
 * message packet: `4` followed by the encoded Socket.IO packet.
 */
export function wsTextFrame(payload: string): Buffer {
  const body = Buffer.from(payload, 'utf8');
  const n = body.length;
  const header = n < 126 ? Buffer.alloc(2) : n < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
  header[0] = 0x81;
  if (n < 126) header[1] = n;
  else if (n < 65536) {
    header[1] = 126;
    header.writeUInt16BE(n, 2);
  } else {
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(n), 2);
  }
  return Buffer.concat([header, body]);
}

/** The engine.io connection fields read here (engine.io 6: public getters or long-standing fields). */
interface EngineConnection {
  readyState?: string;
  writeBuffer?: unknown[];
  transport?: { name?: string; socket?: { readyState?: number; _socket?: unknown } };
}

/**
 * The TCP socket under `socket` when frames may be written to it directly, in order with what Socket.IO wrote
 * before: the connection is open on the WebSocket transport (the `ws` library's socket, its `_socket` the TCP
 * socket) and engine.io holds no packet back in its write buffer (one would go out after frames written now).
 * Otherwise undefined, and the caller emits through Socket.IO.
 */
export function directSocket(socket: Socket): NetSocket | undefined {
  const conn = socket.conn as unknown as EngineConnection;
  if (conn.readyState !== 'open' || !Array.isArray(conn.writeBuffer) || conn.writeBuffer.length > 0) return undefined;
  const transport = conn.transport;
  if (transport?.name !== 'websocket' || transport.socket?.readyState !== 1 /* ws OPEN */) return undefined;
  const tcp = transport.socket._socket;
  return tcp instanceof NetSocket && tcp.writable && !tcp.destroyed ? tcp : undefined;
}

/**
 * Bytes waiting to be sent to `socket`: its TCP socket's write buffer when frames go there directly (`tcp`, from
 * {@link directSocket}), else engine.io's queued packets, counted at 1 KiB each (their size is not kept).
 */
export function waitingBytes(socket: Socket, tcp: NetSocket | undefined): number {
  if (tcp) return tcp.writableLength;
  const queued = (socket.conn as unknown as EngineConnection).writeBuffer;
  return Array.isArray(queued) ? queued.length * 1024 : 0;
}
