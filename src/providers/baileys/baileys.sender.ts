import { Injectable } from '@nestjs/common';
import type { AnyMessageContent, WAMessage } from '@whiskeysockets/baileys';
import { MessageSender, OutboundFile, OutboundRequest, OutboundType, SenderSession, SendError } from '../../domain/message-sender';
import { BaileysEngine } from './baileys-engine';

/**
 * Sends through the session's in-process Baileys socket (`sock.sendMessage`, @whiskeysockets/baileys
 * lib/Types/Message.d.ts AnyMessageContent): text (a reply quotes the target by id), image/video/audio/document by
 * URL (Baileys fetches the link and uploads it encrypted) or from an uploaded file's bytes, location, reaction. The message id is WhatsApp's
 * `key.id`, which later receipts (`messages.update` status) carry. A session that is not connected here is a
 * temporary failure: the job waits and retries, as a disconnected session of any provider holds its queue.
 */
@Injectable()
export class BaileysSender implements MessageSender {
  readonly provider = 'baileys';
  readonly capabilities: ReadonlySet<OutboundType> = new Set<OutboundType>([
    'text',
    'image',
    'video',
    'audio',
    'document',
    'location',
    'reaction',
  ]);
  readonly mediaById = false;
  readonly readReceipts = false;

  constructor(private readonly engine: BaileysEngine) {}

  /**
   * Sends an uploaded file (POST /v1/media) from its bytes: Baileys encrypts and uploads a Buffer the same way as a
   * fetched URL (AnyMediaMessageContent accepts `WAMediaUpload = Buffer | {url} | {stream}`), with the file's type.
   * @throws SendError as {@link send}.
   */
  sendFile(session: SenderSession, r: OutboundRequest, file: OutboundFile): Promise<{ externalId: string | null }> {
    return this.send(session, r, file);
  }

  async send(
    session: SenderSession,
    r: OutboundRequest,
    file?: { bytes: Buffer; mimeType: string; filename: string | null },
  ): Promise<{ externalId: string | null }> {
    const jid = r.isGroup ? (r.to.endsWith('@g.us') ? r.to : `${r.to}@g.us`) : `${r.to}@s.whatsapp.net`;
    const content = toContent(r, jid, file);
    // Baileys builds the reply's contextInfo from the quoted key (stanzaId = id); the quoted text is not needed.
    const quoted = r.replyToExternalId
      ? ({ key: { remoteJid: jid, id: r.replyToExternalId, fromMe: false }, message: { conversation: '' } } as WAMessage)
      : undefined;
    try {
      return { externalId: await this.engine.send(session.id, jid, content, quoted) };
    } catch (e) {
      const err = e as Error & { code?: string };
      if (err.code === 'NOT_CONNECTED') throw new SendError('temporary', 'NOT_CONNECTED', err.message);
      // Socket errors (closed mid-send, timeouts) are worth retrying; Baileys raises Boom errors with a status.
      const status = (e as { output?: { statusCode?: number } }).output?.statusCode;
      if (status === 400 || status === 404) throw new SendError('permanent', String(status), err.message);
      throw new SendError('temporary', status ? String(status) : 'SOCKET', err.message);
    }
  }
}

/** The content of `r`; media from `file`'s bytes when given (an upload), else from `media.link`. */
export function toContent(
  r: OutboundRequest,
  jid: string,
  file?: { bytes: Buffer; mimeType: string; filename: string | null },
): AnyMessageContent {
  switch (r.type) {
    case 'text':
      return { text: r.text!.body };
    case 'image':
    case 'video':
    case 'audio':
    case 'document': {
      if (!file && !r.media?.link) throw new SendError('permanent', 'MEDIA_LINK_REQUIRED', 'Baileys sends media by URL (media.link)');
      const src = file ? file.bytes : { url: r.media!.link! };
      const caption = r.media?.caption ? { caption: r.media.caption } : {};
      if (r.type === 'image') return { image: src, ...caption, ...(file ? { mimetype: file.mimeType } : {}) };
      if (r.type === 'video') return { video: src, ...caption, ...(file ? { mimetype: file.mimeType } : {}) };
      if (r.type === 'audio') return { audio: src, mimetype: file?.mimeType ?? 'audio/mp4' };
      return {
        document: src,
        mimetype: file?.mimeType ?? 'application/octet-stream',
        fileName: r.media?.filename ?? file?.filename ?? 'document',
        ...caption,
      };
    }
    case 'location':
      return {
        location: {
          degreesLatitude: r.location!.latitude,
          degreesLongitude: r.location!.longitude,
          name: r.location!.name,
          address: r.location!.address,
        },
      };
    case 'reaction':
      return { react: { text: r.reaction!.emoji, key: { remoteJid: jid, id: r.reaction!.messageExternalId, fromMe: false } } };
    default:
      throw new SendError('permanent', 'CAPABILITY_NOT_SUPPORTED', `Baileys cannot send ${r.type}`);
  }
}
