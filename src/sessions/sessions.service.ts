import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import * as QRCode from 'qrcode';
import { DataSource } from 'typeorm';
import type { AuthenticatedKey } from '../auth/api-keys.service';
import { AppError } from '../common/app-error';
import { keysetPage } from '../common/keyset-page';
import type { Page, PageQueryDto } from '../common/page-query.dto';
import { SqlWhere } from '../common/sql-where';
import type { ListSessionsQueryDto, SessionDetailResponseDto, SessionEventResponseDto, SessionPageDto, SessionResponseDto, SessionSummaryDto, UpdateSessionDto } from './session.dto';
import { toIso as iso, UUID_RE } from '../common/sql-text';
import { DISCONNECTED_STATUSES, ERROR_STATUSES, LOADING_STATUSES } from '../domain/session-status';
import { ProviderRegistry } from '../domain/provider-definition';
import { validateCredentials } from './session-credentials';

type Row = Record<string, unknown>;

const inList = (statuses: readonly string[]) => `s.status IN (${statuses.map((x) => `'${x}'`).join(', ')})`;
// Seed s4's computed flags over the canonical statuses: in SQL for the summary, from the same lists in
// toSessionDto for rows.
const FLAGS_SQL = {
  connected: `s.status = 'connected'`,
  disconnected: inList(DISCONNECTED_STATUSES),
  loading: inList(LOADING_STATUSES),
  needsQR: `s.status = 'qr' AND s.qr IS NOT NULL`,
  hasQR: `s.qr IS NOT NULL`,
  error: inList(ERROR_STATUSES),
};

