import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import type { AnyMessageContent, WAMessage } from '@whiskeysockets/baileys';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { AppConfig } from '../../config/app-config';
import { IngestService } from '../../ingest/ingest.service';
import { BaileysAuthRepository, type Fence } from './baileys-auth.repository';
import { BaileysConnection, type ConnectionHost } from './baileys-connection';
import type { BaileysEnvelope } from './baileys-envelope';
import { BaileysLeaseRepository } from './baileys-lease.repository';
import { baileysLogger } from './baileys-logger';
import { BaileysNormalizer } from './baileys.normalizer';

/**
 * Runs the Baileys sessions this process owns. Ownership is a lease per session with a fencing token
 * (baileys_sessions): a periodic tick (every third of `BAILEYS_LEASE_SECONDS`) renews this process's leases and
 * claims wanted sessions whose lease is free or expired, so after a crash another wa-hub process on the same
 * database takes the sessions over within the lease time. Every auth-state write checks the token, so a stale
 * holder's write fails and its socket ends. Graceful shutdown ends the sockets (without logging out) and
 * releases the leases. Sessions are started again after a restart, logged in from the stored creds.
 */
@Injectable()
export class BaileysEngine implements OnApplicationBootstrap, BeforeApplicationShutdown, ConnectionHost {
  /** This process's lease owner id: host, pid and a random part (a pid can be reused after a restart). */
  readonly owner = `${hostname().slice(0, 40)}:${process.pid}:${randomUUID().slice(0, 8)}`;
  readonly logger = baileysLogger('Baileys');
  readonly waWebSocketUrl: string | undefined;
  readonly syncHistory: boolean;
  readonly maxBackoffMs: number;
  private readonly log = new Logger(BaileysEngine.name);
  private readonly connections = new Map<string, BaileysConnection>();
  private readonly fences = new Map<string, Fence>();
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> = Promise.resolve();
  private shuttingDown = false;

  constructor(
    private readonly config: AppConfig,
    readonly auth: BaileysAuthRepository,
    private readonly leases: BaileysLeaseRepository,
    private readonly ingest: IngestService,
    private readonly normalizer: BaileysNormalizer,
  ) {
    this.waWebSocketUrl = config.BAILEYS_WA_WS_URL;
    this.syncHistory = config.BAILEYS_SYNC_HISTORY === 'true';
    this.maxBackoffMs = config.BAILEYS_MAX_BACKOFF_SECONDS * 1000;
  }

  onApplicationBootstrap(): void {
    if (this.config.BAILEYS_WORKER !== 'true') return;
    void this.tick();
    this.timer = setInterval(() => void this.tick(), Math.max(1000, (this.config.BAILEYS_LEASE_SECONDS * 1000) / 3));
    this.timer.unref();
  }

  /** Before the database closes (TypeORM closes it in onApplicationShutdown): end sockets, release leases. */
  async beforeApplicationShutdown(): Promise<void> {
    this.shuttingDown = true;
    clearInterval(this.timer);
    await this.ticking.catch(() => undefined);
    await Promise.all(
      [...this.connections.values()].map(async (c) => {
        await c.end();
        const fence = this.fences.get(c.sessionId);
        if (fence) await this.leases.release(c.sessionId, fence).catch(() => undefined);
      }),
    );
    this.connections.clear();
  }

  /** Renews this process's leases, ends sessions that were stopped or taken over, claims free ones. Serialised. */
  tick(): Promise<void> {
    this.ticking = this.ticking
      .then(() => this.tickOnce())
      .catch((e: unknown) => this.log.warn(`lease tick failed: ${(e as Error).message}`));
    return this.ticking;
  }

  private async tickOnce(): Promise<void> {
    if (this.shuttingDown) return;
    const lease = this.config.BAILEYS_LEASE_SECONDS;
    const wanted = new Set(await this.leases.wantedAndOwnedBy(this.owner));
    for (const [id, conn] of this.connections) {
      const fence = this.fences.get(id)!;
      if (!wanted.has(id) || !(await this.leases.renew({ sessionId: id, ...fence }, lease))) {
        // Stopped by an admin (through another process), or taken over after we stalled: let go.
        this.connections.delete(id);
        this.fences.delete(id);
        await conn.end();
        if (wanted.has(id) === false) await this.leases.release(id, fence).catch(() => undefined);
      }
    }
    for (const id of await this.leases.claimable(this.owner, 100)) {
      if (this.connections.has(id) || this.shuttingDown) continue;
      const fence = await this.leases.acquire(id, this.owner, lease);
      if (!fence) continue;
      const externalId = await this.leases.externalIdOf(id);
      if (!externalId) continue;
      this.fences.set(id, fence);
      const conn = new BaileysConnection(id, externalId, fence, this);
      this.connections.set(id, conn);
      await conn.connect().catch((e: unknown) => {
        this.log.warn(`session ${externalId} could not start: ${(e as Error).message}`);
        this.connections.delete(id);
      });
    }
  }

