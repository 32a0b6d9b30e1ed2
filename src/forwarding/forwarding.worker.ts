import { Injectable } from '@nestjs/common';
import { createHmac, randomUUID } from 'node:crypto';
import { Agent as HttpAgent, type ClientRequest, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { Webhook } from 'standardwebhooks';
import { GroupCommitter } from '../common/group-committer';
import { PeriodicTask } from '../common/periodic-task';
import { ForwardingConfig } from './forwarding.config';
import { type AttemptOutcome, type ClaimedDelivery, type FanOutEvent, ForwardingRepository } from './forwarding.repository';
import { checkUrlForm, guardedLookup, isBlockedAddress, TargetFormError, TargetRefusedError } from './target-guard';
import { GapTracker } from '../events/gap-tracker';
import { IngestPressure, YieldingCap } from '../observability/ingest-pressure';
import { Metrics } from '../observability/metrics';

/** Events read from the log per fan-out step. */
const FAN_OUT_PAGE = 1000;
/** Attempt outcomes written per statement. */
const FINISH_BATCH = 500;
/** Seconds a claim's lease outlasts WEBHOOK_TIMEOUT_MS: room for recording the outcome after the answer. */
const LEASE_MARGIN_SECONDS = 15;
/** Longest backoff between two attempts, in seconds. */
const MAX_BACKOFF_SECONDS = 3600;
/** Bytes of a response body read (and kept as the attempt's excerpt). */
const EXCERPT_BYTES = 1024;

/** The secret's raw key bytes: the base64 after `whsec_` (what standardwebhooks signs with, too). */
export function secretKeyBytes(secret: string): Buffer {
  return Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64');
}

/** standardwebhooks signers by secret (building one decodes the secret): at most a few hundred kept. */
const signers = new Map<string, Webhook>();
function signer(secret: string): Webhook {
  let w = signers.get(secret);
  if (!w) {
    if (signers.size >= 512) signers.clear();
    w = new Webhook(secret);
    signers.set(secret, w);
  }
  return w;
}

/**
 * The request headers of one delivery: the subscription's own headers, then `content-type`, the Standard Webhooks
 * headers (`webhook-id` = `msgId`, stable over retries; `webhook-timestamp` in Unix seconds; `webhook-signature`
 * = `v1,<sig>` with the current secret and, during a rotation's overlap, a second `v1,<sig>` with the previous
 * one, space-separated) and `x-hub-signature-256: sha256=<hex HMAC-SHA256 of the body>` keyed with the current
 * secret's raw bytes ({@link secretKeyBytes}).
 */
export function signedHeaders(
  body: string,
  msgId: string,
  at: Date,
  secret: string,
  previousSecret: string | null,
  extra: Record<string, string>,
): Record<string, string> {
  const signatures = [signer(secret).sign(msgId, at, body)];
  if (previousSecret) signatures.push(signer(previousSecret).sign(msgId, at, body));
  return {
    ...extra,
    'content-type': 'application/json',
    'user-agent': 'wa-hub-webhooks/1',
    'webhook-id': msgId,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': signatures.join(' '),
    'x-hub-signature-256': `sha256=${createHmac('sha256', secretKeyBytes(secret)).update(body).digest('hex')}`,
  };
}

/** What one HTTP attempt gave. */
interface CallResult {
  status: number | null;
  headers: IncomingHttpHeaders;
  excerpt: string | null;
  error: string | null;
}

/**
 * POSTs `body` once: redirects are not followed, at most {@link EXCERPT_BYTES} of the answer are read, the whole
 * exchange is cut at `timeoutMs`. With `guard` the connection's DNS answers are checked ({@link guardedLookup}).
 * @returns the status (null when no answer) and excerpt, or the error; never throws.
 */
function post(
  url: URL,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
  guard: boolean,
  agents: { http: HttpAgent; https: HttpsAgent },
  open: Set<ClientRequest>,
): Promise<CallResult> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (r: CallResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      open.delete(req);
      resolve(r);
    };
    const https = url.protocol === 'https:';
    const req = (https ? httpsRequest : httpRequest)(url, {
      method: 'POST',
      headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      // Keep-alive: a connection per in-flight call is reused for the next one (no TCP/TLS handshake per delivery).
      agent: https ? agents.https : agents.http,
      ...(guard ? { lookup: guardedLookup } : {}),
    });
    open.add(req);
    const timer = setTimeout(() => req.destroy(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
    req.on('error', (e) =>
      finish({ status: null, headers: {}, excerpt: null, error: e.message.replace(/\u0000/g, '\uFFFD').slice(0, 1000) }),
    );
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const complete = () => {
        const excerpt = Buffer.concat(chunks).subarray(0, EXCERPT_BYTES);
        // Cut at a character boundary so the excerpt stays within 1 KB once stored as UTF-8.
        // U+0000 cannot be stored in PostgreSQL text: replaced, as ingest does.
        let text = excerpt.toString('utf8').replace(/\u0000/g, '\uFFFD');
        while (Buffer.byteLength(text) > EXCERPT_BYTES) text = text.slice(0, -1);
        finish({ status: res.statusCode ?? null, headers: res.headers, excerpt: text || null, error: null });
        // Stop reading past the excerpt: the connection is dropped (not reused) so the rest is never read.
        if (!res.complete) res.destroy();
      };
      res.on('data', (c: Buffer) => {
        chunks.push(c);
        size += c.length;
        if (size >= EXCERPT_BYTES) complete();
      });
      res.on('end', complete);
      res.on('error', complete);
    });
    req.end(body);
  });
}

