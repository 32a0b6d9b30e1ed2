/**
 * The transport edge of the fake WhatsApp Web server: a WebSocket server at `ws://127.0.0.1:PORT/ws/chat` that reads
 * the WA intro header, runs the Noise XX handshake as responder ({@link NoiseResponder}) and then exchanges
 * length-prefixed, AES-GCM-sealed binary nodes (Baileys' own `encodeBinaryNode`/`decodeBinaryNode`).
 *
 * It knows nothing about pairing, messages or IQs: that is `world.ts`. A {@link FakeConnection} is emitted once the
 * handshake is done, with the client's `ClientPayload` (registration vs. login) already decoded.
 */
import { EventEmitter } from 'node:events';
import { binaryNodeToString, decodeBinaryNode, encodeBinaryNode, proto, type BinaryNode } from '@whiskeysockets/baileys';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { makeFakePki, NoiseResponder, WA_INTRO_HEADER, type FakePki } from './noise';

/** A line of the wire trace: `<<` client → server, `>>` server → client. */
export type WireLogger = (line: string) => void;

const toBuffer = (data: RawData): Buffer => (Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data));

/** Writes the 3-byte big-endian length prefix every frame carries (both directions). */
function frame(payload: Uint8Array): Buffer {
  const out = Buffer.alloc(3 + payload.length);
  out.writeUIntBE(payload.length, 0, 3);
  out.set(payload, 3);
  return out;
}

export interface FakeConnectionEvents {
  /** A decoded binary node the client sent. */
  node: [BinaryNode];
  /** The WebSocket closed (either side). */
  close: [];
}

/**
 * One client connection after a successful Noise handshake.
 *
 * Shapes: `send()` takes a Baileys `BinaryNode` (`{ tag, attrs: Record<string,string>, content?: BinaryNode[] |
 * Uint8Array | string }`); attribute values must be strings, as on the wire.
 */
export class FakeConnection extends EventEmitter<FakeConnectionEvents> {
  private tagCounter = 1;
  /** While true, nothing is sent and client nodes are dropped: the server "stops answering" (keepalive → 408). */
  muted = false;

  constructor(
    readonly id: number,
    private readonly ws: WebSocket,
    private readonly noise: NoiseResponder,
    /** The client's Noise static public key (`creds.noiseKey.public`). */
    readonly clientStatic: Buffer,
    /** What the client said about itself in the handshake. */
    readonly clientPayload: proto.ClientPayload,
    private readonly log: WireLogger,
  ) {
    super();
  }

  /** Registration (QR or pairing code) connections carry `devicePairingData`; logins carry `username` + `device`. */
  get isRegistration(): boolean {
    return !!this.clientPayload.devicePairingData;
  }

  get isOpen(): boolean {
    return this.ws.readyState === 1;
  }

  /** A fresh stanza id for server-initiated IQs/notifications. */
  nextId(): string {
    return `fake-${this.id}-${this.tagCounter++}`;
  }

  send(node: BinaryNode): void {
    if (this.muted || !this.isOpen) return;
    this.log(`>> ${binaryNodeToString(node)}`);
    this.ws.send(frame(this.noise.seal(encodeBinaryNode(node))));
  }

  /** Closes the WebSocket from the server side (Baileys reports 428 "Connection Terminated"). */
  close(): void {
    this.ws.close();
  }

  terminate(): void {
    this.ws.terminate();
  }

  /** @internal called by the server for each decrypted frame */
  async receiveFrame(ciphertext: Buffer): Promise<void> {
    const node = await decodeBinaryNode(this.noise.open(ciphertext));
    this.log(`<< ${binaryNodeToString(node)}`);
    if (!this.muted) this.emit('node', node);
  }
}

export interface FakeWAServerEvents {
  /** A client finished the Noise handshake. */
  connection: [FakeConnection];
}

export interface FakeWAServerOptions {
  /** 0 (default) = any free port. */
  port?: number;
  /** Certificate chain and server static key; defaults to a fresh, properly signed {@link makeFakePki}. */
  pki?: FakePki;
  log?: WireLogger;
}

