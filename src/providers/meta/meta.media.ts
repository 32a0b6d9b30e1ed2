import type { AppConfig } from '../../config/app-config';
import { type FetchedMedia, type MediaFetcher, MediaFetchError, type MediaHttp, type MediaItem } from '../../domain/media-fetcher';
import type { MetaCredentials } from './meta.credentials';

/** Statuses of the media URL that mean it expired (Meta's URLs live about 5 minutes): ask for a fresh one. */
const EXPIRED = new Set([401, 403, 404, 410]);

/** Reads a small JSON answer, at most 64 KB. @returns the parsed body, or null when it is not JSON. */
async function readJson(body: NodeJS.ReadableStream): Promise<any> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of body as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > 65_536) break;
    chunks.push(c);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return null;
  }
}

/**
 * Meta Cloud API media: `GET {graph}/{version}/{media-id}` with `Authorization: Bearer <token>` answers
 * `{messaging_product, url, mime_type, sha256, file_size, id}`; the `url` is then fetched with the same bearer token
 * (https://developers.facebook.com/docs/whatsapp/cloud-api/reference/media#retrieve-media-url and #download-media;
 * fixture meta/inbound/image.json). The URL expires after about 5 minutes: a 401/403/404/410 on it fetches the
 * metadata again, once per attempt. `sha256` (hex in the metadata, base64 in the webhook) is what the bytes must
 * hash to. The Graph base and the URLs it answers are Meta's, so they are not address-guarded (tests point
 * META_GRAPH_BASE_URL or the session's `graphBaseUrl` at a local fake).
 * Errors: Graph 4xx other than 429 (e.g. code 100, the id is unknown or older than 30 days) → permanent; 5xx, 429,
 * network → temporary; no access token → permanent `NO_CREDENTIALS`.
 */
export class MetaMediaFetcher implements MediaFetcher {
  constructor(private readonly config: AppConfig) {}

  async fetch(item: MediaItem, http: MediaHttp, limits: { maxBytes: number }): Promise<FetchedMedia> {
    const c: MetaCredentials = item.session.credentials;
    const token = c.accessToken ?? this.config.META_ACCESS_TOKEN;
    if (!token)
      throw new MediaFetchError('permanent', 'NO_CREDENTIALS', 'No Meta access token: set META_ACCESS_TOKEN or the session credentials');
    const mediaId = typeof item.media.id === 'string' ? item.media.id : undefined;
    if (!mediaId) throw new MediaFetchError('permanent', 'NO_MEDIA_ID', 'The Meta message carries no media id');
    const base = `${c.graphBaseUrl ?? this.config.META_GRAPH_BASE_URL}/${c.apiVersion ?? this.config.META_API_VERSION}`;
    const auth = { authorization: `Bearer ${token}` };
    for (let round = 1; ; round++) {
      const meta = await http.get(`${base}/${encodeURIComponent(mediaId)}`, { headers: auth });
      const json = await readJson(meta.body);
      if (meta.status < 200 || meta.status >= 300) {
        const err = json?.error;
        const message = `Meta media lookup answered ${meta.status}${typeof err?.message === 'string' ? `: ${err.message}` : ''}`;
        const code = typeof err?.code === 'number' ? `META_${err.code}` : `HTTP_${meta.status}`;
        const temporary = meta.status >= 500 || meta.status === 429 || err?.code === 4 || err?.code === 130429;
        throw new MediaFetchError(temporary ? 'temporary' : 'permanent', code, message);
      }
      if (typeof json?.url !== 'string') throw new MediaFetchError('temporary', 'BAD_RESPONSE', 'Meta media lookup answered without a url');
      const size = typeof json.file_size === 'number' ? json.file_size : Number(json.file_size) || undefined;
      if (size !== undefined && size > limits.maxBytes)
        throw new MediaFetchError('permanent', 'TOO_LARGE', `The file is ${size} bytes, more than MEDIA_MAX_BYTES (${limits.maxBytes})`);
      const res = await http.get(json.url, { headers: auth });
      if (res.status >= 200 && res.status < 300) {
        const length = Number(res.headers['content-length']);
        return {
          body: res.body,
          mimeType: typeof json.mime_type === 'string' ? json.mime_type : (item.media.mimeType as string | undefined),
          size,
          exactLength: Number.isFinite(length) && res.headers['content-length'] !== undefined ? length : undefined,
          sha256: typeof json.sha256 === 'string' ? json.sha256 : (item.media.sha256 as string | undefined),
          filename: item.media.filename as string | undefined,
        };
      }
      res.body.destroy();
      if (EXPIRED.has(res.status) && round === 1) continue; // the URL expired: a fresh one from the metadata
      throw new MediaFetchError(
        res.status >= 500 || res.status === 429 || EXPIRED.has(res.status) ? 'temporary' : 'permanent',
        `HTTP_${res.status}`,
        `Meta media download answered ${res.status}`,
      );
    }
  }
}
