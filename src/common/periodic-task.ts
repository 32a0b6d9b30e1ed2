import { Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';

/** Runs a function under a lock shared by every process (src/database/advisory-locks.ts implements it). */
export interface ExclusiveRunner {
  runExclusive(name: string, fn: () => Promise<unknown>): Promise<boolean>;
}

/**
 * Background housekeeping run once at start-up and then every `everyMs` ms in each process (the timer does not
 * keep the process alive). A failure is logged as a warning and tried again at the next tick; runs never overlap.
 * A task with {@link exclusive} set runs in one process at a time: a tick that finds another process running it
 * skips.
 */
export abstract class PeriodicTask implements OnApplicationBootstrap, OnModuleDestroy {
  protected abstract readonly everyMs: number;
  protected readonly log = new Logger(this.constructor.name);
  private timer?: NodeJS.Timeout;
  private running = false;
  /** Set by tasks that must not run in two processes at once (deletes, compactions). */
  protected readonly exclusive?: ExclusiveRunner;

  /** One run. @throws anything; the caller logs it. */
  protected abstract run(): Promise<unknown>;

  onApplicationBootstrap(): void {
    void this.tick();
    this.timer = setInterval(() => void this.tick(), this.everyMs).unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  private async tick(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      if (this.exclusive) await this.exclusive.runExclusive(`wa-hub:${this.constructor.name}`, () => this.run());
      else await this.run();
    } catch (err) {
      this.log.warn(`${this.constructor.name} failed: ${(err as Error).message}`);
    } finally {
      this.running = false;
    }
  }
}
