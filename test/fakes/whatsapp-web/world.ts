/**
 * The fake WhatsApp "world" behind the WebSocket: one account (a phone plus the companion slot the Baileys client
 * pairs into), any number of contacts ({@link FakePeer}), and the server behaviour between them.
 *
 * Per connection:
 * - registration (`ClientPayload.devicePairingData`): send `pair-device` refs (the client turns them into QR codes);
 *   the phone links the client with pair-success ({@link FakePhone}); then `<stream:error code=515/>`.
 * - login (`username` + `device`): `<success t lid …/>` if that device is linked, else `<failure reason=401/>`; answer
 *   the login IQs ({@link answerIq}); after the `digest` answer, `<ib><offline count=0/></ib>` (no offline backlog),
 *   which makes Baileys flush the event buffer it opened for the login.
 * - afterwards: ack client messages (`<ack class=message>`) and decrypt every copy for the fake devices; ack client
 *   receipts; answer every IQ; relay whatever peers send; end the connection on request ({@link disconnect}).
 */
import { EventEmitter } from 'node:events';
import { getBinaryNodeChild, jidDecode, S_WHATSAPP_NET, type BinaryNode } from '@whiskeysockets/baileys';
import { resolveDisconnect, type DisconnectCode, type ServerDisconnect } from './disconnects';
import { answerIq, type DirectoryEntry, type IqEnvironment } from './iq';
import { makeFakePki, trustFakeRoot, zeroSignedCertChain, type FakePki } from './noise';
import { FakePeer, type PeerOptions, type ReceiptType } from './peer';
import { FakePhone, type PairResult } from './phone';
import { FakeWAServer, type FakeConnection } from './server';
import type { ClientPreKeyBundle, SignalAddress, SignalDevice } from './signal';
import {
  lidDeviceJid,
  lidUserJid,
  pnDeviceJid,
  pnUserJid,
  unixSeconds,
  type ClientMessageStanza,
  type DecryptedCopy,
  type FakeAccount,
  type WorldContext,
} from './types';
import { AwaitableQueue, FutureMatcher, withTimeout } from './waiting';

export interface StartFakeWhatsAppOptions {
  /** The linked account; defaults: pn 16505551111, lid 200000000000001, device 7, name "Fake Owner". */
  account?: Partial<FakeAccount>;
  /** How many pair-device refs (QR codes) a registering client gets; default 3. Real WhatsApp sends 6. */
  qrRefs?: number;
  /** Send `<ib><offline count=0/></ib>` right after the login IQs; default true. */
  autoOfflineFlush?: boolean;
  /** Point Baileys' `WA_CERT_DETAILS.PUBLIC_KEY` at the fake root while the fake runs; default true. */
  trustFakeRoot?: boolean;
  /** `signed` (default): a properly signed fake chain. `zero-signed`: both signatures all zeros (see the canary). */
  certChain?: 'signed' | 'zero-signed';
  /**
   * Wire trace: `true` prints to stderr, a function receives each line; default: print when `WA_FAKE_LOG=1`. The
   * trace is always kept in `wire`.
   */
  log?: boolean | ((line: string) => void);
}

export interface FakeWhatsAppEvents {
  /** A client finished the Noise handshake. */
  connection: [FakeConnection];
  /** Every node any client sent (after decryption and decoding). */
  node: [BinaryNode, FakeConnection];
  /** The phone linked the client (before the 515). */
  paired: [PairResult];
  /** The login IQs are answered: the client is about to report `connection: 'open'`. */
  ready: [FakeConnection];
  /** A `<message>` the client sent, with the copies the fake could decrypt. */
  clientMessage: [ClientMessageStanza];
  /** The client unlinked itself (`sock.logout()` sends `remove-companion-device`). */
  logout: [BinaryNode];
}

export const DEFAULT_ACCOUNT: FakeAccount = {
  pn: '16505551111',
  lid: '200000000000001',
  device: 7,
  name: 'Fake Owner',
};

