/**
 * The fake side of `npm run bench:baileys`: N fake WhatsApp worlds (test/fakes/whatsapp-web) behind one
 * FakeWAServer, and the inbound load their peers send. It runs in a child process by default
 * ({@link forkFakeFleet}): the fake is WhatsApp's network edge, another machine in reality, and its Signal
 * encryption, Noise framing and binary-node codec would otherwise share wa-hub's event loop and be measured as
 * wa-hub's cost. `BENCH_FAKES=inline` runs it in the bench process instead ({@link FakeFleet} directly), as the
 * bench did before.
 *
 * One world per session. A FakeWhatsApp world models one account with one companion slot (one `current`
 * connection, one uploaded prekey bundle, one `linked` flag), so N sessions need N worlds. wa-hub connects every
 * session to one BAILEYS_WA_WS_URL, so the worlds share one FakeWAServer (one port, one PKI) and a dispatcher hands
 * each connection, after its Noise handshake, to a world: a login (`username` = the account's PN) to the world of
 * that account (every world has its own PN/LID), a registration (QR) connection to a world that is neither linked
 * nor holding a registration connection. The phone that scans a QR is the world whose registration connection has
 * the QR's Noise key.
 *
 * Times are epoch milliseconds with sub-millisecond precision (`performance.timeOrigin + performance.now()`), so
 * the bench process can compare them with its own (same host, same clock).
 */
import { fork } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { FakeWAServer, FakeWhatsApp, makeFakePki, parsePairingQr, type FakeConnection, type FakePeer } from '../test/fakes/whatsapp-web';

/** Epoch ms, sub-millisecond. */
export const epochNow = (): number => performance.timeOrigin + performance.now();

export interface FleetMemory {
  rss: number;
  heap: number;
  external: number;
}

/** One inbound message of a load run, as the fake saw it. Times: epoch ms. */
export interface FleetMessage {
  /** The WhatsApp message id (`messages.external_id` in wa-hub). */
  id: string;
  /** Index of the session in the `worlds` list of the load. */
  session: number;
  scheduledAt: number;
  /** When the peer's sendText was called. */
  sentAt: number;
  /** When the encrypted stanza was written to the socket. */
  wiredAt?: number;
  /** When the client's `<receipt>` (or `<ack class=message>` nack) for it reached the fake. */
  ackAt?: number;
  error?: string;
}

export interface FleetLoad {
  /** Messages per second, all sessions together, paced evenly. */
  rate: number;
  seconds: number;
  /** World index of each session, in session order (message k goes to session k mod length). */
  worlds: number[];
}

/** What the bench uses, the same whether the fleet runs inline or in a child process. */
export interface FakeFleetApi {
  /** The shared server's `ws://` URL (BAILEYS_WA_WS_URL). */
  readonly url: string;
  /** The fake PKI's root public key: the bench process must trust it (trustFakeRoot), since wa-hub's Baileys runs there. */
  readonly rootPublicKey: Uint8Array;
  addWorlds(n: number): Promise<void>;
  /** Memory of the process the fleet runs in, after gc (when exposed). */
  memory(): Promise<FleetMemory>;
  /**
   * The phone of the world whose registration connection showed `qr` scans it.
   * @returns null when no world holds that registration connection yet (ask again later); else the world and the
   *   time (epoch ms) the pairing finished.
   */
  scan(qr: string): Promise<{ world: number; scannedAt: number } | null>;
  unroutedLogins(): Promise<number>;
  /**
   * Waits (up to a minute) until every client uploaded its prekeys (a session is `connected` in wa-hub before its
   * upload IQ reached the server, and a peer cannot start a Signal session without the bundle), then sends the load;
   * `onSent` gets the ids as they are sent (batched).
   * @returns once every stanza is written: when sending started (epoch ms) and how long the prekey wait took (ms).
   */
  load(load: FleetLoad, onSent: (ids: string[]) => void): Promise<{ startedAt: number; prekeysWaitMs: number }>;
  /** The messages of the last load, with the acks that arrived so far (they keep arriving after {@link load}). */
  results(): Promise<FleetMessage[]>;
  close(): Promise<void>;
}

/**
 * Stands in for the FakeWAServer of one world: the world only subscribes to `connection`, reads `url`/`pki` and calls
 * `close()`; the shared server's connections reach it through the fleet's dispatcher.
 */
