/**
 * The server ("responder") side of WhatsApp Web's Noise handshake and transport, plus the fake certificate chain
 * the server presents in it. Mirror image of Baileys' client side (`lib/Utils/noise-handler.js` in rc14).
 *
 * Protocol: Noise_XX_25519_AESGCM_SHA256 with WhatsApp's prologue (the 4-byte intro header `57 41 06 03`).
 *   client → server  HandshakeMessage{clientHello{ephemeral}}
 *   server → client  HandshakeMessage{serverHello{ephemeral, static: enc(serverStatic), payload: enc(CertChain)}}
 *   client → server  HandshakeMessage{clientFinish{static: enc(clientStatic), payload: enc(ClientPayload)}}
 * After that each frame is AES-256-GCM of one binary node, with a per-direction counter as IV and no AAD.
 */
import {
  aesDecryptGCM,
  aesEncryptGCM,
  Curve,
  hkdf,
  NOISE_MODE,
  NOISE_WA_HEADER,
  proto,
  sha256,
  WA_CERT_DETAILS,
  type KeyPair,
} from '@whiskeysockets/baileys';

/** The intro the client writes before its first frame: 'W', 'A', 6 (protocol major), 3 (dictionary version). */
export const WA_INTRO_HEADER: Buffer = Buffer.from(NOISE_WA_HEADER);

/**
 * A fake WhatsApp PKI: root → intermediate → leaf, where the leaf certifies the server's Noise static key.
 *
 * Real WhatsApp: the client checks `intermediate` against a hard-coded root key (`WA_CERT_DETAILS.PUBLIC_KEY`) and
 * `leaf` against `intermediate`, and requires `intermediate.issuerSerial === 0`. The fake signs both links properly
 * with its own root, so the client accepts it once `WA_CERT_DETAILS.PUBLIC_KEY` points at `root.public`
 * ({@link trustFakeRoot}). In rc14 that is not even needed, because `Curve.verify` accepts any signature (see
 * README.md, "Curve.verify"); the fake does not rely on that bug.
 */
export interface FakePki {
  root: KeyPair;
  intermediate: KeyPair;
  /** The server's Noise static key pair; the leaf certificate carries its public half. */
  serverStatic: KeyPair;
  /** Encoded `proto.CertChain{intermediate, leaf}`; replace it to serve a different chain (e.g. zero-signed). */
  certChain: Uint8Array;
}

export function makeFakePki(): FakePki {
  const root = Curve.generateKeyPair();
  const intermediate = Curve.generateKeyPair();
  const serverStatic = Curve.generateKeyPair();
  const now = Math.floor(Date.now() / 1000);
  const intermediateDetails = proto.CertChain.NoiseCertificate.Details.encode({
    serial: 1,
    issuerSerial: 0,
    key: intermediate.public,
    notBefore: now - 3600,
    notAfter: now + 86_400,
  }).finish();
  const leafDetails = proto.CertChain.NoiseCertificate.Details.encode({
    serial: 2,
    issuerSerial: 1,
    key: serverStatic.public,
    notBefore: now - 3600,
    notAfter: now + 86_400,
  }).finish();
  const certChain = proto.CertChain.encode({
    intermediate: { details: intermediateDetails, signature: Curve.sign(root.private, intermediateDetails) },
    leaf: { details: leafDetails, signature: Curve.sign(intermediate.private, leafDetails) },
  }).finish();
  return { root, intermediate, serverStatic, certChain };
}

/** The same chain with both signatures replaced by 64 zero bytes (what the canary serves). */
export function zeroSignedCertChain(certChain: Uint8Array): Uint8Array {
  const chain = proto.CertChain.decode(certChain);
  const zero = (cert: proto.CertChain.INoiseCertificate | null | undefined) => ({
    details: cert?.details ?? new Uint8Array(),
    signature: Buffer.alloc(64),
  });
  return proto.CertChain.encode({ intermediate: zero(chain.intermediate), leaf: zero(chain.leaf) }).finish();
}

/**
 * Points Baileys' trusted WhatsApp root key at `rootPublicKey` and returns a function that restores the previous key.
 *
 * `WA_CERT_DETAILS` is exported, not frozen, and read at handshake time (`noise-handler.js`), so this works for every
 * Baileys socket in the same process (`require` and `import` share one module instance). Test-only: production code
 * must never touch it.
 */
export function trustFakeRoot(rootPublicKey: Uint8Array): () => void {
  const previous = WA_CERT_DETAILS.PUBLIC_KEY;
  WA_CERT_DETAILS.PUBLIC_KEY = Buffer.from(rootPublicKey);
  return () => {
    WA_CERT_DETAILS.PUBLIC_KEY = previous;
  };
}

