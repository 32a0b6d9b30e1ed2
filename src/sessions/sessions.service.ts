import { Injectable } from '@nestjs/common';
import * as QRCode from 'qrcode';
import type { AuthenticatedKey } from '../auth/api-keys.service';
import { AppError } from '../common/app-error';
import type { Page, PageQueryDto } from '../common/page-query.dto';
import type { SqlWhere } from '../common/sql-where';
import type {
  ListSessionsQueryDto,
  SessionDetailResponseDto,
  SessionEventResponseDto,
  SessionPageDto,
  SessionResponseDto,
  SessionSummaryDto,
  UpdateSessionDto,
  CreateSessionDto,
} from './session.dto';
import { toIso as iso, UUID_RE } from '../common/sql-text';
import { ERROR_STATUSES, LOADING_STATUSES } from '../domain/session-status';
import { ProviderRegistry, type SessionControl } from '../domain/provider-definition';
import { randomUUID } from 'node:crypto';
import { HttpStatus } from '@nestjs/common';
import type { CountryCode } from 'libphonenumber-js';
import { requirePhone } from '../common/phone';
import { validateCredentials } from './session-credentials';
import { type SessionFilters, type SessionRow, SessionsRepository } from './sessions.repository';

export type { SessionRow } from './sessions.repository';

/** Sessions: list with flags and summary, detail with the QR rendered, status history, owner updates. */
@Injectable()
export class SessionsService {
  constructor(
    private readonly repo: SessionsRepository,
    private readonly providers: ProviderRegistry,
  ) {}

  /** Sessions newest-updated first, with a summary over all matches. */
  async list(q: ListSessionsQueryDto, key?: AuthenticatedKey): Promise<SessionPageDto> {
    const where = this.filters(q, key);
    const summary = await this.summary(where); // before the page: it adds its cursor to `where`
    const page = await this.repo.page(where, q);
    return { ...page, data: page.data.map(toSessionDto), summary };
  }

  /** Counts of each flag over the sessions `where` selects. */
  summary(where: SqlWhere): Promise<SessionSummaryDto> {
    return this.repo.summary(where);
  }

  /** The selection of a session list (status, provider, owner, the key's sessions), for {@link summary}. */
  filters(q: SessionFilters, key?: AuthenticatedKey): SqlWhere {
    return this.repo.filters(q, key);
  }

  /**
   * A session by wa-hub id, with the live QR as a PNG data URL.
   * @throws AppError 404 when it does not exist or the key may not see it.
   */
  async get(id: string, key?: AuthenticatedKey): Promise<SessionDetailResponseDto> {
    const row = await this.findRow(id, key);
    return { ...toSessionDto(row), qrImage: row.qr ? await QRCode.toDataURL(row.qr) : null };
  }

  /**
   * Finds a session by wa-hub id (uuid) or, with `provider`, by the provider's id.
   * @throws AppError 404 when missing or outside the key's sessions.
   */
  async findRow(id: string, key?: AuthenticatedKey, provider?: string): Promise<SessionRow> {
    if (!provider && !UUID_RE.test(id)) throw AppError.notFound('Session');
    const row = await this.repo.findOne(provider ? { provider, externalId: id } : { id }, key?.sessionIds);
    if (!row) throw AppError.notFound('Session');
    return row;
  }

  /**
   * A session by the provider's session id (wwebjs first when several providers use the same id).
   * @throws AppError 404 when missing or outside the key's sessions.
   */
  async findByExternalId(externalId: string, key?: AuthenticatedKey): Promise<SessionRow> {
    const row = await this.repo.findByExternalId(externalId, key?.sessionIds);
    if (!row) throw AppError.notFound('Session');
    return row;
  }

  /**
   * Sessions of `provider` whose provider id is one of `externalIds` or whose number is `displayNumber` (E.164
   * digits): matching provider ids first, then the oldest (at most 10). For providers that identify one number
   * by different ids in different payloads (Wablas).
   */
  findByIdentifiers(provider: string, externalIds: readonly string[], displayNumber: string | null): Promise<SessionRow[]> {
    return this.repo.findByIdentifiers(provider, externalIds, displayNumber);
  }

  /** Every session matching the filters, most recently updated first (at most 1,000). */
  listRows(q: SessionFilters, key?: AuthenticatedKey): Promise<SessionRow[]> {
    return this.repo.listRecent(this.filters(q, key));
  }

  /**
   * The live QR as PNG bytes.
   * @throws AppError 404 when the session is unknown or has no live QR.
   */
  async qrPng(id: string, key?: AuthenticatedKey): Promise<Buffer> {
    const row = await this.findRow(id, key);
    if (!row.qr) throw AppError.notFound('QR code (the session has no live QR)');
    return QRCode.toBuffer(row.qr, { type: 'png', margin: 2, width: 320 });
  }

  /** The session's recorded events and status transitions, newest first. */
  async events(id: string, q: PageQueryDto, key?: AuthenticatedKey): Promise<Page<SessionEventResponseDto>> {
    const row = await this.findRow(id, key);
    const page = await this.repo.eventsPage(row.id, q);
    return {
      ...page,
      data: page.data.map((r) => ({
        id: String(r.id),
        event: r.event,
        fromStatus: r.from_status ?? null,
        toStatus: r.to_status ?? null,
        message: r.message ?? null,
        payload: r.payload ?? null,
        occurredAt: new Date(r.occurred_at).toISOString(),
      })),
    };
  }

