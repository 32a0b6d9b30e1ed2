import { createHmac } from 'node:crypto';

/**
 * Serialises a body the way Meta puts it on the wire: json_encode style, non-ASCII as lowercase `\uXXXX`,
 * `/` as `\/` and `@` as `\u0040` (fixture meta.verification.x_hub_signature_256_vector, wireEncodingNotes).
 */
export function metaWireBytes(body: unknown): Buffer {
  const json = JSON.stringify(body)
    .replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    .replace(/\//g, '\\/')
    .replace(/@/g, '\\u0040');
  return Buffer.from(json, 'utf8');
}

/** `sha256=<hex HMAC-SHA256(secret, bytes)>`, the X-Hub-Signature-256 header value. */
export function metaSignature(secret: string, bytes: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(bytes).digest('hex')}`;
}
