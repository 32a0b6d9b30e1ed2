import type { Readable } from 'node:stream';
import type { SenderSession } from './message-sender';

/**
 * The media download port: how the media worker (src/media) gets the bytes of a received file from the provider
 * that carried the message. Each provider folder implements {@link MediaFetcher} and exposes it as
 * `ProviderDefinition.media`; the worker never names a provider. Bytes a provider already delivered inside a
 * webhook (wwebjs `media` events, table `message_media`) are taken by the worker itself and never reach a fetcher.
 */

/** A stored message with a media descriptor, as the worker hands it to a fetcher. */
export interface MediaItem {
  /** wa-hub message id (bigint as decimal text). */
  messageId: string;
  /** Provider message id (wamid, Wablas id, WhatsApp key id), when known. */
  externalId: string | null;
  /** Canonical message type: image, video, audio, voice, document, sticker. */
  type: string;
  /** The session with its sending credentials (the same a sender gets), e.g. Meta's access token. */
  session: SenderSession;
  /** `messages.media`: the normalizer's {@link MediaInfo} fields (`id`, `url`, `mimeType`, `sha256`, `filename`, `size`). */
  media: Record<string, unknown>;
  /** `messages.payload` (Baileys keeps its download keys in `payload.download`). */
  payload: Record<string, unknown> | null;
  /** `messages.raw`: the provider's own message object. */
  raw: unknown;
}

/** A streamed HTTP answer: the body is read (or destroyed) by the caller. */
export interface MediaHttpResponse {
  status: number;
  /** Lower-case header names. */
  headers: Record<string, string | undefined>;
  body: Readable;
}

/**
 * The HTTP client the worker lends a fetcher: redirects followed (at most 3, each re-checked), a whole-exchange
 * timeout, and with `untrusted` the address guard of URLs we did not choose (no loopback, private, link-local or
 * metadata addresses, http refused, unless MEDIA_ALLOW_PRIVATE / MEDIA_ALLOW_HTTP).
 */
export interface MediaHttp {
  /**
   * GETs `url`. @returns the answer whatever its status (the fetcher reads or destroys the body).
   * @throws MediaFetchError `temporary` (`NETWORK`, `TIMEOUT`) or `permanent` (`URL_REFUSED`).
   */
  get(url: string, options?: { headers?: Record<string, string>; untrusted?: boolean }): Promise<MediaHttpResponse>;
}

/** The bytes of one media item, streamed, with what the provider declares about them. */
export interface FetchedMedia {
  body: Readable;
  /** Declared content type (e.g. `image/jpeg`); the worker compares it with the sniffed type. */
  mimeType?: string;
  /** Declared size in bytes: more than MEDIA_MAX_BYTES fails before a byte is read. */
  size?: number;
  /** Exact length of `body` when the transport knows it (HTTP Content-Length). */
  exactLength?: number;
  /** Expected SHA-256 of the bytes, hex (64 characters) or base64 (44): a mismatch fails the download. */
  sha256?: string;
  filename?: string;
}

/**
 * A download that did not succeed. `temporary`: retried with backoff until MEDIA_RETRY_HOURS after the message
 * arrived (network errors, timeouts, 5xx, 429, a session not running here, bytes not yet delivered);
 * `permanent`: the media is `failed` at once with `code` and the message as its reason.
 */
export class MediaFetchError extends Error {
  constructor(
    readonly kind: 'temporary' | 'permanent',
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The port each provider folder implements (ProviderDefinition.media). */
export interface MediaFetcher {
  /**
   * Starts the download of `item`'s bytes.
   * @param limits.maxBytes MEDIA_MAX_BYTES: a fetcher that learns the size before downloading (Meta's metadata)
   * throws `permanent` `TOO_LARGE` without requesting the bytes; the worker enforces it on the stream anyway.
   * @returns the body stream and the provider's declarations; the worker enforces limits and checks the hash.
   * @throws MediaFetchError classified as above.
   */
  fetch(item: MediaItem, http: MediaHttp, limits: { maxBytes: number }): Promise<FetchedMedia>;
}
