import { Injectable } from '@nestjs/common';
import type { MessageSender, OutboundMedia, OutboundRequest, SenderSession } from '../domain/message-sender';
import { SendError } from '../domain/message-sender';
import { ProviderRegistry } from '../domain/provider-definition';
import { MediaService } from '../media/media.service';

/**
 * An uploaded file (POST /v1/media) named by a queued request: `media.upload`, set by SendingService from
 * `{image|video|audio|document: {mediaId}}`, kept in `outbox_jobs.request` and the message's `media`.
 */
export interface OutboundUpload {
  mediaId: string;
  mimeType: string;
  size: number;
  sha256: string;
  filename: string | null;
}

/** OutboundMedia as SendingService queues it: a link, a provider media id, or an upload. */
export type QueuedMedia = OutboundMedia & { upload?: OutboundUpload };

/** A sender that implements {@link MessageSender.sendFile}. */
type FileSender = MessageSender & Required<Pick<MessageSender, 'sendFile'>>;

const isFileSender = (s: MessageSender): s is FileSender => typeof s.sendFile === 'function';

/**
 * The {@link MessageSender} of each registered provider that wa-hub can send through, with uploaded files resolved at
 * send time: a request whose `media.upload` names a POST /v1/media file goes to the provider's `sendFile` with the
 * bytes read from the media store, or, for a provider that only takes links (Wablas), to `send` with a signed URL of
 * the file (needs MEDIA_PUBLIC_BASE_URL: the provider fetches it from there, within MEDIA_URL_TTL_SECONDS).
 */
@Injectable()
export class SenderRegistry {
  private readonly wrapped = new WeakMap<MessageSender, MessageSender>();

  constructor(
    private readonly providers: ProviderRegistry,
    private readonly media: MediaService,
  ) {}

  /** @returns the sender, or undefined for a provider without one (or no longer registered). */
  get(provider: string): MessageSender | undefined {
    const inner = this.providers.get(provider)?.sender;
    if (!inner) return undefined;
    let w = this.wrapped.get(inner);
    if (!w) this.wrapped.set(inner, (w = this.withUploads(inner)));
    return w;
  }

  /** Whether `provider` can send an uploaded file: by bytes, or by a signed link when MEDIA_PUBLIC_BASE_URL is set. */
  sendsUploads(provider: string): boolean {
    const inner = this.providers.get(provider)?.sender;
    return !!inner && (isFileSender(inner) || this.media.hasPublicBaseUrl);
  }

  private withUploads(inner: MessageSender): MessageSender {
    const send = async (session: SenderSession, r: OutboundRequest): Promise<{ externalId: string | null }> => {
      const { upload, ...media } = (r.media ?? {}) as QueuedMedia;
      if (!upload) return inner.send(session, r);
      const request: OutboundRequest = { ...r, media };
      if (isFileSender(inner)) {
        let bytes: Buffer;
        try {
          ({ bytes } = await this.media.uploadedBytes(upload.mediaId));
        } catch (e) {
          throw new SendError('temporary', 'MEDIA_STORE', `The uploaded file could not be read: ${(e as Error).message}`);
        }
        return inner.sendFile(session, request, { bytes, mimeType: upload.mimeType, filename: media.filename ?? upload.filename });
      }
      if (!this.media.hasPublicBaseUrl)
        throw new SendError('permanent', 'CAPABILITY_NOT_SUPPORTED', `${inner.provider} takes files by URL: set MEDIA_PUBLIC_BASE_URL`);
      const { url } = await this.media.sign(upload.mediaId, '');
      return inner.send(session, { ...request, media: { ...media, link: url, filename: media.filename ?? upload.filename ?? undefined } });
    };
    return {
      provider: inner.provider,
      capabilities: inner.capabilities,
      mediaById: inner.mediaById,
      readReceipts: inner.readReceipts,
      send,
      ...(inner.markRead ? { markRead: inner.markRead.bind(inner) } : {}),
    };
  }
}