/** Sessions: list with flags and summary, detail with the QR rendered, status history, owner updates. */
@Injectable()
export class SessionsService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly providers: ProviderRegistry,
  ) {}

  /** Sessions newest-updated first, with a summary over all matches. */
  async list(q: ListSessionsQueryDto, key?: AuthenticatedKey): Promise<SessionPageDto> {
    const where = this.filters(q, key);
    const summary = await this.summary(where);
    const page = await keysetPage(this.db, {
      select: 'SELECT s.*',
      from: 'FROM sessions s',
      where,
      query: q,
      sortAt: 's.updated_at',
      id: 's.id',
      idType: 'uuid',
      sortValue: (r) => r.updated_at,
      map: toSessionDto,
    });
    return { ...page, summary };
  }

  /** Counts of each flag over the sessions `where` selects. */
  async summary(where: SqlWhere): Promise<SessionSummaryDto> {
    const cols = Object.entries(FLAGS_SQL).map(([k, cond]) => `count(*) FILTER (WHERE ${cond})::int AS "${k}"`);
    const [row] = await this.db.query(`SELECT ${cols.join(', ')}, count(*)::int AS total FROM sessions s ${where}`, where.params);
    return row as SessionSummaryDto;
  }

  filters(q: { status?: string | string[]; provider?: string; userId?: string }, key?: AuthenticatedKey): SqlWhere {
    const where = new SqlWhere();
    if (q.status) where.add('s.status = ANY(?::text[])', Array.isArray(q.status) ? q.status : [q.status]);
    if (q.provider) where.add('s.provider = ?', q.provider);
    if (q.userId) where.add('s.user_id = ?', q.userId);
    if (key?.sessionIds) where.add('s.id = ANY(?::uuid[])', key.sessionIds);
    return where;
  }

  /**
   * A session by wa-hub id, with the live QR as a PNG data URL.
   * @throws AppError 404 when it does not exist or the key may not see it.
   */
  async get(id: string, key?: AuthenticatedKey): Promise<SessionDetailResponseDto> {
    const row = await this.findRow(id, key);
    return { ...toSessionDto(row), qrImage: row.qr ? await QRCode.toDataURL(row.qr as string) : null };
  }

  /**
   * Finds a session by wa-hub id (uuid) or, with `provider`, by the provider's id.
   * @throws AppError 404 when missing or outside the key's sessions.
   */
  async findRow(id: string, key?: AuthenticatedKey, provider?: string): Promise<Row> {
    const where = new SqlWhere();
    if (provider) where.add('s.provider = ? AND s.external_id = ?', provider, id);
    else if (UUID_RE.test(id)) where.add('s.id = ?', id);
    else throw AppError.notFound('Session');
    if (key?.sessionIds) where.add('s.id = ANY(?::uuid[])', key.sessionIds);
    const rows = (await this.db.query(`SELECT s.* FROM sessions s ${where}`, where.params)) as Row[];
    if (rows.length === 0) throw AppError.notFound('Session');
    return rows[0];
  }

  /**
   * A session by the provider's session id (wwebjs first when several providers use the same id).
   * @throws AppError 404 when missing or outside the key's sessions.
   */
  async findByExternalId(externalId: string, key?: AuthenticatedKey): Promise<Row> {
    const where = new SqlWhere().add('s.external_id = ?', externalId);
    if (key?.sessionIds) where.add('s.id = ANY(?::uuid[])', key.sessionIds);
    const rows = (await this.db.query(`SELECT s.* FROM sessions s ${where} ORDER BY (s.provider = 'wwebjs') DESC, s.created_at LIMIT 1`, where.params)) as Row[];
    if (rows.length === 0) throw AppError.notFound('Session');
    return rows[0];
  }

  /** Every session matching the filters, most recently updated first (at most 1,000). */
  async listRows(q: { status?: string | string[]; provider?: string; userId?: string }, key?: AuthenticatedKey): Promise<Row[]> {
    const where = this.filters(q, key);
    return (await this.db.query(`SELECT s.* FROM sessions s ${where} ORDER BY s.updated_at DESC, s.id DESC LIMIT 1000`, where.params)) as Row[];
  }

  /**
   * The live QR as PNG bytes.
   * @throws AppError 404 when the session is unknown or has no live QR.
   */
  async qrPng(id: string, key?: AuthenticatedKey): Promise<Buffer> {
    const row = await this.findRow(id, key);
    if (!row.qr) throw AppError.notFound('QR code (the session has no live QR)');
    return QRCode.toBuffer(row.qr as string, { type: 'png', margin: 2, width: 320 });
  }

  /** The session's recorded events and status transitions, newest first. */
  async events(id: string, q: PageQueryDto, key?: AuthenticatedKey): Promise<Page<SessionEventResponseDto>> {
    const row = await this.findRow(id, key);
    return keysetPage(this.db, {
      select: 'SELECT e.*',
      from: 'FROM session_events e',
      where: new SqlWhere().add('e.session_id = ?', row.id),
      query: q,
      sortAt: 'e.occurred_at',
      id: 'e.id',
      idType: 'bigint',
      sortValue: (r) => r.occurred_at,
      map: (r) => ({
        id: String(r.id),
        event: r.event as string,
        fromStatus: (r.from_status as string) ?? null,
        toStatus: (r.to_status as string) ?? null,
        message: (r.message as string) ?? null,
        payload: (r.payload as Record<string, unknown>) ?? null,
        occurredAt: new Date(r.occurred_at as string).toISOString(),
      }),
    });
  }

  /**
   * Sets the owner (`userId`) and/or the sending credentials (`credentials`; null clears them). New credentials
   * release a queue held for refused ones.
   * @returns the session as GET /v1/sessions/:id shows it (credentials only as `hasCredentials`).
   * @throws AppError 404 when the session does not exist or the key may not see it.
   */
  async update(id: string, dto: UpdateSessionDto, key?: AuthenticatedKey): Promise<SessionDetailResponseDto> {
    const row = await this.findRow(id, key);
    if (dto.userId !== undefined) await this.db.query(`UPDATE sessions SET user_id = $1, updated_at = now() WHERE id = $2`, [dto.userId, row.id]);
    if (dto.credentials !== undefined) {
      const definition = this.providers.get(row.provider as string);
      if (dto.credentials !== null) await validateCredentials(definition?.credentials, dto.credentials);
      // New credentials release a held queue; a session in `error` for refused credentials is usable again.
      // Sessions connected by traffic (Meta numbers, Wablas devices: hosted by the provider, no connection of ours
      // to wait for) are connected again at once; others (a wwebjs server's) report their own state: `unknown`.
      await this.db.query(
        `UPDATE sessions SET credentials = $1, send_held = false, updated_at = now(),
           status = CASE WHEN send_held AND status = 'error' THEN $3 ELSE status END
         WHERE id = $2`,
        [dto.credentials === null ? null : JSON.stringify(dto.credentials), row.id, definition?.connectedByTraffic ? 'connected' : 'unknown'],
      );
    }
    return this.get(row.id as string);
  }
}


/** Row → response with seed s4's flags. */
export function toSessionDto(r: Row): SessionResponseDto {
  const status = r.status as string;
  const hasQR = r.qr !== null && r.qr !== undefined;
  return {
    id: r.id as string,
    provider: r.provider as string,
    externalId: r.external_id as string,
    displayNumber: (r.display_number as string) ?? null,
    userId: (r.user_id as string) ?? null,
    status,
    message: (r.status_message as string) ?? null,
    qr: (r.qr as string) ?? null,
    qrAt: iso(r.qr_at),
    loadingPercent: (r.loading_percent as number) ?? null,
    lastEventAt: iso(r.last_event_at),
    connectedAt: iso(r.connected_at),
    createdAt: iso(r.created_at)!,
    updatedAt: iso(r.updated_at)!,
    isConnected: status === 'connected',
    needsQR: status === 'qr' && hasQR,
    isLoading: (LOADING_STATUSES as readonly string[]).includes(status),
    hasError: (ERROR_STATUSES as readonly string[]).includes(status),
    hasQR,
    hasCredentials: r.credentials !== null && r.credentials !== undefined,
    sendHeld: r.send_held === true,
  };
}
