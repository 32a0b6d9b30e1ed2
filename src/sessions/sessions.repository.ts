import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { AuthenticatedKey } from '../auth/api-keys.service';
import { keysetPage } from '../common/keyset-page';
import type { Page, PageQueryDto } from '../common/page-query.dto';
import { SqlWhere } from '../common/sql-where';
import type { SessionCredentials } from '../domain/message-sender';
import { DISCONNECTED_STATUSES, ERROR_STATUSES, LOADING_STATUSES } from '../domain/session-status';

/**
 * A `sessions` row (migrations InitialSchema, SessionLifecycle, Outbox): `timestamptz` as Date, `jsonb` parsed.
 * A type alias, not an interface, so that it stays assignable to the `Record<string, unknown>` rows of callers
 * outside this folder (src/compat).
 */
export type SessionRow = {
  id: string;
  /** Provider name: meta, wablas, wwebjs, baileys. */
  provider: string;
  /** The provider's id of the session (phone number id, device, wwebjs session name). */
  external_id: string;
  display_number: string | null;
  /** Canonical status (src/domain/session-status). */
  status: string;
  status_message: string | null;
  last_event_at: Date | null;
  connected_at: Date | null;
  created_at: Date;
  updated_at: Date;
  /** The session's own owner (seed s4 `userId`); null when it has none. */
  user_id: string | null;
  /**
   * The provider's default owner (`session_default_owners`), read with the row by the SELECTs of this repository
   * (absent from rows of other queries): the owner of a session without a `user_id` of its own.
   */
  default_user_id?: string | null;
  /** The live QR text, null when there is none. */
  qr: string | null;
  qr_at: Date | null;
  /** 0-100 (smallint). */
  loading_percent: number | null;
  /** Sending credentials (secrets: never returned by the API). */
  credentials: SessionCredentials | null;
  /** True while the outbox holds the session's queue (credentials refused). */
  send_held: boolean;
};

/** A `session_events` row (migration SessionLifecycle); bigint ids as decimal text. */
export interface SessionEventRow {
  id: string;
  session_id: string;
  event: string;
  from_status: string | null;
  to_status: string | null;
  message: string | null;
  payload: Record<string, unknown> | null;
  occurred_at: Date;
  webhook_event_id: string | null;
}

/** How many of the selected sessions have each computed flag (and how many there are). */
export interface SessionFlagCounts {
  connected: number;
  disconnected: number;
  loading: number;
  needsQR: number;
  hasQR: number;
  error: number;
  total: number;
}

/** Identifies one session: by wa-hub id, or by provider and provider id. */
export type SessionRef = { id: string } | { provider: string; externalId: string };

/** Filters of the session lists. */
export interface SessionFilters {
  status?: string | string[];
  provider?: string;
  userId?: string;
}

const inList = (statuses: readonly string[]) => `s.status IN (${statuses.map((x) => `'${x}'`).join(', ')})`;
// Seed s4's computed flags over the canonical statuses: in SQL for the summary, from the same lists in
// toSessionDto for rows.
const FLAGS_SQL: Record<keyof Omit<SessionFlagCounts, 'total'>, string> = {
  connected: `s.status = 'connected'`,
  disconnected: inList(DISCONNECTED_STATUSES),
  loading: inList(LOADING_STATUSES),
  needsQR: `s.status = 'qr' AND s.qr IS NOT NULL`,
  hasQR: `s.qr IS NOT NULL`,
  error: inList(ERROR_STATUSES),
};

/**
 * Sessions with their provider's default owner (`d`, migration SessionDefaultOwners) as `default_user_id`:
 * resolved at read time, so ingest never has to know about defaults.
 */
const SELECT_SESSIONS = 'SELECT s.*, d.user_id AS default_user_id';
const FROM_SESSIONS = 'FROM sessions s LEFT JOIN session_default_owners d ON d.provider = s.provider';

