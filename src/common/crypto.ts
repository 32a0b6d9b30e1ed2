import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** Constant-time string equality (both sides hashed first, so lengths do not leak either). */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb);
}

/** Lower-case hex HMAC-SHA256 of `payload` with `secret`. */
export function hmacSha256Hex(secret: string, payload: Buffer | string): string {
  return createHmac('sha256', secret).update(payload).digest('hex');
}

/**
 * Checks a `sha256=<hex>` signature header against the HMAC-SHA256 of the exact raw bytes, in constant time.
 * @returns false for a missing, malformed or wrong signature.
 */
export function verifySha256Signature(secret: string, rawBody: Buffer | undefined, header: string | undefined): boolean {
  if (!rawBody || typeof header !== 'string') return false;
  const match = /^sha256=([0-9a-f]{64})$/i.exec(header.trim());
  if (!match) return false;
  const expected = Buffer.from(hmacSha256Hex(secret, rawBody), 'hex');
  return timingSafeEqual(expected, Buffer.from(match[1].toLowerCase(), 'hex'));
}
