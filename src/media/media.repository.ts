import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { AuthenticatedKey } from '../auth/api-keys.service';
import { SqlWhere } from '../common/sql-where';
import type { SessionCredentials } from '../domain/message-sender';
import { scopeToKey } from '../messages/messages.repository';

export type MediaState = 'pending' | 'stored' | 'failed' | 'deleted';

/** A `media` row (migration Media1764633600000); `message_id` as decimal text, `size` as a number. */
export interface MediaRow {
  id: string;
  message_id: string | null;
  session_id: string | null;
  state: MediaState;
  attempts: number;
  next_attempt_at: Date;
  error_code: string | null;
  error: string | null;
  storage: string | null;
  object_key: string | null;
  mime_type: string | null;
  declared_mime_type: string | null;
  size: number | null;
  /** Hex SHA-256 of the stored bytes. */
  sha256: string | null;
  filename: string | null;
  created_at: Date;
  stored_at: Date | null;
}

/** A claimed download with what the fetcher needs: its message and session. */
export interface ClaimedMedia {
  id: string;
  message_id: string;
  /** Attempts including this one. */
  attempts: number;
  created_at: Date;
  external_id: string | null;
  type: string;
  media: Record<string, unknown> | null;
  payload: Record<string, unknown> | null;
  raw: unknown;
  session_id: string;
  provider: string;
  session_external_id: string;
  credentials: SessionCredentials | null;
}

/** A media row with its message's type and caption, for serving. */
export interface ServedMediaRow extends MediaRow {
  message_type: string;
  caption: string | null;
}

/** What a stored download recorded. */
export interface StoredMedia {
  storage: string;
  objectKey: string;
  mimeType: string | null;
  declaredMimeType: string | null;
  size: number;
  sha256: string;
  filename: string | null;
}

const COLUMNS = `md.id, md.message_id::text, md.session_id, md.state, md.attempts, md.next_attempt_at, md.error_code, md.error,
  md.storage, md.object_key, md.mime_type, md.declared_mime_type, md.size::float8 AS size, md.sha256, md.filename, md.created_at,
  md.stored_at`;

/**
 * The SQL of media: download claims under a lease (`FOR UPDATE SKIP LOCKED`), outcomes fenced by the claimer's id,
 * the bytes providers delivered in webhooks (`message_media`), the postgres driver's chunks, the trash of deleted
 * objects, retention and the URL-signing secret. Times come from the caller (the injected clock), never `now()`,
 * so tests can move them. Every method throws the database's error.
 */
