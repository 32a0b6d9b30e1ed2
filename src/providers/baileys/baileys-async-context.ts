import { syncBuiltinESMExports } from 'node:module';

type AsyncHooks = typeof import('node:async_hooks');

/**
 * Why: every Baileys socket (rc14, `addTransactionCapability` in lib/Utils/auth-utils.js, called by makeWASocket)
 * creates its own `AsyncLocalStorage` for `keys.transaction()`, enables it on the first transaction and never
 * disables it, not even after the socket ended. On Node 20 every enabled AsyncLocalStorage is visited for every
 * promise the process creates (async_hooks `_propagate`), and each adds a property to that promise: with 50 sessions
 * (100 sockets after the QR logins' 515 restarts) a promise costs about 165 times what it costs with none (measured:
 * 3.3 M chained promises/s with none, 1.0 M with one, 0.36 M with ten, 0.02 M with a hundred), which starves the
 * whole wa-hub event loop (database driver, ingest, HTTP) and its garbage collector.
 *
 * What: {@link makeWithScopedStorage} runs `make` (one makeWASocket call, synchronous) while `AsyncLocalStorage`
 * stands for {@link ScopedStorage}, so the socket's storage is enabled only while one of its transactions runs:
 * `run()` counts the runs in flight and disables the storage when the last one settled. Inside a transaction nothing
 * changes (the store propagates to everything the transaction awaits); outside, `getStore()` is undefined, as Baileys
 * expects there. `disable()` ends the storage for good (the socket ended).
 *
 * The swap uses Node's documented `module.syncBuiltinESMExports()` (Baileys is an ES module: its named import of
 * `async_hooks` is a live binding) and is undone before `make` returns; nothing else is constructed meanwhile.
 */
const hooks = process.getBuiltinModule('node:async_hooks') as AsyncHooks;
const Original = hooks.AsyncLocalStorage;

export class ScopedStorage<T> extends Original<T> {
  private inFlight = 0;
  private ended = false;

  /** AsyncLocalStorage.run, counted: enabled while any run (or the promise it returns) is in flight. @returns `callback`'s result; rethrows its error. */
  override run<R, A extends unknown[]>(store: T, callback: (...args: A) => R, ...args: A): R {
    if (this.ended) return callback(...args);
    this.inFlight++;
    let result: R;
    try {
      result = super.run(store, callback, ...args);
    } catch (e) {
      this.settled();
      throw e;
    }
    if (result instanceof Promise) {
      result.then(
        () => this.settled(),
        () => this.settled(),
      );
    } else this.settled();
    return result;
  }

  /** Ends the storage: disabled now and never enabled again (runs still run their callback, without a store). */
  end(): void {
    this.ended = true;
    super.disable();
  }

  private settled(): void {
    if (--this.inFlight === 0) super.disable();
  }
}

/**
 * Calls `make` with Baileys' per-socket AsyncLocalStorage made a {@link ScopedStorage}.
 * @returns `make`'s result and the storages constructed during the call (end them when the socket ended).
 */
export function makeWithScopedStorage<R>(make: () => R): { result: R; storages: ScopedStorage<unknown>[] } {
  const storages: ScopedStorage<unknown>[] = [];
  class Capturing<T> extends ScopedStorage<T> {
    constructor() {
      super();
      storages.push(this as ScopedStorage<unknown>);
    }
  }
  (hooks as { AsyncLocalStorage: unknown }).AsyncLocalStorage = Capturing;
  syncBuiltinESMExports();
  try {
    return { result: make(), storages };
  } finally {
    (hooks as { AsyncLocalStorage: unknown }).AsyncLocalStorage = Original;
    syncBuiltinESMExports();
  }
}