/** The SQL of sessions (table `sessions`, alias `s`) and their history (`session_events`). */
@Injectable()
export class SessionsRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * The WHERE clause of a session list (alias `s`): status (one or any of several), provider, owner (the
   * session's own `user_id`, or for a session without one its provider's default owner), and the sessions the
   * key may see.
   * @returns a clause to pass to {@link summary}, {@link page} or {@link listRecent}.
   */
  filters(q: SessionFilters, key?: AuthenticatedKey): SqlWhere {
    const where = new SqlWhere();
    if (q.status) where.add('s.status = ANY(?::text[])', Array.isArray(q.status) ? q.status : [q.status]);
    if (q.provider) where.add('s.provider = ?', q.provider);
    if (q.userId)
      where.add(
        '(s.user_id = ? OR (s.user_id IS NULL AND s.provider IN (SELECT o.provider FROM session_default_owners o WHERE o.user_id = ?)))',
        q.userId,
        q.userId,
      );
    if (key?.sessionIds) where.add('s.id = ANY(?::uuid[])', key.sessionIds);
    return where;
  }

  /**
   * @returns per computed flag, the number of sessions `where` selects that have it, and their total (integers).
   * @throws the database's error.
   */
  async summary(where: SqlWhere): Promise<SessionFlagCounts> {
    const cols = Object.entries(FLAGS_SQL).map(([k, cond]) => `count(*) FILTER (WHERE ${cond})::int AS "${k}"`);
    const [row] = (await this.db.query(
      `SELECT ${cols.join(', ')}, count(*)::int AS total FROM sessions s ${where}`,
      where.params,
    )) as SessionFlagCounts[];
    return row;
  }

  /**
   * One page of the sessions `where` selects, most recently updated first (keyset pagination, see keysetPage).
   * Adds the cursor condition to `where`: run {@link summary} on it first.
   * @returns the page with its rows and counts.
   * @throws AppError 400 for a cursor that is not ours; the database's error.
   */
  page(where: SqlWhere, q: PageQueryDto): Promise<Page<SessionRow>> {
    return keysetPage(this.db, {
      select: SELECT_SESSIONS,
      from: FROM_SESSIONS,
      where,
      query: q,
      sortAt: 's.updated_at',
      id: 's.id',
      idType: 'uuid',
      sortValue: (r) => r.updated_at,
      map: (r) => r as unknown as SessionRow,
    });
  }

  /**
   * @param visibleIds the only sessions the caller may see (an API key's `sessionIds`); null/undefined for all.
   * @returns the session, or null when it does not exist or is not visible.
   * @throws the database's error (e.g. an `id` that is not a uuid: check it first).
   */
  async findOne(ref: SessionRef, visibleIds?: readonly string[] | null): Promise<SessionRow | null> {
    const where = new SqlWhere();
    if ('provider' in ref) where.add('s.provider = ? AND s.external_id = ?', ref.provider, ref.externalId);
    else where.add('s.id = ?', ref.id);
    if (visibleIds) where.add('s.id = ANY(?::uuid[])', visibleIds);
    const rows = (await this.db.query(`${SELECT_SESSIONS} ${FROM_SESSIONS} ${where}`, where.params)) as SessionRow[];
    return rows[0] ?? null;
  }

  /**
   * A session by the provider's session id alone: wwebjs first when several providers use the same id, then the
   * oldest.
   * @param visibleIds as for {@link findOne}.
   * @returns the session, or null when none is visible.
   * @throws the database's error.
   */
  async findByExternalId(externalId: string, visibleIds?: readonly string[] | null): Promise<SessionRow | null> {
    const where = new SqlWhere().add('s.external_id = ?', externalId);
    if (visibleIds) where.add('s.id = ANY(?::uuid[])', visibleIds);
    const rows = (await this.db.query(
      `${SELECT_SESSIONS} ${FROM_SESSIONS} ${where} ORDER BY (s.provider = 'wwebjs') DESC, s.created_at LIMIT 1`,
      where.params,
    )) as SessionRow[];
    return rows[0] ?? null;
  }

  /**
   * The sessions of `provider` known by any of a number's identifiers: a provider id in `externalIds`, or
   * `displayNumber` as their number (a provider whose payloads carry one or the other, e.g. Wablas' deviceId and
   * device number). Those whose provider id matches first, then the oldest; at most 10.
   * @throws the database's error.
   */
  async findByIdentifiers(provider: string, externalIds: readonly string[], displayNumber: string | null): Promise<SessionRow[]> {
    return (await this.db.query(
      `SELECT s.* FROM sessions s WHERE s.provider = $1 AND (s.external_id = ANY($2::text[]) OR s.display_number = $3)
       ORDER BY (s.external_id = ANY($2::text[])) DESC, s.created_at, s.id LIMIT 10`,
      [provider, externalIds, displayNumber],
    )) as SessionRow[];
  }

  /**
   * @returns the sessions `where` selects, most recently updated first, at most 1,000.
   * @throws the database's error.
   */
  async listRecent(where: SqlWhere): Promise<SessionRow[]> {
    return (await this.db.query(
      `${SELECT_SESSIONS} ${FROM_SESSIONS} ${where} ORDER BY s.updated_at DESC, s.id DESC LIMIT 1000`,
      where.params,
    )) as SessionRow[];
  }

  /**
   * One page of a session's recorded events and status transitions, newest first (keyset pagination).
   * @returns the page with its rows and counts.
   * @throws AppError 400 for a cursor that is not ours; the database's error.
   */
  eventsPage(sessionId: string, q: PageQueryDto): Promise<Page<SessionEventRow>> {
    return keysetPage(this.db, {
      select: 'SELECT e.*',
      from: 'FROM session_events e',
      where: new SqlWhere().add('e.session_id = ?', sessionId),
      query: q,
      sortAt: 'e.occurred_at',
      id: 'e.id',
      idType: 'bigint',
      sortValue: (r) => r.occurred_at,
      map: (r) => r as unknown as SessionEventRow,
    });
  }

  /**
   * Sets the session's owner (seed s4's `userId`; null clears it) and bumps `updated_at`.
   * @returns nothing; an unknown id changes nothing.
   * @throws the database's error.
   */
  async setOwner(id: string, userId: string | null): Promise<void> {
    await this.db.query(`UPDATE sessions SET user_id = $1, updated_at = now() WHERE id = $2`, [userId, id]);
  }

  /**
   * Sets (or with null clears) the session's sending credentials and releases a queue held for refused ones:
   * `send_held` false and, when it was held in status `error`, status `releasedStatus`.
   * @param releasedStatus the status after a release: `connected` for sessions connected by traffic, else `unknown`.
   * @returns nothing; an unknown id changes nothing.
   * @throws the database's error.
   */
  async setCredentials(id: string, credentials: Record<string, unknown> | null, releasedStatus: string): Promise<void> {
    await this.db.query(
      `UPDATE sessions SET credentials = $1, send_held = false, updated_at = now(),
         status = CASE WHEN send_held AND status = 'error' THEN $3 ELSE status END
       WHERE id = $2`,
      [credentials === null ? null : JSON.stringify(credentials), id, releasedStatus],
    );
  }

  /**
   * Creates a session wa-hub runs itself (status `connecting` until its connection reports).
   * @returns the new row, or null when `(provider, externalId)` exists already.
   * @throws the database's error.
   */
  async create(provider: string, externalId: string, userId: string | null): Promise<SessionRow | null> {
    const rows = (await this.db.query(
      `INSERT INTO sessions (provider, external_id, status, user_id) VALUES ($1, $2, 'connecting', $3)
       ON CONFLICT (provider, external_id) DO NOTHING RETURNING *`,
      [provider, externalId, userId],
    )) as SessionRow[];
    return rows[0] ?? null;
  }

  /**
   * Records a status change the API caused (start, stop, logout) in the session and its history.
   * @returns nothing; an unknown id changes nothing. @throws the database's error.
   */
  async recordStatus(id: string, event: string, status: string, message: string, clearQr: boolean): Promise<void> {
    await this.db.query(
      `WITH prev AS (SELECT id, status FROM sessions WHERE id = $1),
       upd AS (UPDATE sessions SET status = $3, status_message = $4, updated_at = now(),
                 qr = CASE WHEN $5 THEN NULL ELSE qr END, qr_at = CASE WHEN $5 THEN NULL ELSE qr_at END
               WHERE id = $1)
       , hist AS (INSERT INTO session_events (session_id, event, from_status, to_status, message, occurred_at)
               SELECT id, $2, status, $3, $4, now() FROM prev)
       INSERT INTO events (type, session_id, data)
       SELECT 'session.status', id, jsonb_build_object('event', $2::text, 'from', status, 'status', $3::text, 'message', $4::text, 'at', now())
       FROM prev WHERE status IS DISTINCT FROM $3`,
      [id, event, status, message, clearQr],
    );
  }

  /** Deletes a session and (by cascade) its messages, conversations, history and auth state. */
  async delete(id: string): Promise<void> {
    await this.db.query(`DELETE FROM sessions WHERE id = $1`, [id]);
  }
}