/** Start a fake on a free port. Close it with {@link FakeWhatsApp.close}. */
export async function startFakeWhatsApp(options: StartFakeWhatsAppOptions = {}): Promise<FakeWhatsApp> {
  const pki = makeFakePki();
  if (options.certChain === 'zero-signed') pki.certChain = zeroSignedCertChain(pki.certChain);
  const wire: string[] = [];
  const log = options.log ?? process.env.WA_FAKE_LOG === '1';
  const sink = typeof log === 'function' ? log : log ? (line: string) => console.error(`[fake-wa] ${line}`) : undefined;
  const server = await FakeWAServer.start({
    pki,
    log: (line) => {
      wire.push(line);
      sink?.(line);
    },
  });
  return new FakeWhatsApp(server, wire, options);
}

export class FakeWhatsApp extends EventEmitter<FakeWhatsAppEvents> implements WorldContext {
  readonly account: FakeAccount;
  /** The account's phone (device 0): scans QR codes, accepts pairing codes, receives the client's sent-message copies. */
  readonly phone: FakePhone;
  /** Every `<message>` the client sent, in order (see {@link AwaitableQueue}). */
  readonly sent = new AwaitableQueue<ClientMessageStanza>('message stanza from the client');
  /** Every `<receipt>` the client sent (for messages peers sent it), in order. */
  readonly clientReceipts = new AwaitableQueue<BinaryNode>('receipt from the client');
  /** Wire trace: `<<` client → server, `>>` server → client, `--` connection events. */
  readonly wire: string[];
  /** Whether the client's device is linked (pairing done, not logged out / removed). */
  linked = false;

  private readonly peers = new Map<string, FakePeer>();
  private readonly nodes = new FutureMatcher<BinaryNode>('a client node');
  private readonly readyConnections = new FutureMatcher<FakeConnection>('the client to finish logging in');
  private current: FakeConnection | undefined;
  private bundle: ClientPreKeyBundle | undefined;
  private pendingLoginFailure: string | undefined;
  private readonly restoreRoot: () => void;
  private readonly qrRefs: number;
  private readonly autoOfflineFlush: boolean;
  private peerCounter = 0;
  private fanOutQueue: Promise<void> = Promise.resolve();

  constructor(
    private readonly server: FakeWAServer,
    wire: string[],
    options: StartFakeWhatsAppOptions,
  ) {
    super();
    this.wire = wire;
    this.account = { ...DEFAULT_ACCOUNT, ...options.account };
    this.qrRefs = options.qrRefs ?? 3;
    this.autoOfflineFlush = options.autoOfflineFlush ?? true;
    this.restoreRoot = options.trustFakeRoot === false ? () => undefined : trustFakeRoot(server.pki.root.public);
    this.phone = new FakePhone(this, (result) => this.onPaired(result));
    server.on('connection', (connection) => this.onConnection(connection));
  }

  // ---- addresses -------------------------------------------------------------------------------------------------

  /** `ws://127.0.0.1:PORT/ws/chat`, for `makeWASocket({ waWebSocketUrl })`. */
  get url(): string {
    return this.server.url;
  }

  get pki(): FakePki {
    return this.server.pki;
  }

  /** The account's PN user jid, `16505551111@s.whatsapp.net` (what Baileys normalises `creds.me.id` to). */
  get mePnJid(): string {
    return pnUserJid(this.account.pn);
  }

  /** The account's LID user jid, `200000000000001@lid`. */
  get meLidJid(): string {
    return lidUserJid(this.account.lid);
  }

  /** The client's device jid, `16505551111:7@s.whatsapp.net` (`creds.me.id` after pairing). */
  get clientJid(): string {
    return pnDeviceJid(this.account.pn, this.account.device);
  }

  /** The client's LID device jid, `200000000000001:7@lid` (`creds.me.lid`). */
  get clientLid(): string {
    return lidDeviceJid(this.account.lid, this.account.device);
  }

  get clientAddress(): SignalAddress {
    return { name: this.account.pn, device: this.account.device };
  }

  // ---- peers -----------------------------------------------------------------------------------------------------

