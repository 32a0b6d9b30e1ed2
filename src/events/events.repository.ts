import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

/** One row of the event log (`events`). */
export interface EventRow {
  /** bigint id as a decimal string; monotonic. */
  id: string;
  type: string;
  occurred_at: Date;
  session_id: string | null;
  data: Record<string, unknown>;
  /** xid8 of the writing transaction, decimal (reads that check gaps select it; see GapTracker). */
  xid?: string;
}

/** Which events a reader wants. */
export interface EventFilter {
  /** Only events after this id (exclusive); undefined = from the oldest retained. */
  after?: string;
  types?: readonly string[];
  sessionId?: string;
  /** A session-limited key's sessions: events of other sessions (and of none) are not visible. */
  visibleSessionIds?: readonly string[] | null;
  /**
   * Only events up to this id (inclusive), every committed one: for catching up to a position the live tail has
   * already passed (see {@link EventsRepository.tail}), where the transaction-age rule of the class comment is
   * not needed and would hide events the tail has delivered.
   */
  upTo?: string;
}

/** One read of the live tail: visible events after a cursor and the bounds of the snapshot they were read in. */
export interface TailRead {
  /** Every committed event after the cursor, oldest first, whatever the age of its transaction. */
  rows: EventRow[];
  /** `pg_snapshot_xmin` of the read's snapshot: every transaction below it had ended (decimal xid8). */
  xmin: string;
  /** The next xid when the read ran (`pg_current_xact_id()`, the read's own): every transaction that had an xid by then is below it (decimal xid8). See GapTracker. */
  xmax: string;
}

/** The REST page's read: matching events and the gaps before the last of them, from one snapshot. */
export interface CheckedPage {
  /** Up to `limit` committed events matching the filter after `after`, oldest first (with `xid`). */
  rows: EventRow[];
  /**
   * The first {@link GAP_SCAN} gaps (runs of ids not visible) among all events, matching or not, from after the
   * start up to the last row: `from` the first missing id, `to` the visible id after the run, `toXid` its writer.
   */
  gaps: { from: string; to: string; toXid: string }[];
  /** The snapshot's xmin and xmax (decimal xid8). */
  xmin: string;
  xmax: string;
}

/** Most gaps one REST page read reports; rows past the last of them are not returned by that read. */
export const GAP_SCAN = 20;

/**
 * Reads the event log. Ids are taken at insert time and transactions commit in any order, so a reader at id N
 * could skip an id below N that commits later: the REST page ({@link pageChecked}) and the live tail
 * ({@link tail}) read every committed event with the snapshot's bounds and leave the gaps to GapTracker; a
 * catch-up up to a position already passed ({@link page} with `upTo`) needs no rule. Without `upTo`,
 * {@link page} and {@link head} keep the older rule (only transactions older than every running one,
 * `xid < pg_snapshot_xmin(pg_current_snapshot())`), which alone does not prevent the skip.
 */
