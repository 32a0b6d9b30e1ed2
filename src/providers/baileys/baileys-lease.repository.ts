import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

/**
 * Proof that a process holds a Baileys session's lease: every auth-state write carries it and is refused
 * (LeaseLostError) once another owner took the session over.
 */
export interface Fence {
  /** The lease owner, e.g. `host:pid:random` (at most 64 characters); unique per running process. */
  owner: string;
  /** `baileys_sessions.lease_token` (a bigint) as decimal text. */
  token: string;
}

/** A {@link Fence} with the session it is for. */
export interface SessionFence extends Fence {
  /** sessions.id (uuid). */
  sessionId: string;
}

/** `RETURNING` row of the lease statements. */
interface LeaseRow {
  lease_owner: string;
  /** bigint as text */
  lease_token: string;
}

/**
 * The leases of `baileys_sessions`: whether a Baileys session should run (`wanted`) and which process runs it
 * (`lease_owner` until `lease_until`, fencing token `lease_token`). All times are the database's `now()`, never the
 * process clock; durations are in seconds (fractions allowed). Every method throws the database's error as is.
 *
 * Token rule: acquiring a lease that is free (never held, released) or held/expired by another owner increments
 * `lease_token`; re-acquiring one's own lease (live or expired but not taken by anyone since) keeps it. So a fence is
 * valid exactly while nobody else held the session since it was issued.
 */
@Injectable()
export class BaileysLeaseRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * Creates the session's `baileys_sessions` row (wanted, no lease, no creds) if it is missing; an existing row is
   * left as it is.
   * @throws the database's error, e.g. a foreign-key violation when `sessionId` is not in `sessions`.
   */
  async ensure(sessionId: string): Promise<void> {
    await this.db.query(`INSERT INTO baileys_sessions (session_id) VALUES ($1) ON CONFLICT (session_id) DO NOTHING`, [sessionId]);
  }

  /**
   * Marks the session to run (`true`, start) or not (`false`, stop), creating its row if missing. Does not touch the
   * lease: the owner sees `wanted = false` (see {@link wantedAndOwnedBy}) and releases it.
   */
  async setWanted(sessionId: string, wanted: boolean): Promise<void> {
    // A session deleted meanwhile (DELETE /v1/sessions/:id while its socket was closing) is left alone, not an error.
    await this.db.query(
      `INSERT INTO baileys_sessions (session_id, wanted) SELECT $1, $2 WHERE EXISTS (SELECT 1 FROM sessions WHERE id = $1)
       ON CONFLICT (session_id) DO UPDATE SET wanted = EXCLUDED.wanted, updated_at = now()`,
      [sessionId, wanted],
    );
  }

  /**
   * Takes the session's lease for `owner` for `leaseSeconds` when it is free, expired, or already `owner`'s (then it
   * is extended). Taking it from no owner or another owner increments the fencing token. One statement: of two
   * concurrent callers at most one wins.
   * @returns the fence, or null when another owner holds a live lease, the session is not wanted, or it has no
   *   `baileys_sessions` row (call {@link ensure} first).
   */
  async acquire(sessionId: string, owner: string, leaseSeconds: number): Promise<Fence | null> {
    const rows = (await this.db.query(
      `WITH a AS (
         UPDATE baileys_sessions
         SET lease_token = CASE WHEN lease_owner IS NOT DISTINCT FROM $2 THEN lease_token ELSE lease_token + 1 END,
             lease_owner = $2, lease_until = now() + make_interval(secs => $3::float8), updated_at = now()
         WHERE session_id = $1 AND wanted
           AND (lease_owner IS NULL OR lease_owner = $2 OR lease_until IS NULL OR lease_until <= now())
         RETURNING lease_owner, lease_token::text AS lease_token)
       SELECT * FROM a`,
      [sessionId, owner, leaseSeconds],
    )) as LeaseRow[];
    const row = rows[0];
    return row ? { owner: row.lease_owner, token: row.lease_token } : null;
  }

  /**
   * Extends the lease to `now() + leaseSeconds` if `fence` still holds it (same owner and token; a lease that expired
   * without anyone taking it over is renewed too, the token proves nobody else ran the session meanwhile).
   * Independent of `wanted`.
   * @returns false when the lease was lost (released, or taken over: the token changed): stop the session at once.
   */
  async renew(fence: SessionFence, leaseSeconds: number): Promise<boolean> {
    const rows = (await this.db.query(
      `WITH r AS (
         UPDATE baileys_sessions SET lease_until = now() + make_interval(secs => $4::float8), updated_at = now()
         WHERE session_id = $1 AND lease_owner = $2 AND lease_token = $3::bigint
         RETURNING 1)
       SELECT count(*)::int AS n FROM r`,
      [fence.sessionId, fence.owner, fence.token, leaseSeconds],
    )) as { n: number }[];
    return rows[0]?.n === 1;
  }

  /**
   * Gives the lease up (owner and expiry cleared, the token kept: the next acquisition increments it) if `fence`
   * still holds it.
   * @returns whether it was held (false: it had been taken over already; nothing changed).
   */
  async release(sessionId: string, fence: Fence): Promise<boolean> {
    const rows = (await this.db.query(
      `WITH r AS (
         UPDATE baileys_sessions SET lease_owner = NULL, lease_until = NULL, updated_at = now()
         WHERE session_id = $1 AND lease_owner = $2 AND lease_token = $3::bigint
         RETURNING 1)
       SELECT count(*)::int AS n FROM r`,
      [sessionId, fence.owner, fence.token],
    )) as { n: number }[];
    return rows[0]?.n === 1;
  }

  /**
   * Wanted sessions `owner` could {@link acquire} now: lease free, expired, or `owner`'s own. Free ones first, then
   * by longest expired. A hint for a periodic claimer (another process may win the acquire).
   * @param limit at most this many session ids.
   * @returns session ids (uuid).
   */
  async claimable(owner: string, limit: number): Promise<string[]> {
    const rows = (await this.db.query(
      `SELECT session_id FROM baileys_sessions
       WHERE wanted AND (lease_owner IS NULL OR lease_owner = $1 OR lease_until IS NULL OR lease_until <= now())
       ORDER BY lease_until NULLS FIRST, session_id
       LIMIT $2`,
      [owner, limit],
    )) as { session_id: string }[];
    return rows.map((r) => r.session_id);
  }

  /**
   * Sessions whose lease `owner` holds (live or expired, not taken over) and that are still wanted: a running
   * session missing from this list was stopped (release it) or taken over (drop it).
   * @returns session ids (uuid).
   */
  async wantedAndOwnedBy(owner: string): Promise<string[]> {
    const rows = (await this.db.query(`SELECT session_id FROM baileys_sessions WHERE wanted AND lease_owner = $1 ORDER BY session_id`, [
      owner,
    ])) as { session_id: string }[];
    return rows.map((r) => r.session_id);
  }

  /**
   * The provider's id (`sessions.external_id`) of a Baileys session, for the envelopes the engine hands to ingest.
   * @returns null when the session does not exist (deleted).
   */
  async externalIdOf(sessionId: string): Promise<string | null> {
    const rows = (await this.db.query(`SELECT external_id FROM sessions WHERE id = $1`, [sessionId])) as { external_id: string }[];
    return rows[0]?.external_id ?? null;
  }
}
