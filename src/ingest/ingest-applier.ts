import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { LogFlood } from '../observability/log-flood';
import { Metrics } from '../observability/metrics';
import { IngestRepository, type InboxItem } from './ingest.repository';

interface Pending {
  item: InboxItem;
  resolve: (messageIds: string[]) => void;
  promise: Promise<string[]>;
}

/** Inbox rows younger than this are left to the process that acknowledged them (it holds them in memory). */
const ORPHAN_AGE_MS = 5000;
/**
 * The tables an apply writes (media through the messages' insert trigger, migration Media), ANALYZEd once when
 * still never analyzed (INGEST_ANALYZE_MIN_ROWS).
 */
const APPLIED_TABLES = ['messages', 'conversations', 'contacts', 'webhook_events', 'events', 'message_status_events', 'sessions', 'media'];
/** Least time between two looks at whether those tables need their first ANALYZE, in ms. */
const ANALYZE_CHECK_MS = 2000;
/** How long after the last apply the looks go on (the statistics report writes up to 10 s late), in ms. */
const STATS_LAG_MS = 15_000;

/**
 * The ingest applier (issue 16): writes acknowledged webhooks from the inbox (`ingest_inbox`) to messages,
 * conversations, contacts, statuses, roll-ups and the event log, in batches of up to INGEST_APPLY_BATCH_MAX, one
 * transaction each, deleting the inbox rows in that transaction (so each is applied exactly once).
 *
 * - Signalled at once: IngestService hands over each webhook it acknowledged ({@link enqueue}) with its canonical
 *   events in memory; the applier starts on the next turn of the event loop and takes everything queued meanwhile.
 * - One batch at a time per process, in acknowledgement order (a provider's lifecycle events, edits and
 *   reactions keep their order).
 * - Any process can apply any row: rows are claimed `FOR UPDATE SKIP LOCKED` (`wa_ingest_apply`), so two
 *   appliers never write the same row; at start and every INGEST_SWEEP_MS each process takes the rows older than
 *   5 s that no live process holds (what a crashed process acknowledged), read back from the inbox.
 * - A database that is down keeps the batch queued (retried with backoff; the rows stay in the inbox). A webhook
 *   whose events the database refuses (SQLSTATE classes 22 and 23) is applied alone, and if it still fails its raw
 *   event becomes `failed` with the reason, as before the inbox.
 * - `wahub_ingest_lag_seconds` observes acknowledged → applied (visible in `/v1/messages`) per webhook.
 * - The tables it writes get their first ANALYZE from it once INGEST_ANALYZE_MIN_ROWS rows were written, when
 *   autovacuum has not analyzed them yet: on a new database the statements' cached plans were made for empty
 *   tables (one looked up a conversation by scanning all of its session's conversations), which at 1,000 new
 *   senders a second let the apply fall seconds behind until autovacuum's first pass, up to a minute later.
 */
