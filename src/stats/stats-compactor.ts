import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

/** How often past days' roll-up shards are folded together (ms). */
export const COMPACT_EVERY_MS = 10 * 60_000;

/**
 * Runs `wa_stats_compact()` at start-up and every {@link COMPACT_EVERY_MS}: the roll-ups of days before today are
 * folded from their 8 write shards into one row per key, so overall totals read a few rows per day. Compaction
 * changes no figure; a failure is logged and tried again next time.
 */
@Injectable()
export class StatsCompactor implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly log = new Logger(StatsCompactor.name);
  private timer?: NodeJS.Timeout;

  constructor(@InjectDataSource() private readonly db: DataSource) {}

  onApplicationBootstrap(): void {
    void this.compact();
    this.timer = setInterval(() => void this.compact(), COMPACT_EVERY_MS).unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  async compact(): Promise<void> {
    try {
      if (this.db.isInitialized) await this.db.query('SELECT wa_stats_compact()');
    } catch (err) {
      this.log.warn(`stats compaction failed: ${(err as Error).message}`);
    }
  }
}
