/** Deepest JSON nesting any route accepts; provider payloads nest about 8 levels. */
export const MAX_JSON_DEPTH = 64;

/**
 * Whether `buf` (JSON text) nests objects/arrays deeper than `max`, scanning bytes once and skipping strings.
 * Deep nesting is refused before parsing: PostgreSQL's jsonb would fail on it with a server error.
 */
export function jsonDepthExceeds(buf: Buffer, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i];
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped byte
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}
