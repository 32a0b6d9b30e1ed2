import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { AuthenticatedKey } from '../api-keys/api-keys.service';
import { AppError } from '../common/app-error';
import { SqlWhere } from '../common/sql-where';
import { scopeToKey } from '../messages/messages.service';
import type { CountsDto, StatsQueryDto, StatsResponseDto } from './stats.dto';

type Row = Record<string, unknown>;
const n = (v: unknown) => Number(v ?? 0);

/**
 * Statistics, computed with set-based SQL over the indexed message store: window counts come from a range scan of
 * ix_messages_recent (provider_timestamp), per-session/contact figures from the conversations table (one row per
 * chat, counters maintained on ingest), delivery figures from the outgoing messages of the window and their
 * status events. Not yet backed by maintained daily roll-ups: windows of several hundred thousand messages take
 * longer than the 100 ms issue 4 targets (see the README).
 */
@Injectable()
export class StatsService {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** @throws AppError 400 when `from` is not before `to`. */
  async stats(q: StatsQueryDto, key?: AuthenticatedKey): Promise<StatsResponseDto> {
    const to = q.to ? new Date(q.to) : new Date();
    const from = q.from ? new Date(q.from) : new Date(to.getTime() - (q.days ?? 7) * 86_400_000);
    if (from >= to) throw AppError.badRequest('from must be before to', [{ field: 'from', errors: ['must be before to'] }]);

    const scope = (alias: string) => {
      const w = new SqlWhere();
      if (q.sessionId) w.add(`${alias}.session_id = ?`, q.sessionId);
      scopeToKey(w, key, `${alias}.session_id`);
      return w;
    };
    // Overall totals from the per-conversation counters (maintained on ingest), not a scan of every message.
    const ov = scope('v');
    const [overallRow] = (await this.db.query(
      `SELECT coalesce(sum(v.message_count), 0) AS total, count(*) FILTER (WHERE NOT v.is_group) AS contacts FROM conversations v ${ov}`,
      ov.params,
    )) as Row[];
    const dir = scope('m');
    const [dirRow] = (await this.db.query(
      `SELECT count(*) FILTER (WHERE m.direction = 'in') AS incoming, count(*) FILTER (WHERE m.direction = 'out') AS outgoing FROM messages m ${dir}`,
      dir.params,
    )) as Row[];

    const w = scope('m');
    w.add('m.provider_timestamp >= ?::timestamptz AND m.provider_timestamp < ?::timestamptz', from.toISOString(), to.toISOString());
    const groups = (await this.db.query(
      `SELECT (m.provider_timestamp AT TIME ZONE 'UTC')::date AS day, m.direction, m.type, m.session_id, m.status,
              count(*) AS n, count(DISTINCT m.chat_id) FILTER (WHERE m.chat_id NOT LIKE '%@g.us' AND m.chat_id NOT LIKE 'group:%') AS chats
       FROM messages m ${w} GROUP BY GROUPING SETS ((day, m.direction), (m.type), (m.session_id), (m.status, m.direction), ())`,
      w.params,
    )) as Row[];
    const delivery = (await this.db.query(
      `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM d.occurred_at - m.provider_timestamp)) FILTER (WHERE d.status = 'delivered') AS to_delivered,
              percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM d.occurred_at - m.provider_timestamp)) FILTER (WHERE d.status = 'read') AS to_read
       FROM messages m JOIN message_status_events d ON d.session_id = m.session_id AND d.external_id = m.external_id AND d.status IN ('delivered', 'read')
       ${w} AND m.direction = 'out'`,
      w.params,
    )) as Row[];
    const sessions = (await this.db.query(`SELECT id, provider, external_id FROM sessions`)) as Row[];
    return this.shape(from, to, overallRow, dirRow, groups, delivery[0], sessions);
  }

  private shape(from: Date, to: Date, overall: Row, dirs: Row, groups: Row[], delivery: Row, sessions: Row[]): StatsResponseDto {
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
    const windowCounts: CountsDto = { total: n(all?.n), incoming, outgoing, uniqueContacts: n(all?.chats) };
    const round = (v: unknown) => (v === null || v === undefined ? null : Math.round(Number(v) * 10) / 10);
    return {
      from: from.toISOString(),
      to: to.toISOString(),
      overall: { total: n(overall.total), incoming: n(dirs.incoming), outgoing: n(dirs.outgoing), uniqueContacts: n(overall.contacts) },
      window: windowCounts,
      perDay,
      byType,
      byProvider,
      bySession,
      delivery: { byStatus, medianSecondsToDelivered: round(delivery?.to_delivered), medianSecondsToRead: round(delivery?.to_read) },
    };
  }
}