@Injectable()
export class EventsRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * Up to `limit` events matching `f`, oldest first.
   * @returns rows with `id` as text. @throws the database's error.
   */
  async page(f: EventFilter, limit: number): Promise<EventRow[]> {
    const params: unknown[] = [];
    const where: string[] = f.upTo === undefined ? ['e.xid < pg_snapshot_xmin(pg_current_snapshot())'] : [];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (f.after !== undefined) add('e.id > ?::bigint', f.after);
    if (f.upTo !== undefined) add('e.id <= ?::bigint', f.upTo);
    if (f.types?.length) add('e.type = ANY(?::text[])', f.types);
    if (f.sessionId) add('e.session_id = ?::uuid', f.sessionId);
    if (f.visibleSessionIds) add('e.session_id = ANY(?::uuid[])', f.visibleSessionIds);
    params.push(limit);
    return (await this.db.query(
      `SELECT e.id::text AS id, e.type, e.occurred_at, e.session_id, e.data FROM events e
       WHERE ${where.join(' AND ')} ORDER BY e.id LIMIT $${params.length}`,
      params,
    )) as EventRow[];
  }

  /**
   * The REST page's read, in one statement (one snapshot): up to `limit` committed events matching `f` after
   * `f.after` (without it: from the oldest retained event), every transaction's, and the gaps in the ids up to the
   * last of them (see {@link CheckedPage}); `f.upTo` is ignored. @throws the database's error.
   */
  async pageChecked(f: EventFilter, limit: number): Promise<CheckedPage> {
    const params: unknown[] = [f.after ?? null];
    const where: string[] = ['e.id > s.base'];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (f.types?.length) add('e.type = ANY(?::text[])', f.types);
    if (f.sessionId) add('e.session_id = ?::uuid', f.sessionId);
    if (f.visibleSessionIds) add('e.session_id = ANY(?::uuid[])', f.visibleSessionIds);
    params.push(limit);
    const rows = (await this.db.query(
      `WITH s AS (
         SELECT pg_current_snapshot() AS snap,
           COALESCE($1::bigint, (SELECT min(id) - 1 FROM events), 0) AS base
       ), page AS (
         SELECT e.id, e.xid, e.type, e.occurred_at, e.session_id, e.data FROM events e, s
         WHERE ${where.join(' AND ')} ORDER BY e.id LIMIT $${params.length}
       ), seq AS (
         SELECT e.id, e.xid, lag(e.id) OVER (ORDER BY e.id) AS prev FROM events e, s
         WHERE e.id > s.base AND e.id <= (SELECT max(id) FROM page)
       ), gaps AS (
         SELECT COALESCE(seq.prev, s.base) + 1 AS gfrom, seq.id AS gto, seq.xid FROM seq, s
         WHERE seq.id <> COALESCE(seq.prev, s.base) + 1 ORDER BY seq.id LIMIT ${GAP_SCAN}
       )
       SELECT pg_snapshot_xmin(s.snap)::text AS xmin, pg_current_xact_id()::text AS xmax,
         (SELECT COALESCE(json_agg(json_build_object('from', gfrom::text, 'to', gto::text, 'toXid', xid::text) ORDER BY gto), '[]'::json)
          FROM gaps) AS gaps,
         p.id::text AS id, p.xid::text AS xid, p.type, p.occurred_at, p.session_id, p.data
       FROM s LEFT JOIN page p ON true
       ORDER BY p.id`,
      params,
    )) as (EventRow & { xmin: string; xmax: string; gaps: CheckedPage['gaps'] | string; id: string | null })[];
    const { xmin, xmax, gaps } = rows[0];
    return {
      xmin,
      xmax,
      gaps: typeof gaps === 'string' ? (JSON.parse(gaps) as CheckedPage['gaps']) : gaps,
      rows: rows
        .filter((r) => r.id !== null)
        .map((r) => ({ id: r.id, xid: r.xid, type: r.type, occurred_at: r.occurred_at, session_id: r.session_id, data: r.data })),
    };
  }

  /**
   * The live tail's read: up to `limit` committed events after `after`, oldest first, without the transaction-age
   * rule (the tail handles gaps in the ids itself, see EventTail), and the snapshot's xmin/xmax, all from one
   * snapshot. @throws the database's error.
   */
  async tail(after: string, limit: number): Promise<TailRead> {
    const rows = (await this.db.query(
      `WITH s AS (SELECT pg_current_snapshot() AS snap)
       SELECT pg_snapshot_xmin(s.snap)::text AS xmin, pg_current_xact_id()::text AS xmax,
         e.id::text AS id, e.xid::text AS xid, e.type, e.occurred_at, e.session_id, e.data
       FROM s LEFT JOIN LATERAL (
         SELECT id, xid, type, occurred_at, session_id, data FROM events WHERE id > $1::bigint ORDER BY id LIMIT $2
       ) e ON true
       ORDER BY e.id`,
      [after, limit],
    )) as (EventRow & { xmin: string; xmax: string; id: string | null })[];
    const { xmin, xmax } = rows[0];
    return {
      xmin,
      xmax,
      rows: rows
        .filter((r) => r.id !== null)
        .map((r) => ({ id: r.id, xid: r.xid, type: r.type, occurred_at: r.occurred_at, session_id: r.session_id, data: r.data })),
    };
  }

  /** The newest committed id, whatever the age of its transaction, or '0' for an empty log. */
  async latest(): Promise<string> {
    const [row] = (await this.db.query(`SELECT COALESCE(max(id), 0)::text AS id FROM events`)) as { id: string }[];
    return row.id;
  }

  /** The newest id a reader can see now (see the class comment), or '0' for an empty log. */
  async head(): Promise<string> {
    const [row] = (await this.db.query(
      `SELECT COALESCE(max(id), 0)::text AS id FROM events WHERE xid < pg_snapshot_xmin(pg_current_snapshot())`,
    )) as { id: string }[];
    return row.id;
  }

  /**
   * Deletes events older than `days` days, in batches of 10,000.
   * @returns how many were deleted.
   */
  async deleteOlderThan(days: number): Promise<number> {
    let total = 0;
    for (;;) {
      const rows = (await this.db.query(
        `DELETE FROM events WHERE id IN (SELECT id FROM events WHERE occurred_at < now() - make_interval(days => $1) LIMIT 10000) RETURNING 1`,
        [days],
      )) as unknown[];
      total += rows.length;
      if (rows.length < 10000) return total;
    }
  }
}
