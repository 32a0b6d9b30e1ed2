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
}

/** Which events a reader wants. */
export interface EventFilter {
  /** Only events after this id (exclusive); undefined = from the oldest retained. */
  after?: string;
  types?: readonly string[];
  sessionId?: string;
  /** A session-limited key's sessions: events of other sessions (and of none) are not visible. */
  visibleSessionIds?: readonly string[] | null;
}

/**
 * Reads the event log. Only events of transactions older than every running one are returned
 * (`xid < pg_snapshot_xmin(pg_current_snapshot())`): ids are taken at insert time and transactions commit in any
 * order, so without this a reader at id N could skip an id below N that commits later.
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
    const where: string[] = ['e.xid < pg_snapshot_xmin(pg_current_snapshot())'];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (f.after !== undefined) add('e.id > ?::bigint', f.after);
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
