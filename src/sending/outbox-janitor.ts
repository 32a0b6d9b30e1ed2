import { Injectable } from '@nestjs/common';
import { PeriodicTask } from '../common/periodic-task';
import { AdvisoryLocks } from '../database/advisory-locks';
import { OutboxRepository } from './outbox.repository';
import { IDEMPOTENCY_TTL_HOURS } from './sending.service';

/** How often expired bookkeeping rows are deleted (ms). */
export const SWEEP_EVERY_MS = 60 * 60_000;
/** Finished outbox jobs are kept this long (days) for inspection; the message row keeps the outcome for good. */
export const DONE_JOB_RETENTION_DAYS = 7;

/**
 * Keeps the sending tables from growing without bound: `Idempotency-Key` rows older than their 24 h window, and
 * outbox jobs finished (`done` or `failed`) more than {@link DONE_JOB_RETENTION_DAYS} days ago. Pending jobs are
 * never touched. At start-up and every {@link SWEEP_EVERY_MS}, in one process at a time; a failure is logged and tried again next time.
 * Deletes in batches (OutboxRepository), so a sweep never holds long locks.
 */
@Injectable()
export class OutboxJanitor extends PeriodicTask {
  protected readonly everyMs = SWEEP_EVERY_MS;

  constructor(
    private readonly outbox: OutboxRepository,
    protected override readonly exclusive: AdvisoryLocks,
  ) {
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
    const idempotencyKeys = await this.outbox.deleteExpiredIdempotencyKeys(IDEMPOTENCY_TTL_HOURS);
    const jobs = await this.outbox.deleteFinishedJobs(DONE_JOB_RETENTION_DAYS);
    return { idempotencyKeys, jobs };
  }
}
