import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

/**
 * A `session_default_owners` row (migration SessionDefaultOwners) with `sessions`: how many of the provider's
 * sessions have no owner of their own and so are owned by it (integer).
 */
export interface SessionDefaultRow {
  provider: string;
  user_id: string;
  created_at: Date;
  updated_at: Date;
  sessions: number;
}

const SELECT_DEFAULT = `SELECT d.*, (SELECT count(*)::int FROM sessions s WHERE s.provider = d.provider AND s.user_id IS NULL) AS sessions`;

/** The SQL of the default owner per provider (table `session_default_owners`, alias `d`). */
@Injectable()
export class SessionDefaultsRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * @returns every provider's default owner, by provider name.
   * @throws the database's error.
   */
  async list(): Promise<SessionDefaultRow[]> {
    return (await this.db.query(`${SELECT_DEFAULT} FROM session_default_owners d ORDER BY d.provider`)) as SessionDefaultRow[];
  }

  /**
   * @returns the provider's default owner, or null when it has none.
   * @throws the database's error.
   */
  async find(provider: string): Promise<SessionDefaultRow | null> {
    const rows = (await this.db.query(`${SELECT_DEFAULT} FROM session_default_owners d WHERE d.provider = $1`, [
      provider,
    ])) as SessionDefaultRow[];
    return rows[0] ?? null;
  }

  /**
   * Sets the provider's default owner (insert, or replace keeping `created_at`; `updated_at` now).
   * @returns the row as {@link find} reads it, and whether it replaced one (`previous`: the owner it replaced).
   * @throws the database's error.
   */
  async upsert(provider: string, userId: string): Promise<{ row: SessionDefaultRow; previous: string | null }> {
    const [prev] = (await this.db.query(
      `WITH prev AS (SELECT user_id FROM session_default_owners WHERE provider = $1 FOR UPDATE),
       up AS (INSERT INTO session_default_owners (provider, user_id) VALUES ($1, $2)
              ON CONFLICT (provider) DO UPDATE SET user_id = EXCLUDED.user_id, updated_at = now())
       SELECT (SELECT user_id FROM prev) AS previous`,
      [provider, userId],
    )) as { previous: string | null }[];
    return { row: (await this.find(provider))!, previous: prev?.previous ?? null };
  }

  /**
   * Removes the provider's default owner.
   * @returns the removed row (with its `sessions` count before the removal), or null when there was none.
   * @throws the database's error.
   */
  async delete(provider: string): Promise<SessionDefaultRow | null> {
    // A SELECT over the DELETE: TypeORM answers a bare DELETE ... RETURNING as [rows, count].
    const rows = (await this.db.query(
      `WITH removed AS (DELETE FROM session_default_owners WHERE provider = $1 RETURNING *)
       ${SELECT_DEFAULT} FROM removed d`,
      [provider],
    )) as SessionDefaultRow[];
    return rows[0] ?? null;
  }
}
