import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { OutboundRequest, ReadReceiptRequest, SessionCredentials } from '../domain/message-sender';

/** A claimed `outbox_jobs` row with what the call needs of its session (see {@link OutboxRepository.claim}). */
export interface ClaimedJob {
  /** bigint, as decimal text. */
  id: string;
  /** bigint, as decimal text. */
  message_id: string;
  session_id: string;
  kind: 'send' | 'read_receipt';
  request: OutboundRequest | ReadReceiptRequest;
  /** Provider calls started before this claim. */
  attempts: number;
  deadline_at: Date;
  /** `attempt_started_at` was still set: an earlier claimer died during the provider call. */
  in_doubt: boolean;
  /** sessions.provider */
  provider: string;
  /** sessions.external_id */
  session_external_id: string;
  /** sessions.credentials */
  credentials: SessionCredentials | null;
}

/** A provider-accepted send to record. */
export interface SentMessage {
  messageId: string;
  sessionId: string;
  /** The provider's message id; null when it gave none. */
  externalId: string | null;
  jobId: string;
}

/** Rows deleted per statement by the sweeps, so a sweep never holds long locks. */
const SWEEP_BATCH = 5000;

/**
 * The SQL of the durable outbox (table `outbox_jobs`) as the worker and the janitor use it: claims under a lease
 * (`FOR UPDATE SKIP LOCKED`), attempt starts, outcomes, and the sweeps of finished rows. Jobs are queued by
 * SendingRepository.
 */
