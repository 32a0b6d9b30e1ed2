import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

/** Bytes kept from the start of a file for content sniffing (file-type reads at most this much for most formats). */
export const SNIFF_BYTES = 4100;

/** Raised by {@link MediaMeter} when a body passes its limit. */
export class TooLargeError extends Error {}

/**
 * A pass-through that measures what flows into storage: byte count (failing with {@link TooLargeError} as soon as
 * it passes `maxBytes`, so no more is read), SHA-256, and the first {@link SNIFF_BYTES} bytes for sniffing.
 */
export class MediaMeter extends Transform {
  bytes = 0;
  private readonly hash = createHash('sha256');
  private readonly headParts: Buffer[] = [];
  private headBytes = 0;

  constructor(private readonly maxBytes: number) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) return done(new TooLargeError(`The file is larger than MEDIA_MAX_BYTES (${this.maxBytes} bytes)`));
    this.hash.update(chunk);
    if (this.headBytes < SNIFF_BYTES) {
      const part = chunk.subarray(0, SNIFF_BYTES - this.headBytes);
      this.headParts.push(Buffer.from(part));
      this.headBytes += part.length;
    }
    done(null, chunk);
  }

  /** Hex SHA-256 of everything that passed (call once, after the end). */
  digest(): string {
    return this.hash.digest('hex');
  }

  /** The first bytes, for sniffing. */
  head(): Buffer {
    return Buffer.concat(this.headParts);
  }
}

/**
 * Normalises a declared SHA-256 (hex, or base64 as Meta's webhooks and Baileys give it) to lower-case hex.
 * @returns null when it is neither form of 32 bytes.
 */
export function sha256Hex(declared: string | undefined | null): string | null {
  if (!declared) return null;
  const v = declared.trim();
  if (/^[0-9a-fA-F]{64}$/.test(v)) return v.toLowerCase();
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(v)) {
    const bytes = Buffer.from(v.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (bytes.length === 32) return bytes.toString('hex');
  }
  return null;
}