@Injectable()
export class IngestApplier implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(IngestApplier.name);
  private readonly failures = new LogFlood(this.logger);
  private queue: Pending[] = [];
  /** Inbox id → pending, queued or being applied by this process. */
  private readonly held = new Map<string, Pending>();
  /** Raw event id → its pending apply (to answer a retry of the same bytes with the original's ids). */
  private readonly byEvent = new Map<string, Promise<string[]>>();
  private running = false;
  private sweeping = false;
  private stopped = false;
  private timer?: NodeJS.Timeout;
  private idle: (() => void)[] = [];
  /** When the tables were last looked at for a first ANALYZE (ms); undefined once all of them have had one. */
  private analyzeCheckedAt: number | undefined = 0;
  private analyzeTimer?: NodeJS.Timeout;
  private lastAppliedAt = 0;

  constructor(
    private readonly repository: IngestRepository,
    private readonly config: AppConfig,
    private readonly metrics: Metrics,
  ) {}

  onApplicationBootstrap(): void {
    // What an earlier run acknowledged and did not apply (crash, kill -9): all of it, ahead of new traffic's. In
    // the background: other modules' start-up must not wait for it (the embedded database has one connection).
    void this.sweep(0).catch((e) => this.logger.warn(`inbox sweep failed: ${(e as Error).message}`));
    clearInterval(this.timer);
    this.timer = setInterval(() => void this.sweep(ORPHAN_AGE_MS).catch(() => undefined), this.config.INGEST_SWEEP_MS);
    this.timer.unref();
  }

  /** Applies what is queued (at most 10 s), then stops; rows left stay in the inbox for the next start. */
  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    clearTimeout(this.analyzeTimer);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.settled(), new Promise((r) => (timer = setTimeout(r, 10_000)))]);
    clearTimeout(timer);
    this.stopped = true;
    clearTimeout(this.analyzeTimer); // again: the applies of the drain above may have asked for a check
  }

  /**
   * Queues an acknowledged webhook.
   * @returns resolves with the ids of its message rows once it is applied (by this process or another; `[]` when
   *   its events could not be applied and it was marked failed). Never rejects.
   */
  enqueue(item: InboxItem, front = false): Promise<string[]> {
    const known = this.held.get(item.inboxId);
    if (known) return known.promise;
    let resolve!: (ids: string[]) => void;
    const promise = new Promise<string[]>((r) => (resolve = r));
    const pending: Pending = { item, resolve, promise };
    this.held.set(item.inboxId, pending);
    this.byEvent.set(item.webhookEventId, promise);
    if (front) this.queue.unshift(pending);
    else this.queue.push(pending);
    this.kick();
    return promise;
  }

  /** Acknowledged webhooks this process holds that are not applied yet (queued or being applied). */
  get backlog(): number {
    return this.held.size;
  }

  /** The pending apply of raw event `webhookEventId`, when this process holds it. */
  pendingFor(webhookEventId: string): Promise<string[]> | undefined {
    return this.byEvent.get(webhookEventId);
  }

  /** Resolves once everything this process holds has been applied (or given up as failed). */
  settled(): Promise<void> {
    if (this.held.size === 0) return Promise.resolve();
    return new Promise((r) => this.idle.push(r));
  }

  private kick(): void {
    if (this.running || this.queue.length === 0) return;
    this.running = true;
    setImmediate(() => void this.drain());
  }

  private async drain(): Promise<void> {
    let backoff = 0;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.config.INGEST_APPLY_BATCH_MAX);
      try {
        await this.apply(batch);
        backoff = 0;
      } catch (e) {
        // The database is unavailable: keep the batch (its rows stay in the inbox) and try again later.
        this.queue.unshift(...batch);
        this.failures.write('error', 'ingest-apply', `could not apply ${batch.length} acknowledged webhooks: ${(e as Error).message}`);
        if (this.stopped) break;
        backoff = Math.min(Math.max(100, backoff * 2), 5000);
        await new Promise((r) => setTimeout(r, backoff).unref());
      }
    }
    this.running = false;
    if (this.held.size === 0) for (const r of this.idle.splice(0)) r();
  }

  private async apply(batch: Pending[]): Promise<void> {
    const started = performance.now();
    let result: Awaited<ReturnType<IngestRepository['applyInbox']>>;
    try {
      result = await this.repository.applyInbox(batch.map((p) => p.item));
    } catch (e) {
      if (!isClientDataError(e)) throw e;
      if (batch.length > 1) {
        this.logger.warn(`batch of ${batch.length} failed (${(e as Error).message}); applying one by one`);
        for (const p of batch) await this.apply([p]);
        return;
      }
      this.logger.warn(`${batch[0].item.job.provider} webhook could not be applied: ${(e as Error).message}`);
      await this.repository.failInbox(batch[0].item, `could not be applied: ${(e as Error).message}`);
      this.settle(batch[0], []);
      return;
    }
    if (!result.applied) {
      // Another applier holds (or has applied) some rows: apply ours, and answer theirs once they are gone.
      const claimed = result.claimed;
      for (const p of batch.filter((x) => !claimed.has(x.item.inboxId))) void this.appliedElsewhere(p);
      const mine = batch.filter((x) => claimed.has(x.item.inboxId));
      if (mine.length) await this.apply(mine);
      return;
    }
    this.metrics.ingestBatchSize.observe(batch.length);
    this.metrics.ingestBatchDuration.observe((performance.now() - started) / 1000);
    const now = Date.now();
    batch.forEach((p, i) => {
      this.metrics.ingestLag.observe(Math.max(0, now - p.item.ackedAt.getTime()) / 1000);
      this.settle(p, result.messageIds[i]);
    });
    // Beside the applier, not ahead of its next batch (an ANALYZE takes tens of ms).
    this.requestAnalyzeCheck();
  }

  /**
   * See the class comment. Looks at most every ANALYZE_CHECK_MS, after applies and for STATS_LAG_MS after the last
   * one (the statistics report a backend's writes up to 10 s after its last statement), until every applied table
   * has been analyzed once.
   */
  private requestAnalyzeCheck(): void {
    this.lastAppliedAt = Date.now();
    if (this.config.INGEST_ANALYZE_MIN_ROWS === 0 || this.analyzeCheckedAt === undefined || this.analyzeTimer || this.stopped) return;
    const wait = Math.max(0, this.analyzeCheckedAt + ANALYZE_CHECK_MS - Date.now());
    this.analyzeTimer = setTimeout(() => void this.analyzeIfNew(), wait);
    this.analyzeTimer.unref();
  }

  private async analyzeIfNew(): Promise<void> {
    if (this.stopped) return;
    this.analyzeCheckedAt = Date.now();
    let again = true;
    try {
      const { analyzed, pending } = await this.repository.analyzeNeverAnalyzed(APPLIED_TABLES, this.config.INGEST_ANALYZE_MIN_ROWS);
      if (analyzed.length) this.logger.log(`analyzed ${analyzed.join(', ')} (first statistics of a new database)`);
      if (pending === 0 && analyzed.length === 0) {
        this.analyzeCheckedAt = undefined; // every table has statistics: autovacuum keeps them
        again = false;
      }
    } catch (e) {
      // Not ours to fail on (a database without the statistics views, a permission): autovacuum still runs.
      this.logger.warn(`could not look at table statistics: ${(e as Error).message}`);
      this.analyzeCheckedAt = undefined;
      again = false;
    }
    this.analyzeTimer = undefined;
    if (again && !this.stopped && Date.now() - this.lastAppliedAt < STATS_LAG_MS) {
      this.analyzeTimer = setTimeout(() => void this.analyzeIfNew(), ANALYZE_CHECK_MS);
      this.analyzeTimer.unref();
    }
  }

  private async appliedElsewhere(p: Pending): Promise<void> {
    const deadline = Date.now() + this.config.INGEST_APPLY_WAIT_MS;
    try {
      while (Date.now() < deadline && (await this.repository.isPending(p.item.inboxId)))
        await new Promise((r) => setTimeout(r, 50).unref());
      this.settle(p, await this.repository.messageIdsOf(p.item.webhookEventId));
    } catch {
      this.settle(p, []);
    }
  }

  private settle(p: Pending, messageIds: string[]): void {
    this.held.delete(p.item.inboxId);
    this.byEvent.delete(p.item.webhookEventId);
    p.resolve(messageIds);
    if (this.held.size === 0 && !this.running) for (const r of this.idle.splice(0)) r();
  }

  /** Queues the inbox rows at least `minAgeMs` old that this process does not hold, oldest first. */
  private async sweep(minAgeMs: number): Promise<void> {
    if (this.sweeping || this.stopped) return;
    this.sweeping = true;
    try {
      const limit = this.config.INGEST_APPLY_BATCH_MAX * 4;
      for (;;) {
        const rows = await this.repository.pendingInbox([...this.held.keys()], minAgeMs, limit);
        // Older than anything queued: ahead of it, in their own order.
        for (const item of rows.reverse()) void this.enqueue(item, true);
        if (rows.length < limit) break;
      }
    } finally {
      this.sweeping = false;
    }
  }
}

/**
 * Errors caused by the data of a webhook (PostgreSQL SQLSTATE classes 22 data exception and 23 integrity
 * violation), as opposed to the database being unavailable.
 */
export function isClientDataError(e: unknown): boolean {
  const code = (e as { code?: unknown })?.code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('23'));
}
