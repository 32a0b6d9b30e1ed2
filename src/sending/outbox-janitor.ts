import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
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
export class OutboxJanitor implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly log = new Logger(OutboxJanitor.name);
  private timer?: NodeJS.Timeout;

  constructor(@InjectDataSource() private readonly db: DataSource) {}

  onApplicationBootstrap(): void {
    void this.sweep();
    this.timer = setInterval(() => void this.sweep(), SWEEP_EVERY_MS).unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /** @returns rows deleted from each table (0s after a failure, which is logged). */
  async sweep(): Promise<{ idempotencyKeys: number; jobs: number }> {
    try {
      const idempotencyKeys = await this.deleteAll(
        `DELETE FROM idempotency_keys WHERE ctid IN (SELECT ctid FROM idempotency_keys WHERE created_at < now() - make_interval(hours => $1) LIMIT ${SWEEP_BATCH})`,
        [IDEMPOTENCY_TTL_HOURS],
      );
      const jobs = await this.deleteAll(
        `DELETE FROM outbox_jobs WHERE id IN (SELECT id FROM outbox_jobs WHERE state IN ('done', 'failed') AND updated_at < now() - make_interval(days => $1) LIMIT ${SWEEP_BATCH})`,
        [DONE_JOB_RETENTION_DAYS],
      );
      return { idempotencyKeys, jobs };
    } catch (err) {
      this.log.warn(`outbox sweep failed: ${(err as Error).message}`);
      return { idempotencyKeys: 0, jobs: 0 };
    }
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
