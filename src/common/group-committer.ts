/**
 * Group commit: jobs submitted while a flush is running are queued and applied together by the next flush, in
 * one database transaction. Under load this turns N concurrent webhooks into one commit (one WAL flush) instead of
 * N; when idle a job is flushed on the next turn of the event loop, so a lone webhook waits no extra time.
 */
export class GroupCommitter<J, R> {
  private queue: { job: J; resolve: (r: R) => void; reject: (e: unknown) => void }[] = [];
  private flushers = 0;

  /**
   * @param apply applies a batch; must return one result per job, in order. If it throws, every job of the batch
   *   is rejected with that error.
   * @param maxBatch most jobs per flush.
   * @param maxFlushers most flushes in flight at once (each on its own connection), so one batch's round trip
   *   does not hold back the webhooks that arrive meanwhile.
   */
  constructor(
    private readonly apply: (jobs: J[]) => Promise<R[]>,
    private readonly maxBatch: number,
    private readonly maxFlushers = 1,
  ) {}

  /** Queues `job`; resolves with its result once its batch is committed. */
  submit(job: J): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
      if (this.flushers < this.maxFlushers) {
        this.flushers++;
        setImmediate(() => void this.drain());
      }
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      try {
        const results = await this.apply(batch.map((b) => b.job));
        batch.forEach((b, i) => b.resolve(results[i]));
      } catch (e) {
        batch.forEach((b) => b.reject(e));
      }
    }
    this.flushers--;
  }
}