@Injectable()
export class OutboxRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * Claims up to `limit` due jobs (pending, due, unleased or with an expired lease, of a session whose queue is not
   * held), oldest due first, skipping rows other workers have locked: each gets a lease of `leaseSeconds` for
   * `workerId`.
   * @returns the claimed jobs (possibly none).
   * @throws the database's error.
   */
  async claim(limit: number, leaseSeconds: number, workerId: string): Promise<ClaimedJob[]> {
    // Sessions are sent for by one worker at a time (`send_leases`, renewed by each claim): its in-process pacer
    // then paces the session for every process. Two workers racing for a session's first lease may both claim
    // once; the next claims respect whichever lease was written.
    // Wrapped in a CTE: TypeORM answers a bare UPDATE/DELETE ... RETURNING with [rows, count].
    return (await this.db.query(
      `WITH claimed AS (UPDATE outbox_jobs j SET lease_until = now() + make_interval(secs => $2), locked_by = $3, updated_at = now()
       FROM (SELECT o.id FROM outbox_jobs o JOIN sessions s ON s.id = o.session_id
             WHERE o.state = 'pending' AND o.next_attempt_at <= now() AND (o.lease_until IS NULL OR o.lease_until < now()) AND NOT s.send_held
               AND NOT EXISTS (SELECT 1 FROM send_leases l WHERE l.session_id = o.session_id AND l.owner <> $3 AND l.until > now())
             ORDER BY o.next_attempt_at, o.id LIMIT $1 FOR UPDATE OF o SKIP LOCKED) due, sessions s
       WHERE j.id = due.id AND s.id = j.session_id
       RETURNING j.id, j.message_id, j.session_id, j.kind, j.request, j.attempts, j.deadline_at, j.attempt_started_at IS NOT NULL AS in_doubt,
         s.provider, s.external_id AS session_external_id, s.credentials
     ), leased AS (
       INSERT INTO send_leases AS l (session_id, owner, until)
       SELECT DISTINCT session_id, $3, now() + make_interval(secs => $2) FROM claimed
       ON CONFLICT (session_id) DO UPDATE SET owner = EXCLUDED.owner, until = EXCLUDED.until
         WHERE l.owner = EXCLUDED.owner OR l.until < now()
     ) SELECT * FROM claimed`,
      [limit, leaseSeconds, workerId],
    )) as ClaimedJob[];
  }

  /** Gives up this worker's send leases (graceful shutdown): another process may send for those sessions at once. */
  async releaseSendLeases(workerId: string): Promise<void> {
    await this.db.query(`DELETE FROM send_leases WHERE owner = $1`, [workerId]);
  }

  /**
   * Writes `attempt_started_at` (and counts the attempt) for jobs about to be called, in one statement; only jobs
   * still pending and locked by `workerId`.
   * @returns per id (same order), whether this worker still holds the job (false: its lease went to another worker).
   * @throws the database's error.
   */
  async markStarted(ids: string[], workerId: string): Promise<boolean[]> {
    const rows = (await this.db.query(
      `WITH s AS (UPDATE outbox_jobs SET attempt_started_at = now(), attempts = attempts + 1
         WHERE id = ANY($1::bigint[]) AND locked_by = $2 AND state = 'pending' RETURNING id) SELECT id::text FROM s`,
      [ids, workerId],
    )) as { id: string }[];
    const held = new Set(rows.map((r) => r.id));
    return ids.map((id) => held.has(String(id)));
  }

  /**
   * Records the provider id of each sent message and finishes its job (`done`), in one statement (one round trip,
   * one firing of the statistics triggers). When the provider's webhook got here first (wwebjs `message_create` of
   * our own message, or statuses) its row/events are folded into ours: one message, the best status.
   * @returns nothing.
   * @throws the database's error, e.g. a provider id that is already another message's; nothing is written then.
   */
  async recordSent(rows: SentMessage[]): Promise<void> {
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
         RETURNING m.id, m.session_id, m.external_id, m.conversation_id, m.status, m.type, m.chat_id
       ), sent_ev AS (
         -- The event log: the provider took our message (same transaction as the change).
         INSERT INTO events (type, session_id, data)
         SELECT 'message.sent', session_id, jsonb_build_object('messageId', id::text, 'externalId', external_id,
           'conversationId', conversation_id::text, 'direction', 'out', 'type', type, 'chatId', chat_id, 'status', status)
         FROM msg ORDER BY id
       )
       UPDATE outbox_jobs SET state = 'done', attempt_started_at = NULL, lease_until = NULL, last_error = NULL, updated_at = now()
       WHERE id IN (SELECT job_id FROM input)`,
      [rows.map((r) => r.messageId), rows.map((r) => r.sessionId), rows.map((r) => r.externalId), rows.map((r) => r.jobId)],
    );
  }

  /**
   * Finishes a job (`done`) whose call succeeded and needs no message update (read receipts).
   * @returns nothing.
   * @throws the database's error.
   */
  async markDone(jobId: string): Promise<void> {
    await this.db.query(
      `UPDATE outbox_jobs SET state = 'done', attempt_started_at = NULL, lease_until = NULL, updated_at = now() WHERE id = $1`,
      [jobId],
    );
  }

  /**
   * The provider accepted the message but its id could not be stored: the message (if still `queued`) becomes
   * `sent` with `errorDetail`, and the job `done` with `lastError`, so it is never sent again. Two statements.
   * @returns nothing.
   * @throws the database's error.
   */
  async recordSentUnrecorded(messageId: string, jobId: string, errorDetail: string, lastError: string): Promise<void> {
    await this.db.query(`UPDATE messages SET status = 'sent', status_at = now(), error_detail = $2 WHERE id = $1 AND status = 'queued'`, [
      messageId,
      errorDetail,
    ]);
    await this.db.query(
      `UPDATE outbox_jobs SET state = 'done', attempt_started_at = NULL, lease_until = NULL, last_error = $2, updated_at = now() WHERE id = $1`,
      [jobId, lastError],
    );
  }

  /**
   * The provider refused the session's credentials: in one transaction the session goes to `error` with its queue
   * held (`send_held`), a `send_credentials_refused` session event records it, and the job is given back
   * unleased with its attempt uncounted (it waits for new credentials, its retries intact).
   * @returns nothing.
   * @throws the database's error; nothing is written then.
   */
  async holdForCredentials(sessionId: string, jobId: string, error: string): Promise<void> {
    await this.db.transaction(async (m) => {
      const [prev] = (await m.query(`SELECT status FROM sessions WHERE id = $1`, [sessionId])) as { status: string }[];
      await m.query(`UPDATE sessions SET status = 'error', status_message = $2, send_held = true, updated_at = now() WHERE id = $1`, [
        sessionId,
        `Sending held: ${error}`,
      ]);
      await m.query(
        `INSERT INTO session_events (session_id, event, from_status, to_status, message, occurred_at) VALUES ($1, 'send_credentials_refused', $2, 'error', $3, now())`,
        [sessionId, prev?.status ?? null, error],
      );
      // The refused call does not count as an attempt: the job waits for credentials, its retries intact.
      await m.query(
        `UPDATE outbox_jobs SET attempts = attempts - 1, lease_until = NULL, locked_by = NULL, attempt_started_at = NULL, last_error = $2, updated_at = now() WHERE id = $1`,
        [jobId, error],
      );
    });
  }

  /**
   * Gives a job back after a temporary failure, due again in `backoffSeconds`, unleased, with `lastError`.
   * @returns nothing.
   * @throws the database's error.
   */
  async retryLater(jobId: string, backoffSeconds: number, lastError: string): Promise<void> {
    await this.db.query(
      `UPDATE outbox_jobs SET next_attempt_at = now() + make_interval(secs => $2), lease_until = NULL, locked_by = NULL, attempt_started_at = NULL, last_error = $3, updated_at = now() WHERE id = $1`,
      [jobId, backoffSeconds, lastError],
    );
  }

  /**
   * Fails a job for good (`failed`, `lastError`) and, with `message`, its message (if still `queued` or `pending`:
   * status `failed` with the error's code, title and detail), in one transaction.
   * @returns nothing.
   * @throws the database's error; nothing is written then.
   */
  async failJob(
    jobId: string,
    lastError: string,
    message?: { id: string; code: string; title: string; detail: string | null },
  ): Promise<void> {
    await this.db.transaction(async (m) => {
      if (message) {
        await m.query(
          `WITH upd AS (
             UPDATE messages SET status = 'failed', status_at = now(), error_code = $2, error_title = $3, error_detail = $4
             WHERE id = $1 AND status IN ('queued', 'pending')
             RETURNING id, session_id, conversation_id, chat_id
           )
           INSERT INTO events (type, session_id, data)
           SELECT 'message.failed', session_id, jsonb_build_object('messageId', id::text, 'conversationId', conversation_id::text,
             'chatId', chat_id, 'errorCode', $2::text, 'errorTitle', $3::text, 'errorDetail', $4::text)
           FROM upd`,
          [message.id, message.code, message.title, message.detail],
        );
      }
      await m.query(
        `UPDATE outbox_jobs SET state = 'failed', lease_until = NULL, attempt_started_at = NULL, last_error = $2, updated_at = now() WHERE id = $1`,
        [jobId, lastError],
      );
    });
  }

  /**
   * Gives a claimed, unstarted job back, due in `waitSeconds`, if `workerId` still holds it (attempts are not
   * touched: they count provider calls started, not claims).
   * @returns nothing.
   * @throws the database's error.
   */
  async release(jobId: string, waitSeconds: number, workerId: string): Promise<void> {
    await this.db.query(
      `UPDATE outbox_jobs SET lease_until = NULL, locked_by = NULL, next_attempt_at = now() + make_interval(secs => $2), updated_at = now() WHERE id = $1 AND locked_by = $3`,
      [jobId, waitSeconds, workerId],
    );
  }

  /**
   * Deletes `Idempotency-Key` rows older than `ttlHours`, in batches; stops early once the data source is closed.
   * @returns the number of rows deleted.
   * @throws the database's error.
   */
  deleteExpiredIdempotencyKeys(ttlHours: number): Promise<number> {
    return this.deleteAll(
      `DELETE FROM idempotency_keys WHERE ctid IN (SELECT ctid FROM idempotency_keys WHERE created_at < now() - make_interval(hours => $1) LIMIT ${SWEEP_BATCH})`,
      [ttlHours],
    );
  }

  /**
   * Deletes jobs finished (`done` or `failed`) more than `retentionDays` days ago, in batches; pending jobs are
   * never touched. Stops early once the data source is closed.
   * @returns the number of rows deleted.
   * @throws the database's error.
   */
  deleteFinishedJobs(retentionDays: number): Promise<number> {
    return this.deleteAll(
      `DELETE FROM outbox_jobs WHERE id IN (SELECT id FROM outbox_jobs WHERE state IN ('done', 'failed') AND updated_at < now() - make_interval(days => $1) LIMIT ${SWEEP_BATCH})`,
      [retentionDays],
    );
  }

  private async deleteAll(sql: string, params: unknown[]): Promise<number> {
    let total = 0;
    for (;;) {
      if (!this.db.isInitialized) return total;
      // TypeORM answers a DELETE with [rows, affected count].
      const [, n] = (await this.db.query(sql, params)) as [unknown, number];
      total += n;
      if (n < SWEEP_BATCH) return total;
    }
  }
}
