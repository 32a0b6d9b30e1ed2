import { Column, Entity, PrimaryGeneratedColumn, Unique } from 'typeorm';

/** Every delivery status callback a provider sent, kept even when its message is not (yet) known. */
@Entity('message_status_events')
@Unique('uq_status_events', ['sessionId', 'externalId', 'status'])
export class MessageStatusEventEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS' })
  id: string;

  @Column({ name: 'session_id', type: 'uuid' })
  sessionId: string;

  @Column({ name: 'external_id', type: 'varchar', length: 255 })
  externalId: string;

  @Column({ type: 'varchar', length: 16 })
  status: string;

  @Column({ name: 'occurred_at', type: 'timestamptz' })
  occurredAt: Date;

  @Column({ type: 'varchar', length: 128, nullable: true })
  recipient: string | null;

  @Column({ name: 'error_code', type: 'varchar', length: 32, nullable: true })
  errorCode: string | null;

  @Column({ name: 'error_title', type: 'text', nullable: true })
  errorTitle: string | null;

  @Column({ name: 'error_detail', type: 'text', nullable: true })
  errorDetail: string | null;

  /** Meta conversation / pricing / biz_opaque_callback_data, Wablas note. */
  @Column({ type: 'jsonb', nullable: true })
  payload: Record<string, unknown> | null;

  @Column({ name: 'received_at', type: 'timestamptz', default: () => 'now()' })
  receivedAt: Date;

  @Column({ name: 'webhook_event_id', type: 'bigint', nullable: true })
  webhookEventId: string | null;
}
