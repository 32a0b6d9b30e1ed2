import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { DataSource } from 'typeorm';
import { GroupCommitter } from '../common/group-committer';
import { AppConfig } from '../config/app-config';
import { OutboxSignal } from './outbox-signal';
import type { OutboundRequest, ReadReceiptRequest, SenderSession, SessionCredentials } from '../domain/message-sender';
import { SendError } from '../domain/message-sender';
import { SendPacer } from './send-pacer';
import { SenderRegistry } from './sender-registry';

type Job = {
  id: string;
  message_id: string;
  session_id: string;
  kind: 'send' | 'read_receipt';
  request: OutboundRequest | ReadReceiptRequest;
  /** Provider calls started before this claim. */
  attempts: number;
  deadline_at: Date;
  in_doubt: boolean;
  provider: string;
  session_external_id: string;
  credentials: SessionCredentials | null;
};

/** A provider-accepted send to record. */
type Success = { messageId: string; sessionId: string; externalId: string | null; jobId: string };

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
 * Pacing: {@link SendPacer} (SEND_RATE_PER_SECOND per session, SEND_MIN_GAP_PER_RECIPIENT_MS).
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
    @InjectDataSource() private readonly db: DataSource,
    private readonly config: AppConfig,
    private readonly senders: SenderRegistry,
    private readonly signal: OutboxSignal,
  ) {
    this.pacer = new SendPacer(config.SEND_RATE_PER_SECOND, config.SEND_MIN_GAP_PER_RECIPIENT_MS);
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

  private async claim(limit: number): Promise<Job[]> {
    // Wrapped in a CTE: TypeORM answers a bare UPDATE/DELETE ... RETURNING with [rows, count].
    return (await this.db.query(
      `WITH claimed AS (UPDATE outbox_jobs j SET lease_until = now() + make_interval(secs => $2), locked_by = $3, updated_at = now()
       FROM (SELECT o.id FROM outbox_jobs o JOIN sessions s ON s.id = o.session_id
             WHERE o.state = 'pending' AND o.next_attempt_at <= now() AND (o.lease_until IS NULL OR o.lease_until < now()) AND NOT s.send_held
             ORDER BY o.next_attempt_at, o.id LIMIT $1 FOR UPDATE OF o SKIP LOCKED) due, sessions s
       WHERE j.id = due.id AND s.id = j.session_id
       RETURNING j.id, j.message_id, j.session_id, j.kind, j.request, j.attempts, j.deadline_at, j.attempt_started_at IS NOT NULL AS in_doubt,
         s.provider, s.external_id AS session_external_id, s.credentials) SELECT * FROM claimed`,
      [limit, this.config.OUTBOX_LEASE_SECONDS, this.workerId],
    )) as Job[];
  }

  private async run(job: Job): Promise<void> {
    const sender = this.senders.get(job.provider);
    if (!sender) return this.fail(job, new SendError('permanent', 'CAPABILITY_NOT_SUPPORTED', `No sender for ${job.provider}`));
    if (job.in_doubt && job.kind === 'send') {
      return this.fail(job, new SendError('permanent', 'OUTCOME_UNKNOWN', 'The process stopped during the provider call; not sent again to avoid a duplicate'));
    }
    const recipient = job.kind === 'send' ? (job.request as OutboundRequest).to : '';
    const wait = this.pacer.reserve(job.session_id, recipient);
    // Too far ahead for this lease: back to the queue, due when its turn comes.
    if (wait > (this.config.OUTBOX_LEASE_SECONDS * 1000) / 2) return this.release(job, wait);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    if (this.stopped) return this.release(job, 0);
    if (!(await this.starts.submit(job.id))) return; // the lease was lost to another worker
    await this.pacer.spaceCall(job.session_id, recipient);
    const session: SenderSession = { id: job.session_id, provider: job.provider, externalId: job.session_external_id, credentials: job.credentials ?? {} };
    // Only the provider call's own errors are send failures. Once the provider has answered, a failure to record
    // the outcome must not lead to a retry: it propagates, the job keeps `attempt_started_at` and is later failed
    // as OUTCOME_UNKNOWN, never sent again.
    let externalId: string | null = null;
    try {
      if (job.kind === 'read_receipt') await sender.markRead?.(session, job.request as ReadReceiptRequest);
      else ({ externalId } = await sender.send(session, job.request as OutboundRequest));
    } catch (e) {
      return this.fail(job, e instanceof SendError ? e : new SendError('temporary', 'INTERNAL', (e as Error).message));
    }
    if (job.kind === 'read_receipt') {
      await this.db.query(`UPDATE outbox_jobs SET state = 'done', attempt_started_at = NULL, lease_until = NULL, updated_at = now() WHERE id = $1`, [job.id]);
      return;
    }
    const error = await this.successes.submit({ messageId: job.message_id, sessionId: job.session_id, externalId, jobId: job.id });
    if (error) await this.sentUnrecorded(job, externalId, error);
  }

  /**
   * Writes `attempt_started_at` (and counts the attempt) for jobs about to be called, in one statement.
   * @returns per id, whether this worker still holds the job (false: its lease went to another worker).
   */
  private async markStarted(ids: string[]): Promise<boolean[]> {
    const rows = (await this.db.query(
      `WITH s AS (UPDATE outbox_jobs SET attempt_started_at = now(), attempts = attempts + 1
         WHERE id = ANY($1::bigint[]) AND locked_by = $2 AND state = 'pending' RETURNING id) SELECT id::text FROM s`,
      [ids, this.workerId],
    )) as { id: string }[];
    const held = new Set(rows.map((r) => r.id));
    return ids.map((id) => held.has(String(id)));
  }

  /**
   * Records provider ids, many sends in one statement (one round trip, one firing of the statistics triggers).
   * If the batch fails (e.g. one provider id is already another message's), each row is tried alone so one
   * cannot sink the others.
   * @returns per row, null when recorded, else the error of its own attempt.
   */
  private async recordSuccesses(rows: Success[]): Promise<(Error | null)[]> {
    try {
      await this.succeed(rows);
      return rows.map(() => null);
    } catch (e) {
      if (rows.length === 1) return [e as Error];
      return Promise.all(rows.map((r) => this.succeed([r]).then(() => null, (err: Error) => err)));
    }
  }

  /**
   * Records the provider id of each sent message. When the provider's webhook got here first (wwebjs
   * `message_create` of our own message, or statuses) its row/events are folded into ours: one message, the
   * best status.
   */
  private async succeed(rows: Success[]): Promise<void> {
    // One statement: all CTEs see the same snapshot and apply together. An "echo" is only an outgoing row of that
    // provider id that no outbox job owns (wwebjs emits message_create for our own sends, fixture
    // wwebjs.inbound.message_create_from_me); a row we sent ourselves is never folded away.
    await this.db.query(
      `WITH input AS (
         SELECT * FROM unnest($1::bigint[], $2::uuid[], $3::text[], $4::bigint[]) AS i(message_id, session_id, external_id, job_id)
       ), echo AS (
         DELETE FROM messages e USING input i
         WHERE e.session_id = i.session_id AND e.external_id = i.external_id AND e.id <> i.message_id AND e.direction = 'out'
           AND NOT EXISTS (SELECT 1 FROM outbox_jobs o WHERE o.message_id = e.id)
         RETURNING i.message_id, e.status, e.status_at, e.conversation_id
       ), uncount AS (
         UPDATE conversations c SET message_count = c.message_count - x.n
         FROM (SELECT conversation_id, count(*)::int AS n FROM echo GROUP BY conversation_id) x WHERE c.id = x.conversation_id
       ), ev AS (
         -- Statuses that arrived before we knew the provider id (kept in message_status_events): the best per message.
         SELECT DISTINCT ON (i.message_id) i.message_id, s.status, s.occurred_at, s.error_code, s.error_title, s.error_detail
         FROM input i JOIN message_status_events s ON s.session_id = i.session_id AND s.external_id = i.external_id
         ORDER BY i.message_id, wa_status_rank(s.status) DESC
       ), best AS (
         SELECT DISTINCT ON (x.message_id) x.message_id, x.status, x.at FROM (
           SELECT message_id, 'sent'::text AS status, now() AS at FROM input
           UNION ALL SELECT message_id, status, status_at FROM echo
           UNION ALL SELECT message_id, status, occurred_at FROM ev
         ) x ORDER BY x.message_id, wa_status_rank(x.status) DESC
       ), msg AS (
         UPDATE messages m SET external_id = i.external_id,
           status = CASE WHEN wa_status_rank(b.status) > wa_status_rank(m.status) THEN b.status ELSE m.status END,
           status_at = CASE WHEN wa_status_rank(b.status) > wa_status_rank(m.status) THEN b.at ELSE m.status_at END,
           error_code = COALESCE(m.error_code, ev.error_code), error_title = COALESCE(m.error_title, ev.error_title),
           error_detail = COALESCE(m.error_detail, ev.error_detail)
         FROM input i JOIN best b ON b.message_id = i.message_id LEFT JOIN ev ON ev.message_id = i.message_id
         WHERE m.id = i.message_id
       )
       UPDATE outbox_jobs SET state = 'done', attempt_started_at = NULL, lease_until = NULL, last_error = NULL, updated_at = now()
       WHERE id IN (SELECT job_id FROM input)`,
      [rows.map((r) => r.messageId), rows.map((r) => r.sessionId), rows.map((r) => r.externalId), rows.map((r) => r.jobId)],
    );
  }

  /**
   * The provider accepted the message but its id could not be stored (e.g. another message of the session already
   * has it): the message is `sent` without a provider id and never sent again.
   */
  private async sentUnrecorded(job: Job, externalId: string | null, err: Error): Promise<void> {
    this.log.error(`message ${job.message_id} was sent as ${externalId} but that could not be recorded: ${err.message}`);
    await this.db.query(
      `UPDATE messages SET status = 'sent', status_at = now(), error_detail = $2 WHERE id = $1 AND status = 'queued'`,
      [job.message_id, `sent as ${externalId}; the provider id could not be recorded: ${err.message}`.slice(0, 1000)],
    );
    await this.db.query(`UPDATE outbox_jobs SET state = 'done', attempt_started_at = NULL, lease_until = NULL, last_error = $2, updated_at = now() WHERE id = $1`, [job.id, err.message]);
  }

  private async fail(job: Job, err: SendError): Promise<void> {
    const error = `${err.code}: ${err.message}${err.detail ? ` (${err.detail})` : ''}`;
    if (err.kind === 'auth') {
      await this.db.transaction(async (m) => {
        const [prev] = (await m.query(`SELECT status FROM sessions WHERE id = $1`, [job.session_id])) as { status: string }[];
        await m.query(`UPDATE sessions SET status = 'error', status_message = $2, send_held = true, updated_at = now() WHERE id = $1`, [job.session_id, `Sending held: ${error}`]);
        await m.query(
          `INSERT INTO session_events (session_id, event, from_status, to_status, message, occurred_at) VALUES ($1, 'send_credentials_refused', $2, 'error', $3, now())`,
          [job.session_id, prev?.status ?? null, error],
        );
        // The refused call does not count as an attempt: the job waits for credentials, its retries intact.
        await m.query(
          `UPDATE outbox_jobs SET attempts = attempts - 1, lease_until = NULL, locked_by = NULL, attempt_started_at = NULL, last_error = $2, updated_at = now() WHERE id = $1`,
          [job.id, error],
        );
      });
      this.log.warn(`session ${job.session_id}: credentials refused (${error}); its queue is held until they are updated`);
      return;
    }
    if (err.kind === 'temporary') {
      const backoff = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.min(job.attempts, 20)) * (0.5 + Math.random());
      if (Date.now() + backoff < new Date(job.deadline_at).getTime()) {
        await this.db.query(
          `UPDATE outbox_jobs SET next_attempt_at = now() + make_interval(secs => $2), lease_until = NULL, locked_by = NULL, attempt_started_at = NULL, last_error = $3, updated_at = now() WHERE id = $1`,
          [job.id, backoff / 1000, error],
        );
        return;
      }
    }
    await this.db.transaction(async (m) => {
      if (job.kind === 'send') {
        await m.query(
          `UPDATE messages SET status = 'failed', status_at = now(), error_code = $2, error_title = $3, error_detail = $4 WHERE id = $1 AND status IN ('queued', 'pending')`,
          [job.message_id, err.code, err.message, err.detail ?? null],
        );
      }
      await m.query(`UPDATE outbox_jobs SET state = 'failed', lease_until = NULL, attempt_started_at = NULL, last_error = $2, updated_at = now() WHERE id = $1`, [job.id, error]);
    });
  }

  /** Gives a claimed, unstarted job back, due in `waitMs` (attempts count provider calls started, not claims). */
  private async release(job: Job, waitMs: number): Promise<void> {
    await this.db.query(
      `UPDATE outbox_jobs SET lease_until = NULL, locked_by = NULL, next_attempt_at = now() + make_interval(secs => $2), updated_at = now() WHERE id = $1 AND locked_by = $3`,
      [job.id, waitMs / 1000, this.workerId],
    );
  }
}
