/**
 * The Signal side of the fake: a device with a real libsignal identity, signed prekey, one-time prekeys and sessions
 * (all in memory), able to
 * - encrypt to the client from the prekey bundle the client uploaded (`pkmsg` first, then `msg`),
 * - decrypt what the client encrypts to it,
 * - hand out its own prekey bundle when the client asks (`iq get encrypt <key>`),
 * - and, for groups, create a sender key, distribute it (SKDM) and encrypt `skmsg`.
 *
 * 1:1 crypto is libsignal's (`SessionBuilder`, `SessionCipher`), independent of Baileys. Group sender keys use the
 * implementation Baileys ships under `lib/Signal/Group` (libsignal-node has none); that is a deep import of Baileys
 * internals, kept in this one file.
 */
import {
  Curve,
  encodeBigEndian,
  encodeWAMessage,
  generateRegistrationId,
  generateSignalPubKey,
  getBinaryNodeChild,
  getBinaryNodeChildBuffer,
  getBinaryNodeChildren,
  proto,
  signedKeyPair,
  unpadRandomMax16,
  type BinaryNode,
  type KeyPair,
} from '@whiskeysockets/baileys';
// Deep import: sender keys are not in Baileys' index. The package has no `exports` map, so this path is reachable.
import { GroupCipher, GroupSessionBuilder, SenderKeyName, SenderKeyRecord } from '@whiskeysockets/baileys/lib/Signal/Group/index.js';
import * as libsignal from 'libsignal';

/** libsignal's key pair shape: 33-byte public key (0x05 prefix), 32-byte private key. */
interface SignalKeyPair {
  pubKey: Buffer;
  privKey: Buffer;
}

/**
 * `libsignal.curve.verifySignature` exists at runtime but is missing from libsignal's index.d.ts. It returns a boolean
 * for a well-formed key/signature (and throws only on bad lengths) - which is exactly the return value Baileys rc14
 * ignores in `Curve.verify`. The fake checks it properly.
 */
interface LibsignalCurve {
  verifySignature(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
}
const libsignalCurve = (libsignal as unknown as { curve: LibsignalCurve }).curve;

/** A real XEdDSA signature check (unlike Baileys rc14's `Curve.verify`). `publicKey`: 32 or 33 bytes. */
export function verifyCurveSignature(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    return libsignalCurve.verifySignature(withKeyType(publicKey), message, signature) === true;
  } catch {
    return false;
  }
}

/** 32-byte Curve25519 public key → 33-byte Signal form (0x05 prefix); 33-byte input is returned as a copy. */
export const withKeyType = (key: Uint8Array): Buffer => Buffer.from(generateSignalPubKey(Buffer.from(key)));
/** 33-byte Signal public key → 32-byte raw form (what travels in WhatsApp's key nodes). */
export const withoutKeyType = (key: Uint8Array): Buffer => (key.length === 33 ? Buffer.from(key).subarray(1) : Buffer.from(key));

const toSignalKeyPair = (pair: KeyPair): SignalKeyPair => ({
  pubKey: withKeyType(pair.public),
  privKey: Buffer.from(pair.private),
});

const readUInt = (bytes: Uint8Array): number => Buffer.from(bytes).readUIntBE(0, bytes.length);

/** Where the client's uploaded bundle (from `iq set encrypt <registration/>…`) ends up. */
export interface ClientPreKeyBundle {
  registrationId: number;
  identityKey: Buffer;
  signedPreKey: { keyId: number; publicKey: Buffer; signature: Buffer };
  /** One-time prekeys the server still holds; each new session a fake device starts consumes one. */
  preKeys: { keyId: number; publicKey: Buffer }[];
}

function requireBuffer(node: BinaryNode | undefined, tag: string): Buffer {
  const value = getBinaryNodeChildBuffer(node, tag);
  if (!value) throw new Error(`<${node?.tag}> has no <${tag}> bytes`);
  return Buffer.from(value);
}