  /** Adds a contact. `lid` defaults to a fresh `2000000000001NN`. */
  addPeer(options: Partial<PeerOptions> & { pn: string }): FakePeer {
    const lid = options.lid ?? String(200_000_000_000_100 + ++this.peerCounter);
    const peer = new FakePeer(this, { pn: options.pn, lid, name: options.name });
    this.peers.set(peer.pn, peer);
    return peer;
  }

  /**
   * The contact with this PN/LID (jid or bare digits). Unknown PNs are added on the fly (with a fresh LID); an unknown
   * LID is an error, since the fake cannot guess its phone number.
   */
  peer(jidOrUser: string): FakePeer {
    const user = jidDecode(jidOrUser)?.user ?? jidOrUser;
    const found = this.findPeer(user);
    if (found) return found;
    if (jidOrUser.endsWith('@lid')) throw new Error(`no fake peer has LID ${jidOrUser}; use addPeer({ pn, lid })`);
    return this.addPeer({ pn: user });
  }

  private findPeer(user: string): FakePeer | undefined {
    return this.peers.get(user) ?? [...this.peers.values()].find((p) => p.lid === user);
  }

  // ---- what tests await ------------------------------------------------------------------------------------------

  /** The current client connection; throws when none is connected. */
  connection(): FakeConnection {
    if (!this.current || !this.current.isOpen) throw new Error('no client is connected to the fake WhatsApp server');
    return this.current;
  }

  /** True while a client is connected. */
  get isConnected(): boolean {
    return !!this.current?.isOpen;
  }

  clientBundle(): ClientPreKeyBundle {
    if (!this.bundle) throw new Error('the client has not uploaded its prekeys yet (wait for the login: nextReady())');
    return this.bundle;
  }

  /** Resolves with the next client node, arriving after this call, that matches. */
  nextClientNode(predicate: (node: BinaryNode) => boolean, timeoutMs = 10_000, what = 'a matching client node'): Promise<BinaryNode> {
    return this.nodes.waitFor(predicate, timeoutMs, what);
  }

  /** Resolves with the client's `<ack id=…>` (for a receipt, notification or message the fake sent). */
  nextClientAck(id: string, timeoutMs = 10_000): Promise<BinaryNode> {
    return this.nodes.waitFor((n) => n.tag === 'ack' && n.attrs.id === id, timeoutMs, `the client ack for ${id}`);
  }

  /** Resolves when the next login finished its IQs (just before Baileys emits `connection: 'open'`). */
  nextReady(timeoutMs = 10_000): Promise<FakeConnection> {
    return this.readyConnections.waitFor(() => true, timeoutMs);
  }

  /** Resolves with the next `<message>` the client sends (or sent and nobody consumed yet). */
  nextSent(predicate: (m: ClientMessageStanza) => boolean = () => true, timeoutMs = 10_000): Promise<ClientMessageStanza> {
    return this.sent.next(predicate, timeoutMs);
  }

  // ---- server actions --------------------------------------------------------------------------------------------

  /**
   * A receipt from `peer` for messages the client sent (delivery without `type`, or `read`/`played`). Resolves with
   * the client's ack. Same as `peer.sendReceipt(...)`.
   */
  sendReceipt(peer: FakePeer | string, messageIds: string | string[], type: ReceiptType = 'delivery'): Promise<BinaryNode> {
    return (typeof peer === 'string' ? this.peer(peer) : peer).sendReceipt(messageIds, type);
  }

  /** `<ib><offline count=N/></ib>`: "no more offline messages", flushing Baileys' login event buffer. */
  sendOfflineFlush(count = 0): void {
    this.connection().send({ tag: 'ib', attrs: {}, content: [{ tag: 'offline', attrs: { count: String(count) } }] });
  }

  /** Answer the next login with `<failure reason=…/>` instead of `<success/>` (401: device not linked, 403: banned). */
  rejectNextLogin(reason: 401 | 403 | number = 401): void {
    this.pendingLoginFailure = String(reason);
  }

