/**
 * Per-session pacing of provider calls: at most `perSecond` starts per session (evenly spaced, no bursts), and
 * optionally at least `recipientGapMs` between two calls to the same recipient of a session. In memory, per
 * process: several worker processes each pace themselves (run one worker per session group to keep a global cap).
 */
export class SendPacer {
  private readonly nextSlot = new Map<string, number>();
  private readonly lastToRecipient = new Map<string, number>();
  private readonly lastCall = new Map<string, number>();

  constructor(
    private readonly perSecond: number,
    private readonly recipientGapMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Reserves the next start time for a call.
   * @returns ms to wait before calling (0 = now).
   */
  reserve(sessionId: string, recipient: string): number {
    const now = this.now();
    let at = Math.max(now, this.nextSlot.get(sessionId) ?? 0);
    if (this.recipientGapMs > 0) {
      const key = `${sessionId}\u0000${recipient}`;
      at = Math.max(at, (this.lastToRecipient.get(key) ?? -Infinity) + this.recipientGapMs);
      this.lastToRecipient.set(key, at);
      if (this.lastToRecipient.size > 100_000) this.prune(now);
    }
    this.nextSlot.set(sessionId, at + 1000 / this.perSecond);
    return at - now;
  }

  /**
   * Waits, right before the provider call, until 1/perSecond s after this session's previous call (and the
   * recipient gap after the previous call to this recipient): the database
   * write between {@link reserve} and the call takes variable time, and without this, calls could bunch up.
   */
  async spaceCall(sessionId: string, recipient: string): Promise<void> {
    const now = this.now();
    let at = Math.max(now, (this.lastCall.get(sessionId) ?? -Infinity) + 1000 / this.perSecond);
    if (this.recipientGapMs > 0) {
      const key = `${sessionId}\u0001${recipient}`;
      at = Math.max(at, (this.lastCall.get(key) ?? -Infinity) + this.recipientGapMs);
      this.lastCall.set(key, at);
      if (this.lastCall.size > 100_000) for (const [k, t] of this.lastCall) if (t + this.recipientGapMs < now) this.lastCall.delete(k);
    }
    this.lastCall.set(sessionId, at);
    if (at > now) await new Promise((r) => setTimeout(r, at - now));
  }

  private prune(now: number): void {
    for (const [k, t] of this.lastToRecipient) if (t + this.recipientGapMs < now) this.lastToRecipient.delete(k);
  }
}
