import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { AuthenticatedKey } from '../auth/api-keys.service';
import { SqlWhere } from '../common/sql-where';
import { scopeToKey } from '../messages/messages.repository';
import { statsTerms } from './stats-window';

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
 * The SQL of the statistics (migrations 1764115200000-StatsRollups and 1764720000000-ReadsUnderLoad, which explain
 * the choice): a window is split by {@link statsTerms} into whole UTC days read from `message_stats_daily` /
 * `delivery_latency_daily`, whole hours of its edge days from `message_stats_hourly` / `delivery_latency_hourly`,
 * and the partial hours at its edges from the messages themselves (index range scans of ix_messages_recent), each
 * added or subtracted; a window ending now reads no message before now.
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
   * @param now the present, which decides how the window's edges are read (never what they count).
   * @returns see {@link StatsRows}; counts as numeric text, latencies in whole seconds; groups and latency buckets
   *   whose count is zero are left out.
   * @throws the database's error.
   */
  async read(from: Date, to: Date, sessionId: string | undefined, key?: AuthenticatedKey, now = new Date()): Promise<StatsRows> {
    const params: unknown[] = []; // one parameter list for every part of a query
    const scope = (alias: string, w = new SqlWhere(params)) => {
      if (sessionId) w.add(`${alias}.session_id = ?`, sessionId);
      scopeToKey(w, key, `${alias}.session_id`);
      return w;
    };
    const groupParts: string[] = [];
    const latencyParts: string[] = [];
    for (const t of statsTerms(from, to, now)) {
      const sign = t.sign === 1 ? '' : '-';
      if (t.source === 'live') {
        const w = scope('m').add(
          'm.provider_timestamp >= ?::timestamptz AND m.provider_timestamp < ?::timestamptz',
          t.from.toISOString(),
          t.to.toISOString(),
        );
        groupParts.push(
          `SELECT wa_stats_day(m.provider_timestamp) AS day, m.session_id, m.direction, m.type, m.status, ${sign}count(*) AS n FROM messages m ${w} GROUP BY 1, 2, 3, 4, 5`,
        );
        latencyParts.push(`SELECT e.status, round(extract(epoch FROM e.occurred_at - m.provider_timestamp))::int AS seconds, ${sign}count(*) AS n
          FROM messages m JOIN message_status_events e ON e.session_id = m.session_id AND e.external_id = m.external_id AND e.status IN ('delivered', 'read')
          ${w} AND m.direction = 'out' GROUP BY 1, 2`);
      } else if (t.source === 'daily') {
        const w = scope('r').add(
          'r.day >= ?::date AND r.day < ?::date',
          t.from.toISOString().slice(0, 10),
          t.to.toISOString().slice(0, 10),
        );
        groupParts.push(
          `SELECT r.day, r.session_id, r.direction, r.type, r.status, ${sign}sum(r.messages) AS n FROM message_stats_daily r ${w} GROUP BY 1, 2, 3, 4, 5`,
        );
        latencyParts.push(`SELECT r.status, r.seconds, ${sign}sum(r.n) AS n FROM delivery_latency_daily r ${w} GROUP BY 1, 2`);
      } else {
        const w = scope('r').add('r.hour >= ?::timestamptz AND r.hour < ?::timestamptz', t.from.toISOString(), t.to.toISOString());
        groupParts.push(
          `SELECT wa_stats_day(r.hour) AS day, r.session_id, r.direction, r.type, r.status, ${sign}sum(r.messages) AS n FROM message_stats_hourly r ${w} GROUP BY 1, 2, 3, 4, 5`,
        );
        latencyParts.push(`SELECT r.status, r.seconds, ${sign}sum(r.n) AS n FROM delivery_latency_hourly r ${w} GROUP BY 1, 2`);
      }
    }
    const ov = scope('r', new SqlWhere());
    // Unique contacts overall and in the window in one pass over the conversations, one hashed group per chat. A
    // conversation whose last message falls in the window has one there; only those active after `to` are probed
    // (none for windows ending now).
    const cv = scope('v', new SqlWhere()).add('NOT v.is_group');
    const inWindow = `v.last_message_at >= ${cv.param(from.toISOString())}::timestamptz AND (v.last_message_at < ${cv.param(to.toISOString())}::timestamptz
      OR EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = v.id AND m.provider_timestamp >= ${cv.param(from.toISOString())}::timestamptz AND m.provider_timestamp < ${cv.param(to.toISOString())}::timestamptz))`;
    // Independent queries, run side by side on the pool.
    const [groups, latencies, [overall], [contacts], sessions] = (await Promise.all([
      this.db.query(
        `SELECT x.day, x.direction, x.type, x.session_id, x.status, sum(x.n) AS n FROM (${groupParts.join(' UNION ALL ')}) x
         GROUP BY GROUPING SETS ((x.day, x.direction), (x.type), (x.session_id), (x.status, x.direction), ()) HAVING sum(x.n) <> 0`,
        params,
      ),
      this.db.query(
        `SELECT x.status, x.seconds, sum(x.n) AS n FROM (${latencyParts.join(' UNION ALL ')}) x GROUP BY 1, 2 HAVING sum(x.n) <> 0 ORDER BY 1, 2`,
        params,
      ),
      this.db.query(
        `SELECT coalesce(sum(r.messages), 0) AS total, coalesce(sum(r.messages) FILTER (WHERE r.direction = 'in'), 0) AS incoming,
                coalesce(sum(r.messages) FILTER (WHERE r.direction = 'out'), 0) AS outgoing FROM message_stats_daily r ${ov}`,
        ov.params,
      ),
      this.db.query(
        `SELECT count(*) AS overall, count(*) FILTER (WHERE x.w) AS window
         FROM (SELECT v.chat_id, bool_or(${inWindow}) AS w FROM conversations v ${cv} GROUP BY v.chat_id) x`,
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
