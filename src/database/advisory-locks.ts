import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/app-config';

/**
 * PostgreSQL advisory locks, so that work every process schedules (housekeeping) runs in one process at a time.
 * On the embedded database there is one process (and one connection), so the work just runs.
 */
@Injectable()
export class AdvisoryLocks {
  constructor(
    private readonly db: DataSource,
    private readonly config: AppConfig,
  ) {}

  /**
   * Runs `fn` while holding the advisory lock `name` (a session lock on a connection of its own, released after
   * `fn`), unless another process holds it: then `fn` does not run.
   * @returns whether `fn` ran. @throws what `fn` throws, or the database's error.
   */
  async runExclusive(name: string, fn: () => Promise<unknown>): Promise<boolean> {
    if (!this.config.DATABASE_URL) {
      await fn();
      return true;
    }
    const runner = this.db.createQueryRunner();
    try {
      const [{ locked }]: { locked: boolean }[] = await runner.query(`SELECT pg_try_advisory_lock(hashtext($1)) AS locked`, [name]);
      if (!locked) return false;
      try {
        await fn();
        return true;
      } finally {
        await runner.query(`SELECT pg_advisory_unlock(hashtext($1))`, [name]);
      }
    } finally {
      await runner.release();
    }
  }
}
