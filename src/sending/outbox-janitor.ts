import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { PeriodicTask } from '../common/periodic-task';
import { IDEMPOTENCY_TTL_HOURS } from './sending.service';

/** How often expired bookkeeping rows are deleted (ms). */
export const SWEEP_EVERY_MS = 60 * 60_000;
/** Finished outbox jobs are kept this long (days) for inspection; the message row keeps the outcome for good. */
export const DONE_JOB_RETENTION_DAYS = 7;
/** Rows deleted per statement, so a sweep never holds long locks. */
const SWEEP_BATCH = 5000;

/**
 * Keeps the sending tables from growing without bound: `Idempotency-Key` rows older than their 24 h window, and
 * outbox jobs finished (`done` or `failed`) more than {@link DONE_JOB_RETENTION_DAYS} days ago. Pending jobs are
 * never touched. At start-up and every {@link SWEEP_EVERY_MS}; a failure is logged and tried again next time.
 */
@Injectable()
export class OutboxJanitor extends PeriodicTask {
  protected readonly everyMs = SWEEP_EVERY_MS;

  constructor(@InjectDataSource() private readonly db: DataSource) {
    super();
  }

  protected run(): Promise<unknown> {
    return this.sweep();
  }

  /**
   * @returns rows deleted from each table.
   * @throws the database's error.
   */
  async sweep(): Promise<{ idempotencyKeys: number; jobs: number }> {
    const idempotencyKeys = await this.deleteAll(
      `DELETE FROM idempotency_keys WHERE ctid IN (SELECT ctid FROM idempotency_keys WHERE created_at < now() - make_interval(hours => $1) LIMIT ${SWEEP_BATCH})`,
      [IDEMPOTENCY_TTL_HOURS],
    );
    const jobs = await this.deleteAll(
      `DELETE FROM outbox_jobs WHERE id IN (SELECT id FROM outbox_jobs WHERE state IN ('done', 'failed') AND updated_at < now() - make_interval(days => $1) LIMIT ${SWEEP_BATCH})`,
      [DONE_JOB_RETENTION_DAYS],
    );
    return { idempotencyKeys, jobs };
  }

  private async deleteAll(sql: string, params: unknown[]): Promise<number> {
    let total = 0;
    for (;;) {
      if (!this.db.isInitialized) return total;
      // TypeORM answers a DELETE with [rows, affected count].
      const [, n] = (await this.db.query(sql, params)) as [unknown, number];
      total += n;
      if (n < SWEEP_BATCH) return total;
    }
  }
}