/** Seconds from a `Retry-After` header (delta seconds or HTTP date), or undefined. */
export function retryAfterSeconds(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim());
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, (at - now) / 1000);
}

/**
 * Outgoing webhooks, in every process with WEBHOOK_WORKER not `false`:
 *
 * 1. Fan-out (every 100 ms, and at once again while full pages come): committed events after `forwarding_cursor`
 *    (never past an id that may still commit: see takeContiguous)
 *    become one delivery per
 *    matching enabled subscription; the cursor moves in the same transaction, which holds its row `FOR UPDATE` and
 *    writes nothing when another process moved it first. New deliveries wake the delivery pump at once.
 * 2. Delivery pump: due pending deliveries are claimed under a lease (`FOR UPDATE SKIP LOCKED`; at most
 *    WEBHOOK_CONCURRENCY leased per subscription over all processes, at most WEBHOOK_MAX_IN_FLIGHT in this one),
 *    whenever there is room: after each batch of outcomes is recorded, when the fan-out queued deliveries, and
 *    every 100 ms for retries falling due and rows other processes queued. Each is POSTed over a keep-alive
 *    connection: body = the envelope `{id, type, occurredAt, sessionId, data}` (format `standard`) or seed s0's
 *    forward body `{id, sender_number, sender_name, message, direction, timestamp}` (format `s0`, message events
 *    only), signed ({@link signedHeaders}).
 * 3. Outcomes are recorded in batches (one statement for all the calls that ended meanwhile, see
 *    ForwardingRepository.finishMany).
 * 4. Ingest first: while this process acknowledges inbound webhooks (WEBHOOK_YIELD_MIN_RATE per second or more)
 *    with its event loop busy at least WEBHOOK_YIELD_ELU of the time ({@link IngestPressure}), the in-flight cap
 *    halves per 250 ms sample down to WEBHOOK_YIELD_IN_FLIGHT ({@link YieldingCap}), each subscription gets one
 *    call at a time, and the fan-out writes one page only once the queued rows are claimed; the backlog waits in
 *    the event log and drains at full pace once the pressure ends.
 *
 * Outcomes: 2xx → `delivered`. 410 → `failed` and the subscription disabled. Anything else (other statuses, 3xx
 * since redirects are not followed, network errors, timeouts of WEBHOOK_TIMEOUT_MS, a target that now resolves to a
 * blocked address) → retried after WEBHOOK_RETRY_BASE_SECONDS × 2^(attempt−1) (+ up to 25 % jitter, at most 1 h), or
 * after `Retry-After` on 429/503, until WEBHOOK_RETRY_HOURS after the delivery was queued, then `failed`. A
 * subscription failing without a success for WEBHOOK_DISABLE_AFTER_HOURS is disabled. Disabling writes a
 * `webhook.disabled` audit entry. Every attempt is recorded.
 * At least once: a process dying mid-call leaves the lease (WEBHOOK_TIMEOUT_MS + 15 s) to expire and the delivery
 * is sent again (same `webhook-id`, so receivers can deduplicate).
 */