  /**
   * Ends the current connection the way WhatsApp's server would (see SERVER_DISCONNECTS for each scenario and the
   * code rc14 reports). A number picks the default scenario for that code: 515, 440, 401, 403, 500, 503, 411, 428, 408.
   * Resolves once the client's socket is closed, except for `silence`/408, which resolves at once (the client only
   * gives up after its keepalive window).
   */
  async disconnect(how: ServerDisconnect | DisconnectCode, timeoutMs = 10_000): Promise<void> {
    const spec = resolveDisconnect(how);
    const connection = this.connection();
    if (spec.unlinksDevice) this.linked = false;
    if (spec.silence) {
      connection.muted = true;
      return;
    }
    const closed = withTimeout(
      new Promise<void>((resolve) => connection.once('close', () => resolve())),
      timeoutMs,
      `the client to close after ${String(how)}`,
    );
    if (spec.node) connection.send(spec.node);
    if (spec.closeSocket) connection.close();
    await closed;
  }

  /** Stops the server, drops every connection and restores `WA_CERT_DETAILS.PUBLIC_KEY`. */
  async close(): Promise<void> {
    this.restoreRoot();
    await this.server.close();
  }

  // ---- connection handling ---------------------------------------------------------------------------------------

  private onConnection(connection: FakeConnection): void {
    this.current = connection;
    connection.on('node', (node) => {
      this.emit('node', node, connection);
      this.onNode(connection, node);
      this.nodes.push(node);
    });
    this.emit('connection', connection);
    if (connection.isRegistration) {
      // Imitates: WhatsApp hands a registering companion refs to show as QR codes.
      connection.send({
        tag: 'iq',
        attrs: { from: S_WHATSAPP_NET, type: 'set', id: connection.nextId(), xmlns: 'md' },
        content: [
          {
            tag: 'pair-device',
            attrs: {},
            content: Array.from({ length: this.qrRefs }, (_, i) => ({
              tag: 'ref',
              attrs: {},
              content: Buffer.from(`2@fake-ref-${connection.id}-${i + 1}`),
            })),
          },
        ],
      });
      return;
    }
    const payload = connection.clientPayload;
    const isOurDevice = String(payload.username) === this.account.pn && payload.device === this.account.device;
    const failure = this.pendingLoginFailure ?? (isOurDevice && this.linked ? undefined : '401');
    this.pendingLoginFailure = undefined;
    if (failure) {
      // Imitates: login refused (401: not linked / revoked; 403: banned).
      connection.send({ tag: 'failure', attrs: { reason: failure } });
      return;
    }
    // Imitates: login accepted; `lid` is the companion's own LID device jid.
    connection.send({
      tag: 'success',
      attrs: {
        t: unixSeconds(),
        lid: this.clientLid,
        props: '1',
        abprops: '1',
        location: 'fake',
        creation: '1700000000',
      },
    });
  }

  private onPaired(result: PairResult): void {
    this.linked = result.deviceSignatureValid;
    this.emit('paired', result);
    // Imitates: after pair-device-sign WhatsApp asks the new companion to reconnect (and log in).
    this.current?.send(resolveDisconnect('restart-required').node as BinaryNode);
  }

  private onNode(connection: FakeConnection, node: BinaryNode): void {
    switch (node.tag) {
      case 'iq': {
        const answer = answerIq(node, this.iqEnvironment(connection));
        if (answer) connection.send(answer);
        return;
      }
      case 'message':
        // Imitates: the server acks each stanza (`<ack class=message id from t/>`), then relays it to every device.
        connection.send({
          tag: 'ack',
          attrs: { class: 'message', id: node.attrs.id ?? '', from: node.attrs.to ?? S_WHATSAPP_NET, t: unixSeconds() },
        });
        // Decrypted one stanza at a time, so `sent` and the peers' queues keep the client's order.
        this.fanOutQueue = this.fanOutQueue.then(() => this.fanOut(node));
        return;
      case 'receipt':
        this.clientReceipts.push(node);
        connection.send({
          tag: 'ack',
          attrs: {
            class: 'receipt',
            id: node.attrs.id ?? '',
            from: node.attrs.to ?? S_WHATSAPP_NET,
            ...(node.attrs.type ? { type: node.attrs.type } : {}),
          },
        });
        return;
      default:
      // ack, presence, ib <unified_session/>, notifications acks…: nothing to answer.
    }
  }

