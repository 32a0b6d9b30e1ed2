import type { SessionStatus } from '../../domain/session-status';

/**
 * What the Baileys engine (or an external Baileys service posting to /api/whatsapp/receive) hands to ingest.
 * Stored raw; BaileysNormalizer (baileys.normalizer.ts) turns it into canonical InboundEvents.
 *
 * `data` is the event payload exactly as `sock.ev` emits it (@whiskeysockets/baileys 7.0.0-rc14,
 * lib/Types/Events.d.ts `BaileysEventMap`), serialised with Baileys' `BufferJSON.replacer`
 * (lib/Utils/generics.js): bytes become `{ type: 'Buffer', data: '<base64>' }`, or plain base64 strings where a
 * protobuf object's own `toJSON()` ran first (WAMessage contents), Longs become numeric strings or
 * `{ low, high, unsigned }`, Dates ISO strings.
 */
export interface BaileysEnvelope {
  /** wa-hub's external id of the Baileys session. */
  sessionId: string;
  /** 'messages.upsert' | 'messages.update' | 'messages.reaction' | 'message-receipt.update' | 'contacts.upsert' | 'contacts.update' | 'call' | 'connection.update' | 'lid-mapping' ... */
  event: string;
  /** The event's payload exactly as Baileys emits it, serialised with Baileys' BufferJSON. */
  data: unknown;
  /** The session's own number (E.164 digits) and LID, when known. */
  me?: { pn?: string | null; lid?: string | null };
  /** LID jid → PN jid mappings the engine looked up (sock.signalRepository.lidMapping). */
  lidToPn?: Record<string, string>;
  /** True for history-sync batches (stored as append, no auto-replies). */
  history?: boolean;
  /**
   * On a `connection.update` close: the engine's reconnect policy's reading of it (baileys-reconnect-policy.ts),
   * which knows what the code alone cannot (a 401 straight after pairing is a failed pairing, not a logout; an
   * exhausted QR waits for the user). Overrides the status DISCONNECT_STATUS gives the code.
   */
  decision?: { status: SessionStatus; message: string };
}
