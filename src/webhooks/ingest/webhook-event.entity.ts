import { Column, Entity, PrimaryGeneratedColumn, Unique } from 'typeorm';

export type WebhookEventState = 'processed' | 'ignored' | 'failed';

/**
 * Every accepted webhook POST, stored before we answer 2xx. `dedupe_key` is the SHA-256 of the raw bytes, so a
 * provider's retry of the same delivery is one row (with `attempts` counting them).
 */
@Entity('webhook_events')
@Unique('uq_webhook_events_dedupe', ['provider', 'dedupeKey'])
export class WebhookEventEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS' })
  id: string;

  @Column({ type: 'varchar', length: 16 })
  provider: string;

  @Column({ name: 'dedupe_key', type: 'varchar', length: 64 })
  dedupeKey: string;

  @Column({ name: 'received_at', type: 'timestamptz' })
  receivedAt: Date;

  @Column({ name: 'content_type', type: 'varchar', length: 100, nullable: true })
  contentType: string | null;

  /** The body as parsed (JSON, or form fields as strings). */
  @Column({ type: 'jsonb', nullable: true })
  body: unknown;

  /** processed: normalised and applied; ignored: understood, nothing to store; failed: see `error`. */
  @Column({ type: 'varchar', length: 16 })
  state: WebhookEventState;

  @Column({ type: 'text', nullable: true })
  error: string | null;

  /** How many canonical events it produced. */
  @Column({ name: 'event_count', type: 'integer', default: 0 })
  eventCount: number;

  @Column({ type: 'integer', default: 1 })
  attempts: number;
}