@Injectable()
export class MediaRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * Claims up to `limit` due pending downloads (due at `now`, unleased or with an expired lease), oldest due first,
   * skipping rows other workers hold: each gets a lease until `now + leaseSeconds` for `workerId` and one more
   * attempt counted (a process that dies mid-download has used its attempt).
   */
  async claim(limit: number, leaseSeconds: number, workerId: string, now: Date): Promise<ClaimedMedia[]> {
    return (await this.db.query(
      `WITH due AS (
         SELECT id FROM media WHERE state = 'pending' AND next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until < $1)
           AND message_id IS NOT NULL
         ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED
       ), claimed AS (
         UPDATE media md SET lease_until = $1::timestamptz + make_interval(secs => $3), locked_by = $4, attempts = md.attempts + 1
         FROM due WHERE md.id = due.id RETURNING md.id, md.message_id, md.attempts, md.created_at
       )
       SELECT c.id, c.message_id::text, c.attempts, c.created_at, m.external_id, m.type, m.media, m.payload, m.raw,
         m.session_id, s.provider, s.external_id AS session_external_id, s.credentials
       FROM claimed c JOIN messages m ON m.id = c.message_id JOIN sessions s ON s.id = m.session_id`,
      [now, limit, leaseSeconds, workerId],
    )) as ClaimedMedia[];
  }

  /** The bytes a provider delivered in a webhook for the message `externalId` of `sessionId` (wwebjs), or null. */
  async delivered(
    sessionId: string,
    externalId: string,
  ): Promise<{ data: Buffer; mime_type: string | null; filename: string | null } | null> {
    const [row] = (await this.db.query(`SELECT data, mime_type, filename FROM message_media WHERE session_id = $1 AND external_id = $2`, [
      sessionId,
      externalId,
    ])) as { data: Buffer | Uint8Array; mime_type: string | null; filename: string | null }[];
    return row ? { ...row, data: Buffer.from(row.data) } : null;
  }

  /**
   * Records a stored download `workerId` holds, and deletes the webhook-delivered bytes it was moved from (when
   * `movedFrom`), in one transaction. @returns false (nothing written) when the lease went to another worker.
   */
  async markStored(
    id: string,
    workerId: string,
    s: StoredMedia,
    now: Date,
    movedFrom?: { sessionId: string; externalId: string },
  ): Promise<boolean> {
    return this.db.transaction(async (m) => {
      const rows = (await m.query(
        `WITH u AS (UPDATE media SET state = 'stored', storage = $3, object_key = $4, mime_type = $5, declared_mime_type = $6, size = $7,
           sha256 = $8, filename = $9, stored_at = $10, error = NULL, error_code = NULL, lease_until = NULL, locked_by = NULL
         WHERE id = $1 AND locked_by = $2 AND state = 'pending' RETURNING 1) SELECT count(*)::int AS n FROM u`,
        [id, workerId, s.storage, s.objectKey, s.mimeType, s.declaredMimeType, s.size, s.sha256, s.filename, now],
      )) as { n: number }[];
      if (rows[0].n === 0) return false;
      if (movedFrom)
        await m.query(`DELETE FROM message_media WHERE session_id = $1 AND external_id = $2`, [movedFrom.sessionId, movedFrom.externalId]);
      return true;
    });
  }

  /**
   * Gives a download `workerId` holds back: due again at `retryAt` (pending), or, with `retryAt` null, `failed`.
   * The reason is kept either way. @returns false when the lease went to another worker.
   */
  async markUnfinished(id: string, workerId: string, code: string, error: string, retryAt: Date | null): Promise<boolean> {
    const rows = (await this.db.query(
      `WITH u AS (UPDATE media SET state = CASE WHEN $5::timestamptz IS NULL THEN 'failed' ELSE 'pending' END,
         next_attempt_at = COALESCE($5::timestamptz, next_attempt_at), error_code = $3, error = $4, lease_until = NULL, locked_by = NULL
       WHERE id = $1 AND locked_by = $2 AND state = 'pending' RETURNING 1) SELECT count(*)::int AS n FROM u`,
      [id, workerId, code.slice(0, 64), error.replace(/\u0000/g, '\uFFFD').slice(0, 2000), retryAt],
    )) as { n: number }[];
    return rows[0].n > 0;
  }

  /**
   * Makes a message's media due again at `now` (pending, attempts from zero), unless it is stored.
   * @returns the row, or null when the message has no media the key may see.
   */
  async retry(messageId: string, now: Date, key?: AuthenticatedKey): Promise<MediaRow | null> {
    const where = new SqlWhere().add('md.message_id = ?::bigint', messageId).add(`md.state IN ('failed', 'pending')`);
    scopeToKey(where, key, 'md.session_id');
    const [row] = (await this.db.query(
      `WITH u AS (UPDATE media md SET state = 'pending', attempts = 0, next_attempt_at = ${where.param(now)}, lease_until = NULL,
         locked_by = NULL ${where} RETURNING ${COLUMNS}) SELECT * FROM u`,
      where.params,
    )) as MediaRow[];
    return row ?? null;
  }

  /** The media of message `messageId` (decimal text) with its message's type and caption, if `key` may see it. */
  async forMessage(messageId: string, key?: AuthenticatedKey): Promise<ServedMediaRow | null> {
    const where = new SqlWhere().add('md.message_id = ?::bigint', messageId);
    scopeToKey(where, key, 'm.session_id');
    const [row] = (await this.db.query(
      `SELECT ${COLUMNS}, m.type AS message_type, m.caption FROM media md JOIN messages m ON m.id = md.message_id ${where}`,
      where.params,
    )) as ServedMediaRow[];
    return row ?? null;
  }

  /** Whether message `messageId` exists and `key` may see it. */
  async messageVisible(messageId: string, key?: AuthenticatedKey): Promise<boolean> {
    const where = new SqlWhere().add('m.id = ?::bigint', messageId);
    scopeToKey(where, key);
    return ((await this.db.query(`SELECT 1 FROM messages m ${where}`, where.params)) as unknown[]).length > 0;
  }

  /** One media row by its id (a uuid), with its message's type and caption. */
  async byId(id: string): Promise<ServedMediaRow | null> {
    const [row] = (await this.db.query(
      `SELECT ${COLUMNS}, m.type AS message_type, m.caption FROM media md LEFT JOIN messages m ON m.id = md.message_id WHERE md.id = $1`,
      [id],
    )) as ServedMediaRow[];
    return row ?? null;
  }

  /**
   * Records an uploaded file (POST /v1/media): a `media` row without a message, `stored` from the start (the download
   * worker only claims `pending` rows; retention treats it like any stored file).
   */
  async insertUpload(id: string, s: StoredMedia, now: Date): Promise<MediaRow> {
    const [row] = (await this.db.query(
      `INSERT INTO media AS md (id, state, storage, object_key, mime_type, declared_mime_type, size, sha256, filename, created_at, stored_at, next_attempt_at)
       VALUES ($1, 'stored', $2, $3, $4, $5, $6, $7, $8, $9, $9, $9) RETURNING ${COLUMNS}`,
      [id, s.storage, s.objectKey, s.mimeType, s.declaredMimeType, s.size, s.sha256, s.filename, now],
    )) as MediaRow[];
    return row;
  }

  /** An uploaded file (a media row without a message) by id, in any state; null for an unknown id or a message's media. */
  async upload(id: string): Promise<ServedMediaRow | null> {
    const [row] = (await this.db.query(
      `SELECT ${COLUMNS}, 'upload' AS message_type, NULL::text AS caption FROM media md WHERE md.id = $1 AND md.message_id IS NULL`,
      [id],
    )) as ServedMediaRow[];
    return row ?? null;
  }

  /** The media ids (uuid) of `messageIds`, stored ones only: `message_id → media id`. */
  async storedIdsOf(messageIds: string[]): Promise<Map<string, string>> {
    if (messageIds.length === 0) return new Map();
    const rows = (await this.db.query(
      `SELECT message_id::text AS message_id, id FROM media WHERE message_id = ANY($1::bigint[]) AND state = 'stored'`,
      [messageIds],
    )) as { message_id: string; id: string }[];
    return new Map(rows.map((r) => [r.message_id, r.id]));
  }

  // ---- postgres driver ------------------------------------------------------------------------------------------

  async putChunk(key: string, seq: number, data: Buffer): Promise<void> {
    await this.db.query(
      `INSERT INTO media_chunks (object_key, seq, data) VALUES ($1, $2, $3) ON CONFLICT (object_key, seq) DO UPDATE SET data = EXCLUDED.data`,
      [key, seq, data],
    );
  }

  /** Chunk `seq` of `key`, or null past its end. */
  async chunk(key: string, seq: number): Promise<Buffer | null> {
    const [row] = (await this.db.query(`SELECT data FROM media_chunks WHERE object_key = $1 AND seq = $2`, [key, seq])) as {
      data: Buffer | Uint8Array;
    }[];
    return row ? Buffer.from(row.data.buffer, row.data.byteOffset, row.data.byteLength) : null;
  }

  async deleteChunks(key: string): Promise<void> {
    await this.db.query(`DELETE FROM media_chunks WHERE object_key = $1`, [key]);
  }

  // ---- trash and retention -----------------------------------------------------------------------------------------

  /**
   * Up to `limit` objects whose media rows are gone, oldest first. Not locked: two workers may both delete one
   * object, which is harmless (deletes are idempotent), and no transaction stays open while a store is called (on
   * the embedded database that would block every other query).
   */
  async trash(limit: number): Promise<{ id: string; storage: string; object_key: string }[]> {
    return (await this.db.query(`SELECT id::text, storage, object_key FROM media_trash ORDER BY id LIMIT $1`, [limit])) as {
      id: string;
      storage: string;
      object_key: string;
    }[];
  }

  /** Forgets trash rows whose objects were deleted. */
  async clearTrash(ids: string[]): Promise<void> {
    if (ids.length) await this.db.query(`DELETE FROM media_trash WHERE id = ANY($1::bigint[])`, [ids]);
  }

  /**
   * Retention: up to `limit` stored items that arrived before `cutoff` become `deleted` (at `now`) and their objects
   * go to the trash, in one statement. @returns how many.
   */
  async expire(cutoff: Date, now: Date, limit: number): Promise<number> {
    const [row] = (await this.db.query(
      `WITH old AS (
         SELECT id, storage, object_key FROM media WHERE state = 'stored' AND created_at < $1 ORDER BY created_at LIMIT $3 FOR UPDATE SKIP LOCKED
       ), t AS (
         INSERT INTO media_trash (storage, object_key) SELECT storage, object_key FROM old WHERE object_key IS NOT NULL
       ), u AS (
         UPDATE media md SET state = 'deleted', deleted_at = $2, storage = NULL, object_key = NULL FROM old WHERE md.id = old.id RETURNING 1
       ) SELECT count(*)::int AS n FROM u`,
      [cutoff, now, limit],
    )) as { n: number }[];
    return row.n;
  }

  /** The signing secret kept in the database, created (from `candidate`) by the first process that asks. */
  async urlSecret(candidate: string): Promise<string> {
    await this.db.query(`INSERT INTO media_url_secret (id, secret) VALUES (1, $1) ON CONFLICT (id) DO NOTHING`, [candidate]);
    const [row] = (await this.db.query(`SELECT secret FROM media_url_secret WHERE id = 1`)) as { secret: string }[];
    return row.secret;
  }
}
