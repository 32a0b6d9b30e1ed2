/**
 * The fake primary phone: the device that "scans" the QR code or accepts a pairing code, and then signs the
 * companion (the Baileys client) into the account with a `pair-success` stanza.
 *
 * What WhatsApp does, and the fake imitates:
 * 1. The server hands the registering client refs (`<iq xmlns=md><pair-device><ref/>…`); the client shows QR codes
 *    `https://wa.me/settings/linked_devices#ref,noiseKey,identityKey,advSecret,platform` (base64 keys).
 * 2. The phone reads the QR and the server sends the client
 *    `<iq type=set xmlns=md><pair-success><device-identity/><platform name=android/><device jid lid/></pair-success>`,
 *    where `device-identity` is `ADVSignedDeviceIdentityHMAC{details, hmac}`:
 *    `details` = `ADVSignedDeviceIdentity{details: ADVDeviceIdentity, accountSignatureKey, accountSignature}`,
 *    `accountSignature` = sign(account key, `06 00` ‖ deviceDetails ‖ companion identity key),
 *    `hmac` = HMAC-SHA256(advSecret, details). The HMAC is the one check Baileys rc14 really enforces.
 * 3. The client answers `<iq type=result><pair-device-sign><device-identity key-index/>` with its own device
 *    signature (`06 01` ‖ deviceDetails ‖ companion identity ‖ account key), which the fake verifies for real.
 * 4. The server then asks for a restart: `<stream:error code=515/>` (done by the world, see `onPaired`).
 *
 * Pairing code instead of QR (`sock.requestPairingCode(phone)`): the client sends `link_code_companion_reg
 * stage=companion_hello` with its ephemeral key wrapped with PBKDF2(code) + AES-CTR; the phone unwraps it, sends a
 * `link_code_companion_reg` notification with its own wrapped ephemeral key and identity, the client answers
 * `companion_finish` with a key bundle (HKDF + AES-GCM), and both derive the adv secret from it. Then steps 2-4.
 */
import {
  aesDecryptCTR,
  aesDecryptGCM,
  aesEncryptCTR,
  Curve,
  derivePairingCodeKey,
  getBinaryNodeChild,
  getBinaryNodeChildBuffer,
  hkdf,
  hmacSign,
  jidDecode,
  proto,
  S_WHATSAPP_NET,
  WA_ADV_ACCOUNT_SIG_PREFIX,
  WA_ADV_DEVICE_SIG_PREFIX,
  type BinaryNode,
} from '@whiskeysockets/baileys';
import { randomBytes } from 'node:crypto';
import type { FakeConnection } from './server';
import { SignalDevice, verifyCurveSignature } from './signal';
import { lidDeviceJid, pnDeviceJid, unixSeconds, type DecryptedCopy, type WorldContext } from './types';
import { AwaitableQueue } from './waiting';

/** The fields of a pairing QR code (`connection.update.qr`). */
export interface PairingQr {
  ref: string;
  noiseKey: Buffer;
  identityKey: Buffer;
  advSecret: Buffer;
  platform: string | undefined;
}

export function parsePairingQr(qr: string): PairingQr {
  const hash = qr.split('#')[1];
  if (!hash) throw new Error(`not a pairing QR: ${qr}`);
  const [ref, noise, identity, adv, platform] = hash.split(',');
  if (!ref || !noise || !identity || !adv) throw new Error(`pairing QR lacks fields: ${qr}`);
  return {
    ref,
    noiseKey: Buffer.from(noise, 'base64'),
    identityKey: Buffer.from(identity, 'base64'),
    advSecret: Buffer.from(adv, 'base64'),
    platform,
  };
}

/** How pairing ended, from the phone's side. */
export interface PairResult {
  /** The client's `<iq type=result><pair-device-sign>` answer. */
  reply: BinaryNode;
  /** The client's ADV device signature verified with a real XEdDSA check. */
  deviceSignatureValid: boolean;
}

/** What the world does once the phone has linked the client (mark it registered, send 515). */
export type OnPaired = (result: PairResult) => void;

export interface ScanOptions {
  /** Use this adv secret instead of the one in the QR (a wrong one makes the client reject pair-success). */
  advSecret?: Uint8Array;
  timeoutMs?: number;
}

export class FakePhone {
  /** The phone's Signal device (device 0). Its identity key is the account signature key. */
  readonly device = new SignalDevice();
  /** Copies of the client's outgoing messages encrypted to the phone (`deviceSentMessage`). */
  readonly received = new AwaitableQueue<DecryptedCopy>('message copy the client sent to its own phone');
  private lastCompanionHello: BinaryNode | undefined;