  // ---- session control (ProviderDefinition.sessions) -----------------------------------------------------------

  /** Marks the session wanted and starts it here at once if no other process holds it. */
  async start(sessionId: string): Promise<void> {
    await this.leases.setWanted(sessionId, true);
    if (this.config.BAILEYS_WORKER === 'true') await this.tick();
  }

  /** Ends the socket (the device stays linked) and marks the session not wanted; another start resumes it. */
  async stop(sessionId: string): Promise<void> {
    await this.leases.setWanted(sessionId, false);
    await this.detach(sessionId, (c) => c.end());
  }

  /** Forgets a running connection after `finish` (end or logout) and releases its lease. */
  private async detach(sessionId: string, finish: (c: BaileysConnection) => Promise<void>): Promise<void> {
    const conn = this.connections.get(sessionId);
    if (!conn) return;
    this.connections.delete(sessionId);
    await finish(conn);
    const fence = this.fences.get(sessionId);
    this.fences.delete(sessionId);
    if (fence) await this.leases.release(sessionId, fence);
  }

  /** Stops and starts again (a new socket from the stored creds). */
  async restart(sessionId: string): Promise<void> {
    await this.stop(sessionId);
    await this.start(sessionId);
  }

  /**
   * Unlinks the device at WhatsApp (when connected here), wipes its auth state and marks the session not wanted.
   * A session owned by another process is unlinked when that process sees it stopped; its creds are wiped here.
   */
  async logout(sessionId: string): Promise<void> {
    await this.leases.setWanted(sessionId, false);
    await this.detach(sessionId, (c) => c.logout());
    await this.auth.wipe(sessionId);
  }

  /**
   * A pairing code for logging in without a QR scan.
   * @returns the 8-character code to type on the phone (WhatsApp > Linked devices > Link with phone number).
   * @throws Error when the session does not run in this process or is not waiting for a login.
   */
  async pairingCode(sessionId: string, phoneDigits: string): Promise<string> {
    const conn = this.connections.get(sessionId);
    if (!conn) throw new Error('The session is not running in this process (start it first)');
    return conn.requestPairingCode(phoneDigits);
  }

  /** The running connection of a session, if this process runs it. */
  connection(sessionId: string): BaileysConnection | undefined {
    return this.connections.get(sessionId);
  }

  /** Sends through the session's socket. @throws Error `NOT_CONNECTED` (see BaileysConnection.send). */
  async send(sessionId: string, jid: string, content: AnyMessageContent, quoted?: WAMessage): Promise<string | null> {
    const conn = this.connections.get(sessionId);
    if (!conn) throw Object.assign(new Error('The Baileys session is not running in this process'), { code: 'NOT_CONNECTED' });
    return conn.send(jid, content, quoted);
  }

  /**
   * The media issue's hook: the bytes of a Baileys media message (see BaileysConnection.downloadMedia).
   * @throws Error `NOT_CONNECTED` when the session does not run here.
   */
  async downloadMedia(sessionId: string, message: WAMessage): Promise<NodeJS.ReadableStream> {
    const conn = this.connections.get(sessionId);
    if (!conn) throw Object.assign(new Error('The Baileys session is not running in this process'), { code: 'NOT_CONNECTED' });
    return conn.downloadMedia(message);
  }

  // ---- ConnectionHost ----------------------------------------------------------------------------------------------

  async deliver(envelope: BaileysEnvelope, raw: string): Promise<void> {
    // The connection serialised it once; the same text is the raw body (not serialised a second time).
    await this.ingest.ingest('baileys', this.normalizer, { rawBody: Buffer.from(raw), body: envelope, contentType: 'application/json' });
  }

  ended(sessionId: string): void {
    this.connections.delete(sessionId);
    this.fences.delete(sessionId);
  }

  async retire(sessionId: string, fence: Fence, wipe: boolean): Promise<void> {
    await this.leases.setWanted(sessionId, false);
    await this.leases.release(sessionId, fence).catch(() => undefined);
    if (wipe) await this.auth.wipe(sessionId);
  }
}
