import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { performance } from 'node:perf_hooks';

/** How often the event loop's utilisation is sampled, in ms. */
export const PRESSURE_SAMPLE_MS = 250;

/** One sample of this process: its event loop's utilisation (0–1) and the webhooks it acknowledged meanwhile. */
export interface PressureSample {
  elu: number;
  acknowledged: number;
}

/**
 * Whether this process is busy taking inbound webhooks, for background work that should give way to it (outgoing
 * webhook deliveries): see {@link YieldingCap} for when a sample of the last {@link PRESSURE_SAMPLE_MS} ms counts as
 * pressure. The sample's utilisation is `performance.eventLoopUtilization` (0–1; the work that gives way counts in
 * it too). Inbound traffic is acknowledged by the ingest pipeline, which
 * reports each webhook here ({@link acknowledged}); a process taking none (a dedicated worker) is never busy.
 * Listeners run after each sample. The timer does not keep the process alive and only runs while listened to.
 */
@Injectable()
export class IngestPressure implements OnModuleDestroy {
  private count = 0;
  private last = performance.eventLoopUtilization();
  private timer?: NodeJS.Timeout;
  private readonly listeners: ((sample: PressureSample) => void)[] = [];

  /** Counts `n` acknowledged inbound webhooks. */
  acknowledged(n = 1): void {
    this.count += n;
  }

  /** Calls `listener` with every sample from now on (starts the sampling). */
  onSample(listener: (sample: PressureSample) => void): void {
    this.listeners.push(listener);
    this.timer ??= setInterval(() => this.sample(), PRESSURE_SAMPLE_MS).unref();
  }

  /** Stops the sampling (listeners then hear only {@link report}). */
  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /** Hands `sample` to the listeners: the timer's own samples come through here; tests drive it directly. */
  report(sample: PressureSample): void {
    for (const l of this.listeners) l(sample);
  }

  private sample(): void {
    const now = performance.eventLoopUtilization();
    const s = { elu: performance.eventLoopUtilization(now, this.last).utilization, acknowledged: this.count };
    this.last = now;
    this.count = 0;
    this.report(s);
  }
}

/**
 * The in-flight cap of work that gives way to ingest, adjusted once per {@link PressureSample}: halved (down to
 * `floor`) after a sample with webhooks acknowledged at `minRate` per second or more and the event loop at or above
 * `threshold`, doubled (up to `ceiling`) after any other. Below `minRate` the ingest is not what keeps the loop busy
 * (a process at a moderate rate has room for both; a delivery backlog draining can fill the loop by itself). So
 * while ingest keeps the process near saturation the work runs at `floor` calls in flight (never stopped), and it is
 * back at full pace log2(ceiling/floor) samples after the pressure ends (1.5 s from 2 to 128). `threshold` 1 turns
 * yielding off.
 */
export class YieldingCap {
  private cap: number;
  /** `minRate` as webhooks per {@link PRESSURE_SAMPLE_MS} sample. */
  private readonly minPerSample: number;

  /**
   * @param floor calls in flight while yielding (≥ 1)
   * @param ceiling calls in flight otherwise, and at the start
   * @param threshold event-loop utilisation, 0–1
   * @param minRate acknowledged webhooks per second
   */
  constructor(
    private readonly floor: number,
    private readonly ceiling: number,
    private readonly threshold: number,
    minRate: number,
  ) {
    this.cap = ceiling;
    this.minPerSample = (minRate * PRESSURE_SAMPLE_MS) / 1000;
  }

  /** Calls in flight allowed now: `floor` ≤ value ≤ `ceiling`. */
  get value(): number {
    return this.cap;
  }

  /** @returns whether the cap grew (room for more work). */
  update(s: PressureSample): boolean {
    const before = this.cap;
    if (this.threshold < 1 && s.acknowledged >= this.minPerSample && s.elu >= this.threshold)
      this.cap = Math.max(this.floor, Math.floor(this.cap / 2));
    else this.cap = Math.min(this.ceiling, this.cap * 2);
    return this.cap > before;
  }
}