@Injectable()
export class ForwardingWorker extends PeriodicTask {
  protected readonly everyMs = 100;
  private readonly workerId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  /** Deliveries of this process from claim to the end of their call (WEBHOOK_MAX_IN_FLIGHT bounds it). */
  private readonly inFlight = new Set<Promise<void>>();
  /** Every delivery of this process until its outcome is written (awaited at shutdown). */
  private readonly recorded = new Set<Promise<void>>();
  private readonly current = new Map<string, Promise<void>>();
  private readonly requests = new Set<ClientRequest>();
  private readonly agents = {
    http: new HttpAgent({ keepAlive: true, scheduling: 'lifo' }),
    https: new HttpsAgent({ keepAlive: true, scheduling: 'lifo' }),
  };
  private readonly finisher = new GroupCommitter<{ deliveryId: string; outcome: AttemptOutcome }, boolean>(
    async (jobs) => {
      const written = await this.repo.finishMany(this.workerId, jobs);
      return jobs.map((j) => written.has(j.deliveryId));
    },
    FINISH_BATCH,
    2,
  );
  /** Deliveries whose call has ended and whose outcome is queued for writing (their lease is still held). */
  private readonly recording = new Set<string>();
  /** Gaps in the event ids the fan-out waits for (the same rule as the REST page and the live tail). */
  private readonly gaps = new GapTracker();
  private lastCursor: string | undefined;
  private stopped = false;
  private pumping = false;
  private pumpAgain = false;
  /** Whether the last claim filled its room (more due rows may be claimable). */
  private claimableLeft = false;
  /** This process's in-flight cap: WEBHOOK_MAX_IN_FLIGHT, lower while the ingest is under pressure. */
  private readonly cap: YieldingCap;

  constructor(
    private readonly repo: ForwardingRepository,
    private readonly config: ForwardingConfig,
    private readonly pressure: IngestPressure,
    private readonly metrics: Metrics,
  ) {
    super();
    this.cap = new YieldingCap(
      Math.min(config.WEBHOOK_YIELD_IN_FLIGHT, config.WEBHOOK_MAX_IN_FLIGHT),
      config.WEBHOOK_MAX_IN_FLIGHT,
      config.WEBHOOK_YIELD_ELU,
      config.WEBHOOK_YIELD_MIN_RATE,
    );
  }

  /** Whether deliveries are giving way to the ingest (the cap is below WEBHOOK_MAX_IN_FLIGHT). */
  private get yielding(): boolean {
    return this.cap.value < this.config.WEBHOOK_MAX_IN_FLIGHT;
  }

  override onApplicationBootstrap(): void {
    if (this.config.WEBHOOK_WORKER !== 'true') return;
    super.onApplicationBootstrap();
    this.metrics.webhookDeliveryCap.set(this.cap.value);
    if (this.config.WEBHOOK_YIELD_ELU < 1)
      this.pressure.onSample((s) => {
        const grew = this.cap.update(s);
        this.metrics.webhookDeliveryCap.set(this.cap.value);
        if (grew) this.wake();
      });
  }

