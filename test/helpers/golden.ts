/**
 * Golden files for normalizer output (src/providers/<provider>/__snapshots__/<fixture id>.json): deterministic
 * JSON, object keys sorted, Dates as `{ "$date": ISO-8601 UTC with ms }`, Buffers/byte arrays as
 * `{ "$buffer": base64 }`, bigints and non-finite numbers spelled out; undefined properties are left out as in
 * JSON. Compare with `await expect(goldenJson(output)).toMatchFileSnapshot(path)`; `vitest run -u` rewrites them.
 */

/** A fixed receive time for golden runs, so events that fall back to it stay stable. */
export const GOLDEN_RECEIVED_AT = new Date('2026-01-01T00:00:00Z');

export function goldenJson(value: unknown): string {
  return `${JSON.stringify(canonical(value, new WeakSet()), null, 2)}\n`;
}

function canonical(v: unknown, seen: WeakSet<object>): unknown {
  if (v === undefined) return { $undefined: true };
  if (typeof v === 'bigint') return { $bigint: v.toString() };
  if (typeof v === 'number' && !Number.isFinite(v)) return { $number: String(v) };
  if (typeof v === 'function' || typeof v === 'symbol') return { $unserialisable: typeof v };
  if (v === null || typeof v !== 'object') return v;
  if (v instanceof Date) return { $date: Number.isNaN(v.getTime()) ? 'Invalid Date' : v.toISOString() };
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return { $buffer: Buffer.from(v).toString('base64') };
  if (seen.has(v)) return { $circular: true };
  seen.add(v);
  try {
    if (Array.isArray(v)) return v.map((x) => canonical(x, seen));
    if (v instanceof Map) return { $map: [...v.entries()].map(([k, x]) => [canonical(k, seen), canonical(x, seen)]) };
    if (v instanceof Set) return { $set: [...v].map((x) => canonical(x, seen)) };
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[key];
      if (x !== undefined) out[key] = canonical(x, seen);
    }
    return out;
  } finally {
    seen.delete(v);
  }
}
