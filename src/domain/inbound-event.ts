import type { LocationInfo, MediaInfo, MessageStatus, MessageType } from './message';
import type { Provider } from './provider';
import type { SessionStatus } from './session-status';

export type { SessionStatus } from './session-status';

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
  /**
   * The message is not live: history sync, or a copy of one synced from another device (Baileys `append`). It is
   * stored like any other but never answered (no auto-reply).
   */
  replayed?: boolean;
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

/** A lifecycle or bookkeeping event of a session; recorded in session_events, and applied when it sets fields. */
export interface InboundSessionEvent {
  /** Provider event name (`qr`, `ready`, `change_state`, `group_join`, ...). */
  event: string;
  /** New status, or null when the event does not change it. */
  status: SessionStatus | null;
  message?: string | null;
  /** `set` stores `qr`, `clear` removes the live QR, undefined leaves it. */
  qr?: { action: 'set'; value: string } | { action: 'clear' };
  loadingPercent?: number | null;
  /** The session became connected at `timestamp`. */
  connected?: boolean;
  payload?: Record<string, unknown> | null;
  timestamp: Date;
}

/**
 * What a normalizer makes of one webhook body. `ignored` marks parts understood but not stored (e.g. Meta
 * `group_lifecycle_update`); `unrecognized` marks parts that match no known shape.
 */
export type InboundEvent =
  | { kind: 'message'; session: SessionRef; message: InboundMessage }
  | { kind: 'status'; session: SessionRef; status: InboundStatus }
  | { kind: 'provider_error'; session: SessionRef | null; error: InboundProviderError; timestamp: Date }
  | { kind: 'session'; session: SessionRef; change: InboundSessionEvent }
  | {
      kind: 'call';
      session: SessionRef;
      call: { externalId: string; chatId: string; fromMe: boolean; isVideo: boolean; isGroup: boolean; timestamp: Date; raw: unknown };
    }
  | {
      kind: 'message_update';
      session: SessionRef;
      externalId: string;
      update: { deleted?: boolean; newText?: string | null; previousText?: string | null; timestamp: Date };
    }
  | { kind: 'reaction'; session: SessionRef; targetExternalId: string; sender: string; emoji: string | null; timestamp: Date }
  | {
      kind: 'media';
      session: SessionRef;
      externalId: string;
      media: { mimeType: string | null; filename: string | null; size: number | null; base64: string };
    }
  | { kind: 'ignored'; reason: string }
  | { kind: 'unrecognized'; reason: string };

/**
 * Port for one provider's inbound payloads. Implementations are pure: no I/O, no clock (the receive time is
 * passed in), no throwing on shapes they do not know: they return `unrecognized` events instead.
 */
export interface WebhookNormalizer {
  normalize(body: unknown, receivedAt: Date): InboundEvent[];
}

/** Events that write something (everything but `ignored` and `unrecognized`). */
export type StoredEvent = Exclude<InboundEvent, { kind: 'ignored' } | { kind: 'unrecognized' }>;

export function isStoredEvent(e: InboundEvent): e is StoredEvent {
  return e.kind !== 'ignored' && e.kind !== 'unrecognized';
}

/** When a stored event happened (provider time where given). */
export function eventTimestamp(e: StoredEvent): Date {
  switch (e.kind) {
    case 'message':
      return e.message.timestamp;
    case 'status':
      return e.status.timestamp;
    case 'session':
      return e.change.timestamp;
    case 'call':
      return e.call.timestamp;
    case 'message_update':
      return e.update.timestamp;
    case 'media':
      return new Date(0);
    default:
      return e.timestamp;
  }
}
