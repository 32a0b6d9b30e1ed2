import type { SqlWhere } from './sql-where';

/** Canonical UUID text (any version), for ids that come from a URL. */
export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** ISO 8601 UTC text of a timestamp column value, or null. */
export function toIso(v: unknown): string | null {
  return v ? new Date(v as string | Date).toISOString() : null;
}

/** A LIKE pattern matching `term` anywhere; `%`, `_` and `\` in the term are literal. */
export function likeContains(term: string): string {
  return `%${term.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * Adds "name or number contains `term`": the name compared case- and accent-insensitively (`wa_fold`, served by
 * trigram indexes), the number by its digits when the term has at least three.
 */
export function addNameOrNumberFilter(where: SqlWhere, nameExpr: string, numberExpr: string, term: string): void {
  const digits = term.replace(/[^\d]/g, '');
  if (digits.length >= 3) where.add(`(wa_fold(${nameExpr}) LIKE wa_fold(?) OR ${numberExpr} LIKE ?)`, likeContains(term), `%${digits}%`);
  else where.add(`wa_fold(${nameExpr}) LIKE wa_fold(?)`, likeContains(term));
}
