import type { LocationInfo, MediaInfo, MessageStatus, MessageType } from '../../messages/message.entity';
import type { Provider } from '../../sessions/session.entity';

/** The provider number an event belongs to. */
export interface SessionRef {
  provider: Provider;
  /** Meta phone_number_id, Wablas deviceId, wwebjs/Baileys session id. */
  externalId: string;
  /** E.164 digits of the number, when the payload says. */
  displayNumber?: string | null;
}

/** A message in canonical form. Timestamps are `Date`s built from the provider's seconds since epoch. */
export interface InboundMessage {
  externalId: string;
  direction: 'in' | 'out';
  type: MessageType;
  /** Contact E.164 digits for 1:1 chats, the group id for groups. */
  chatId: string;
  isGroup: boolean;
  groupSubject?: string | null;
  /** The other party of a 1:1 chat (E.164 digits), with the name their profile shows. */
  contact: { phone: string; profileName?: string | null } | null;
  /** Who wrote it (E.164 digits or JID); null for our own messages when the payload does not say. */
  sender: string | null;
  senderName?: string | null;
  text?: string | null;
  caption?: string | null;
  media?: MediaInfo | null;
  location?: LocationInfo | null;
  context?: Record<string, unknown> | null;
  replyToExternalId?: string | null;
  payload?: Record<string, unknown> | null;
  timestamp: Date;
  /** The provider's own object for this message. */
  raw: unknown;
}

/** A delivery status callback for a message (usually one we sent). */
export interface InboundStatus {
  externalId: string;
  status: MessageStatus;
  timestamp: Date;
  recipient?: string | null;
  error?: { code: string | null; title: string | null; detail: string | null } | null;
  payload?: Record<string, unknown> | null;
}

export interface InboundProviderError {
  code: string | null;
  title: string | null;
  detail: string | null;
  raw: unknown;
}

/**
 * What a normalizer makes of one webhook body. `ignored` marks parts understood but not stored (e.g. Meta
 * `group_lifecycle_update`); `unrecognized` marks parts that match no known shape.
 */
export type InboundEvent =
  | { kind: 'message'; session: SessionRef; message: InboundMessage }
  | { kind: 'status'; session: SessionRef; status: InboundStatus }
  | { kind: 'provider_error'; session: SessionRef | null; error: InboundProviderError; timestamp: Date }
  | { kind: 'ignored'; reason: string }
  | { kind: 'unrecognized'; reason: string };

/**
 * Port for one provider's inbound payloads. Implementations are pure: no I/O, no clock (the receive time is
 * passed in), no throwing on shapes they do not know: they return `unrecognized` events instead.
 */
export interface WebhookNormalizer {
  normalize(body: unknown, receivedAt: Date): InboundEvent[];
}
