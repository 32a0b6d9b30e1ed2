/**
 * The canonical outbound request, stored as `outbox_jobs.request` and turned into each provider's API call by its
 * {@link MessageSender}. Shapes follow Meta's Cloud API message object (the richest of the providers); `to` is
 * E.164 digits or a group id.
 */
export type OutboundType = 'text' | 'image' | 'video' | 'audio' | 'document' | 'location' | 'reaction' | 'template';
export const OUTBOUND_TYPES: OutboundType[] = ['text', 'image', 'video', 'audio', 'document', 'location', 'reaction', 'template'];

export interface OutboundMedia {
  /** Public URL the provider downloads the file from. */
  link?: string;
  /** Provider media id (Meta: uploaded media object id). */
  id?: string;
  caption?: string;
  filename?: string;
}

export interface OutboundRequest {
  type: OutboundType;
  /** Recipient: E.164 digits, or a group id (`…@g.us`). */
  to: string;
  isGroup: boolean;
  text?: { body: string; previewUrl?: boolean };
  media?: OutboundMedia;
  location?: { latitude: number; longitude: number; name?: string; address?: string };
  /** Provider id of the message reacted to; an empty emoji removes the reaction. */
  reaction?: { messageExternalId: string; emoji: string };
  template?: { name: string; language: string; components?: unknown[] };
  /** Provider id of the message replied to. */
  replyToExternalId?: string;
}

/** A read receipt for an inbound message (Meta `status: read`). */
export interface ReadReceiptRequest {
  messageExternalId: string;
}

/**
 * Per-session credentials over the environment's defaults (PATCH /v1/sessions/:id `credentials`), validated
 * against the provider's own credentials class; each sender reads its fields (e.g. MetaCredentials).
 */
export type SessionCredentials = Readonly<Record<string, string | undefined>>;

/** What a sender knows of the session it sends for. */
export interface SenderSession {
  id: string;
  provider: string;
  /** Meta phone_number_id, Wablas device id, wwebjs session id. */
  externalId: string;
  credentials: SessionCredentials;
}

/**
 * A provider call that did not succeed.
 * - `temporary`: retried with backoff until the deadline (network errors, timeouts, 5xx, 429, rate-limit codes);
 * - `permanent`: the message fails at once with the provider's code and text;
 * - `auth`: the credentials are refused; the session is marked `error` and its queue held until they change.
 */
export class SendError extends Error {
  constructor(
    readonly kind: 'temporary' | 'permanent' | 'auth',
    readonly code: string,
    message: string,
    readonly detail?: string,
  ) {
    super(message);
  }
}

/** The port every provider's sender implements (Baileys' will too). */
export interface MessageSender {
  readonly provider: string;
  /** Types this provider can send; others are refused with 422 `CAPABILITY_NOT_SUPPORTED` before queueing. */
  readonly capabilities: ReadonlySet<OutboundType>;
  /** Whether media can be sent by provider media id (`image.id`, ...); else by link only, checked before queueing. */
  readonly mediaById: boolean;
  /** Whether read receipts can be sent. */
  readonly readReceipts: boolean;
  /**
   * Sends one message.
   * @returns the provider's message id; null when the provider gives none (a wwebjs reaction).
   * @throws SendError classified as above.
   */
  send(session: SenderSession, request: OutboundRequest): Promise<{ externalId: string | null }>;
  /** @throws SendError */
  markRead?(session: SenderSession, request: ReadReceiptRequest): Promise<void>;
  /**
   * Sends an uploaded file's bytes (POST /v1/media) itself; `request.media` carries the caption and file name.
   * Meta uploads them to `POST /{phone_number_id}/media` and sends by id, wwebjs as base64 `MessageMedia`, Baileys
   * as a buffer. Senders without it (Wablas: links only) get a signed URL of the file instead.
   * @returns the provider's message id. @throws SendError as {@link send}.
   */
  sendFile?(session: SenderSession, request: OutboundRequest, file: OutboundFile): Promise<{ externalId: string | null }>;
}

/** The bytes of an uploaded file, handed to {@link MessageSender.sendFile} at send time. */
export interface OutboundFile {
  bytes: Buffer;
  /** Sniffed at upload (or declared). */
  mimeType: string;
  filename: string | null;
}

/**
 * POSTs JSON and returns the status and parsed body (null when not JSON).
 * @throws SendError `temporary` for network errors and timeouts (`NETWORK`, `TIMEOUT`).
 */
export async function postJson(
  url: string,
  headers: Record<string, string>,
  body: unknown,
  timeoutMs: number,
): Promise<{ status: number; json: any; text: string }> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    const err = e as Error;
    if (err.name === 'TimeoutError' || err.name === 'AbortError')
      throw new SendError('temporary', 'TIMEOUT', `No answer from the provider within ${timeoutMs} ms`);
    throw new SendError('temporary', 'NETWORK', `Provider unreachable: ${(err.cause as Error | undefined)?.message ?? err.message}`);
  }
  const text = await res.text().catch(() => '');
  let json: any;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  return { status: res.status, json, text };
}

/** Classification of an HTTP failure without a provider-specific code: 5xx and 429 temporary, other 4xx permanent. */
export function httpErrorKind(status: number): 'temporary' | 'permanent' {
  return status >= 500 || status === 429 || status === 408 ? 'temporary' : 'permanent';
}
