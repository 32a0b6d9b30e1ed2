/**
 * Shapes shared by the fake's parts (world, phone, peers). Jid forms follow WhatsApp:
 * - phone-number user:  `16505551111@s.whatsapp.net`, one device of it: `16505551111:7@s.whatsapp.net`
 * - LID (privacy id):   `200000000000001@lid`,          one device of it: `200000000000001:7@lid`
 * - group:              `120363000000000001@g.us`
 */
import type { BinaryNode, proto } from '@whiskeysockets/baileys';
import type { FakeConnection } from './server';
import type { ClientPreKeyBundle, SignalAddress } from './signal';

/** The linked account: the phone number, its LID, and the device number the client (companion) gets when paired. */
export interface FakeAccount {
  pn: string;
  lid: string;
  /** Device number assigned to the Baileys client at pairing (the phone itself is device 0). */
  device: number;
  /** Push name the phone shows. */
  name: string;
}

export const pnUserJid = (pn: string) => `${pn}@s.whatsapp.net`;
export const lidUserJid = (lid: string) => `${lid}@lid`;
export const pnDeviceJid = (pn: string, device: number) => `${pn}${device ? `:${device}` : ''}@s.whatsapp.net`;
export const lidDeviceJid = (lid: string, device: number) => `${lid}${device ? `:${device}` : ''}@lid`;

/** Unix seconds as WhatsApp writes them in `t` attributes. */
export const unixSeconds = (): string => String(Math.floor(Date.now() / 1000));

/** One copy of a client-sent message, decrypted by the fake device it was encrypted for. */
export interface DecryptedCopy {
  /** Stanza id = Baileys' `key.id` of the sent message. */
  id: string;
  /** `to` of the stanza: the chat (`…@s.whatsapp.net`, `…@lid` or `…@g.us`). */
  chat: string;
  /** The `<to jid>` (device) this copy was encrypted for. */
  recipient: string;
  encType: 'pkmsg' | 'msg';
  /** The plaintext `Message`; for the own phone this is usually `{ deviceSentMessage: { destinationJid, message } }`. */
  message: proto.Message;
  stanza: BinaryNode;
}

/** A `<message>` stanza the client sent, with every copy the fake could decrypt. */
export interface ClientMessageStanza {
  id: string;
  to: string;
  /** `type` attribute: `text`, `media`, `reaction`, `poll`, … */
  type: string | undefined;
  stanza: BinaryNode;
  copies: DecryptedCopy[];
  /** `<to jid>`s no fake device could decrypt (unknown device, or decryption failed), with the reason. */
  undecryptable: { recipient: string; reason: string }[];
}

/** What the phone and the peers need from the world they live in. */
export interface WorldContext {
  readonly account: FakeAccount;
  /** Signal address of the Baileys client (companion device), as fake devices name it. */
  readonly clientAddress: SignalAddress;
  /** The current client connection; throws when no client is connected. */
  connection(): FakeConnection;
  /** The prekey bundle the client uploaded after its first login; throws if it has not yet. */
  clientBundle(): ClientPreKeyBundle;
  /** Resolves with the next client node (arriving after this call) that matches. */
  nextClientNode(predicate: (node: BinaryNode) => boolean, timeoutMs: number, what: string): Promise<BinaryNode>;
  /** Resolves when the client acknowledges the stanza with this id (`<ack id=…>`). */
  nextClientAck(id: string, timeoutMs: number): Promise<BinaryNode>;
}