/**
 * Parses the client's prekey upload:
 * `<iq xmlns=encrypt type=set><registration/><type/><identity/><list><key><id/><value/></key>…</list><skey><id/><value/><signature/></skey></iq>`
 * (Baileys uploads 812 one-time prekeys on first login; `<type>` is 0x05).
 */
export function parsePreKeyUpload(iq: BinaryNode): ClientPreKeyBundle {
  const skey = getBinaryNodeChild(iq, 'skey');
  return {
    registrationId: readUInt(requireBuffer(iq, 'registration')),
    identityKey: withKeyType(requireBuffer(iq, 'identity')),
    signedPreKey: {
      keyId: readUInt(requireBuffer(skey, 'id')),
      publicKey: withKeyType(requireBuffer(skey, 'value')),
      signature: requireBuffer(skey, 'signature'),
    },
    preKeys: getBinaryNodeChildren(getBinaryNodeChild(iq, 'list'), 'key').map((key) => ({
      keyId: readUInt(requireBuffer(key, 'id')),
      publicKey: withKeyType(requireBuffer(key, 'value')),
    })),
  };
}

/** Signal address of a WhatsApp device: user (PN digits or `${lid}_1` for LID) + device number. */
export interface SignalAddress {
  name: string;
  device: number;
}

export type PairwiseType = 'pkmsg' | 'msg';

/** One WhatsApp device with real Signal state. */
export class SignalDevice {
  readonly identity: SignalKeyPair;
  readonly registrationId = generateRegistrationId();
  readonly signedPreKey: { keyId: number; keyPair: SignalKeyPair; signature: Buffer };
  private readonly preKeys = new Map<number, SignalKeyPair>();
  private readonly sessions = new Map<string, libsignal.SessionRecord>();
  private readonly senderKeys = new Map<string, SenderKeyRecord>();
  private nextPreKeyId = 1;

  private readonly store: libsignal.SignalStorage = {
    getOurIdentity: () => this.identity,
    getOurRegistrationId: () => this.registrationId,
    // Trust on first use, as WhatsApp clients do.
    isTrustedIdentity: () => true,
    loadSession: async (id) => this.sessions.get(id),
    storeSession: async (id, record) => {
      this.sessions.set(id, record);
    },
    loadPreKey: async (id) => this.preKeys.get(Number(id)),
    removePreKey: (id) => {
      this.preKeys.delete(Number(id));
    },
    loadSignedPreKey: () => this.signedPreKey.keyPair,
  };

  private readonly senderKeyStore = {
    loadSenderKey: async (name: SenderKeyName) => this.senderKeys.get(name.toString()) ?? new SenderKeyRecord(),
    storeSenderKey: async (name: SenderKeyName, record: SenderKeyRecord) => {
      this.senderKeys.set(name.toString(), record);
    },
  };

  constructor(identity: KeyPair = Curve.generateKeyPair()) {
    this.identity = toSignalKeyPair(identity);
    const signed = signedKeyPair(identity, 1);
    this.signedPreKey = {
      keyId: signed.keyId,
      keyPair: toSignalKeyPair(signed.keyPair),
      signature: Buffer.from(signed.signature),
    };
    this.addPreKeys(5);
  }

  /** 32-byte identity public key (the account key, for a phone). */
  get identityPublic(): Buffer {
    return withoutKeyType(this.identity.pubKey);
  }

  private addPreKeys(count: number): void {
    for (let i = 0; i < count; i++) this.preKeys.set(this.nextPreKeyId++, toSignalKeyPair(Curve.generateKeyPair()));
  }

