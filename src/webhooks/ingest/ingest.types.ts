import type { Provider } from '../../sessions/session.entity';
import type { InboundEvent } from './inbound-event';
import type { WebhookEventState } from './webhook-event.entity';

/** One accepted webhook on its way to the database. */
export interface IngestJob {
  provider: Provider;
  /** SHA-256 (hex) of the raw body bytes. */
  dedupeKey: string;
  receivedAt: Date;
  contentType: string | null;
  /** The body as JSON text, stored as jsonb. */
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
  /** Ids of the message rows this webhook's messages are stored as (new or already there), in event order. */
  messageIds: string[];
}
