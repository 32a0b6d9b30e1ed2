import { Logger } from '@nestjs/common';
import { Redis } from 'ioredis';
import { type CounterDelta, SharedCountersStore } from './shared-counters.repository';

/** How long a window's key outlives the window's end, in ms (processes' clocks may differ by this much). */
const EXPIRY_GRACE_MS = 60_000;
/** How long boot waits for Redis to answer before giving up, in ms. */
const CONNECT_TIMEOUT_MS = 5_000;

/**
 * One key's add-and-read, atomic in Redis: INCRBY (0 only reads, creating the key at 0) and an absolute expiry at
 * the window's end plus a grace, so windows delete themselves. KEYS[1] = the window's key; ARGV = [add, expireAtMs].
 */
const ADD_AND_READ_LUA = `local n = redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return n`;

type CountersRedis = Redis & { waHubAddAndRead(key: string, add: number, expireAt: number): Promise<number> };

/**
 * The shared counters in Redis (REDIS_URL), instead of PostgreSQL's `rate_counters`: one key per counter key and
 * window, `<REDIS_KEY_PREFIX>counter:<key>:<windowStart ms>`, changed only by a small Lua script (INCRBY +
 * PEXPIREAT, atomic per key: increments of processes adding at once are never lost). A sync sends every key's
 * script in one pipeline (one round trip); each script touches one key, so it also works on a Redis Cluster.
 * While Redis is away commands fail at once (no offline queue) and SharedCounters keeps counting locally; ioredis
 * reconnects by itself.
 */
export class RedisCountersStore extends SharedCountersStore {
  private constructor(
    private readonly redis: CountersRedis,
    private readonly prefix: string,
  ) {
    super();
  }

  /**
   * Connects to `url` and checks that Redis answers (PING).
   * @throws Error naming REDIS_URL (password hidden) and the cause when Redis cannot be reached within 5 s: the
   *   process does not start, rather than run with limits counted per process.
   */
  static async connect(url: string, prefix: string): Promise<RedisCountersStore> {
    const log = new Logger('SharedCounters');
    const redis = new Redis(url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: CONNECT_TIMEOUT_MS,
      retryStrategy: (times) => Math.min(times * 200, 2_000),
    }) as CountersRedis;
    redis.defineCommand('waHubAddAndRead', { numberOfKeys: 1, lua: ADD_AND_READ_LUA });
    let lastError: string | undefined;
    redis.on('error', (e: Error) => {
      if (e.message !== lastError) log.warn(`Redis (${redacted(url)}): ${e.message}`);
      lastError = e.message;
    });
    redis.on('ready', () => {
      if (lastError !== undefined) log.log(`Redis (${redacted(url)}) reachable again`);
      lastError = undefined;
    });
    try {
      await withTimeout(
        redis.connect().then(() => redis.ping()),
        CONNECT_TIMEOUT_MS,
      );
    } catch (e) {
      redis.disconnect();
      throw new Error(
        `REDIS_URL ${redacted(url)}: Redis does not answer (${(e as Error).message}). Start Redis, or unset REDIS_URL to count rate limits in PostgreSQL.`,
        { cause: e },
      );
    }
    return new RedisCountersStore(redis, prefix);
  }

  /**
   * Adds each delta's hits to its window key and reads the window's total, all in one pipeline (one round trip).
   * @returns the totals (hits in the window across every process), in the order of `deltas`.
   * @throws Error when Redis does not answer or a script fails (the caller keeps counting locally and retries).
   */
  async addAndRead(deltas: CounterDelta[]): Promise<number[]> {
    if (deltas.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const d of deltas) {
      (pipeline as unknown as { waHubAddAndRead(k: string, a: number, e: number): void }).waHubAddAndRead(
        this.keyOf(d),
        d.add,
        d.windowEnd + EXPIRY_GRACE_MS,
      );
    }
    const results = (await pipeline.exec()) ?? [];
    return deltas.map((_, i) => {
      const [err, value] = results[i] ?? [new Error('no reply')];
      if (err) throw err;
      return Number(value);
    });
  }

  /** Nothing to do: every window's key expires by itself (PEXPIREAT). */
  prune(): Promise<number> {
    return Promise.resolve(0);
  }

  override async close(): Promise<void> {
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
  }

  /** The Redis key of a delta's window (tests read it). */
  keyOf(d: Pick<CounterDelta, 'key' | 'windowStart'>): string {
    return `${this.prefix}counter:${d.key}:${d.windowStart}`;
  }
}

/** `url` without its password. */
function redacted(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'redis://…';
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
