import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { CLOCK, type Clock } from '../common/clock';
import { GroupCommitter } from '../common/group-committer';
import { AppConfig } from '../config/app-config';
import { OutboxSignal } from './outbox-signal';
import type { OutboundRequest, ReadReceiptRequest, SenderSession } from '../domain/message-sender';
import { SendError } from '../domain/message-sender';
import { type ClaimedJob as Job, OutboxRepository, type SentMessage as Success } from './outbox.repository';
import { SendPacer } from './send-pacer';
import { SenderRegistry } from './sender-registry';
import { Metrics } from '../observability/metrics';

const POLL_MS = 250;
const CLAIM_BATCH = 500;
const MAX_IN_FLIGHT = 2000;
const BACKOFF_BASE_MS = 1000;
const BACKOFF_MAX_MS = 15 * 60_000;
/** Most rows per batched write (attempt starts, successes). */
const WRITE_BATCH = 500;

/**
 * Delivers outbox jobs. Any number of processes may run it: due jobs are claimed with `FOR UPDATE SKIP LOCKED`
 * under a lease (OUTBOX_LEASE_SECONDS); a job whose process died is claimed again once its lease runs out.
 *
 * Exactly once from the provider's point of view, as far as the providers allow (none of Meta, Wablas and the
 * wwebjs server accepts an idempotency key): `attempt_started_at` is written just before the provider call and
 * cleared with its outcome. A job claimed again with it still set was interrupted during the call, so it may or
 * may not have been sent: it is NOT sent again (at-most-once), the message fails with `OUTCOME_UNKNOWN` and the
 * job keeps the record. Jobs claimed but not yet started are simply sent by the next claimer.
 *
 * Outcomes: success → provider id recorded, status `sent` (or better, when the provider's webhooks were faster);
 * temporary errors → retried with exponential backoff and jitter (1 s doubling to 15 min) until the job's
 * deadline (SEND_RETRY_DEADLINE_SECONDS); permanent → `failed` with the provider's code and text; refused
 * credentials → session `error`, its queue held (`send_held`) until PATCH /v1/sessions/:id sets new ones.
 * Pacing: {@link SendPacer} (SEND_RATE_PER_SECOND per session, SEND_MIN_GAP_PER_RECIPIENT_MS) on the injected
 * {@link Clock}. The SQL is in {@link OutboxRepository}.
 */