  private iqEnvironment(connection: FakeConnection): IqEnvironment {
    return {
      lookup: (user) => this.directoryEntry(user),
      preKeyCount: () => this.bundle?.preKeys.length ?? 0,
      onPreKeyUpload: (bundle) => {
        this.bundle = bundle;
      },
      onDigest: () => {
        // The digest answer is queued first; the flush then follows it on the wire.
        setImmediate(() => {
          if (this.autoOfflineFlush && connection.isOpen) this.sendOfflineFlush();
          this.readyConnections.push(connection);
          this.emit('ready', connection);
        });
      },
      onCompanionHello: (iq) => this.phone.rememberCompanionHello(iq),
      onLogout: (iq) => {
        this.linked = false;
        this.emit('logout', iq);
      },
    };
  }

  private directoryEntry(user: string): DirectoryEntry | undefined {
    if (user === this.account.pn || user === this.account.lid) {
      return {
        lid: this.account.lid,
        devices: [{ id: 0 }, { id: this.account.device, keyIndex: 1 }],
        signalDevices: new Map<number, SignalDevice>([[0, this.phone.device]]),
      };
    }
    const peer = this.findPeer(user);
    if (!peer) return undefined;
    return { lid: peer.lid, devices: [{ id: 0 }], signalDevices: new Map([[0, peer.device]]) };
  }

  /**
   * Decrypts each copy of a client `<message>`: `<participants><to jid><enc/></to>…</participants>` (1:1 and the
   * own-device copies) or a single top-level `<enc>`. Copies go to the peer's / phone's `received` queue.
   */
  private async fanOut(stanza: BinaryNode): Promise<void> {
    const id = stanza.attrs.id ?? '';
    const to = stanza.attrs.to ?? '';
    const record: ClientMessageStanza = { id, to, type: stanza.attrs.type, stanza, copies: [], undecryptable: [] };
    const targets: { recipient: string; enc: BinaryNode }[] = [];
    const participants = getBinaryNodeChild(stanza, 'participants');
    for (const toNode of Array.isArray(participants?.content) ? participants.content : []) {
      const enc = getBinaryNodeChild(toNode, 'enc');
      if (enc && toNode.attrs.jid) targets.push({ recipient: toNode.attrs.jid, enc });
    }
    const direct = getBinaryNodeChild(stanza, 'enc');
    if (direct) targets.push({ recipient: to, enc: direct });

    for (const { recipient, enc } of targets) {
      const type = enc.attrs.type;
      const target = this.fakeDeviceFor(recipient);
      if (!target) {
        record.undecryptable.push({ recipient, reason: 'no such fake device' });
        continue;
      }
      if ((type !== 'pkmsg' && type !== 'msg') || !(enc.content instanceof Uint8Array)) {
        record.undecryptable.push({ recipient, reason: `cannot decrypt <enc type=${type}>` });
        continue;
      }
      try {
        const message = await target.device.decrypt(this.clientAddress, type, enc.content);
        const copy: DecryptedCopy = { id, chat: to, recipient, encType: type, message, stanza };
        record.copies.push(copy);
        target.inbox.push(copy);
      } catch (err) {
        record.undecryptable.push({ recipient, reason: err instanceof Error ? err.message : String(err) });
      }
    }
    this.sent.push(record);
    this.emit('clientMessage', record);
  }

  /** The fake device a client `<to jid>` names: the phone (account user, device 0) or a peer's device 0. */
  private fakeDeviceFor(jid: string): { device: SignalDevice; inbox: AwaitableQueue<DecryptedCopy> } | undefined {
    const decoded = jidDecode(jid);
    if (!decoded || (decoded.device ?? 0) !== 0) return undefined;
    if (decoded.user === this.account.pn || decoded.user === this.account.lid) {
      return { device: this.phone.device, inbox: this.phone.received };
    }
    const peer = this.findPeer(decoded.user);
    return peer && { device: peer.device, inbox: peer.received };
  }
}
