import { Injectable } from '@nestjs/common';
import type { AnyMessageContent, WAMessage } from '@whiskeysockets/baileys';
import { MessageSender, OutboundRequest, OutboundType, SenderSession, SendError } from '../../domain/message-sender';
import { BaileysEngine } from './baileys-engine';

/**
 * Sends through the session's in-process Baileys socket (`sock.sendMessage`, @whiskeysockets/baileys
 * lib/Types/Message.d.ts AnyMessageContent): text (a reply quotes the target by id), image/video/audio/document by
 * URL (Baileys fetches the link and uploads it encrypted), location, reaction. The message id is WhatsApp's
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

  async send(session: SenderSession, r: OutboundRequest): Promise<{ externalId: string | null }> {
    const jid = r.isGroup ? (r.to.endsWith('@g.us') ? r.to : `${r.to}@g.us`) : `${r.to}@s.whatsapp.net`;
    const content = toContent(r, jid);
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

function toContent(r: OutboundRequest, jid: string): AnyMessageContent {
  switch (r.type) {
    case 'text':
      return { text: r.text!.body };
    case 'image':
    case 'video':
    case 'audio':
    case 'document': {
      if (!r.media?.link) throw new SendError('permanent', 'MEDIA_LINK_REQUIRED', 'Baileys sends media by URL (media.link)');
      const url = { url: r.media.link };
      if (r.type === 'image') return { image: url, ...(r.media.caption ? { caption: r.media.caption } : {}) };
      if (r.type === 'video') return { video: url, ...(r.media.caption ? { caption: r.media.caption } : {}) };
      if (r.type === 'audio') return { audio: url, mimetype: 'audio/mp4' };
      return {
        document: url,
        mimetype: 'application/octet-stream',
        fileName: r.media.filename ?? 'document',
        ...(r.media.caption ? { caption: r.media.caption } : {}),
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
