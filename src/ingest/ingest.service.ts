import { HttpStatus, Injectable, Logger } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { AppError } from '../common/app-error';
import { AppConfig } from '../config/app-config';
import type { Provider } from '../domain/provider';
import { GroupCommitter } from '../common/group-committer';
import { jsonHasNul, replaceNul } from '../common/nul';
import type { IncomingWebhook } from './incoming-webhook';
import { isStoredEvent, type InboundEvent, type WebhookNormalizer } from '../domain/inbound-event';
import { IngestApplier, isClientDataError } from './ingest-applier';
import { IngestRepository } from './ingest.repository';
import { LogFlood } from '../observability/log-flood';
import { IngestPressure } from '../observability/ingest-pressure';
import { Metrics } from '../observability/metrics';
import type { IngestJob, IngestResult, WebhookEventState } from './ingest.types';

export type { IncomingWebhook } from './incoming-webhook';

/** What the acknowledgement of one webhook produced (before its events are applied). */
interface Ack {
  webhookEventId: string;
  inboxId: string | null;
  duplicate: boolean;
  state: WebhookEventState;
  error: string | null;
}

/** Per-call options of {@link IngestService.ingest}. */
export interface IngestOptions {
  /**
   * Answer only once this webhook's own events are applied (at most INGEST_APPLY_WAIT_MS), so the result carries
   * the ids of its message rows: for responses that must carry a record id. Implied by INGEST_ACK=applied.
   */
  waitApplied?: boolean;
}

/**
 * The ingest pipeline every provider shares (issue 16): normalise (pure), then acknowledge: the raw event (the
 * exact bytes, dedupe key) and its canonical events are committed to the inbox in one transaction, grouped with
 * whatever other webhooks arrived meanwhile (group commit), and the caller answers 2xx. The {@link IngestApplier}
 * then writes messages, conversations, statuses and the event log in batches, signalled at once. A body the
 * normaliser does not understand is stored raw with state `failed` and still acknowledged, so nothing is lost
 * and the provider stops retrying.
 */
@Injectable()
export class IngestService {
  private readonly logger = new Logger(IngestService.name);
  private readonly committer: GroupCommitter<IngestJob, Ack>;
  private readonly inboundListeners: ((messageIds: string[]) => void)[] = [];

  private readonly failures = new LogFlood(this.logger);

  constructor(
    private readonly repository: IngestRepository,
    private readonly applier: IngestApplier,
    private readonly config: AppConfig,
    private readonly metrics: Metrics,
    private readonly pressure: IngestPressure,
  ) {
    // The embedded database has one connection: concurrent flushes would only queue for it.
    const flushers = config.DATABASE_URL ? config.INGEST_CONCURRENCY : 1;
    this.committer = new GroupCommitter((jobs) => this.acknowledgeBatch(jobs), config.INGEST_BATCH_MAX, flushers);
  }

  /**
   * Registers a listener told (after its events are applied, without delaying the webhook's answer) the message
   * ids of each webhook that carried an inbound text message. Used by auto-replies.
   */
  onInboundText(listener: (messageIds: string[]) => void): void {
    this.inboundListeners.push(listener);
  }

  /**
   * Normalises and durably stores one webhook (acknowledged once in the inbox; applied right after).
   * @returns the stored raw event's id and state, and, when the call waited for its events to be applied
   *   (`options.waitApplied`, INGEST_ACK=applied, or backpressure: more than INGEST_APPLY_BACKLOG_MAX webhooks of
   *   this process waiting to be applied), the ids of the message rows it holds (otherwise `[]`).
   * @throws AppError 503 `SERVICE_UNAVAILABLE` when the database cannot store it (the provider should retry).
   */
  async ingest(
    provider: Provider,
    normalizer: WebhookNormalizer,
    webhook: IncomingWebhook,
    options: IngestOptions = {},
  ): Promise<IngestResult> {
    const receivedAt = new Date();
    let events: InboundEvent[];
    try {
      events = normalizer.normalize(webhook.body, receivedAt);
    } catch (e) {
      // Normalisers should not throw; if one does, the payload is still kept and reported.
      this.logger.error(`${provider} normalizer threw`, (e as Error).stack);
      events = [{ kind: 'unrecognized', reason: `normalizer error: ${(e as Error).message}` }];
    }
    const { state, error } = summarize(events);
    const job: IngestJob = {
      provider,
      dedupeKey: createHash('sha256').update(webhook.rawBody).digest('hex'),
      receivedAt,
      contentType: webhook.contentType,
      rawBody: webhook.rawBody,
      bodyJson: bodyAsJson(webhook),
      events,
      state,
      error,
    };
    let ack: Ack;
    try {
      ack = await this.committer.submit(job);
    } catch (e) {
      this.metrics.webhooks.inc({ provider, state: 'error' });
      // One line a second at most, with a count: an outage must not write a stack trace per request.
      this.failures.write('error', 'ingest-store', `could not store ${provider} webhooks: ${(e as Error).message}`, { provider });
      throw new AppError(HttpStatus.SERVICE_UNAVAILABLE, 'SERVICE_UNAVAILABLE', 'Webhook could not be stored; retry later');
    }
    this.metrics.webhooks.inc({ provider, state: ack.state });
    this.pressure.acknowledged();
    if (ack.duplicate) this.metrics.dedupeHits.inc({ provider });
    let applied: Promise<string[]> | undefined;
    if (ack.inboxId) {
      // The bytes and their JSON text are in the inbox now; the apply reads only the events. Not holding them
      // until the apply (tens of ms under load) keeps them out of the garbage collector's survivors: each
      // young-generation collection copies what is still referenced, and these were most of it.
      const applyJob: IngestJob = { ...job, rawBody: NO_BYTES, bodyJson: 'null' };
      applied = this.applier.enqueue({ inboxId: ack.inboxId, webhookEventId: ack.webhookEventId, ackedAt: new Date(), job: applyJob });
      if (
        this.inboundListeners.length &&
        events.some((e) => e.kind === 'message' && e.message.direction === 'in' && e.message.type === 'text' && !e.message.replayed)
      ) {
        void applied.then((ids) => {
          if (ids.length) for (const listener of this.inboundListeners) listener(ids);
        });
      }
    }
    // Backpressure: past INGEST_APPLY_BACKLOG_MAX unapplied webhooks, answers wait for their own apply.
    const pushBack = applied !== undefined && this.applier.backlog > this.config.INGEST_APPLY_BACKLOG_MAX;
    if (pushBack) this.metrics.ingestBackpressure.inc({ provider });
    const wait = options.waitApplied === true || this.config.INGEST_ACK === 'applied' || pushBack;
    let messageIds: string[] = [];
    if (wait && (applied || ack.duplicate)) {
      // A retry of the same bytes answers with the original's rows, once they are applied.
      const own = applied ?? this.applier.pendingFor(ack.webhookEventId) ?? this.repository.messageIdsOf(ack.webhookEventId);
      messageIds = (await within(own, this.config.INGEST_APPLY_WAIT_MS)) ?? [];
    }
    return { webhookEventId: ack.webhookEventId, state: ack.state, error: ack.error, messageIds, duplicate: ack.duplicate };
  }

