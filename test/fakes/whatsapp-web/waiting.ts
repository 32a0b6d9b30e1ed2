/**
 * Small awaitable primitives the fake uses instead of sleeps: everything a test waits for is a promise that settles on
 * an event, with a bounded timeout that fails with a message saying what was awaited.
 */

/** Rejects after `timeoutMs` with `what` in the message; `promise` wins if it settles first. */
export function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

interface Waiter<T> {
  predicate: (item: T) => boolean;
  resolve: (item: T) => void;
}

/**
 * Items arriving over time (client nodes, decrypted messages) that a test can await.
 *
 * - `next(predicate)` resolves with the first *unconsumed* item matching it, including items that arrived before the
 *   call (so a test cannot miss an item by awaiting too late); that item is then consumed.
 * - `all` keeps every item ever pushed, consumed or not, for assertions after the fact.
 */
export class AwaitableQueue<T> {
  readonly all: T[] = [];
  private readonly unconsumed: T[] = [];
  private readonly waiters: Waiter<T>[] = [];

  constructor(private readonly description: string) {}

  push(item: T): void {
    this.all.push(item);
    const index = this.waiters.findIndex((w) => w.predicate(item));
    if (index >= 0) {
      const [waiter] = this.waiters.splice(index, 1);
      waiter.resolve(item);
    } else {
      this.unconsumed.push(item);
    }
  }

  next(predicate: (item: T) => boolean = () => true, timeoutMs = 10_000): Promise<T> {
    const index = this.unconsumed.findIndex(predicate);
    if (index >= 0) return Promise.resolve(this.unconsumed.splice(index, 1)[0]);
    let waiter: Waiter<T> | undefined;
    const promise = new Promise<T>((resolve) => {
      waiter = { predicate, resolve };
      this.waiters.push(waiter);
    });
    return withTimeout(promise, timeoutMs, `the next ${this.description}`).catch((err: unknown) => {
      const stale = this.waiters.indexOf(waiter as Waiter<T>);
      if (stale >= 0) this.waiters.splice(stale, 1);
      throw err;
    });
  }

  /** Drops unconsumed items (e.g. between test phases). */
  clear(): void {
    this.unconsumed.length = 0;
  }
}

/**
 * Future-only matching: `waitFor(predicate)` resolves with the first item pushed *after* the call that matches.
 * Call it before triggering the action whose answer you await.
 */
export class FutureMatcher<T> {
  private readonly waiters: Waiter<T>[] = [];

  constructor(private readonly description: string) {}

  push(item: T): void {
    for (const waiter of [...this.waiters]) {
      if (waiter.predicate(item)) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve(item);
      }
    }
  }

  waitFor(predicate: (item: T) => boolean, timeoutMs = 10_000, what = this.description): Promise<T> {
    let waiter: Waiter<T> | undefined;
    const promise = new Promise<T>((resolve) => {
      waiter = { predicate, resolve };
      this.waiters.push(waiter);
    });
    return withTimeout(promise, timeoutMs, what).catch((err: unknown) => {
      const stale = this.waiters.indexOf(waiter as Waiter<T>);
      if (stale >= 0) this.waiters.splice(stale, 1);
      throw err;
    });
  }
}