  /**
   * Sets the owner (`userId`) and/or the sending credentials (`credentials`; null clears them). New credentials
   * release a queue held for refused ones.
   * @returns the session as GET /v1/sessions/:id shows it (credentials only as `hasCredentials`).
   * @throws AppError 404 when the session does not exist or the key may not see it.
   */
  async update(id: string, dto: UpdateSessionDto, key?: AuthenticatedKey): Promise<SessionDetailResponseDto> {
    const row = await this.findRow(id, key);
    if (dto.userId !== undefined) await this.repo.setOwner(row.id, dto.userId);
    if (dto.credentials !== undefined) {
      const definition = this.providers.get(row.provider);
      if (dto.credentials !== null) await validateCredentials(definition?.credentials, dto.credentials);
      // New credentials release a held queue; a session in `error` for refused credentials is usable again.
      // Sessions connected by traffic (Meta numbers, Wablas devices: hosted by the provider, no connection of ours
      // to wait for) are connected again at once; others (a wwebjs server's) report their own state: `unknown`.
      await this.repo.setCredentials(row.id, dto.credentials, definition?.connectedByTraffic ? 'connected' : 'unknown');
    }
    return this.get(row.id);
  }

  /**
   * Creates a session wa-hub runs itself and starts it at once (its status then moves connecting → qr → ...).
   * @returns the session as GET /v1/sessions/:id shows it.
   * @throws AppError 400 unknown provider, 422 `CAPABILITY_NOT_SUPPORTED` for providers whose sessions live on
   *   their side (they appear with their first webhook), 409 `CONFLICT` when the name is taken.
   */
  async create(dto: CreateSessionDto): Promise<SessionDetailResponseDto> {
    const control = this.controlOf(dto.provider);
    const row = await this.repo.create(dto.provider, dto.name ?? randomUUID(), dto.userId ?? null);
    if (!row) throw new AppError(HttpStatus.CONFLICT, 'CONFLICT', `A ${dto.provider} session named ${dto.name} exists already`);
    await control.start(row.id);
    return this.get(row.id);
  }

  /**
   * Starts, stops, restarts or logs out a session wa-hub runs itself; the change is recorded in its history.
   * `logout` unlinks the device at WhatsApp and wipes its login (status `logged_out`; a new QR is needed).
   * @throws AppError 404 unknown or invisible session, 422 `CAPABILITY_NOT_SUPPORTED` for other providers.
   */
  async control(id: string, action: 'start' | 'stop' | 'restart' | 'logout', key?: AuthenticatedKey): Promise<SessionDetailResponseDto> {
    const row = await this.findRow(id, key);
    const control = this.controlOf(row.provider);
    if (action === 'stop') {
      await control.stop(row.id);
      await this.repo.recordStatus(row.id, 'api.stop', 'disconnected', 'Stopped through the API; start it again to reconnect', true);
    } else if (action === 'logout') {
      await control.logout(row.id);
      await this.repo.recordStatus(row.id, 'api.logout', 'logged_out', 'Logged out through the API: the device was unlinked', true);
    } else {
      await this.repo.recordStatus(row.id, `api.${action}`, 'connecting', action === 'start' ? 'Starting' : 'Restarting', false);
      await (action === 'start' ? control.start(row.id) : control.restart(row.id));
    }
    return this.get(row.id);
  }

  /**
   * Logs a session out (when wa-hub runs it) and deletes it with its messages, conversations and history.
   * @throws AppError 404 unknown or invisible session.
   */
  async delete(id: string, key?: AuthenticatedKey): Promise<void> {
    const row = await this.findRow(id, key);
    const control = this.providers.get(row.provider)?.sessions;
    if (control) await control.logout(row.id);
    await this.repo.delete(row.id);
  }

  /**
   * A pairing code to link the session's device by typing it on the phone instead of scanning the QR.
   * @throws AppError 400 when the number is not valid, 404 unknown session, 422 other providers, 409 `CONFLICT`
   *   when the session is not waiting for a login (not started, or linked already).
   */
  async pairingCode(id: string, phoneNumber: string, region: CountryCode | undefined, key?: AuthenticatedKey): Promise<{ code: string }> {
    const row = await this.findRow(id, key);
    const control = this.controlOf(row.provider);
    const digits = requirePhone(phoneNumber, 'phoneNumber', region);
    try {
      return { code: await control.pairingCode(row.id, digits) };
    } catch (e) {
      throw new AppError(HttpStatus.CONFLICT, 'CONFLICT', (e as Error).message);
    }
  }

  private controlOf(provider: string): SessionControl {
    const definition = this.providers.get(provider);
    if (!definition)
      throw AppError.badRequest(`Unknown provider ${provider}`, [
        { field: 'provider', errors: [`one of ${this.providers.names().join(', ')}`] },
      ]);
    if (!definition.sessions)
      throw new AppError(
        HttpStatus.UNPROCESSABLE_ENTITY,
        'CAPABILITY_NOT_SUPPORTED',
        `${provider} sessions are not run by wa-hub: they appear with their first webhook`,
      );
    return definition.sessions;
  }
}

/**
 * Row → response with seed s4's flags.
 * The second signature serves callers outside this folder that still hold untyped rows (src/compat).
 */
export function toSessionDto(row: SessionRow): SessionResponseDto;
export function toSessionDto(row: Record<string, unknown>): SessionResponseDto;
export function toSessionDto(row: SessionRow | Record<string, unknown>): SessionResponseDto {
  const r = row as SessionRow;
  const status = r.status;
  const hasQR = r.qr !== null && r.qr !== undefined;
  return {
    id: r.id,
    provider: r.provider,
    externalId: r.external_id,
    displayNumber: r.display_number ?? null,
    userId: r.user_id ?? r.default_user_id ?? null,
    userIdSource: r.user_id != null ? 'own' : r.default_user_id != null ? 'inherited' : null,
    status,
    message: r.status_message ?? null,
    qr: r.qr ?? null,
    qrAt: iso(r.qr_at),
    loadingPercent: r.loading_percent ?? null,
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