  constructor(
    private readonly world: WorldContext,
    private readonly onPaired: OnPaired,
  ) {}

  /** @internal the world passes every `companion_hello` IQ here. */
  rememberCompanionHello(node: BinaryNode): void {
    this.lastCompanionHello = getBinaryNodeChild(node, 'link_code_companion_reg');
  }

  /**
   * "Scans" `qr` (the string from `connection.update`): checks it names the connected client's Noise key, sends
   * pair-success, verifies the client's `pair-device-sign` and resolves with it. The world then sends 515.
   */
  async scanQr(qr: string, options: ScanOptions = {}): Promise<PairResult> {
    const parsed = parsePairingQr(qr);
    const connection = this.world.connection();
    if (!parsed.noiseKey.equals(connection.clientStatic)) {
      throw new Error('the QR noise key is not the Noise static key of the connected client');
    }
    return this.sendPairSuccess(parsed.identityKey, options.advSecret ?? parsed.advSecret, options.timeoutMs);
  }

  /**
   * Types `code` (from `sock.requestPairingCode()`) into the phone and completes the link-code exchange, then sends
   * pair-success like {@link scanQr}.
   */
  async enterPairingCode(code: string, timeoutMs = 10_000): Promise<PairResult> {
    const hello =
      this.lastCompanionHello ??
      getBinaryNodeChild(
        await this.world.nextClientNode(
          (n) => getBinaryNodeChild(n, 'link_code_companion_reg')?.attrs.stage === 'companion_hello',
          timeoutMs,
          'the client link_code_companion_reg companion_hello',
        ),
        'link_code_companion_reg',
      );
    this.lastCompanionHello = undefined;
    const askedFor = hello?.attrs.jid;
    if (askedFor && jidDecode(askedFor)?.user !== this.world.account.pn) {
      throw new Error(`the client asked to pair with ${askedFor}, not with the fake account ${this.world.account.pn}`);
    }
    const wrappedCompanion = Buffer.from(getBinaryNodeChildBuffer(hello, 'link_code_pairing_wrapped_companion_ephemeral_pub') ?? []);
    if (wrappedCompanion.length !== 80) throw new Error('companion_hello without a wrapped ephemeral key');
    // salt(32) ‖ iv(16) ‖ AES-CTR(PBKDF2(code, salt), companion ephemeral public key)(32)
    const codeKey = await derivePairingCodeKey(code, wrappedCompanion.subarray(0, 32));
    const companionEphemeral = aesDecryptCTR(wrappedCompanion.subarray(48, 80), codeKey, wrappedCompanion.subarray(32, 48));

    const ephemeral = Curve.generateKeyPair();
    const salt = randomBytes(32);
    const iv = randomBytes(16);
    const wrappedPrimary = Buffer.concat([salt, iv, aesEncryptCTR(ephemeral.public, await derivePairingCodeKey(code, salt), iv)]);

    const connection = this.world.connection();
    const finishPromise = this.world.nextClientNode(
      (n) => n.tag === 'iq' && getBinaryNodeChild(n, 'link_code_companion_reg')?.attrs.stage === 'companion_finish',
      timeoutMs,
      'the client link_code_companion_reg companion_finish',
    );
    connection.send({
      tag: 'notification',
      attrs: { from: S_WHATSAPP_NET, type: 'link_code_companion_reg', id: connection.nextId(), t: unixSeconds() },
      content: [
        {
          tag: 'link_code_companion_reg',
          attrs: {},
          content: [
            { tag: 'link_code_pairing_ref', attrs: {}, content: Buffer.from(LINK_CODE_REF) },
            { tag: 'primary_identity_pub', attrs: {}, content: this.device.identityPublic },
            { tag: 'link_code_pairing_wrapped_primary_ephemeral_pub', attrs: {}, content: wrappedPrimary },
          ],
        },
      ],
    });
    const finish = await untilClosed(connection, finishPromise, 'before sending companion_finish');
    const bundle = Buffer.from(
      getBinaryNodeChildBuffer(getBinaryNodeChild(finish, 'link_code_companion_reg'), 'link_code_pairing_wrapped_key_bundle') ?? [],
    );
    // salt(32) ‖ iv(12) ‖ AES-GCM(HKDF(companionShared), companionIdentity(32) ‖ primaryIdentity(32) ‖ random(32))
    const companionShared = Curve.sharedKey(ephemeral.private, companionEphemeral);
    const bundleKey = hkdf(companionShared, 32, {
      salt: bundle.subarray(0, 32),
      info: 'link_code_pairing_key_bundle_encryption_key',
    });
    let plain: Buffer;
    try {
      plain = aesDecryptGCM(bundle.subarray(44), bundleKey, bundle.subarray(32, 44), Buffer.alloc(0));
    } catch {
      // What a real phone shows as "incorrect code". The client keeps waiting for its companion_finish answer.
      throw new Error('wrong pairing code: the companion key bundle does not decrypt');
    }
    const companionIdentity = Buffer.from(plain.subarray(0, 32));
    const random = plain.subarray(64, 96);
    const identityShared = Curve.sharedKey(this.device.identity.privKey, companionIdentity);
    const advSecret = Buffer.from(hkdf(Buffer.concat([companionShared, identityShared, random]), 32, { info: 'adv_secret' }));
    connection.send({ tag: 'iq', attrs: { from: S_WHATSAPP_NET, type: 'result', id: finish.attrs.id } });
    return this.sendPairSuccess(companionIdentity, advSecret, timeoutMs);
  }

