import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export const MESSAGE_STATUSES = ['queued', 'pending', 'sent', 'received', 'failed', 'delivered', 'read', 'played'] as const;
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];

/**
 * Rank of each status: an update applies only when it ranks higher than the current one, whatever order
 * provider callbacks arrive in (Meta may send `read` before `delivered`, see fixture meta.inbound.status_read).
 * `failed` ranks below `delivered`: a message the recipient got is not failed by a late callback.
 */
export const STATUS_RANK: Record<MessageStatus, number> = {
  queued: 0,
  pending: 1,
  sent: 2,
  received: 2,
  failed: 3,
  delivered: 4,
  read: 5,
  played: 6,
};

export const MESSAGE_TYPES = [
  'text', 'image', 'video', 'audio', 'voice', 'document', 'sticker', 'location', 'contacts', 'interactive',
  'button', 'reaction', 'order', 'system', 'unsupported', 'unknown',
] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

/** Media descriptor; which fields are set depends on the provider. */
export interface MediaInfo {
  /** Provider media id (Meta: fetch with GET /{version}/{media-id}). */
  id?: string;
  url?: string;
  mimeType?: string;
  sha256?: string;
  filename?: string;
  /** Voice note (push-to-talk). */
  voice?: boolean;
  animated?: boolean;
  size?: number;
}

export interface LocationInfo {
  latitude: number;
  longitude: number;
  name?: string;
  address?: string;
  url?: string;
}

/** One WhatsApp message, inbound or outbound, from any provider. */
@Entity('messages')
@Index('uq_messages_session_external', ['sessionId', 'externalId'], { unique: true })
export class MessageEntity {
  /** bigint identity, serialised as a string. */
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS' })
  id: string;

  @Column({ name: 'session_id', type: 'uuid' })
  sessionId: string;

  @Column({ name: 'conversation_id', type: 'uuid' })
  conversationId: string;

  @Column({ name: 'contact_id', type: 'uuid', nullable: true })
  contactId: string | null;

  /** Provider message id: Meta wamid, Wablas id, wwebjs serialized id. */
  @Column({ name: 'external_id', type: 'varchar', length: 255, nullable: true })
  externalId: string | null;

  @Column({ type: 'varchar', length: 3 })
  direction: 'in' | 'out';

  @Column({ type: 'varchar', length: 32 })
  type: MessageType;

  /** Chat the message belongs to: contact E.164 digits or group id. */
  @Column({ name: 'chat_id', type: 'varchar', length: 128 })
  chatId: string;

  /** Who wrote it: E.164 digits (or JID for groups / `@lid`), null for our own outbound messages when unknown. */
  @Column({ type: 'varchar', length: 128, nullable: true })
  sender: string | null;

  /** Provider profile name at receipt. */
  @Column({ name: 'sender_name', type: 'varchar', length: 200, nullable: true })
  senderName: string | null;

  @Column({ type: 'text', nullable: true })
  text: string | null;

  @Column({ type: 'text', nullable: true })
  caption: string | null;

  @Column({ type: 'jsonb', nullable: true })
  media: MediaInfo | null;

  @Column({ type: 'jsonb', nullable: true })
  location: LocationInfo | null;

  /** Reply/forward context and ad referral as the provider gave them. */
  @Column({ type: 'jsonb', nullable: true })
  context: Record<string, unknown> | null;

  @Column({ name: 'reply_to_external_id', type: 'varchar', length: 255, nullable: true })
  replyToExternalId: string | null;

  /** Type-specific structured fields: interactive reply, button, reaction, order items, shared contacts, system. */
  @Column({ type: 'jsonb', nullable: true })
  payload: Record<string, unknown> | null;

  @Column({ type: 'varchar', length: 16 })
  status: MessageStatus;

  @Column({ name: 'status_at', type: 'timestamptz', nullable: true })
  statusAt: Date | null;

  @Column({ name: 'error_code', type: 'varchar', length: 32, nullable: true })
  errorCode: string | null;

  @Column({ name: 'error_title', type: 'text', nullable: true })
  errorTitle: string | null;

  @Column({ name: 'error_detail', type: 'text', nullable: true })
  errorDetail: string | null;

  /** When the provider says the message was sent (Meta `timestamp`, seconds since epoch, stored as timestamptz). */
  @Column({ name: 'provider_timestamp', type: 'timestamptz' })
  providerTimestamp: Date;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'read_at', type: 'timestamptz', nullable: true })
  readAt: Date | null;

  @Column({ name: 'webhook_event_id', type: 'bigint', nullable: true })
  webhookEventId: string | null;

  /** The provider's own object for this message, verbatim. */
  @Column({ type: 'jsonb', nullable: true })
  raw: unknown;
}