class WorldPort extends EventEmitter {
  constructor(private readonly shared: FakeWAServer) {
    super();
  }
  get url(): string {
    return this.shared.url;
  }
  get pki() {
    return this.shared.pki;
  }
  async close(): Promise<void> {}
}

interface FleetWorld {
  index: number;
  world: FakeWhatsApp;
  port: WorldPort;
  registration: FakeConnection | undefined;
  peer?: FakePeer;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const gc = () => (globalThis as { gc?: () => void }).gc?.();

/** The fleet itself (runs in whichever process creates it). */
export class FakeFleet implements FakeFleetApi {
  private readonly worlds: FleetWorld[] = [];
  private readonly byPn = new Map<string, FleetWorld>();
  private unrouted = 0;
  private messages = new Map<string, FleetMessage>();

  private constructor(private readonly shared: FakeWAServer) {
    shared.on('connection', (c) => this.route(c));
  }

  static async start(): Promise<FakeFleet> {
    return new FakeFleet(await FakeWAServer.start({ pki: makeFakePki() }));
  }

  get url(): string {
    return this.shared.url;
  }

  get rootPublicKey(): Uint8Array {
    return this.shared.pki.root.public;
  }

  async addWorlds(n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      const index = this.worlds.length;
      const port = new WorldPort(this.shared);
      const suffix = String(index).padStart(4, '0');
      const world = new FakeWhatsApp(port as unknown as FakeWAServer, [], {
        trustFakeRoot: false, // one PKI for all: trusted once, by the bench process
        account: { pn: `1555100${suffix}`, lid: `20000010000${suffix}`, name: `Bench ${index}` },
      });
      const entry: FleetWorld = { index, world, port, registration: undefined };
      this.worlds.push(entry);
      this.byPn.set(world.account.pn, entry);
    }
  }

  async memory(): Promise<FleetMemory> {
    gc();
    gc();
    const m = process.memoryUsage();
    return { rss: m.rss, heap: m.heapUsed, external: m.external + m.arrayBuffers };
  }

  async scan(qr: string): Promise<{ world: number; scannedAt: number } | null> {
    const { noiseKey } = parsePairingQr(qr);
    const w = this.worlds.find((x) => x.registration?.isOpen && x.registration.clientStatic.equals(noiseKey));
    if (!w) return null;
    await w.world.phone.scanQr(qr, { timeoutMs: 60_000 });
    return { world: w.index, scannedAt: epochNow() };
  }

  async unroutedLogins(): Promise<number> {
    return this.unrouted;
  }

  async load(load: FleetLoad, onSent: (ids: string[]) => void): Promise<{ startedAt: number; prekeysWaitMs: number }> {
    const { rate, seconds } = load;
    const targets = load.worlds.map((i) => this.worlds[i]);
    const hasBundle = (w: FleetWorld) => {
      try {
        return w.world.clientBundle().preKeys.length > 0;
      } catch {
        return false;
      }
    };
    const waitFrom = epochNow();
    while (targets.some((w) => !hasBundle(w)) && epochNow() - waitFrom < 60_000) await sleep(20);
    const prekeysWaitMs = epochNow() - waitFrom;
    const messages = new Map<string, FleetMessage>();
    this.messages = messages;
    targets.forEach((w, s) => {
      const digits = String(s).padStart(4, '0');
      w.peer ??= w.world.addPeer({ pn: `1555300${digits}`, lid: `20000030000${digits}`, name: `Peer ${s}` });
      // rc14 acknowledges a message it decrypted with a `<receipt id>` (delivery; `type=inactive` here, as wa-hub
      // sends no active receipts), a failed one with `<ack class=message>` (a nack): either counts as the ack.
      w.world.on('node', (node) => {
        if (node.tag !== 'receipt' && !(node.tag === 'ack' && node.attrs.class === 'message')) return;
        const now = epochNow();
        const list = Array.isArray(node.content) ? node.content.find((c) => c.tag === 'list') : undefined;
        const items = Array.isArray(list?.content) ? list.content.map((c) => c.attrs.id) : [];
        for (const id of [node.attrs.id, ...items]) {
          const m = id === undefined ? undefined : messages.get(id);
          if (m && m.ackAt === undefined) m.ackAt = now;
        }
      });
    });

    const total = Math.round(rate * seconds);
    const sends: Promise<unknown>[] = [];
    let batch: string[] = [];
    const flush = setInterval(() => {
      if (batch.length) onSent(batch);
      batch = [];
    }, 10);
    const start = epochNow();
    let k = 0;
    while (k < total) {
      const due = Math.min(total, Math.floor(((epochNow() - start) * rate) / 1000) + 1);
      for (; k < due; k++) {
        const session = k % targets.length;
        const id = `BENCH-${session}-${k}`;
        const m: FleetMessage = { id, session, scheduledAt: start + (k * 1000) / rate, sentAt: epochNow() };
        messages.set(id, m);
        batch.push(id);
        sends.push(
          targets[session].peer!.sendText(`bench message ${k}`, { id }).then(
            () => {
              m.wiredAt = epochNow();
            },
            (e: unknown) => {
              m.error = (e as Error).message;
            },
          ),
        );
      }
      await sleep(Math.max(0, start + (k * 1000) / rate - epochNow()));
    }
    await Promise.all(sends);
    clearInterval(flush);
    if (batch.length) onSent(batch);
    return { startedAt: start, prekeysWaitMs };
  }

