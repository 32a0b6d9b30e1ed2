import {
  BufferJSON,
  downloadMediaMessage,
  jidNormalizedUser,
  makeCacheableSignalKeyStore,
  makeWASocket,
  type AnyMessageContent,
  type BaileysEventMap,
  type WAMessage,
  type WASocket,
} from '@whiskeysockets/baileys';
import type { ILogger } from '@whiskeysockets/baileys/lib/Utils/logger';
import type { SessionStatus } from '../../domain/session-status';
import { makeWithScopedStorage } from './baileys-async-context';
import type { BaileysAuthRepository, Fence } from './baileys-auth.repository';
import type { BaileysEnvelope } from './baileys-envelope';
import { decideOnClose, type CloseDecision } from './baileys-reconnect-policy';

/** What a connection needs from the engine; the engine implements it (and tests can). */
export interface ConnectionHost {
  readonly logger: ILogger;
  readonly waWebSocketUrl?: string;
  readonly syncHistory: boolean;
  readonly maxBackoffMs: number;
  readonly auth: BaileysAuthRepository;
  /**
   * Hands an event to ingest (stored raw, normalised, applied); resolves when it is committed.
   * @param raw the envelope serialised with BufferJSON (stored as the raw bytes); `envelope` is that text parsed.
   */
  deliver(envelope: BaileysEnvelope, raw: string): Promise<void>;
  /** The connection stopped for good (logged out, replaced, refused, QR expired, lease lost): forget it. */
  ended(sessionId: string, reason: 'stopped' | 'logged-out' | 'lease-lost'): void;
  /** Wipe the auth state, release the lease and mark the session not wanted (after a decision to stop). */
  retire(sessionId: string, fence: Fence, wipe: boolean): Promise<void>;
}

/** Events stored through ingest (the others are Baileys' own bookkeeping). */
const STORED_EVENTS = ['messages.upsert', 'messages.update', 'messages.reaction', 'message-receipt.update', 'call'] as const;

/**
 * One Baileys session's socket lifecycle, owned by this process while it holds the session's lease (`fence`).
 * Baileys never reconnects on its own (one makeWASocket() is one attempt), so every close goes through
 * {@link decideOnClose}; creds writes are serialised and awaited before any reconnect (a 515 restart with
 * unsaved creds gets the half-registered device revoked). A failed auth-state write (a lost lease, or the
 * database) ends the socket and drops the key cache: makeCacheableSignalKeyStore updates its cache before the store.
 */
export class BaileysConnection {
  private sock: WASocket | undefined;
  private pendingCreds: Promise<void> = Promise.resolve();
  /** Events of one socket are delivered in order, one after another. */
  private delivering: Promise<void> = Promise.resolve();
  private wasOpen = false;
  private afterPairingRestart = false;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private qrLive = false;
  private opened: { resolve: () => void; promise: Promise<void> } = deferred();

  constructor(
    readonly sessionId: string,
    readonly externalId: string,
    private fence: Fence,
    private readonly host: ConnectionHost,
    private readonly random: () => number = Math.random,
  ) {}

  /** Whether the socket is open (logged in): sends go through only then. */
  get isOpen(): boolean {
    return this.sock !== undefined && this.wasOpen && this.sock.user !== undefined && !this.stopped && this.state === 'open';
  }

  private state: 'connecting' | 'open' | 'closed' = 'closed';

  /** Opens a socket from the stored auth state (new creds for a new session). */
  async connect(): Promise<void> {
    if (this.stopped) return;
    const { state, saveCreds } = await this.host.auth.loadState(this.sessionId, this.fence);
    if (this.stopped) return;
    const keys = makeCacheableSignalKeyStore(state.keys, this.host.logger);
    // Baileys' per-socket AsyncLocalStorage enabled only during its transactions: see baileys-async-context.ts.
    const { result: sock, storages } = makeWithScopedStorage(() =>
      makeWASocket({
        auth: { creds: state.creds, keys },
        logger: this.host.logger,
        ...(this.host.waWebSocketUrl ? { waWebSocketUrl: this.host.waWebSocketUrl } : {}),
        shouldSyncHistoryMessage: () => this.host.syncHistory,
        syncFullHistory: false,
        markOnlineOnConnect: false,
        // A commit that fails (lost lease) fails for good: do not retry it ten times 3 s apart under the mutex.
        transactionOpts: { maxCommitRetries: 1, delayBetweenTriesMs: 100 },
      }),
    );
    sock.ev.on('connection.update', (update) => {
      if (update.connection === 'close') for (const storage of storages) storage.end();
    });
    this.sock = sock;
    this.state = 'connecting';
    sock.ev.on('creds.update', () => {
      this.pendingCreds = this.pendingCreds.then(saveCreds).catch((e: unknown) => this.writeFailed(sock, e));
    });
    sock.ev.process((events) => {
      this.delivering = this.delivering
        .then(() => this.handle(sock, events))
        .catch((e: unknown) => this.host.logger.error({ err: e }, 'event handling failed'));
    });
  }