  /**
   * `<user jid=…>` for an `iq get encrypt <key>` answer: registration id, key type, identity, signed prekey and one
   * one-time prekey (consumed, as the real server hands each prekey out once).
   */
  bundleNode(jid: string): BinaryNode {
    if (this.preKeys.size === 0) this.addPreKeys(5);
    const [preKeyId, preKey] = this.preKeys.entries().next().value as [number, SignalKeyPair];
    return {
      tag: 'user',
      attrs: { jid },
      content: [
        { tag: 'registration', attrs: {}, content: encodeBigEndian(this.registrationId, 4) },
        { tag: 'type', attrs: {}, content: Buffer.from([5]) },
        { tag: 'identity', attrs: {}, content: withoutKeyType(this.identity.pubKey) },
        {
          tag: 'skey',
          attrs: {},
          content: [
            { tag: 'id', attrs: {}, content: encodeBigEndian(this.signedPreKey.keyId, 3) },
            { tag: 'value', attrs: {}, content: withoutKeyType(this.signedPreKey.keyPair.pubKey) },
            { tag: 'signature', attrs: {}, content: this.signedPreKey.signature },
          ],
        },
        {
          tag: 'key',
          attrs: {},
          content: [
            { tag: 'id', attrs: {}, content: encodeBigEndian(preKeyId, 3) },
            { tag: 'value', attrs: {}, content: withoutKeyType(preKey.pubKey) },
          ],
        },
      ],
    };
  }

  hasSession(remote: SignalAddress): boolean {
    return this.sessions.get(address(remote).toString())?.haveOpenSession() ?? false;
  }

  /** Starts an outgoing session from the client's uploaded bundle, consuming one of its one-time prekeys. */
  async startSession(remote: SignalAddress, bundle: ClientPreKeyBundle): Promise<void> {
    const preKey = bundle.preKeys.shift();
    if (!preKey) throw new Error('the client has no one-time prekeys left on the fake server');
    await new libsignal.SessionBuilder(this.store, address(remote)).initOutgoing({
      registrationId: bundle.registrationId,
      identityKey: bundle.identityKey,
      signedPreKey: bundle.signedPreKey,
      preKey,
    });
  }

  /** Encrypts a WhatsApp `Message` (padded like WA: `encodeWAMessage`) on the pairwise session. */
  async encrypt(remote: SignalAddress, message: proto.IMessage): Promise<{ type: PairwiseType; ciphertext: Buffer }> {
    const { type, body } = await new libsignal.SessionCipher(this.store, address(remote)).encrypt(encodeWAMessage(message));
    return { type: type === 3 ? 'pkmsg' : 'msg', ciphertext: Buffer.from(body, 'binary') };
  }

  async decrypt(remote: SignalAddress, type: PairwiseType, ciphertext: Uint8Array): Promise<proto.Message> {
    const cipher = new libsignal.SessionCipher(this.store, address(remote));
    const padded = type === 'pkmsg' ? await cipher.decryptPreKeyWhisperMessage(ciphertext) : await cipher.decryptWhisperMessage(ciphertext);
    return proto.Message.decode(unpadRandomMax16(padded));
  }

  /**
   * This device's sender key for `groupJid` as a `SenderKeyDistributionMessage` (created on first use). `self` is this
   * device's own address, which names the sender key (`${group}::${name}::${device}`).
   */
  async senderKeyDistribution(groupJid: string, self: SignalAddress): Promise<proto.Message.ISenderKeyDistributionMessage> {
    const skdm = await new GroupSessionBuilder(this.senderKeyStore).create(senderKeyName(groupJid, self));
    return { groupId: groupJid, axolotlSenderKeyDistributionMessage: skdm.serialize() };
  }

  /** `skmsg` ciphertext of `message` with this device's sender key for the group. */
  async encryptGroup(groupJid: string, self: SignalAddress, message: proto.IMessage): Promise<Buffer> {
    await this.senderKeyDistribution(groupJid, self); // make sure the key exists
    const ciphertext = await new GroupCipher(this.senderKeyStore, senderKeyName(groupJid, self)).encrypt(encodeWAMessage(message));
    return Buffer.from(ciphertext);
  }
}

const address = (remote: SignalAddress) => new libsignal.ProtocolAddress(remote.name, remote.device);
const senderKeyName = (groupJid: string, self: SignalAddress) => new SenderKeyName(groupJid, address(self));
