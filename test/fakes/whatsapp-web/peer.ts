/**
 * A fake WhatsApp contact ("peer") with one device (device 0) and real Signal state. It sends the client what
 * WhatsApp's server would relay from a real contact, and decrypts what the client sends it.
 *
 * Inbound stanza shapes it produces (what the server relays to the client's device):
 * - PN-addressed 1:1 (default): `<message from=PN@s.whatsapp.net sender_lid=LID@lid id t type notify>`
 * - LID-addressed 1:1:          `<message from=LID@lid sender_pn=PN@s.whatsapp.net addressing_mode=lid …>`
 * - group:                      `<message from=GROUP@g.us participant=PN participant_lid=LID addressing_mode=pn …>`
 *   carrying `<enc type=pkmsg|msg>` with the sender key distribution (first message only) and `<enc type=skmsg>`.
 * Each has `<enc v=2 type=pkmsg|msg|skmsg [mediatype]>` children; `type` is `text`, `media` or `reaction` and edits
 * and revokes carry `edit=1` / `edit=7`, as Baileys itself writes them when sending.
 */
import { proto, type BinaryNode } from '@whiskeysockets/baileys';
import { randomBytes } from 'node:crypto';
import { SignalDevice, type SignalAddress } from './signal';
import { lidUserJid, pnUserJid, unixSeconds, type DecryptedCopy, type WorldContext } from './types';
import { AwaitableQueue } from './waiting';

export interface PeerOptions {
  /** Phone number digits, e.g. `16505552222`. */
  pn: string;
  /** LID digits, e.g. `200000000000002`. */
  lid: string;
  /** Push name (`notify` attribute). */
  name?: string;
}

export interface SendOptions {
  /** Stanza id (= Baileys `key.id`); default a fresh `FAKE…` id. */
  id?: string;
  /**
   * `pn` (default): `from` is the PN jid and the LID travels as `sender_lid` (`participant_lid` in groups).
   * `lid`: `from` is the LID jid, the PN travels as `sender_pn` (`participant_pn`), `addressing_mode=lid`.
   */
  addressing?: 'pn' | 'lid';
  /** Send the other address form (`sender_lid`/`sender_pn`/…) along; default true. */
  includeAlt?: boolean;
}

/** What the fake put on the wire for one inbound message. */
export interface InboundStanza {
  id: string;
  /** Pairwise type of the first `<enc>` (`pkmsg` for the first message of a session, then `msg`). */
  encType: 'pkmsg' | 'msg';
  stanza: BinaryNode;
}

/** A message a reaction/edit/revoke points at. */
export interface MessageRef {
  id: string;
  /** Who sent the target message: the Baileys client, or this peer. */
  sentBy: 'client' | 'peer';
}

export type ReceiptType = 'delivery' | 'read' | 'played';

/** Media fields of an `imageMessage` descriptor; everything not given gets a plausible fake value. */
export type ImageDescriptor = proto.Message.IImageMessage;

let idCounter = 0;
const freshId = () => `FAKE${Date.now().toString(16).toUpperCase()}${(++idCounter).toString(16).toUpperCase()}`;

/** The stanza `type` WhatsApp uses for a message (mirrors Baileys' `getMessageType` for what the fake sends). */
function stanzaType(message: proto.IMessage): string {
  if (message.reactionMessage) return 'reaction';
  if (message.imageMessage || message.videoMessage || message.audioMessage || message.documentMessage || message.stickerMessage) {
    return 'media';
  }
  return 'text';
}

function mediaType(message: proto.IMessage): string | undefined {
  if (message.imageMessage) return 'image';
  if (message.videoMessage) return 'video';
  if (message.audioMessage) return message.audioMessage.ptt ? 'ptt' : 'audio';
  if (message.documentMessage) return 'document';
  if (message.stickerMessage) return 'sticker';
  return undefined;
}

