import type { DataSource } from 'typeorm';
import { decodeCursor, encodeCursor, Page, PageQueryDto } from './page-query.dto';
import type { SqlWhere } from './sql-where';

type Row = Record<string, unknown>;

export interface KeysetPageOptions<T> {
  /** `SELECT ...` list. */
  select: string;
  /** `FROM ... JOIN ...`. */
  from: string;
  /** Filters; the cursor condition is added to it. */
  where: SqlWhere;
  query: PageQueryDto;
  /** Sort expression (a timestamp), newest first; ties broken by `id` descending. */
  sortAt: string;
  /** Id column and its SQL type, e.g. `m.id` / `bigint`. */
  id: string;
  idType: 'bigint' | 'uuid';
  /** The row's sort value (the selected column behind `sortAt`). */
  sortValue: (row: Row) => unknown;
  map: (row: Row) => T;
  /** Exact total from maintained counters, when the caller's filters allow it; else the matches are counted. */
  total?: () => Promise<number>;
}

/** Counting matches stops here (a count is a scan of every match); beyond it `totalExact` is false. */
export const COUNT_CAP = 10_000;

/**
 * One page of a `/v1` list, newest first: `total` counts every match (from `o.total` when given, else counted up
 * to {@link COUNT_CAP}: then `total` is that lower bound and `totalExact` false); with `cursor` the page starts after the
 * cursor's row (keyset, stable under inserts, fast at any depth), else at `offset`. `nextCursor` is null on the
 * last page.
 * @throws AppError 400 for a cursor that is not ours.
 */
export async function keysetPage<T>(db: DataSource, o: KeysetPageOptions<T>): Promise<Page<T>> {
  const limit = o.query.limit ?? 100;
  // The count and the page are independent: both run at once (on PostgreSQL, two pool connections), so a list
  // answers in about the longer of the two rather than their sum. The count's text and parameters are taken
  // before the cursor's condition is added to the shared WHERE.
  const countSql = `SELECT count(*)::int AS n FROM (SELECT 1 ${o.from} ${o.where} LIMIT ${COUNT_CAP + 1}) x`;
  const countParams = [...o.where.params];
  const totals: Promise<{ total: number; totalExact: boolean }> = o.total
    ? o.total().then((total) => ({ total, totalExact: true }))
    : (db.query(countSql, countParams) as Promise<{ n: number }[]>).then(([r]) => {
        const counted = Number(r.n);
        return { total: Math.min(counted, COUNT_CAP), totalExact: counted <= COUNT_CAP };
      });
  // Not left unhandled while the page is read; its error, if any, is thrown by the await below.
  totals.catch(() => undefined);
  let offset = o.query.offset ?? 0;
  if (o.query.cursor) {
    const pos = decodeCursor(o.query.cursor);
    o.where.add(`(${o.sortAt}, ${o.id}) < (?::timestamptz, ?::${o.idType})`, pos.at, pos.id);
    offset = 0;
  }
  const rows = (await db.query(
    `${o.select} ${o.from} ${o.where} ORDER BY ${o.sortAt} DESC, ${o.id} DESC LIMIT ${o.where.param(limit + 1)} OFFSET ${o.where.param(offset)}`,
    o.where.params,
  )) as Row[];
  const { total, totalExact } = await totals;
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    data: page.map(o.map),
    total,
    totalExact,
    limit,
    offset,
    nextCursor:
      rows.length > limit && last
        ? encodeCursor({ at: new Date((o.sortValue(last) as string) ?? 0).toISOString(), id: String(last.id) })
        : null,
  };
}