const ivFor = (counter: number): Buffer => {
  const iv = Buffer.alloc(12);
  iv.writeUInt32BE(counter, 8);
  return iv;
};

/** What the server learns from the client's `clientFinish`. */
export interface ClientFinish {
  /** The client's Noise static public key (`creds.noiseKey.public`; the QR code carries it too). */
  clientStatic: Buffer;
  /** Registration (`devicePairingData` set) or login (`username` + `device` set). */
  clientPayload: proto.ClientPayload;
}

/** One connection's Noise state on the server side. Create one per WebSocket. */
export class NoiseResponder {
  private hash: Buffer;
  private salt: Buffer;
  private key: Buffer;
  private counter = 0;
  private transport: { enc: Buffer; dec: Buffer; readCounter: number; writeCounter: number } | null = null;
  private readonly ephemeral = Curve.generateKeyPair();

  constructor(private readonly pki: Pick<FakePki, 'serverStatic' | 'certChain'>) {
    const mode = Buffer.from(NOISE_MODE);
    // NOISE_MODE is exactly 32 bytes, so it is used as the initial hash as is (Noise spec: hash only if longer).
    this.hash = mode.length === 32 ? mode : sha256(mode);
    this.salt = this.hash;
    this.key = this.hash;
  }

  get isTransportReady(): boolean {
    return this.transport !== null;
  }

  /** Answers `clientHello{ephemeral}` with the `serverHello` fields. */
  serverHello(clientEphemeral: Uint8Array): proto.HandshakeMessage.IServerHello {
    this.authenticate(WA_INTRO_HEADER);
    this.authenticate(clientEphemeral);
    this.authenticate(this.ephemeral.public);
    this.mixIntoKey(Curve.sharedKey(this.ephemeral.private, clientEphemeral));
    const staticCiphertext = this.encryptHandshake(this.pki.serverStatic.public);
    this.mixIntoKey(Curve.sharedKey(this.pki.serverStatic.private, clientEphemeral));
    const payloadCiphertext = this.encryptHandshake(this.pki.certChain);
    return { ephemeral: this.ephemeral.public, static: staticCiphertext, payload: payloadCiphertext };
  }

  /** Processes `clientFinish{static, payload}` and switches to transport keys. */
  clientFinish(finish: proto.HandshakeMessage.IClientFinish): ClientFinish {
    if (!finish.static || !finish.payload) throw new Error('clientFinish without static or payload');
    const clientStatic = this.decryptHandshake(finish.static);
    this.mixIntoKey(Curve.sharedKey(this.ephemeral.private, clientStatic));
    const clientPayload = proto.ClientPayload.decode(this.decryptHandshake(finish.payload));
    // Baileys' finishInit: HKDF(salt, empty) → client writes with [0,32) and reads with [32,64); the server mirrors.
    const keys = Buffer.from(hkdf(Buffer.alloc(0), 64, { salt: this.salt, info: '' }));
    this.transport = { enc: keys.subarray(32), dec: keys.subarray(0, 32), readCounter: 0, writeCounter: 0 };
    return { clientStatic, clientPayload };
  }

  /** Encrypts one outgoing transport frame (an encoded binary node). */
  seal(plaintext: Uint8Array): Buffer {
    const t = this.requireTransport();
    return aesEncryptGCM(plaintext, t.enc, ivFor(t.writeCounter++), Buffer.alloc(0));
  }

  /** Decrypts one incoming transport frame. */
  open(ciphertext: Uint8Array): Buffer {
    const t = this.requireTransport();
    return aesDecryptGCM(ciphertext, t.dec, ivFor(t.readCounter++), Buffer.alloc(0));
  }

  private requireTransport() {
    if (!this.transport) throw new Error('Noise handshake not finished');
    return this.transport;
  }

  private authenticate(data: Uint8Array): void {
    if (!this.transport) this.hash = sha256(Buffer.concat([this.hash, data]));
  }

  private mixIntoKey(inputKeyMaterial: Uint8Array): void {
    const expanded = Buffer.from(hkdf(Buffer.from(inputKeyMaterial), 64, { salt: this.salt, info: '' }));
    this.salt = expanded.subarray(0, 32);
    this.key = expanded.subarray(32);
    this.counter = 0;
  }

  private encryptHandshake(plaintext: Uint8Array): Buffer {
    const ciphertext = aesEncryptGCM(plaintext, this.key, ivFor(this.counter++), this.hash);
    this.authenticate(ciphertext);
    return ciphertext;
  }

  private decryptHandshake(ciphertext: Uint8Array): Buffer {
    const plaintext = aesDecryptGCM(ciphertext, this.key, ivFor(this.counter++), this.hash);
    this.authenticate(ciphertext);
    return plaintext;
  }
}
