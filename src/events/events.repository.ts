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
   * Only events up to this id (inclusive): for a stream catching up to the position the live tail had reached
   * when it joined (see {@link EventsRepository.pageChecked}).
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
   * start up to the last row (with `upTo` and fewer than `limit` rows: up to `upTo`): `from` the first missing
   * id, `to` the visible id after the run, `toXid` its writer.
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
 * could skip an id below N that commits later: every read that moves a position (the REST page and a stream's
 * catch-up, {@link pageChecked}; the live tail, {@link tail}) returns every committed event with the snapshot's
 * bounds and leaves the gaps in the ids to GapTracker.
 */
@Injectable()
export class EventsRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * The REST page's and a stream catch-up's read, in one statement (one snapshot): up to `limit` committed events
   * matching `f` after `f.after` (without it: from the oldest retained event) and up to `f.upTo` (if given),
   * every transaction's, and the gaps in the ids up to the last of them, or up to `f.upTo` when the page is not
   * full (see {@link CheckedPage}). @throws the database's error.
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
    if (f.upTo !== undefined) add('e.id <= ?::bigint', f.upTo);
    // Not full: the gaps are looked for up to upTo, past the last row (the ids after it are not all visible).
    const upTo = f.upTo === undefined ? 'NULL::bigint' : `$${params.length}::bigint`;
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
         WHERE e.id > s.base AND e.id <= COALESCE(
           CASE WHEN (SELECT count(*) FROM page) < $${params.length} THEN ${upTo} END, (SELECT max(id) FROM page))
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
