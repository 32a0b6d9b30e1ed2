import { Injectable } from '@nestjs/common';
import { PeriodicTask } from '../common/periodic-task';
import { AdvisoryLocks } from '../database/advisory-locks';
import { StatsRepository } from './stats.repository';

/** How often past days' roll-up shards are folded together (ms). */
export const COMPACT_EVERY_MS = 10 * 60_000;

/**
 * Runs `wa_stats_compact()` at start-up and every {@link COMPACT_EVERY_MS}: the roll-ups of days before today are
 * folded from their 8 write shards into one row per key, so overall totals read a few rows per day. Compaction
 * changes no figure; a failure is logged and tried again next time.
 */
@Injectable()
export class StatsCompactor extends PeriodicTask {
  protected readonly everyMs = COMPACT_EVERY_MS;

  constructor(
    private readonly repo: StatsRepository,
    protected override readonly exclusive: AdvisoryLocks,
  ) {
    super();
  }

  protected run(): Promise<void> {
    return this.compact();
  }

  /** @throws the database's error. */
  compact(): Promise<void> {
    return this.repo.compact();
  }
}
