import { Logger } from '@nestjs/common';

/**
 * Collapses floods of the same kind of log line: at most one line per `intervalMs` per kind; the next line of
 * that kind says how many were suppressed meanwhile (`suppressed`). A database outage answering hundreds of
 * 503s a second writes one line a second, not megabytes.
 */
export class LogFlood {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs = 1000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Logs `message` (with `fields`) at `level` unless a line of `kind` was written less than intervalMs ago. */
  write(level: 'warn' | 'error', kind: string, message: string, fields: Record<string, unknown> = {}): void {
    const t = this.now();
    const seen = this.last.get(kind);
    if (seen && t - seen.at < this.intervalMs) {
      seen.suppressed++;
      return;
    }
    const suppressed = seen?.suppressed ?? 0;
    if (this.last.size > 1000) this.last.clear();
    this.last.set(kind, { at: t, suppressed: 0 });
    this.logger[level]({ msg: message, kind, ...fields, ...(suppressed ? { suppressed } : {}) });
  }
}
