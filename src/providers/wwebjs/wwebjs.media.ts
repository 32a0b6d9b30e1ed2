import { type FetchedMedia, type MediaFetcher, MediaFetchError } from '../../domain/media-fetcher';

/**
 * whatsapp-web.js servers push the bytes themselves, base64 in a separate `media` webhook (fixture
 * wwebjs/inbound/media.json; chrishubert/whatsapp-api src/sessions.js `client.on('media')`, sent when the file is
 * under the server's MAX_ATTACHMENT_SIZE). The media worker takes them from `message_media` before asking a
 * fetcher; reaching this fetcher means they have not arrived (yet): temporary, so the item waits (the arrival of
 * the bytes makes it due at once) until MEDIA_RETRY_HOURS.
 */
export class WwebjsMediaFetcher implements MediaFetcher {
  fetch(): Promise<FetchedMedia> {
    return Promise.reject(
      new MediaFetchError(
        'temporary',
        'NOT_DELIVERED',
        'The whatsapp-web.js server has not delivered the bytes (its "media" webhook; files over its MAX_ATTACHMENT_SIZE never are)',
      ),
    );
  }
}