  async results(): Promise<FleetMessage[]> {
    return [...this.messages.values()];
  }

  async close(): Promise<void> {
    await this.shared.close();
  }

  private route(connection: FakeConnection): void {
    if (connection.isRegistration) {
      const free = this.worlds.find((w) => !w.world.linked && !w.registration?.isOpen);
      if (!free) {
        connection.close();
        return;
      }
      free.registration = connection;
      free.port.emit('connection', connection);
      return;
    }
    const target = this.byPn.get(String(connection.clientPayload.username));
    if (!target) {
      this.unrouted++;
      connection.send({ tag: 'failure', attrs: { reason: '401' } });
      return;
    }
    target.port.emit('connection', connection);
  }
}

/** bench process → fleet child. */
export interface FleetRequest {
  id: number;
  method: 'addWorlds' | 'memory' | 'scan' | 'unroutedLogins' | 'load' | 'results' | 'close';
  args: unknown[];
}

/** fleet child → bench process: an answer, the `sent` stream of a load, or (first) the server's address. */
export type FleetReply =
  { id: number; result?: unknown; error?: string } | { sent: string[] } | { ready: { url: string; rootPublicKey: Uint8Array } };

/**
 * Starts the fleet in a child process (plain `node` with bench/ts-register.mjs, so the TypeScript fakes run as they
 * are) and resolves with a proxy once its server listens. `BENCH_CPU_PROF=<dir>` profiles the child as well.
 * @throws Error (rejects) when the child exits before it is ready.
 */
export function forkFakeFleet(): Promise<FakeFleetApi> {
  const child = fork(fileURLToPath(new URL('./baileys-fake-fleet.child.ts', import.meta.url)), [], {
    execArgv: [
      '--import',
      fileURLToPath(new URL('./ts-register.mjs', import.meta.url)),
      '--expose-gc',
      ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []),
    ],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    // Structured clone: Uint8Arrays and large arrays of records without JSON.
    serialization: 'advanced',
  });
  return new Promise((resolve, reject) => {
    const calls = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
    let nextId = 1;
    let onSent: ((ids: string[]) => void) | undefined;
    const call = <T>(method: FleetRequest['method'], ...args: unknown[]): Promise<T> =>
      new Promise<T>((res, rej) => {
        const id = nextId++;
        calls.set(id, { resolve: res as (v: unknown) => void, reject: rej });
        child.send({ id, method, args } satisfies FleetRequest);
      });
    child.once('exit', (code) => {
      const e = new Error(`fake fleet child exited with ${code}`);
      reject(e);
      for (const c of calls.values()) c.reject(e);
      calls.clear();
    });
    child.on('message', (raw) => {
      const msg = raw as FleetReply;
      if ('ready' in msg) {
        const { url, rootPublicKey } = msg.ready;
        resolve({
          url,
          rootPublicKey,
          addWorlds: (n) => call('addWorlds', n),
          memory: () => call('memory'),
          scan: (qr) => call('scan', qr),
          unroutedLogins: () => call('unroutedLogins'),
          load: (load, sent) => {
            onSent = sent;
            return call('load', load);
          },
          results: () => call('results'),
          close: async () => {
            const exited = new Promise((r) => child.once('exit', r));
            await call('close').catch(() => undefined);
            child.disconnect();
            await exited;
          },
        });
      } else if ('sent' in msg) onSent?.(msg.sent);
      else {
        const c = calls.get(msg.id);
        calls.delete(msg.id);
        if (msg.error !== undefined) c?.reject(new Error(msg.error));
        else c?.resolve(msg.result);
      }
    });
  });
}