export class FakePeer {
  readonly pn: string;
  readonly lid: string;
  readonly name: string;
  readonly device = new SignalDevice();
  /** Messages the client encrypted to this peer, decrypted, in arrival order. */
  readonly received: AwaitableQueue<DecryptedCopy>;
  /** Groups whose sender key this peer already distributed to the client. */
  private readonly distributedSenderKeys = new Set<string>();
  /** Sends are serialised: the Signal ratchet and the stanza order must agree. */
  private lock: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly world: WorldContext,
    options: PeerOptions,
  ) {
    this.pn = options.pn;
    this.lid = options.lid;
    this.name = options.name ?? `Peer ${options.pn}`;
    this.received = new AwaitableQueue(`message the client sent to ${this.pn}`);
  }

  get pnJid(): string {
    return pnUserJid(this.pn);
  }

  get lidJid(): string {
    return lidUserJid(this.lid);
  }

  /** This peer's device 0 as a Signal address. */
  get signalAddress(): SignalAddress {
    return { name: this.pn, device: 0 };
  }

  /** Resolves with the next message (arrived or arriving) the client sent to this peer, decrypted. */
  nextMessage(timeoutMs = 10_000): Promise<DecryptedCopy> {
    return this.received.next(() => true, timeoutMs);
  }

  /** Text of a decrypted copy (`conversation` or `extendedTextMessage.text`). */
  static textOf(copy: DecryptedCopy): string | null | undefined {
    return copy.message.conversation ?? copy.message.extendedTextMessage?.text;
  }

  sendText(text: string, options: SendOptions = {}): Promise<InboundStanza> {
    return this.sendMessage({ conversation: text }, options);
  }

  /** Reacts to `target` (`emoji = ''` removes the reaction). */
  react(target: MessageRef, emoji: string, options: SendOptions = {}): Promise<InboundStanza> {
    return this.sendMessage(
      { reactionMessage: { key: this.keyFromPeerView(target), text: emoji, senderTimestampMs: Date.now() } },
      options,
    );
  }

  /** Edits one of this peer's own messages (`protocolMessage` MESSAGE_EDIT, stanza `edit=1`). */
  edit(targetId: string, newText: string, options: SendOptions = {}): Promise<InboundStanza> {
    return this.sendMessage(
      {
        protocolMessage: {
          type: proto.Message.ProtocolMessage.Type.MESSAGE_EDIT,
          key: this.keyFromPeerView({ id: targetId, sentBy: 'peer' }),
          editedMessage: { conversation: newText },
          timestampMs: Date.now(),
        },
      },
      options,
      { edit: '1' },
    );
  }

  /** Deletes one of this peer's own messages for everyone (`protocolMessage` REVOKE, stanza `edit=7`). */
  revoke(targetId: string, options: SendOptions = {}): Promise<InboundStanza> {
    return this.sendMessage(
      {
        protocolMessage: {
          type: proto.Message.ProtocolMessage.Type.REVOKE,
          key: this.keyFromPeerView({ id: targetId, sentBy: 'peer' }),
        },
      },
      options,
      { edit: '7' },
    );
  }

  /**
   * Sends an image *descriptor* (what WhatsApp relays: URL, direct path, media key, hashes, size), not the bytes.
   * Nothing serves the URL: downloading it (`downloadMediaMessage`) needs a fake media host, which this fake lacks.
   */
  async sendImage(image: ImageDescriptor = {}, options: SendOptions = {}): Promise<InboundStanza & { image: ImageDescriptor }> {
    const full: ImageDescriptor = {
      url: 'https://mmg.whatsapp.net/v/t62.7118-24/11111111_222222222222222_3333333333333333333_n.enc?ccb=11-4&oh=fake&oe=fake&_nc_sid=5e03e0&mms3=true',
      directPath: '/v/t62.7118-24/11111111_222222222222222_3333333333333333333_n.enc?ccb=11-4&oh=fake&oe=fake&_nc_sid=5e03e0',
      mimetype: 'image/jpeg',
      mediaKey: randomBytes(32),
      fileSha256: randomBytes(32),
      fileEncSha256: randomBytes(32),
      fileLength: 48_213,
      width: 1280,
      height: 960,
      mediaKeyTimestamp: Math.floor(Date.now() / 1000),
      ...image,
    };
    const sent = await this.sendMessage({ imageMessage: full }, options);
    return { ...sent, image: full };
  }

  /** Any `proto.IMessage` from this peer to the client, 1:1. `extraAttrs` go on the `<message>` stanza. */
  sendMessage(message: proto.IMessage, options: SendOptions = {}, extraAttrs: Record<string, string> = {}): Promise<InboundStanza> {
    return this.serialised(async () => {
      const id = options.id ?? freshId();
      const { type, ciphertext } = await this.encryptToClient(message);
      const attrs: Record<string, string> = {
        id,
        t: unixSeconds(),
        type: stanzaType(message),
        notify: this.name,
        ...this.senderAttrs(options, 'sender'),
        ...extraAttrs,
      };
      const stanza: BinaryNode = { tag: 'message', attrs, content: [encNode(type, ciphertext, mediaType(message))] };
      this.world.connection().send(stanza);
      return { id, encType: type, stanza };
    });
  }

  sendGroupText(groupJid: string, text: string, options: SendOptions = {}): Promise<InboundStanza> {
    return this.sendGroupMessage(groupJid, { conversation: text }, options);
  }

  /**
   * A group message from this peer: the first one per group carries the sender key distribution message on the
   * pairwise session (`<enc type=pkmsg|msg>`) next to the sender-key ciphertext (`<enc type=skmsg>`), as WhatsApp does.
   */
  sendGroupMessage(groupJid: string, message: proto.IMessage, options: SendOptions = {}): Promise<InboundStanza> {
    return this.serialised(async () => {
      const id = options.id ?? freshId();
      const content: BinaryNode[] = [];
      let encType: 'pkmsg' | 'msg' = 'msg';
      if (!this.distributedSenderKeys.has(groupJid)) {
        const skdm = await this.device.senderKeyDistribution(groupJid, this.signalAddress);
        const pairwise = await this.encryptToClient({ senderKeyDistributionMessage: skdm });
        encType = pairwise.type;
        content.push(encNode(pairwise.type, pairwise.ciphertext));
        this.distributedSenderKeys.add(groupJid);
      }
      const skmsg = await this.device.encryptGroup(groupJid, this.signalAddress, message);
      content.push(encNode('skmsg', skmsg, mediaType(message)));
      const attrs: Record<string, string> = {
        from: groupJid,
        id,
        t: unixSeconds(),
        type: stanzaType(message),
        notify: this.name,
        ...this.senderAttrs(options, 'participant'),
      };
      const stanza: BinaryNode = { tag: 'message', attrs, content };
      this.world.connection().send(stanza);
      return { id, encType, stanza };
    });
  }

  /**
   * A delivery (`<receipt>` without type), read (`type=read`) or played receipt for messages the client sent this
   * peer. Resolves with the client's `<ack class=receipt>`, which Baileys sends after it emitted `messages.update`.
   */
  sendReceipt(messageIds: string | string[], type: ReceiptType = 'delivery', options: { addressing?: 'pn' | 'lid' } = {}) {
    const ids = Array.isArray(messageIds) ? messageIds : [messageIds];
    const [first, ...rest] = ids;
    if (!first) throw new Error('sendReceipt needs at least one message id');
    const connection = this.world.connection();
    const ack = this.world.nextClientAck(first, 10_000);
    connection.send({
      tag: 'receipt',
      attrs: {
        from: options.addressing === 'lid' ? this.lidJid : this.pnJid,
        id: first,
        t: unixSeconds(),
        ...(type === 'delivery' ? {} : { type }),
      },
      content: rest.length ? [{ tag: 'list', attrs: {}, content: rest.map((id) => ({ tag: 'item', attrs: { id } })) }] : undefined,
    });
    return ack;
  }

  private senderAttrs(options: SendOptions, kind: 'sender' | 'participant'): Record<string, string> {
    const lidAddressed = options.addressing === 'lid';
    const includeAlt = options.includeAlt ?? true;
    const primary = lidAddressed ? this.lidJid : this.pnJid;
    const attrs: Record<string, string> = kind === 'sender' ? { from: primary } : { participant: primary };
    if (includeAlt) attrs[`${kind}_${lidAddressed ? 'pn' : 'lid'}`] = lidAddressed ? this.pnJid : this.lidJid;
    if (lidAddressed || kind === 'participant') attrs.addressing_mode = lidAddressed ? 'lid' : 'pn';
    return attrs;
  }

  /** A message key as this peer sees it: the chat is the account's PN jid; `fromMe` means "sent by this peer". */
  private keyFromPeerView(target: MessageRef): proto.IMessageKey {
    return { remoteJid: pnUserJid(this.world.account.pn), fromMe: target.sentBy === 'peer', id: target.id };
  }

  private async encryptToClient(message: proto.IMessage) {
    const client = this.world.clientAddress;
    if (!this.device.hasSession(client)) await this.device.startSession(client, this.world.clientBundle());
    return this.device.encrypt(client, message);
  }

  private serialised<T>(work: () => Promise<T>): Promise<T> {
    const run = this.lock.then(work, work);
    this.lock = run.catch(() => undefined);
    return run;
  }
}

function encNode(type: 'pkmsg' | 'msg' | 'skmsg', ciphertext: Uint8Array, mediatype?: string): BinaryNode {
  return { tag: 'enc', attrs: { v: '2', type, ...(mediatype ? { mediatype } : {}) }, content: ciphertext };
}
