import type { Provider } from '../domain/provider';
import type { InboundEvent } from '../domain/inbound-event';

/** What became of a stored webhook: applied, deliberately ignored (e.g. a status-only body for an unknown
 * number), or not understood (kept raw, reported by GET /v1/webhook-events?state=failed). */
export type WebhookEventState = 'processed' | 'ignored' | 'failed';

/** One accepted webhook on its way to the database (acknowledged into the inbox, then applied). */
export interface IngestJob {
  provider: Provider;
  /** SHA-256 (hex) of the raw body bytes. */
  dedupeKey: string;
  receivedAt: Date;
  contentType: string | null;
  /** The exact request bytes, stored in `webhook_events.raw_body`. */
  rawBody: Buffer;
  /** The parsed body as JSON text, stored as jsonb (U+0000 already replaced by U+FFFD). */
  bodyJson: string;
  events: InboundEvent[];
  state: WebhookEventState;
  error: string | null;
}

/** What the ingest of one webhook produced. */
export interface IngestResult {
  webhookEventId: string;
  state: WebhookEventState;
  error: string | null;
  /**
   * Ids of the message rows this webhook's messages are stored as (new or already there), in event order, when
   * the call waited for its events to be applied (IngestOptions.waitApplied, INGEST_ACK=applied); otherwise `[]`
   * (the rows are written by the applier right after the answer).
   */
  messageIds: string[];
  /** The same bytes had been stored before (a provider retry): nothing new was applied. */
  duplicate?: boolean;
}
