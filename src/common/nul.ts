const NUL = /\u0000/g;
// A JSON text holds U+0000 only as the escape \u0000 (a raw control character is invalid JSON); an escape is
// one when an even number of backslashes stands before it.
const ESCAPED_NUL = /(?<!\\)(?:\\\\)*\\u0000/;

/**
 * Whether `json` (a JSON text) contains U+0000, which PostgreSQL text and jsonb cannot hold.
 * Cheap enough for every batch: a substring search, then a regex only when `\u0000` appears at all.
 */
export function jsonHasNul(json: string): boolean {
  return json.includes('\\u0000') && ESCAPED_NUL.test(json);
}

/**
 * A copy of `value` with U+0000 replaced by U+FFFD (the replacement character) in every string and key, for the
 * columns PostgreSQL's text and jsonb cannot store it in; the exact request bytes keep the original.
 */
export function replaceNul<T>(value: T): T {
  if (typeof value === 'string') return value.replace(NUL, '\uFFFD') as T;
  if (Array.isArray(value)) return value.map((v) => replaceNul(v)) as T;
  if (value !== null && typeof value === 'object' && !(value instanceof Date) && !Buffer.isBuffer(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k.replace(NUL, '\uFFFD'), replaceNul(v)])) as T;
  }
  return value;
}