@Injectable()
export class OutboxWorker implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly log = new Logger(OutboxWorker.name);
  private readonly workerId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly pacer: SendPacer;
  private readonly inFlight = new Set<Promise<void>>();
  /** Attempt starts of jobs about to be called, written together (group commit): one statement for many calls. */
  private readonly starts: GroupCommitter<string, boolean>;
  /** Successful sends recorded together; a failing batch is retried row by row. */
  private readonly successes: GroupCommitter<Success, Error | null>;
  private draining?: Promise<void>;
  private timer?: NodeJS.Timeout;
  private running = false;
  private again = false;
  private stopped = false;

  constructor(
    private readonly outbox: OutboxRepository,
    private readonly config: AppConfig,
    private readonly senders: SenderRegistry,
    private readonly signal: OutboxSignal,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly metrics: Metrics,
  ) {
    this.pacer = new SendPacer(config.SEND_RATE_PER_SECOND, config.SEND_MIN_GAP_PER_RECIPIENT_MS, clock);
    this.starts = new GroupCommitter((ids) => this.markStarted(ids), WRITE_BATCH, 2);
    this.successes = new GroupCommitter((rows) => this.recordSuccesses(rows), WRITE_BATCH, 2);
  }

  onApplicationBootstrap(): void {
    if (this.config.SEND_WORKER === 'false') return;
    this.signal.onWake(() => this.kick());
    this.timer = setInterval(() => this.kick(), POLL_MS).unref();
    this.kick();
  }

  /** Stops claiming and waits for the calls in flight to record their outcome. */
  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.draining;
    await Promise.allSettled([...this.inFlight]);
    if (this.config.SEND_WORKER !== 'false') await this.outbox.releaseSendLeases(this.workerId).catch(() => undefined);
  }

  /** Starts a drain unless one is running (then it drains again when done). */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    this.draining = this.drain()
      .catch((e) => this.log.warn(`outbox drain failed: ${(e as Error).message}`))
      .finally(() => {
        this.running = false;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  /** Claims and starts due jobs until none is due. */
  private async drain(): Promise<void> {
    while (!this.stopped) {
      while (this.inFlight.size >= MAX_IN_FLIGHT) await Promise.race(this.inFlight);
      const jobs = await this.claim(Math.min(CLAIM_BATCH, MAX_IN_FLIGHT - this.inFlight.size));
      if (jobs.length === 0) return;
      for (const job of jobs) {
        const p: Promise<void> = this.run(job)
          .catch((e) => this.log.error(`outbox job ${job.id}: ${(e as Error).message}`))
          .finally(() => this.inFlight.delete(p));
        this.inFlight.add(p);
      }
    }
  }

  private claim(limit: number): Promise<Job[]> {
    return this.outbox.claim(limit, this.config.OUTBOX_LEASE_SECONDS, this.workerId);
  }

  private async run(job: Job): Promise<void> {
    const sender = this.senders.get(job.provider);
    if (!sender) return this.fail(job, new SendError('permanent', 'CAPABILITY_NOT_SUPPORTED', `No sender for ${job.provider}`));
    if (job.in_doubt && job.kind === 'send') {
      this.metrics.sends.inc({ provider: job.provider, outcome: 'unknown' });
      return this.fail(
        job,
        new SendError('permanent', 'OUTCOME_UNKNOWN', 'The process stopped during the provider call; not sent again to avoid a duplicate'),
      );
    }
    const recipient = job.kind === 'send' ? (job.request as OutboundRequest).to : '';
    const wait = this.pacer.reserve(job.session_id, recipient);
    // Too far ahead for this lease: back to the queue, due when its turn comes.
    if (wait > (this.config.OUTBOX_LEASE_SECONDS * 1000) / 2) return this.release(job, wait);
    if (wait > 0) await this.clock.sleep(wait);
    if (this.stopped) return this.release(job, 0);
    if (!(await this.starts.submit(job.id))) return; // the lease was lost to another worker
    await this.pacer.spaceCall(job.session_id, recipient);
    const session: SenderSession = {
      id: job.session_id,
      provider: job.provider,
      externalId: job.session_external_id,
      credentials: job.credentials ?? {},
    };
    // Only the provider call's own errors are send failures. Once the provider has answered, a failure to record
    // the outcome must not lead to a retry: it propagates, the job keeps `attempt_started_at` and is later failed
    // as OUTCOME_UNKNOWN, never sent again.
    let externalId: string | null = null;
    try {
      if (job.kind === 'read_receipt') await sender.markRead?.(session, job.request as ReadReceiptRequest);
      else ({ externalId } = await sender.send(session, job.request as OutboundRequest));
    } catch (e) {
      const err = e instanceof SendError ? e : new SendError('temporary', 'INTERNAL', (e as Error).message);
      this.metrics.sends.inc({ provider: job.provider, outcome: err.kind === 'temporary' ? 'retry' : 'failed' });
      return this.fail(job, err);
    }
    this.metrics.sends.inc({ provider: job.provider, outcome: 'sent' });
    if (job.kind === 'read_receipt') {
      await this.outbox.markDone(job.id);
      return;
    }
    const error = await this.successes.submit({ messageId: job.message_id, sessionId: job.session_id, externalId, jobId: job.id });
    if (error) await this.sentUnrecorded(job, externalId, error);
  }

  /** @returns per id, whether this worker still holds the job (see {@link OutboxRepository.markStarted}). */
  private markStarted(ids: string[]): Promise<boolean[]> {
    return this.outbox.markStarted(ids, this.workerId);
  }

  /**
   * Records provider ids, many sends in one statement (one round trip, one firing of the statistics triggers).
   * If the batch fails (e.g. one provider id is already another message's), each row is tried alone so one
   * cannot sink the others.
   * @returns per row, null when recorded, else the error of its own attempt.
   */
  private async recordSuccesses(rows: Success[]): Promise<(Error | null)[]> {
    try {
      await this.outbox.recordSent(rows);
      return rows.map(() => null);
    } catch (e) {
      if (rows.length === 1) return [e as Error];
      return Promise.all(
        rows.map((r) =>
          this.outbox.recordSent([r]).then(
            () => null,
            (err: Error) => err,
          ),
        ),
      );
    }
  }

  /**
   * The provider accepted the message but its id could not be stored (e.g. another message of the session already
   * has it): the message is `sent` without a provider id and never sent again.
   */
  private async sentUnrecorded(job: Job, externalId: string | null, err: Error): Promise<void> {
    this.log.error(`message ${job.message_id} was sent as ${externalId} but that could not be recorded: ${err.message}`);
    await this.outbox.recordSentUnrecorded(
      job.message_id,
      job.id,
      `sent as ${externalId}; the provider id could not be recorded: ${err.message}`.slice(0, 1000),
      err.message,
    );
  }

  private async fail(job: Job, err: SendError): Promise<void> {
    const error = `${err.code}: ${err.message}${err.detail ? ` (${err.detail})` : ''}`;
    if (err.kind === 'auth') {
      await this.outbox.holdForCredentials(job.session_id, job.id, error);
      this.log.warn(`session ${job.session_id}: credentials refused (${error}); its queue is held until they are updated`);
      return;
    }
    if (err.kind === 'temporary') {
      const backoff = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.min(job.attempts, 20)) * (0.5 + Math.random());
      if (this.clock.now() + backoff < new Date(job.deadline_at).getTime()) {
        await this.outbox.retryLater(job.id, backoff / 1000, error);
        return;
      }
    }
    await this.outbox.failJob(
      job.id,
      error,
      job.kind === 'send' ? { id: job.message_id, code: err.code, title: err.message, detail: err.detail ?? null } : undefined,
    );
  }

  /** Gives a claimed, unstarted job back, due in `waitMs` (attempts count provider calls started, not claims). */
  private async release(job: Job, waitMs: number): Promise<void> {
    await this.outbox.release(job.id, waitMs / 1000, this.workerId);
  }
}
