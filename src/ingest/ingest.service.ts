import { HttpStatus, Injectable, Logger } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { AppError } from '../common/app-error';
import { AppConfig } from '../config/app-config';
import type { Provider } from '../domain/provider';
import { GroupCommitter } from '../common/group-committer';
import { jsonHasNul, replaceNul } from '../common/nul';
import type { IncomingWebhook } from './incoming-webhook';
import { isStoredEvent, type InboundEvent, type WebhookNormalizer } from '../domain/inbound-event';
import { IngestRepository } from './ingest.repository';
import { LogFlood } from '../observability/log-flood';
import { Metrics } from '../observability/metrics';
import type { IngestJob, IngestResult } from './ingest.types';
import type { WebhookEventState } from './ingest.types';

export type { IncomingWebhook } from './incoming-webhook';

/**
 * The ingest pipeline every provider shares: normalise (pure), then store the raw event and apply its canonical
 * events in one transaction, grouped with whatever other webhooks arrived meanwhile (group commit). A body the
 * normaliser does not understand is stored raw with state `failed` and still acknowledged, so nothing is lost
 * and the provider stops retrying.
 */
@Injectable()
export class IngestService {
  private readonly logger = new Logger(IngestService.name);
  private readonly committer: GroupCommitter<IngestJob, IngestResult>;
  private readonly inboundListeners: ((messageIds: string[]) => void)[] = [];

  private readonly failures = new LogFlood(this.logger);

  constructor(
    private readonly repository: IngestRepository,
    config: AppConfig,
    private readonly metrics: Metrics,
  ) {
    // The embedded database has one connection: concurrent flushes would only queue for it.
    const flushers = config.DATABASE_URL ? config.INGEST_CONCURRENCY : 1;
    this.committer = new GroupCommitter((jobs) => this.applyBatch(jobs), config.INGEST_BATCH_MAX, flushers);
  }

  /**
   * Registers a listener told (after the commit, without delaying the webhook's answer) the message ids of each
   * stored webhook that carried an inbound text message. Used by auto-replies.
   */
  onInboundText(listener: (messageIds: string[]) => void): void {
    this.inboundListeners.push(listener);
  }

  /**
   * Normalises and durably stores one webhook.
   * @returns the stored raw event's id and state, and the ids of the message rows it holds.
   * @throws AppError 503 `SERVICE_UNAVAILABLE` when the database cannot store it (the provider should retry).
   */
  async ingest(provider: Provider, normalizer: WebhookNormalizer, webhook: IncomingWebhook): Promise<IngestResult> {
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
    try {
      const result = await this.committer.submit(job);
      this.metrics.webhooks.inc({ provider, state: result.state });
      if (result.duplicate) this.metrics.dedupeHits.inc({ provider });
      if (
        this.inboundListeners.length &&
        result.messageIds.length &&
        events.some((e) => e.kind === 'message' && e.message.direction === 'in' && e.message.type === 'text' && !e.message.replayed)
      ) {
        for (const listener of this.inboundListeners) listener(result.messageIds);
      }
      return result;
    } catch (e) {
      this.metrics.webhooks.inc({ provider, state: 'error' });
      // One line a second at most, with a count: an outage must not write a stack trace per request.
      this.failures.write('error', 'ingest-store', `could not store ${provider} webhooks: ${(e as Error).message}`, { provider });
      throw new AppError(HttpStatus.SERVICE_UNAVAILABLE, 'SERVICE_UNAVAILABLE', 'Webhook could not be stored; retry later');
    }
  }

  /** Applies a batch; if the batch fails, each job is retried alone so one bad webhook cannot sink the others. */
  private async applyBatch(jobs: IngestJob[]): Promise<IngestResult[]> {
    const started = performance.now();
    try {
      const results = await this.repository.applyBatch(jobs);
      this.metrics.ingestBatchSize.observe(jobs.length);
      this.metrics.ingestBatchDuration.observe((performance.now() - started) / 1000);
      return results;
    } catch (e) {
      if (jobs.length > 1) this.logger.warn(`batch of ${jobs.length} failed (${(e as Error).message}); applying one by one`);
      else if (!isClientDataError(e)) throw e;
    }
    const results: IngestResult[] = [];
    for (const job of jobs) {
      try {
        results.push((await this.repository.applyBatch([job]))[0]);
      } catch (e) {
        if (!isClientDataError(e)) throw e;
        this.logger.warn(`${job.provider} webhook could not be applied: ${(e as Error).message}`);
        results.push(await this.repository.storeFailed(job, `could not be applied: ${(e as Error).message}`));
      }
    }
    return results;
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

/**
 * Errors caused by the data of a webhook (PostgreSQL SQLSTATE classes 22 data exception and 23 integrity
 * violation), as opposed to the database being unavailable.
 */
function isClientDataError(e: unknown): boolean {
  const code = (e as { code?: unknown })?.code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('23'));
}