  override async onModuleDestroy(): Promise<void> {
    super.onModuleDestroy();
    this.stopped = true;
    for (const req of this.requests) req.destroy(new Error('shutting down'));
    await Promise.allSettled([...this.recorded]);
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  protected async run(): Promise<void> {
    if (this.stopped) return;
    // While deliveries give way to the ingest, the fan-out does too: one page, and only once the queued rows are
    // all claimed (the last claim came back short), so the backlog waits in the event log rather than being
    // written out as delivery rows at the ingest's pace.
    if (!this.yielding) {
      for (let i = 0; i < 10; i++) if (!(await this.fanOutOnce())) break;
    } else if (!this.claimableLeft) await this.fanOutOnce();
    // Retries that fell due and rows queued by other processes are found by this pass.
    this.wake();
  }

  /**
   * One fan-out step; new deliveries wake the pump. The cursor only moves over ids with no gap before them, or
   * whose gap is final (see {@link takeContiguous}).
   * @returns whether a full page was fanned out (more may follow).
   */
  private async fanOutOnce(): Promise<boolean> {
    const after = await this.repo.cursor();
    if (this.lastCursor !== undefined && BigInt(after) < BigInt(this.lastCursor)) this.gaps.clear(); // log restarted
    this.lastCursor = after;
    const page = await this.repo.visibleEvents(after, FAN_OUT_PAGE);
    const rows = this.takeContiguous(after, page);
    if (rows.length === 0) return false;
    const moved = await this.repo.fanOut(after, rows);
    if (moved) this.wake();
    return moved && rows.length === FAN_OUT_PAGE;
  }

  /**
   * The events of `page` up to the first id that is missing and may still come: a cursor moving past an id whose
   * transaction commits later would skip it for ever. A missing id (an open transaction's, or one rolled back or
   * deleted) is waited for until its gap is settled: see {@link GapTracker}, shared with the REST page and the
   * live tail.
   */
  private takeContiguous(after: string, page: { rows: FanOutEvent[]; xmin: bigint; xmax: bigint }): FanOutEvent[] {
    const n = this.gaps.take(
      BigInt(after),
      page.rows.map((e) => ({ id: BigInt(e.id), xid: e.xid })),
      page,
    );
    const take = n === page.rows.length ? page.rows : page.rows.slice(0, n);
    this.gaps.forget(take.length ? BigInt(take[take.length - 1].id) : BigInt(after));
    return take;
  }

  /** Runs the pump now, or once more after the running pass. */
  private wake(): void {
    if (this.stopped) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    void this.pump();
  }

  /** Claims while there is room in this process and due rows to claim. */
  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        const room = this.cap.value - this.inFlight.size;
        if (this.stopped) break;
        if (room <= 0) {
          // Every slot is taken: whatever is queued waits for them (the fan-out holds back while yielding); the
          // next call to end wakes the pump, which claims again and finds out.
          this.claimableLeft = true;
          break;
        }
        const leaseSeconds = Math.ceil(this.config.WEBHOOK_TIMEOUT_MS / 1000) + LEASE_MARGIN_SECONDS;
        // While giving way, one call per subscription at a time: a slow or hanging target cannot take every slot.
        const perSubscription = this.yielding ? 1 : this.config.WEBHOOK_CONCURRENCY;
        const claimed = await this.repo.claim(room, perSubscription, leaseSeconds, this.workerId, [...this.recording]);
        for (const d of claimed) {
          const p = this.deliver(d)
            .catch((e: Error) => this.log.error(`webhook delivery ${d.id} failed to record: ${e.message}`))
            .finally(() => {
              this.recorded.delete(p);
              if (this.inFlight.delete(p)) this.wake();
            });
          this.inFlight.add(p);
          this.recorded.add(p);
          this.current.set(d.id, p);
        }
        // A full claim may leave more due rows; a short one means none is claimable until something changes.
        this.claimableLeft = claimed.length === room;
        if (this.claimableLeft) this.pumpAgain = true;
      } while (this.pumpAgain && !this.stopped);
    } catch (e) {
      this.log.warn(`webhook claim failed: ${(e as Error).message}`);
    } finally {
      this.pumping = false;
    }
  }

  /** Builds the body of `d`, or null when its event is gone from the log (retention). */
  private async bodyOf(d: ClaimedDelivery): Promise<Record<string, unknown> | null> {
    if (d.payload) return d.payload;
    if (!d.ev_data || !d.ev_occurred_at) return null;
    if (d.format === 's0') {
      const m = await this.repo.s0Message(String(d.ev_data.messageId ?? ''));
      if (!m) return null;
      return {
        id: Number(m.id),
        sender_number: m.chat_id,
        sender_name: m.name,
        message: m.text ?? m.caption ?? '',
        direction: m.direction,
        timestamp: new Date(m.provider_timestamp).toISOString(),
      };
    }
    return {
      id: d.event_id,
      type: d.event_type,
      occurredAt: new Date(d.ev_occurred_at).toISOString(),
      sessionId: d.ev_session_id,
      data: d.ev_data,
    };
  }

  private async deliver(d: ClaimedDelivery): Promise<void> {
    const payload = await this.bodyOf(d);
    if (!payload) {
      await this.record(d, {
        status: null,
        latencyMs: 0,
        excerpt: null,
        error: 'the event (or its message) is no longer stored',
        next: { kind: 'failed' },
        success: false,
      });
      return;
    }
    const body = JSON.stringify(payload);
    const started = performance.now();
    let result: CallResult;
    let permanent = false;
    try {
      const url = checkUrlForm(d.url, this.config.allowHttp);
      const host = url.hostname.replace(/^\[|\]$/g, '');
      if (!this.config.allowPrivate && isIP(host) && isBlockedAddress(host))
        throw new TargetRefusedError(`target is a blocked address (${host})`);
      const headers = signedHeaders(body, `wd_${d.id}`, new Date(), d.secret, d.previous_secret, d.headers ?? {});
      result = await post(url, headers, body, this.config.WEBHOOK_TIMEOUT_MS, !this.config.allowPrivate, this.agents, this.requests);
    } catch (e) {
      permanent = e instanceof TargetFormError;
      result = { status: null, headers: {}, excerpt: null, error: (e as Error).message };
    }
    if (this.stopped) return; // shutting down: the lease runs out and another claim sends it again
    await this.record(d, this.outcome(d, result, performance.now() - started, permanent));
  }

  /**
   * Writes the attempt (batched with others); then disables the subscription when the outcome says so. The call
   * is over: its slot is free for the next claim at once (the batch's write need not be waited for), and its
   * still-held lease no longer counts against the subscription's WEBHOOK_CONCURRENCY.
   */
  private async record(d: ClaimedDelivery, outcome: AttemptOutcome): Promise<void> {
    this.recording.add(d.id);
    const pending = this.finisher.submit({ deliveryId: d.id, outcome }).finally(() => this.recording.delete(d.id));
    this.inFlight.delete(this.current.get(d.id)!);
    this.current.delete(d.id);
    this.wake();
    const written = await pending;
    if (written && outcome.disableReason)
      await this.repo.disableSubscription(d.subscription_id, outcome.disableReason, {
        deliveryId: d.id,
        status: outcome.status,
        error: outcome.error,
      });
  }

  private outcome(d: ClaimedDelivery, r: CallResult, latencyMs: number, permanent: boolean): AttemptOutcome {
    const base = { status: r.status, latencyMs, excerpt: r.excerpt, error: r.error };
    if (r.status !== null && r.status >= 200 && r.status < 300) return { ...base, next: { kind: 'delivered' }, success: true };
    const error = r.error ?? `HTTP ${r.status}`;
    if (r.status === 410)
      return { ...base, error, next: { kind: 'failed' }, success: false, disableReason: 'the target answered 410 Gone' };
    const now = Date.now();
    const failingFor = d.failing_since ? (now - new Date(d.failing_since).getTime()) / 3_600_000 : 0;
    const disableReason =
      d.failing_since && failingFor >= this.config.WEBHOOK_DISABLE_AFTER_HOURS
        ? `failing for more than ${this.config.WEBHOOK_DISABLE_AFTER_HOURS} h`
        : undefined;
    const remaining = (new Date(d.created_at).getTime() + this.config.WEBHOOK_RETRY_HOURS * 3_600_000 - now) / 1000;
    if (permanent || remaining <= 0) return { ...base, error, next: { kind: 'failed' }, success: false, disableReason };
    const attempt = d.attempts + 1;
    const backoff = Math.min(this.config.WEBHOOK_RETRY_BASE_SECONDS * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS) * (1 + Math.random() * 0.25);
    const hinted = r.status === 429 || r.status === 503 ? retryAfterSeconds(r.headers['retry-after'], now) : undefined;
    const afterSeconds = Math.min(hinted ?? backoff, remaining);
    return { ...base, error, next: { kind: 'retry', afterSeconds }, success: false, disableReason };
  }
}
