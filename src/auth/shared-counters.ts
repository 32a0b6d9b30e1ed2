import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import { AppConfig } from '../config/app-config';
import { SharedCountersStore } from './shared-counters.repository';

/** How often a process adds its hits to the shared totals and reads the others' back, in ms. */
const SYNC_MS = 200;

interface Entry {
  key: string;
  windowStart: number;
  windowEnd: number;
  /** Total of every process at the last sync (this process's synced hits included). */
  shared: number;
  /** This process's hits since the last sync. */
  pending: number;
  /** Pending hits being written by the sync in flight. */
  inFlight: number;
}

/**
 * Counters per key and fixed time window shared by every wa-hub process through a {@link SharedCountersStore}:
 * PostgreSQL's `rate_counters` by default, Redis when REDIS_URL is set (RedisCountersStore). A process counts
 * locally at once (exact within the process) and every 200 ms adds its hits to the shared totals in one round
 * trip, reading back what all processes counted. So a limit of N per minute holds across processes, overshooting
 * by at most what the others counted in the last 200 ms. While the store is away hits are kept and added at the
 * next sync that succeeds (never lost; if a sync fails halfway some may be counted twice). On the embedded
 * database without REDIS_URL (one process) the counts stay local. Used by the API rate limit
 * ({@link SharedThrottlerStorage}) and the failed-authentication limit (FailedAuthLimiter).
 */
@Injectable()
export class SharedCounters implements OnModuleInit, OnApplicationShutdown {
  private readonly log = new Logger(SharedCounters.name);
  private readonly entries = new Map<string, Entry>();
  private timer?: NodeJS.Timeout;
  private syncing?: Promise<void>;
  private lastPrune = 0;
  private readonly shared: boolean;

  constructor(
    config: AppConfig,
    private readonly repository: SharedCountersStore,
  ) {
    this.shared = Boolean(config.DATABASE_URL || config.REDIS_URL);
  }

  onModuleInit(): void {
    if (this.shared) this.timer = setInterval(() => void this.startSync(), SYNC_MS).unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.syncing;
    await this.repository.close();
  }

  /**
   * Counts `n` hits for `key` in the current `windowMs` window.
   * @returns the total of all processes (as of the last sync, plus this process's hits since) and the ms left in the window.
   */
  hit(key: string, windowMs: number, n = 1, now = Date.now()): { total: number; msLeft: number } {
    const e = this.entry(key, windowMs, now);
    e.pending += n;
    return { total: e.shared + e.inFlight + e.pending, msLeft: e.windowEnd - now };
  }

  /** The total for `key` in the current window without counting a hit. */
  peek(key: string, windowMs: number, now = Date.now()): { total: number; msLeft: number } {
    const e = this.entries.get(`${key}\u0000${windowStart(windowMs, now)}`);
    return e ? { total: e.shared + e.inFlight + e.pending, msLeft: e.windowEnd - now } : { total: 0, msLeft: windowMs - (now % windowMs) };
  }

  /**
   * One sync round that starts after the call (so it carries every hit counted before it): waits for a round in
   * flight, then runs another. For tests; the timer runs a round every 200 ms unless one is in flight.
   */
  async sync(): Promise<void> {
    if (!this.shared) return;
    while (this.syncing) await this.syncing;
    await this.startSync();
  }

  private startSync(): Promise<void> {
    this.syncing ??= this.syncOnce().finally(() => (this.syncing = undefined));
    return this.syncing;
  }

  private entry(key: string, windowMs: number, now: number): Entry {
    const start = windowStart(windowMs, now);
    const id = `${key}\u0000${start}`;
    let e = this.entries.get(id);
    if (!e) {
      e = { key, windowStart: start, windowEnd: start + windowMs, shared: 0, pending: 0, inFlight: 0 };
      this.entries.set(id, e);
    }
    return e;
  }

  private async syncOnce(): Promise<void> {
    const now = Date.now();
    for (const [id, e] of this.entries) if (e.windowEnd <= now && e.pending === 0) this.entries.delete(id);
    // Every live window is read back (so a process learns the others' hits even when it had none), at most 5,000.
    const batch = [...this.entries.values()].filter((e) => e.windowEnd > now).slice(0, 5000);
    if (batch.length === 0) return;
    for (const e of batch) {
      e.inFlight = e.pending;
      e.pending = 0;
    }
    try {
      const totals = await this.repository.addAndRead(
        batch.map((e) => ({ key: e.key, windowStart: e.windowStart, windowEnd: e.windowEnd, add: e.inFlight })),
      );
      batch.forEach((e, i) => {
        e.shared = totals[i];
        e.inFlight = 0;
      });
      if (now - this.lastPrune > 60_000) {
        this.lastPrune = now;
        await this.repository.prune(now - 60_000);
      }
    } catch (err) {
      // The database is away: keep counting locally and add these hits next time.
      for (const e of batch) {
        e.pending += e.inFlight;
        e.inFlight = 0;
      }
      this.log.debug(`shared counters not synced: ${(err as Error).message}`);
    }
  }
}

function windowStart(windowMs: number, now: number): number {
  return now - (now % windowMs);
}

/**
 * @nestjs/throttler storage over {@link SharedCounters}: fixed windows of the throttler's ttl, shared by every
 * process. Over the limit the caller is blocked until the window ends.
 */
@Injectable()
export class SharedThrottlerStorage implements ThrottlerStorage {
  constructor(private readonly counters: SharedCounters) {}

  async increment(
    key: string,
    ttl: number,
    limit: number,
    _blockDuration: number,
    throttlerName: string,
  ): ReturnType<ThrottlerStorage['increment']> {
    const { total, msLeft } = this.counters.hit(`api:${throttlerName}:${key}`, ttl);
    const seconds = Math.max(1, Math.ceil(msLeft / 1000));
    const isBlocked = total > limit;
    return { totalHits: total, timeToExpire: seconds, isBlocked, timeToBlockExpire: isBlocked ? seconds : 0 };
  }
}