  private async sendPairSuccess(companionIdentity: Buffer, advSecret: Uint8Array, timeoutMs = 10_000): Promise<PairResult> {
    const { account } = this.world;
    const connection = this.world.connection();
    const accountKey = this.device.identityPublic;
    const deviceDetails = proto.ADVDeviceIdentity.encode({
      rawId: 1234,
      timestamp: Math.floor(Date.now() / 1000),
      keyIndex: 1,
    }).finish();
    const accountSignature = Curve.sign(
      this.device.identity.privKey,
      Buffer.concat([WA_ADV_ACCOUNT_SIG_PREFIX, deviceDetails, companionIdentity]),
    );
    const details = proto.ADVSignedDeviceIdentity.encode({
      details: deviceDetails,
      accountSignatureKey: accountKey,
      accountSignature,
    }).finish();
    const hmac = hmacSign(details, advSecret);
    const id = connection.nextId();
    const replyPromise = this.world.nextClientNode(
      (n) => n.tag === 'iq' && n.attrs.id === id,
      timeoutMs,
      `the client answer to pair-success ${id}`,
    );
    connection.send({
      tag: 'iq',
      attrs: { from: S_WHATSAPP_NET, type: 'set', id, xmlns: 'md', t: unixSeconds() },
      content: [
        {
          tag: 'pair-success',
          attrs: {},
          content: [
            {
              tag: 'device-identity',
              attrs: {},
              content: proto.ADVSignedDeviceIdentityHMAC.encode({ details, hmac }).finish(),
            },
            { tag: 'platform', attrs: { name: 'android' } },
            {
              tag: 'device',
              attrs: { jid: pnDeviceJid(account.pn, account.device), lid: lidDeviceJid(account.lid, account.device) },
            },
          ],
        },
      ],
    });
    const reply = await untilClosed(connection, replyPromise, 'before answering pair-success');
    const signed = getBinaryNodeChild(getBinaryNodeChild(reply, 'pair-device-sign'), 'device-identity');
    let deviceSignatureValid = false;
    if (signed?.content instanceof Uint8Array) {
      const identity = proto.ADVSignedDeviceIdentity.decode(signed.content);
      deviceSignatureValid = verifyCurveSignature(
        companionIdentity,
        Buffer.concat([WA_ADV_DEVICE_SIG_PREFIX, deviceDetails, companionIdentity, accountKey]),
        identity.deviceSignature ?? new Uint8Array(),
      );
    }
    const result = { reply, deviceSignatureValid };
    this.onPaired(result);
    return result;
  }
}

/** The ref the fake uses for pairing-code exchanges. */
export const LINK_CODE_REF = 'fake-link-code-ref';

/**
 * `promise`, unless the client closes the connection first (then rejects with `what` in the message). The loser's
 * rejection is swallowed so that it cannot surface as an unhandled rejection.
 */
function untilClosed<T>(connection: FakeConnection, promise: Promise<T>, what: string): Promise<T> {
  let onClose: (() => void) | undefined;
  const closed = new Promise<never>((_, reject) => {
    onClose = () => reject(new Error(`the client closed the connection ${what}`));
    connection.once('close', onClose);
  });
  promise.catch(() => undefined);
  closed.catch(() => undefined);
  return Promise.race([promise, closed]).finally(() => {
    if (onClose) connection.off('close', onClose);
  });
}