  /**
   * Acknowledges a batch; if the batch fails, each job is retried alone so one bad webhook cannot sink the
   * others (one the database refuses is stored raw as `failed`).
   */
  private async acknowledgeBatch(jobs: IngestJob[]): Promise<Ack[]> {
    try {
      const acks = await this.repository.acknowledge(jobs);
      return acks.map((a, i) => ({ ...a, state: jobs[i].state, error: jobs[i].error }));
    } catch (e) {
      if (jobs.length > 1) this.logger.warn(`batch of ${jobs.length} failed (${(e as Error).message}); storing one by one`);
      else if (!isClientDataError(e)) throw e;
    }
    const acks: Ack[] = [];
    for (const job of jobs) {
      try {
        const [a] = await this.repository.acknowledge([job]);
        acks.push({ ...a, state: job.state, error: job.error });
      } catch (e) {
        if (!isClientDataError(e)) throw e;
        this.logger.warn(`${job.provider} webhook could not be stored: ${(e as Error).message}`);
        const failed = await this.repository.storeFailed(job, `could not be applied: ${(e as Error).message}`);
        acks.push({ webhookEventId: failed.webhookEventId, inboxId: null, duplicate: false, state: 'failed', error: failed.error });
      }
    }
    return acks;
  }
}

const NO_BYTES = Buffer.alloc(0);

/** `p`'s value, or undefined when it takes longer than `ms` (or fails). */
async function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms)))]);
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

/** Overall state of a webhook from its events. */
function summarize(events: InboundEvent[]): { state: WebhookEventState; error: string | null } {
  const stored = events.some(isStoredEvent);
  const unrecognized = events.filter((e): e is Extract<InboundEvent, { kind: 'unrecognized' }> => e.kind === 'unrecognized');
  if (unrecognized.length > 0) {
    const reasons = [...new Set(unrecognized.map((e) => e.reason))].join('; ');
    return { state: 'failed', error: stored ? `partly unrecognized: ${reasons}` : reasons };
  }
  if (stored) return { state: 'processed', error: null };
  const ignored = events.filter((e): e is Extract<InboundEvent, { kind: 'ignored' }> => e.kind === 'ignored');
  return { state: 'ignored', error: [...new Set(ignored.map((e) => e.reason))].join('; ') || null };
}

/**
 * The parsed body as JSON text for `webhook_events.body` (jsonb). JSON bodies are taken from their own bytes (no
 * re-serialisation; the repository splices this text into the batch, so it must be exactly what a JSON parser
 * turned into `body`), unless they hold U+0000, which jsonb cannot: then the parsed value with U+FFFD in its
 * place (the exact bytes are kept in `raw_body` either way). Anything else as its parsed value (form fields), or
 * null.
 */
function bodyAsJson(webhook: IncomingWebhook): string {
  const parsedFromRaw =
    webhook.contentType?.includes('json') && typeof webhook.body === 'object' && webhook.body !== null && webhook.rawBody.length > 0;
  if (parsedFromRaw) {
    const text = webhook.rawBody.toString('utf8');
    return jsonHasNul(text) ? JSON.stringify(replaceNul(webhook.body)) : text;
  }
  return JSON.stringify(replaceNul(webhook.body ?? null));
}
