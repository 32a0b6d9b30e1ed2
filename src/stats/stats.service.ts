import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { AuthenticatedKey } from '../auth/api-keys.service';
import { AppError } from '../common/app-error';
import { SqlWhere } from '../common/sql-where';
import { scopeToKey } from '../messages/messages.service';
import type { CountsDto, StatsQueryDto, StatsResponseDto } from './stats.dto';

type Row = Record<string, unknown>;
const n = (v: unknown) => Number(v ?? 0);

/**
 * Statistics over the daily roll-ups (migration 1764115200000-StatsRollups, which explains the choice): whole UTC
 * days of the window are read from `message_stats_daily` / `delivery_latency_daily` (a few rows per day), and only
 * the partial days at the window's edges from the messages themselves (an index range scan of ix_messages_recent).
 * Overall totals sum the roll-ups of every day. Unique contacts are the conversations with a message in the window:
 * those whose last message is in it, plus those active after `to` with a message in it (one probe of
 * ix_messages_conversation_recent each; none for windows ending now). Medians are exact over
 * latencies in whole seconds (provider timestamps are whole seconds).
 */
@Injectable()
export class StatsService {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** @throws AppError 400 when `from` is not before `to`. */
  async stats(q: StatsQueryDto, key?: AuthenticatedKey): Promise<StatsResponseDto> {
    const to = q.to ? new Date(q.to) : new Date();
    const from = q.from ? new Date(q.from) : new Date(to.getTime() - (q.days ?? 7) * 86_400_000);
    if (from >= to) throw AppError.badRequest('from must be before to', [{ field: 'from', errors: ['must be before to'] }]);

    const scope = (alias: string, w = new SqlWhere()) => {
      if (q.sessionId) w.add(`${alias}.session_id = ?`, q.sessionId);
      scopeToKey(w, key, `${alias}.session_id`);
      return w;
    };
    // Whole days [firstDay, lastDay) come from the roll-ups; [from, firstDay) and [lastDay, to) from messages.
    const firstDay = new Date(Math.ceil(from.getTime() / 86_400_000) * 86_400_000);
    const lastDay = new Date(Math.max(firstDay.getTime(), Math.floor(to.getTime() / 86_400_000) * 86_400_000));
    const edges = firstDay < lastDay ? [[from, firstDay], [lastDay, to]] : [[from, to]];

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
    const [groups, latencies, [overallRow], [contacts], sessions] = (await Promise.all([
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
      this.db.query(`SELECT count(DISTINCT v.chat_id) AS overall, count(DISTINCT v.chat_id) FILTER (WHERE ${inWindow}) AS window FROM conversations v ${cv}`, cv.params),
      this.db.query(`SELECT id, provider, external_id FROM sessions`),
    ])) as [Row[], Row[], Row[], Row[], Row[]];
    const delivery = { to_delivered: median(latencies, 'delivered'), to_read: median(latencies, 'read') };
    return this.shape(from, to, { ...overallRow, contacts: contacts.overall }, groups, delivery, sessions, n(contacts.window));
  }

  /** `overall`: total/incoming/outgoing/contacts; `groups`: the grouping-sets rows; `delivery`: medians in seconds. */
  private shape(from: Date, to: Date, overall: Row, groups: Row[], delivery: Row, sessions: Row[], windowContacts: number): StatsResponseDto {
    const all = groups.find((g) => g.day === null && g.type === null && g.session_id === null && g.status === null && g.direction === null);
    const byDay = new Map<string, { incoming: number; outgoing: number }>();
    const byType: Record<string, number> = {};
    const bySessionId = new Map<string, number>();
    const byStatus: Record<string, number> = { queued: 0, pending: 0, sent: 0, delivered: 0, read: 0, played: 0, failed: 0 };
    let incoming = 0;
    let outgoing = 0;
    for (const g of groups) {
      if (g.day !== null) {
        const day = typeof g.day === 'string' ? g.day : new Date(g.day as Date).toISOString().slice(0, 10);
        const d = byDay.get(day) ?? { incoming: 0, outgoing: 0 };
        if (g.direction === 'in') d.incoming += n(g.n);
        else d.outgoing += n(g.n);
        byDay.set(day, d);
        if (g.direction === 'in') incoming += n(g.n);
        else outgoing += n(g.n);
      } else if (g.type !== null) byType[g.type as string] = n(g.n);
      else if (g.session_id !== null) bySessionId.set(g.session_id as string, n(g.n));
      else if (g.status !== null && g.direction === 'out') byStatus[g.status as string] = n(g.n);
    }
    const perDay = [];
    for (let d = new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate())); d < to; d = new Date(d.getTime() + 86_400_000)) {
      const key = d.toISOString().slice(0, 10);
      perDay.push({ date: key, ...(byDay.get(key) ?? { incoming: 0, outgoing: 0 }) });
    }
    const info = new Map(sessions.map((s) => [s.id as string, s]));
    const bySession = [...bySessionId.entries()].map(([id, count]) => ({ sessionId: id, provider: info.get(id)?.provider as string, externalId: info.get(id)?.external_id as string, count })).sort((a, b) => b.count - a.count);
    const byProvider: Record<string, number> = {};
    for (const s of bySession) byProvider[s.provider] = (byProvider[s.provider] ?? 0) + s.count;
    const windowCounts: CountsDto = { total: n(all?.n), incoming, outgoing, uniqueContacts: windowContacts };
    const round = (v: unknown) => (v === null || v === undefined ? null : Math.round(Number(v) * 10) / 10);
    return {
      from: from.toISOString(),
      to: to.toISOString(),
      overall: { total: n(overall.total), incoming: n(overall.incoming), outgoing: n(overall.outgoing), uniqueContacts: n(overall.contacts) },
      window: windowCounts,
      perDay,
      byType,
      byProvider,
      bySession,
      delivery: { byStatus, medianSecondsToDelivered: round(delivery?.to_delivered), medianSecondsToRead: round(delivery?.to_read) },
    };
  }
}

/**
 * The median (`percentile_cont(0.5)`: mean of the two middle values for an even count) of a histogram given as
 * rows `{status, seconds, n}` sorted by seconds; null without values.
 */
export function median(rows: Row[], status: string): number | null {
  const values = rows.filter((r) => r.status === status && n(r.n) > 0).map((r) => ({ v: Number(r.seconds), n: n(r.n) }));
  const count = values.reduce((a, b) => a + b.n, 0);
  if (count === 0) return null;
  const at = (k: number) => {
    let seen = 0;
    for (const x of values) {
      seen += x.n;
      if (k < seen) return x.v;
    }
    return values[values.length - 1].v;
  };
  const pos = (count - 1) / 2;
  return (at(Math.floor(pos)) + at(Math.ceil(pos))) / 2;
}