/**
 * WebSocket + WA header + Noise + frame codec. Start with {@link FakeWAServer.start}.
 */
export class FakeWAServer extends EventEmitter<FakeWAServerEvents> {
  readonly pki: FakePki;
  private connectionCounter = 0;

  private constructor(
    private readonly wss: WebSocketServer,
    pki: FakePki,
    private readonly log: WireLogger,
  ) {
    super();
    this.pki = pki;
    wss.on('connection', (ws) => this.accept(ws));
  }

  static async start(options: FakeWAServerOptions = {}): Promise<FakeWAServer> {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: options.port ?? 0, path: '/ws/chat' });
    await new Promise<void>((resolve, reject) => {
      wss.on('listening', resolve);
      wss.on('error', reject);
    });
    return new FakeWAServer(wss, options.pki ?? makeFakePki(), options.log ?? (() => undefined));
  }

  get port(): number {
    const address = this.wss.address();
    if (typeof address === 'string') throw new Error(`unexpected server address ${address}`);
    return address.port;
  }

  /** What `makeWASocket({ waWebSocketUrl })` takes. */
  get url(): string {
    return `ws://127.0.0.1:${this.port}/ws/chat`;
  }

  async close(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private accept(ws: WebSocket): void {
    const id = ++this.connectionCounter;
    const noise = new NoiseResponder(this.pki);
    let buffered = Buffer.alloc(0);
    let sawIntro = false;
    let connection: FakeConnection | undefined;
    // Frames are handled strictly one after another: decoding is async, and node order matters.
    let queue: Promise<void> = Promise.resolve();

    const handleFrame = async (payload: Buffer): Promise<void> => {
      if (connection) return connection.receiveFrame(payload);
      const handshake = proto.HandshakeMessage.decode(payload);
      if (handshake.clientHello?.ephemeral) {
        const serverHello = noise.serverHello(handshake.clientHello.ephemeral);
        ws.send(frame(proto.HandshakeMessage.encode({ serverHello }).finish()));
      } else if (handshake.clientFinish) {
        const { clientStatic, clientPayload } = noise.clientFinish(handshake.clientFinish);
        connection = new FakeConnection(id, ws, noise, clientStatic, clientPayload, this.log);
        ws.on('close', () => connection?.emit('close'));
        const kind = connection.isRegistration ? 'registration' : `login as ${String(clientPayload.username)}:${clientPayload.device}`;
        this.log(`-- connection ${id}: Noise handshake done (${kind})`);
        this.emit('connection', connection);
      } else {
        throw new Error('unexpected handshake message');
      }
    };

    const onData = async (data: RawData): Promise<void> => {
      buffered = Buffer.concat([buffered, toBuffer(data)]);
      if (!sawIntro) {
        // Optional edge-routing prefix: 'ED', 0, 1, 3-byte length, routing info, then the WA header. The fake never
        // sends <edge_routing>, so a client only has routing info if its creds came from elsewhere.
        if (buffered.subarray(0, 2).toString('latin1') === 'ED') {
          if (buffered.length < 7) return;
          const routingLength = buffered.readUIntBE(4, 3);
          if (buffered.length < 7 + routingLength) return;
          buffered = buffered.subarray(7 + routingLength);
        }
        if (buffered.length < WA_INTRO_HEADER.length) return;
        if (!buffered.subarray(0, WA_INTRO_HEADER.length).equals(WA_INTRO_HEADER)) {
          throw new Error(`bad intro header ${buffered.subarray(0, 8).toString('hex')}`);
        }
        buffered = buffered.subarray(WA_INTRO_HEADER.length);
        sawIntro = true;
      }
      while (buffered.length >= 3) {
        const length = buffered.readUIntBE(0, 3);
        if (buffered.length < 3 + length) return;
        const payload = buffered.subarray(3, 3 + length);
        buffered = buffered.subarray(3 + length);
        await handleFrame(payload);
      }
    };

    ws.on('message', (data) => {
      queue = queue
        .then(() => onData(data))
        .catch((err: unknown) => {
          this.log(`-- connection ${id}: ${err instanceof Error ? err.message : String(err)}; closing`);
          ws.close();
        });
    });
  }
}
