import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { AuthenticatedKey } from '../auth/api-keys.service';
import { SqlWhere } from '../common/sql-where';
import { scopeToKey } from '../messages/messages.repository';

/**
 * One row of the window's grouping sets: message counts per (day, direction), per type, per session, per
 * (status, direction), and the grand total (every key null). A key that is not part of the row's set is null.
 * `sum()` comes back as numeric text.
 */
export interface StatsGroupRow {
  /** UTC day (`date`; a Date or `YYYY-MM-DD` text depending on the driver). */
  day: Date | string | null;
  direction: string | null;
  type: string | null;
  session_id: string | null;
  status: string | null;
  /** Messages, as numeric text. */
  n: string | number;
}

/** A histogram bucket of delivery latency: `n` outbound messages reached `status` after `seconds` whole seconds. */
export interface LatencyRow {
  /** `delivered` or `read`. */
  status: string;
  seconds: number;
  /** As numeric text. */
  n: string | number;
}

/** Totals over every day of the roll-ups (numeric text). */
export interface OverallRow {
  total: string | number;
  incoming: string | number;
  outgoing: string | number;
}

/** Distinct non-group chats: overall, and with a message in the window (bigint text). */
export interface ContactCountsRow {
  overall: string | number;
  window: string | number;
}

/** A session's identity, to label per-session counts. */
export interface SessionInfoRow {
  id: string;
  provider: string;
  external_id: string;
}

/** Everything {@link StatsRepository.read} answers. */
export interface StatsRows {
  groups: StatsGroupRow[];
  /** Sorted by status, then seconds. */
  latencies: LatencyRow[];
  overall: OverallRow;
  contacts: ContactCountsRow;
  /** Every session (not only those in scope). */
  sessions: SessionInfoRow[];
}

/**
 * The SQL of the statistics (migration 1764115200000-StatsRollups, which explains the choice): whole UTC days of
 * a window are read from `message_stats_daily` / `delivery_latency_daily` (a few rows per day), and only the
 * partial days at the window's edges from the messages themselves (an index range scan of ix_messages_recent).
 */
@Injectable()
export class StatsRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * The raw figures of the window [`from`, `to`) and overall, for one session or all, limited to the sessions
   * `key` may see; five independent queries run side by side on the pool. Unique contacts are the non-group
   * conversations with a message in the window: those whose last message is in it, plus those active after `to`
   * with a message in it (one probe of ix_messages_conversation_recent each; none for windows ending now).
   * @param from must be before `to` (the caller checks).
   * @returns see {@link StatsRows}; counts as numeric text, latencies in whole seconds.
   * @throws the database's error.
   */
  async read(from: Date, to: Date, sessionId: string | undefined, key?: AuthenticatedKey): Promise<StatsRows> {
    const scope = (alias: string, w = new SqlWhere()) => {
      if (sessionId) w.add(`${alias}.session_id = ?`, sessionId);
      scopeToKey(w, key, `${alias}.session_id`);
      return w;
    };
    // Whole days [firstDay, lastDay) come from the roll-ups; [from, firstDay) and [lastDay, to) from messages.
    const firstDay = new Date(Math.ceil(from.getTime() / 86_400_000) * 86_400_000);
    const lastDay = new Date(Math.max(firstDay.getTime(), Math.floor(to.getTime() / 86_400_000) * 86_400_000));
    const edges =
      firstDay < lastDay
        ? [
            [from, firstDay],
            [lastDay, to],
          ]
        : [[from, to]];

    const live = scope('m');
    live.add(
      `(${edges.map(() => '(m.provider_timestamp >= ?::timestamptz AND m.provider_timestamp < ?::timestamptz)').join(' OR ')})`,
      ...edges.flat().map((d) => d.toISOString()),
    );
    let sql = `SELECT wa_stats_day(m.provider_timestamp) AS day, m.session_id, m.direction, m.type, m.status, count(*) AS n FROM messages m ${live} GROUP BY 1, 2, 3, 4, 5`;
    let latencySql = `SELECT e.status, round(extract(epoch FROM e.occurred_at - m.provider_timestamp))::int AS seconds, count(*) AS n
      FROM messages m JOIN message_status_events e ON e.session_id = m.session_id AND e.external_id = m.external_id AND e.status IN ('delivered', 'read')
      ${live} AND m.direction = 'out' GROUP BY 1, 2`;
    if (firstDay < lastDay) {
      const r = scope('r', new SqlWhere(live.params)); // one parameter list for both parts
      r.add('r.day >= ?::date AND r.day < ?::date', firstDay.toISOString().slice(0, 10), lastDay.toISOString().slice(0, 10));
      sql += ` UNION ALL SELECT r.day, r.session_id, r.direction, r.type, r.status, sum(r.messages) FROM message_stats_daily r ${r} GROUP BY 1, 2, 3, 4, 5`;
      latencySql += ` UNION ALL SELECT r.status, r.seconds, sum(r.n) FROM delivery_latency_daily r ${r} GROUP BY 1, 2`;
    }
    const params = live.params;
    const ov = scope('r');
    // Unique contacts overall and in the window in one pass over the conversations. A conversation whose last
    // message falls in the window has one there; only those active after `to` are probed (none for windows ending now).
    const cv = scope('v').add('NOT v.is_group');
    const inWindow = `v.last_message_at >= ${cv.param(from.toISOString())}::timestamptz AND (v.last_message_at < ${cv.param(to.toISOString())}::timestamptz
      OR EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = v.id AND m.provider_timestamp >= ${cv.param(from.toISOString())}::timestamptz AND m.provider_timestamp < ${cv.param(to.toISOString())}::timestamptz))`;
    // Independent queries, run side by side on the pool.
    const [groups, latencies, [overall], [contacts], sessions] = (await Promise.all([
      this.db.query(
        `SELECT x.day, x.direction, x.type, x.session_id, x.status, sum(x.n) AS n FROM (${sql}) x
         GROUP BY GROUPING SETS ((x.day, x.direction), (x.type), (x.session_id), (x.status, x.direction), ())`,
        params,
      ),
      this.db.query(`SELECT x.status, x.seconds, sum(x.n) AS n FROM (${latencySql}) x GROUP BY 1, 2 ORDER BY 1, 2`, params),
      this.db.query(
        `SELECT coalesce(sum(r.messages), 0) AS total, coalesce(sum(r.messages) FILTER (WHERE r.direction = 'in'), 0) AS incoming,
                coalesce(sum(r.messages) FILTER (WHERE r.direction = 'out'), 0) AS outgoing FROM message_stats_daily r ${ov}`,
        ov.params,
      ),
      this.db.query(
        `SELECT count(DISTINCT v.chat_id) AS overall, count(DISTINCT v.chat_id) FILTER (WHERE ${inWindow}) AS window FROM conversations v ${cv}`,
        cv.params,
      ),
      this.db.query(`SELECT id, provider, external_id FROM sessions`),
    ])) as [StatsGroupRow[], LatencyRow[], OverallRow[], ContactCountsRow[], SessionInfoRow[]];
    return { groups, latencies, overall, contacts, sessions };
  }

  /**
   * Runs `wa_stats_compact()`: the roll-ups of days before today are folded from their write shards into one row
   * per key (no figure changes). Does nothing while the DataSource is not initialised (start-up, shutdown).
   * @throws the database's error.
   */
  async compact(): Promise<void> {
    if (this.db.isInitialized) await this.db.query('SELECT wa_stats_compact()');
  }
}
