import { type Clock, systemClock } from '../common/clock';

/**
 * Per-session pacing of provider calls: at most `perSecond` call starts per session in any 1,000 ms (a hard cap,
 * checked against the times calls really started), evenly spaced when the queue is full, and optionally at least
 * `recipientGapMs` between two calls to the same recipient of a session. In memory: it holds across processes
 * because a session's jobs are claimed by one worker at a time (`send_leases`, OutboxRepository.claim). All times come from
 * the injected {@link Clock} (real time by default; tests pass a fake one and advance it by hand).
 */
export class SendPacer {
  private readonly nextSlot = new Map<string, number>();
  private readonly lastToRecipient = new Map<string, number>();
  private readonly planned = new Map<string, number>();
  /** Per session: the start times (ms) of its latest calls, at most `cap`, oldest first. */
  private readonly starts = new Map<string, number[]>();
  /** Per session and recipient: when the latest call to it really started (ms). */
  private readonly recipientStart = new Map<string, number>();
  private readonly cap: number;

  constructor(
    private readonly perSecond: number,
    private readonly recipientGapMs: number,
    private readonly clock: Clock = systemClock,
  ) {
    this.cap = Math.max(1, Math.floor(perSecond));
  }

  /**
   * Reserves the next start time for a call, so that a claimed batch is spread over time instead of waiting in
   * one heap.
   * @returns ms to wait before calling (0 = now).
   */
  reserve(sessionId: string, recipient: string): number {
    const now = this.clock.now();
    let at = Math.max(now, this.nextSlot.get(sessionId) ?? 0);
    if (this.recipientGapMs > 0) {
      const key = `${sessionId}\u0000${recipient}`;
      at = Math.max(at, (this.lastToRecipient.get(key) ?? -Infinity) + this.recipientGapMs);
      this.lastToRecipient.set(key, at);
      if (this.lastToRecipient.size > 100_000) prune(this.lastToRecipient, now - this.recipientGapMs);
    }
    this.nextSlot.set(sessionId, at + 1000 / this.perSecond);
    return at - now;
  }

  /**
   * Resolves right before the provider call may start. First an even slot (1/perSecond s after the previous
   * slot: the database write between {@link reserve} and the call takes variable time, and without it calls
   * would bunch up); then the hard limits against the real start times: fewer than `perSecond` starts in the
   * last 1,000 ms, and `recipientGapMs` since the last call to this recipient. Timers fire late under load; the
   * second check keeps a late batch from catching up in a burst. The start is recorded when this resolves.
   * @returns the recorded start time (ms since epoch, on the pacer's clock).
   */
  async spaceCall(sessionId: string, recipient: string): Promise<number> {
    const now = this.clock.now();
    const at = Math.max(now, (this.planned.get(sessionId) ?? -Infinity) + 1000 / this.perSecond);
    this.planned.set(sessionId, at);
    if (at > now) await this.clock.sleep(at - now);
    const key = `${sessionId}\u0001${recipient}`;
    for (;;) {
      const t = this.clock.now();
      const starts = this.starts.get(sessionId) ?? [];
      let until = starts.length >= this.cap ? starts[starts.length - this.cap] + 1000 : t;
      if (this.recipientGapMs > 0) until = Math.max(until, (this.recipientStart.get(key) ?? -Infinity) + this.recipientGapMs);
      if (until <= t) {
        starts.push(t);
        if (starts.length > this.cap) starts.splice(0, starts.length - this.cap);
        this.starts.set(sessionId, starts);
        if (this.recipientGapMs > 0) {
          this.recipientStart.set(key, t);
          if (this.recipientStart.size > 100_000) prune(this.recipientStart, t - this.recipientGapMs);
        }
        return t;
      }
      await this.clock.sleep(until - t);
    }
  }
}

/** Drops entries older than `before` (ms). */
function prune(map: Map<string, number>, before: number): void {
  for (const [k, t] of map) if (t < before) map.delete(k);
}
