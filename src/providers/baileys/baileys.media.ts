import { BufferJSON, type WAMessage } from '@whiskeysockets/baileys';
import { Readable } from 'node:stream';
import { type FetchedMedia, type MediaFetcher, MediaFetchError, type MediaItem } from '../../domain/media-fetcher';
import type { BaileysEngine } from './baileys-engine';

/**
 * Baileys media: the stored WAMessage (`messages.raw`, BufferJSON form) revived and handed to the session's
 * socket (BaileysEngine.downloadMedia → Baileys `downloadMediaMessage`: encrypted file from WhatsApp's CDN, decrypted
 * with the message's `mediaKey`; an expired link is re-requested from the sender's phone). Only the process that
 * runs the session can download: elsewhere → temporary `NOT_CONNECTED`, claimed again later. Baileys' Boom errors
 * with 404/410 (media gone from the CDN) → permanent; anything else temporary. `fileSha256` (base64, from the
 * normalizer's `media.sha256`) is what the decrypted bytes must hash to.
 */
export class BaileysMediaFetcher implements MediaFetcher {
  constructor(private readonly engine: BaileysEngine) {}

  async fetch(item: MediaItem): Promise<FetchedMedia> {
    if (!item.raw || typeof item.raw !== 'object')
      throw new MediaFetchError('permanent', 'NO_RAW_MESSAGE', 'The Baileys message was stored without its raw WAMessage');
    const message = JSON.parse(JSON.stringify(item.raw), BufferJSON.reviver) as WAMessage;
    let stream: NodeJS.ReadableStream;
    try {
      stream = await this.engine.downloadMedia(item.session.id, message);
    } catch (e) {
      const err = e as Error & { code?: string; output?: { statusCode?: number } };
      if (err.code === 'NOT_CONNECTED') throw new MediaFetchError('temporary', 'NOT_CONNECTED', err.message);
      const status = err.output?.statusCode;
      const permanent = status === 404 || status === 410;
      throw new MediaFetchError(permanent ? 'permanent' : 'temporary', status ? `HTTP_${status}` : 'DOWNLOAD_FAILED', err.message);
    }
    return {
      body: stream instanceof Readable ? stream : Readable.from(stream as AsyncIterable<Buffer>),
      mimeType: item.media.mimeType as string | undefined,
      size: typeof item.media.size === 'number' ? item.media.size : undefined,
      sha256: item.media.sha256 as string | undefined,
      filename: item.media.filename as string | undefined,
    };
  }
}
