// Canonical message vocabulary shared by every provider, ingest, sending and the read API.

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
  'text',
  'image',
  'video',
  'audio',
  'voice',
  'document',
  'sticker',
  'location',
  'contacts',
  'interactive',
  'button',
  'reaction',
  'order',
  'system',
  'unsupported',
  'unknown',
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
