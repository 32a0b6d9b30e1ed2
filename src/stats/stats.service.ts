import { Injectable } from '@nestjs/common';
import type { AuthenticatedKey } from '../auth/api-keys.service';
import { AppError } from '../common/app-error';
import type { CountsDto, StatsQueryDto, StatsResponseDto } from './stats.dto';
import { LatencyRow, OverallRow, SessionInfoRow, StatsGroupRow, StatsRepository } from './stats.repository';

const n = (v: unknown) => Number(v ?? 0);

/**
 * Statistics over the daily and hourly roll-ups (migrations 1764115200000-StatsRollups and
 * 1764720000000-ReadsUnderLoad, which explain the choice): whole UTC days of the window are read from the daily
 * roll-ups (a few rows per day), whole hours of its edge days from the hourly ones, and only the partial hours at
 * its edges from the messages themselves (added, or subtracted from their whole hour when that reads fewer: a
 * window ending now reads no message before now; see src/stats/stats-window.ts).
 * Overall totals sum the roll-ups of every day. Unique contacts are the conversations with a message in the window:
 * those whose last message is in it, plus those active after `to` with a message in it (one probe of
 * ix_messages_conversation_recent each; none for windows ending now). Medians are exact over
 * latencies in whole seconds (provider timestamps are whole seconds).
 */
@Injectable()
export class StatsService {
  constructor(private readonly repo: StatsRepository) {}

  /** @throws AppError 400 when `from` is not before `to`. */
  async stats(q: StatsQueryDto, key?: AuthenticatedKey): Promise<StatsResponseDto> {
    const to = q.to ? new Date(q.to) : new Date();
    const from = q.from ? new Date(q.from) : new Date(to.getTime() - (q.days ?? 7) * 86_400_000);
    if (from >= to) throw AppError.badRequest('from must be before to', [{ field: 'from', errors: ['must be before to'] }]);

    const { groups, latencies, overall: overallRow, contacts, sessions } = await this.repo.read(from, to, q.sessionId, key);
    const delivery = { to_delivered: median(latencies, 'delivered'), to_read: median(latencies, 'read') };
    return this.shape(from, to, { ...overallRow, contacts: contacts.overall }, groups, delivery, sessions, n(contacts.window));
  }

  /** `overall`: total/incoming/outgoing/contacts; `groups`: the grouping-sets rows; `delivery`: medians in seconds. */
  private shape(
    from: Date,
    to: Date,
    overall: OverallRow & { contacts: unknown },
    groups: StatsGroupRow[],
    delivery: { to_delivered: number | null; to_read: number | null },
    sessions: SessionInfoRow[],
    windowContacts: number,
  ): StatsResponseDto {
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
    for (
      let d = new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate()));
      d < to;
      d = new Date(d.getTime() + 86_400_000)
    ) {
      const key = d.toISOString().slice(0, 10);
      perDay.push({ date: key, ...(byDay.get(key) ?? { incoming: 0, outgoing: 0 }) });
    }
    const info = new Map(sessions.map((s) => [s.id as string, s]));
    const bySession = [...bySessionId.entries()]
      .map(([id, count]) => ({
        sessionId: id,
        provider: info.get(id)?.provider as string,
        externalId: info.get(id)?.external_id as string,
        count,
      }))
      .sort((a, b) => b.count - a.count);
    const byProvider: Record<string, number> = {};
    for (const s of bySession) byProvider[s.provider] = (byProvider[s.provider] ?? 0) + s.count;
    const windowCounts: CountsDto = { total: n(all?.n), incoming, outgoing, uniqueContacts: windowContacts };
    const round = (v: unknown) => (v === null || v === undefined ? null : Math.round(Number(v) * 10) / 10);
    return {
      from: from.toISOString(),
      to: to.toISOString(),
      overall: {
        total: n(overall.total),
        incoming: n(overall.incoming),
        outgoing: n(overall.outgoing),
        uniqueContacts: n(overall.contacts),
      },
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
export function median(rows: LatencyRow[], status: string): number | null {
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