  /** Resolves when the socket is open (logged in). */
  whenOpen(): Promise<void> {
    return this.opened.promise;
  }

  /**
   * Asks WhatsApp for a pairing code for `phoneDigits` (E.164 digits): the user types it on the phone instead of
   * scanning. Only while the session waits for a login (a QR is live).
   * @returns the 8-character code. @throws Error when the session is not waiting for a login.
   */
  async requestPairingCode(phoneDigits: string): Promise<string> {
    if (!this.sock || !this.qrLive || this.sock.authState.creds.registered)
      throw new Error('The session is not waiting for a login (no live QR)');
    return this.sock.requestPairingCode(phoneDigits);
  }

  /**
   * Sends a message. @returns WhatsApp's message id (`key.id`).
   * @throws Error `NOT_CONNECTED` when the socket is not open.
   */
  async send(jid: string, content: AnyMessageContent, quoted?: WAMessage): Promise<string | null> {
    if (!this.sock || !this.isOpen) throw Object.assign(new Error('The Baileys session is not connected'), { code: 'NOT_CONNECTED' });
    const sent = await this.sock.sendMessage(jid, content, quoted ? { quoted } : {});
    return sent?.key.id ?? null;
  }

  /**
   * The decrypted bytes of a media message this session received (Baileys `downloadMediaMessage`: fetches the
   * encrypted file from WhatsApp's CDN by `directPath`/`url` and decrypts it with `mediaKey`; an expired link is
   * re-requested from the sender's phone through `updateMediaMessage`). Streamed, never held whole.
   * @param message the WAMessage as stored raw (messages.raw), revived with BufferJSON.
   * @throws Error when the socket is not open, or the media cannot be fetched.
   */
  async downloadMedia(message: WAMessage): Promise<NodeJS.ReadableStream> {
    const sock = this.sock;
    if (!sock || !this.isOpen) throw Object.assign(new Error('The Baileys session is not connected'), { code: 'NOT_CONNECTED' });
    return downloadMediaMessage(message, 'stream', {}, { logger: this.host.logger, reuploadRequest: (m) => sock.updateMediaMessage(m) });
  }

  /** Unlinks the device at WhatsApp (best effort) and ends the socket. */
  async logout(): Promise<void> {
    const sock = this.sock;
    this.stopped = true;
    clearTimeout(this.retryTimer);
    if (sock && this.state === 'open') await sock.logout('wa-hub logout').catch(() => undefined);
    sock?.end(undefined);
    await this.pendingCreds;
  }

  /** Ends the socket without logging out (stop, shutdown, lease lost); pending creds writes finish first. */
  async end(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    await this.pendingCreds.catch(() => undefined);
    this.sock?.end(undefined);
    this.state = 'closed';
  }

  /** A fence renewed by the engine keeps the same token; a new one (after re-acquiring) replaces it. */
  updateFence(fence: Fence): void {
    this.fence = fence;
  }

  private async handle(sock: WASocket, events: Partial<BaileysEventMap>): Promise<void> {
    if (sock !== this.sock) return; // an old socket's late events
    const update = events['connection.update'];
    for (const name of STORED_EVENTS) {
      const data = events[name];
      if (data !== undefined) await this.deliver(sock, name, data);
    }
    if (this.host.syncHistory && events['messaging-history.set'])
      await this.deliver(sock, 'messaging-history.set', events['messaging-history.set'], true);
    if (update) await this.connectionUpdate(sock, update);
  }

  private async connectionUpdate(sock: WASocket, update: BaileysEventMap['connection.update']): Promise<void> {
    if (update.qr) this.qrLive = true;
    if (update.isNewLogin) this.afterPairingRestart = true;
    if (update.connection === 'open') {
      this.state = 'open';
      this.wasOpen = true;
      this.qrLive = false;
      this.afterPairingRestart = false;
      this.attempt = 0;
      this.opened.resolve();
    }
    if (update.connection !== 'close') {
      await this.deliver(sock, 'connection.update', update);
      return;
    }
    this.state = 'closed';
    this.qrLive = false;
    if (this.stopped) return; // we ended it ourselves
    const error = update.lastDisconnect?.error as
      { message?: string; output?: { statusCode?: number; payload?: { message?: string } } } | undefined;
    const code = error?.output?.statusCode;
    const registered = sock.authState.creds.me !== undefined && sock.authState.creds.me !== null;
    const decision = decideOnClose(
      {
        code,
        wasOpen: this.wasOpen,
        afterPairingRestart: this.afterPairingRestart && code === 401,
        registered,
        attempt: this.attempt,
        message: error?.output?.payload?.message ?? error?.message,
      },
      this.random(),
      this.host.maxBackoffMs,
    );
    if (code === 515) this.afterPairingRestart = this.afterPairingRestart || !this.wasOpen;
    const record = () =>
      this.deliver(sock, 'connection.update', update, false, { status: decision.status as SessionStatus, message: decision.message });
    // A stop is in the database (not wanted, lease released, login wiped) before its status says so; a reconnect
    // is announced first.
    if (decision.action === 'stop' || decision.action === 'logged-out') {
      await this.act(decision);
      await record();
    } else {
      await record();
      await this.act(decision);
    }
  }

