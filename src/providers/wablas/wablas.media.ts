import { type FetchedMedia, type MediaFetcher, MediaFetchError, type MediaHttp, type MediaItem } from '../../domain/media-fetcher';

/**
 * Wablas media: the webhook's `url` (e.g. `https://solo.wablas.com/image/20220315081917.jpeg`, fixture
 * wablas/inbound/image.json) is a plain public link; `file` is its file name. The URL comes from a payload, so it is
 * fetched through the address guard. 404/410 → permanent; other failures → temporary.
 */
export class WablasMediaFetcher implements MediaFetcher {
  async fetch(item: MediaItem, http: MediaHttp): Promise<FetchedMedia> {
    const url = typeof item.media.url === 'string' ? item.media.url : undefined;
    if (!url) throw new MediaFetchError('permanent', 'NO_MEDIA_URL', 'The Wablas message carries no media url');
    const res = await http.get(url, { untrusted: true });
    if (res.status < 200 || res.status >= 300) {
      res.body.destroy();
      const permanent =
        res.status === 404 || res.status === 410 || (res.status >= 400 && res.status < 500 && res.status !== 429 && res.status !== 408);
      throw new MediaFetchError(permanent ? 'permanent' : 'temporary', `HTTP_${res.status}`, `Wablas media URL answered ${res.status}`);
    }
    const length = res.headers['content-length'];
    return {
      body: res.body,
      mimeType: (item.media.mimeType as string | undefined) ?? res.headers['content-type'],
      exactLength: length !== undefined && /^\d+$/.test(length) ? Number(length) : undefined,
      filename: item.media.filename as string | undefined,
    };
  }
}
