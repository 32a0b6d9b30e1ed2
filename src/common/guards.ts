/** Type guards for narrowing provider payloads, which arrive as `unknown`. */

export type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The value as a non-empty string (numbers are stringified), else undefined. */
export function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v.length > 0 ? v : undefined;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

export function num(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return undefined;
}

export function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

export function objs(v: unknown): Obj[] {
  return arr(v).filter(isObj);
}

/** Copies the listed keys that are present and not undefined; undefined when none are. */
export function pick<T extends Obj>(o: Obj, mapping: Record<string, string>): T | undefined {
  const out: Obj = {};
  let any = false;
  for (const [from, to] of Object.entries(mapping)) {
    if (o[from] !== undefined && o[from] !== null && o[from] !== '') {
      out[to] = o[from];
      any = true;
    }
  }
  return any ? (out as T) : undefined;
}

/** Parses a timestamp given as seconds since epoch (number or numeric string) or ISO 8601. */
export function parseTimestamp(v: unknown): Date | undefined {
  const n = num(v);
  if (n !== undefined) {
    // Seconds since epoch; a value this large is already milliseconds.
    const d = new Date(n > 1e12 ? n : n * 1000);
    return Number.isNaN(d.getTime()) ? undefined : d;
  }
  if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}/.test(v)) {
    const d = new Date(v);
    return Number.isNaN(d.getTime()) ? undefined : d;
  }
  return undefined;
}
