import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { MediaFetchError, type MediaHttp, type MediaHttpResponse } from '../domain/media-fetcher';
import { guardedLookup, isBlockedAddress, TargetRefusedError } from '../forwarding/target-guard';

/** Redirects followed per GET; each target is checked again. */
const MAX_REDIRECTS = 3;

/**
 * The media worker's HTTP client ({@link MediaHttp}): GET only, bodies streamed to the caller, redirects followed up to
 * {@link MAX_REDIRECTS} (each re-checked), the whole exchange (until the body ends) cut at `timeoutMs` through
 * `signal`. With `untrusted` (links from payloads): http:// refused unless `allowHttp`, and unless `allowPrivate`
 * loopback/private/link-local/metadata addresses are refused both as IP literals and at connection time (the
 * forwarding module's guard: a name that resolves to a private address is refused, so DNS rebinding cannot help).
 * Errors: network, TLS and timeouts → `temporary`; a refused URL → `permanent` `URL_REFUSED`.
 */
export class GuardedMediaHttp implements MediaHttp {
  constructor(private readonly opts: { allowHttp: boolean; allowPrivate: boolean; signal: AbortSignal; timeoutMs: number }) {}

  async get(raw: string, options: { headers?: Record<string, string>; untrusted?: boolean } = {}): Promise<MediaHttpResponse> {
    let url = this.check(raw, options.untrusted === true);
    for (let hop = 0; ; hop++) {
      const res = await this.once(url, options.headers ?? {}, options.untrusted === true);
      const location = res.headers.location;
      if (res.statusCode && res.statusCode >= 300 && res.statusCode < 400 && location && hop < MAX_REDIRECTS) {
        res.destroy();
        const next = new URL(location, url);
        // Credentials go only to the origin they were given for.
        if (next.origin !== url.origin) options = { ...options, headers: {} };
        url = this.check(next.toString(), options.untrusted === true);
        continue;
      }
      const headers: Record<string, string | undefined> = {};
      for (const [k, v] of Object.entries(res.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : v;
      return { status: res.statusCode ?? 0, headers, body: res };
    }
  }

  private check(raw: string, untrusted: boolean): URL {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new MediaFetchError('permanent', 'URL_REFUSED', 'The media URL is not an absolute URL');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:')
      throw new MediaFetchError('permanent', 'URL_REFUSED', `The media URL's scheme ${url.protocol} is not http(s)`);
    if (!untrusted) return url;
    if (url.protocol === 'http:' && !this.opts.allowHttp)
      throw new MediaFetchError('permanent', 'URL_REFUSED', 'The media URL is http:// (MEDIA_ALLOW_HTTP is off)');
    if (url.username || url.password) throw new MediaFetchError('permanent', 'URL_REFUSED', 'The media URL carries credentials');
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (!this.opts.allowPrivate && isIP(host) && isBlockedAddress(host))
      throw new MediaFetchError('permanent', 'URL_REFUSED', `The media URL is a private, loopback or metadata address (${host})`);
    return url;
  }

  private once(url: URL, headers: Record<string, string>, untrusted: boolean): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = send(url, {
        method: 'GET',
        headers: { 'user-agent': 'wa-hub-media/1', ...headers },
        signal: this.opts.signal,
        ...(untrusted && !this.opts.allowPrivate ? { lookup: guardedLookup } : {}),
      });
      req.on('error', (e: Error) => {
        if (e.name === 'AbortError' || this.opts.signal.aborted)
          reject(new MediaFetchError('temporary', 'TIMEOUT', `No complete answer from ${url.host} within ${this.opts.timeoutMs} ms`));
        else if (e instanceof TargetRefusedError) reject(new MediaFetchError('permanent', 'URL_REFUSED', e.message));
        else reject(new MediaFetchError('temporary', 'NETWORK', `${url.host} unreachable: ${e.message}`));
      });
      req.on('response', resolve);
      req.end();
    });
  }
}