  private async act(d: CloseDecision): Promise<void> {
    // Creds written before anything else: the reconnect loads them.
    await this.pendingCreds;
    switch (d.action) {
      case 'reconnect':
        return this.connect();
      case 'backoff':
        this.attempt++;
        this.retryTimer = setTimeout(
          () => void this.connect().catch((e: unknown) => this.host.logger.error({ err: e }, 'reconnect failed')),
          d.delayMs,
        );
        this.retryTimer.unref?.();
        return;
      case 'new-qr':
        this.wasOpen = false;
        this.afterPairingRestart = false;
        await this.host.auth.wipe(this.sessionId);
        return this.connect();
      case 'logged-out':
        this.stopped = true;
        await this.host.retire(this.sessionId, this.fence, true);
        this.host.ended(this.sessionId, 'logged-out');
        return;
      case 'stop':
        this.stopped = true;
        await this.host.retire(this.sessionId, this.fence, false);
        this.host.ended(this.sessionId, 'stopped');
        return;
    }
  }

  private writeFailed(sock: WASocket, e: unknown): void {
    this.host.logger.error({ err: e }, 'auth state write failed: ending the socket');
    this.stopped = true;
    sock.end(undefined);
    this.host.ended(this.sessionId, (e as Error)?.name === 'LeaseLostError' ? 'lease-lost' : 'stopped');
  }

  private async deliver(
    sock: WASocket,
    event: string,
    data: unknown,
    history = false,
    decision?: BaileysEnvelope['decision'],
  ): Promise<void> {
    const user = sock.user;
    const envelope: BaileysEnvelope = {
      sessionId: this.externalId,
      event,
      data,
      ...(user ? { me: { pn: user.id ? jidNormalizedUser(user.id).split('@')[0] : null, lid: user.lid ?? null } } : {}),
      ...(history ? { history: true } : {}),
      ...(decision ? { decision } : {}),
    };
    if (event === 'messages.upsert') {
      const lidToPn = await this.lidMappings(sock, (data as { messages?: WAMessage[] }).messages ?? []);
      if (lidToPn) envelope.lidToPn = lidToPn;
    }
    // Plain JSON as a webhook would carry it: Buffers in BufferJSON's form, Longs as strings.
    const raw = JSON.stringify(envelope, BufferJSON.replacer);
    const json = JSON.parse(raw) as BaileysEnvelope;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.host.deliver(json, raw);
        return;
      } catch (e) {
        // The database is unavailable: WhatsApp already delivered this, so keep trying a while before giving up.
        if (attempt >= 5) {
          this.host.logger.error({ err: e }, `could not store ${event}; dropped after ${attempt} attempts`);
          return;
        }
        await new Promise((r) => setTimeout(r, 500 * attempt));
      }
    }
  }

  /** PN jids of the `@lid` chats and authors of `messages` whose message key carries no PN alternative. */
  private async lidMappings(sock: WASocket, messages: WAMessage[]): Promise<Record<string, string> | undefined> {
    const lids = new Set<string>();
    for (const m of messages) {
      const key = m.key as WAMessage['key'] & { remoteJidAlt?: string; participantAlt?: string };
      if (key.remoteJid?.endsWith('@lid') && !key.remoteJidAlt) lids.add(key.remoteJid);
      if (key.participant?.endsWith('@lid') && !key.participantAlt) lids.add(key.participant);
    }
    if (lids.size === 0) return undefined;
    const out: Record<string, string> = {};
    for (const lid of lids) {
      const pn = await sock.signalRepository.lidMapping.getPNForLID(lid).catch(() => null);
      if (pn) out[lid] = jidNormalizedUser(pn);
    }
    return Object.keys(out).length ? out : undefined;
  }
}

function deferred(): { resolve: () => void; promise: Promise<void> } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { resolve, promise };
}
