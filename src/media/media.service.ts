import { HttpStatus, Inject, Injectable } from '@nestjs/common';
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { addAbortSignal, pipeline, Readable } from 'node:stream';
import type { AuthenticatedKey } from '../auth/api-keys.service';
import { AppError } from '../common/app-error';
import { CLOCK, type Clock } from '../common/clock';
import { type FetchedMedia, MediaFetchError, type MediaItem } from '../domain/media-fetcher';
import { ProviderRegistry } from '../domain/provider-definition';
import { GuardedMediaHttp } from './media-http';
import { MediaMeter, sha256Hex, TooLargeError } from './media-meter';
import { MediaConfig } from './media.config';
import { type ClaimedMedia, MediaRepository, type MediaRow, type ServedMediaRow, type StoredMedia } from './media.repository';
import { MEDIA_STORAGE, MEDIA_STORAGES, type ByteRange, type MediaStorage, type MediaStorages } from './storage/media-storage';

/** Longest backoff between two download attempts, in seconds. */
const MAX_BACKOFF_SECONDS = 3600;

/** Content types a browser could run as a page: always served as attachments. */
const ACTIVE_TYPES =
  /^(text\/html|application\/xhtml\+xml|image\/svg\+xml|text\/xml|application\/xml|application\/javascript|text\/javascript)$/;

/** What a download attempt came to. */
export type DownloadOutcome =
  | { kind: 'stored'; stored: StoredMedia; movedFrom?: { sessionId: string; externalId: string } }
  | { kind: 'retry'; code: string; error: string; at: Date }
  | { kind: 'failed'; code: string; error: string };

/** An uploaded file (POST /v1/media): wa-hub's media id, the sniffed (or declared) type, bytes, hex SHA-256. */
export interface UploadedMedia {
  id: string;
  mimeType: string;
  size: number;
  sha256: string;
  filename: string | null;
}

const toUploaded = (row: MediaRow): UploadedMedia => ({
  id: row.id,
  mimeType: row.mime_type ?? 'application/octet-stream',
  size: Number(row.size),
  sha256: row.sha256 ?? '',
  filename: row.filename,
});

/** A response to stream: status, headers, and the body (absent for 304). */
export interface MediaResponse {
  status: 200 | 206 | 304;
  headers: Record<string, string>;
  body?: Readable;
}

let fileType: Promise<typeof import('file-type')> | undefined;
/** file-type 22 is ESM-only: loaded once, on first use. */
const loadFileType = () => (fileType ??= import('file-type'));

/** The essence of a content type: `Audio/OGG; codecs=opus` → `audio/ogg`. */
function essence(type: string | undefined | null): string | undefined {
  const e = type?.split(';')[0].trim().toLowerCase();
  return e || undefined;
}

/**
 * Parses one HTTP byte range (RFC 9110 §14.1.2) against an object of `size` bytes: `bytes=a-b`, `bytes=a-`,
 * `bytes=-n`. @returns the range, `undefined` to serve the whole object (no header, a unit other than bytes, or
 * several ranges, which RFC 9110 lets a server ignore), or `'unsatisfiable'`.
 */
export function parseRange(header: string | undefined, size: number): ByteRange | undefined | 'unsatisfiable' {
  if (!header) return undefined;
  const m = /^bytes=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header.trim());
  if (!m) return header.includes(',') || !/^bytes=/i.test(header.trim()) ? undefined : 'unsatisfiable';
  const [, a, b] = m;
  if (a === '' && b === '') return 'unsatisfiable';
  if (a === '') {
    const n = Number(b);
    if (n === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(a);
  const end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}

/** `Content-Disposition` with an ASCII fallback and the RFC 6266 / RFC 8187 UTF-8 name. */
function disposition(kind: 'inline' | 'attachment', filename: string | null): string {
  if (!filename) return kind;
  const ascii = filename.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(filename)}`;
}

/**
 * Media: the download of one claimed item (the worker's unit of work), serving stored bytes with ranges, and signed
 * URLs. Downloads: bytes a provider delivered in a webhook (`message_media`, wwebjs) are moved into the store;
 * otherwise the provider's {@link MediaFetcher} (ProviderDefinition.media) fetches them. On the way into the store
 * (MEDIA_STORAGE) they are counted (MEDIA_MAX_BYTES, checked first against the declared size), hashed (SHA-256,
 * compared with the provider's) and their first bytes sniffed (`file-type`): a sniffed type that disagrees with the
 * declared one wins, the declared one stays visible (`declared_mime_type`). Nothing is buffered whole.
 */
@Injectable()
export class MediaService {
  private secret?: Promise<Buffer>;

  constructor(
    private readonly repo: MediaRepository,
    private readonly config: MediaConfig,
    private readonly registry: ProviderRegistry,
    @Inject(MEDIA_STORAGE) private readonly storage: MediaStorage,
    @Inject(MEDIA_STORAGES) private readonly storages: MediaStorages,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /** The injected clock's time as a Date. */
  now(): Date {
    return new Date(this.clock.now());
  }

  /**
   * Downloads and stores one claimed item. Never throws: every failure becomes an outcome. Temporary failures are
   * retried after MEDIA_RETRY_BASE_SECONDS × 2^(attempt−1) (+ up to 25 % jitter, at most 1 h) until MEDIA_RETRY_HOURS
   * after the item was queued; permanent ones (TOO_LARGE, SHA256_MISMATCH, EMPTY, the fetcher's) fail at once.
   */
  async download(job: ClaimedMedia, signal: AbortSignal): Promise<DownloadOutcome> {
    try {
      const { movedFrom, ...stored } = await this.fetchAndStore(job, signal);
      return { kind: 'stored', stored, movedFrom };
    } catch (e) {
      let kind: 'temporary' | 'permanent' = 'temporary';
      let code = 'STORAGE_OR_NETWORK';
      let error = (e as Error).message;
      if (e instanceof MediaFetchError) ({ kind, code } = e);
      else if (e instanceof TooLargeError) [kind, code] = ['permanent', 'TOO_LARGE'];
      else if (signal.aborted) [code, error] = ['TIMEOUT', `The download did not finish within ${this.config.MEDIA_TIMEOUT_MS} ms`];
      if (kind === 'permanent') return { kind: 'failed', code, error };
      const backoff =
        Math.min(this.config.MEDIA_RETRY_BASE_SECONDS * 2 ** (job.attempts - 1), MAX_BACKOFF_SECONDS) * (1 + Math.random() * 0.25);
      const at = new Date(this.clock.now() + backoff * 1000);
      const deadline = new Date(job.created_at).getTime() + this.config.MEDIA_RETRY_HOURS * 3_600_000;
      return at.getTime() > deadline ? { kind: 'failed', code, error } : { kind: 'retry', code, error, at };
    }
  }

  private async fetchAndStore(
    job: ClaimedMedia,
    signal: AbortSignal,
  ): Promise<StoredMedia & { movedFrom?: { sessionId: string; externalId: string } }> {
    const media = job.media ?? {};
    const delivered = job.external_id ? await this.repo.delivered(job.session_id, job.external_id) : null;
    let src: FetchedMedia;
    if (delivered) {
      src = {
        body: Readable.from([delivered.data]),
        mimeType: delivered.mime_type ?? (media.mimeType as string | undefined),
        exactLength: delivered.data.length,
        filename: delivered.filename ?? (media.filename as string | undefined),
      };
    } else {
      const fetcher = this.registry.get(job.provider)?.media;
      if (!fetcher) throw new MediaFetchError('permanent', 'CAPABILITY_NOT_SUPPORTED', `wa-hub cannot download ${job.provider} media`);
      const item: MediaItem = {
        messageId: job.message_id,
        externalId: job.external_id,
        type: job.type,
        session: { id: job.session_id, provider: job.provider, externalId: job.session_external_id, credentials: job.credentials ?? {} },
        media,
        payload: job.payload,
        raw: job.raw,
      };
      const http = new GuardedMediaHttp({
        allowHttp: this.config.allowHttp,
        allowPrivate: this.config.allowPrivate,
        signal,
        timeoutMs: this.config.MEDIA_TIMEOUT_MS,
      });
      src = await fetcher.fetch(item, http, { maxBytes: this.config.MEDIA_MAX_BYTES });
    }
    const { mimeType, declaredMimeType, size, sha256 } = await this.store(job.id, src, signal);
    return {
      storage: this.storage.name,
      objectKey: job.id,
      mimeType,
      declaredMimeType,
      size,
      sha256,
      filename: src.filename ?? (media.filename as string | undefined) ?? null,
      movedFrom: delivered && job.external_id ? { sessionId: job.session_id, externalId: job.external_id } : undefined,
    };
  }

  /**
   * Streams `src.body` into the configured store under `key`: counted against MEDIA_MAX_BYTES (the declared size
   * first), hashed and compared with `src.sha256` when given, its first bytes sniffed. A failed check deletes the object.
   * @throws TooLargeError, MediaFetchError `EMPTY` / `SHA256_MISMATCH` (permanent), or the body's or store's error.
   */
  private async store(
    key: string,
    src: Pick<FetchedMedia, 'body' | 'exactLength' | 'size' | 'mimeType' | 'sha256'>,
    signal?: AbortSignal,
  ): Promise<{ mimeType: string; declaredMimeType: string | null; size: number; sha256: string }> {
    const max = this.config.MEDIA_MAX_BYTES;
    const declared = Math.max(src.size ?? 0, src.exactLength ?? 0);
    if (declared > max) {
      src.body.destroy();
      throw new TooLargeError(`The file is ${declared} bytes, more than MEDIA_MAX_BYTES (${max})`);
    }
    const meter = new MediaMeter(max);
    if (signal) addAbortSignal(signal, meter);
    const metered = pipeline(src.body, meter, () => undefined);
    try {
      await this.storage.put(key, metered, src.exactLength);
    } catch (e) {
      src.body.destroy();
      await this.storage.delete(key).catch(() => undefined);
      // A store's client may wrap the body's error: the meter knows whether the limit was passed.
      if (meter.bytes > max) throw new TooLargeError(`The file is larger than MEDIA_MAX_BYTES (${max} bytes)`);
      throw e;
    }
    const sha256 = meter.digest();
    const expected = sha256Hex(src.sha256);
    const fail = async (code: string, message: string) => {
      await this.storage.delete(key).catch(() => undefined);
      return new MediaFetchError('permanent', code, message);
    };
    if (meter.bytes === 0) throw await fail('EMPTY', 'The file is empty');
    if (expected && expected !== sha256)
      throw await fail('SHA256_MISMATCH', `SHA-256 of the bytes is ${sha256}, the provider declared ${expected}`);
    const sniffed = await (await loadFileType()).fileTypeFromBuffer(meter.head()).catch(() => undefined);
    const declaredType = src.mimeType ?? null;
    const mimeType =
      sniffed && essence(sniffed.mime) !== essence(declaredType)
        ? sniffed.mime
        : (declaredType ?? sniffed?.mime ?? 'application/octet-stream');
    return { mimeType, declaredMimeType: declaredType, size: meter.bytes, sha256 };
  }

  /**
   * The stored bytes of message `messageId`'s media, as `key` may see them: the whole file (200) or `range` (206),
   * with Content-Type, Content-Length, ETag (the SHA-256), Accept-Ranges, Content-Disposition (attachment with the
   * file name for documents and for types a browser would run, else inline), Cache-Control; 304 when `ifNoneMatch`
   * names the ETag.
   * @throws AppError 404 (unknown message, or no media), 409 `CONFLICT` while it is pending, failed or deleted (details
   * `{state, code, error}`), 416 for an unsatisfiable range (with `Content-Range: bytes * /size`).
   */
  async open(messageId: string, key: AuthenticatedKey | undefined, range?: string, ifNoneMatch?: string): Promise<MediaResponse> {
    return this.serve(await this.rowFor(messageId, key), range, ifNoneMatch);
  }

  /**
   * A signed URL for message `messageId`'s media: `{origin}/v1/media/{mediaId}/content?expires=<unix s>&signature=…`,
   * valid MEDIA_URL_TTL_SECONDS on the injected clock, usable without a header.
   * @param origin e.g. `https://hub.example.com` (MEDIA_PUBLIC_BASE_URL wins when set).
   * @throws AppError 404 as {@link open}.
   */
  async signedUrl(messageId: string, key: AuthenticatedKey | undefined, origin: string): Promise<{ url: string; expiresAt: string }> {
    const row = await this.rowFor(messageId, key);
    return this.sign(row.id, origin);
  }

  /** Signs media `mediaId` (a uuid) for `origin` (MEDIA_PUBLIC_BASE_URL wins when set). */
  async sign(mediaId: string, origin: string): Promise<{ url: string; expiresAt: string }> {
    const expires = Math.floor(this.clock.now() / 1000) + this.config.MEDIA_URL_TTL_SECONDS;
    const signature = createHmac('sha256', await this.secretKey())
      .update(`${mediaId}.${expires}`)
      .digest('base64url');
    const base = this.config.MEDIA_PUBLIC_BASE_URL ?? origin;
    return {
      url: `${base}/v1/media/${mediaId}/content?expires=${expires}&signature=${signature}`,
      expiresAt: new Date(expires * 1000).toISOString(),
    };
  }

  /**
   * Serves media `mediaId` to the holder of a signed URL (see {@link signedUrl}).
   * @throws AppError 403 for a signature that does not match or has expired, 404 for an unknown id, then as {@link open}.
   */
  async openSigned(mediaId: string, expires: unknown, signature: unknown, range?: string, ifNoneMatch?: string): Promise<MediaResponse> {
    const refuse = (why: string) => new AppError(HttpStatus.FORBIDDEN, 'FORBIDDEN', why);
    if (
      typeof expires !== 'string' ||
      !/^\d{1,12}$/.test(expires) ||
      typeof signature !== 'string' ||
      !/^[A-Za-z0-9_-]{43}$/.test(signature)
    )
      throw refuse('A signed media URL needs its expires and signature parameters');
    const expected = createHmac('sha256', await this.secretKey())
      .update(`${mediaId}.${expires}`)
      .digest();
    if (!timingSafeEqual(expected, Buffer.from(signature, 'base64url'))) throw refuse('The media URL signature does not match');
    if (Number(expires) * 1000 <= this.clock.now()) throw refuse('The signed media URL has expired: ask for a new one');
    if (!/^[0-9a-f-]{36}$/i.test(mediaId)) throw AppError.notFound('Media');
    const row = await this.repo.byId(mediaId);
    if (!row) throw AppError.notFound('Media');
    return this.serve(row, range, ifNoneMatch);
  }

  /**
   * Queues message `messageId`'s media again (pending, due now, attempts from zero) unless it is stored.
   * @throws AppError 404 when the message or its media is unknown to `key`, 409 when it is stored or deleted.
   */
  async retry(messageId: string, key: AuthenticatedKey | undefined): Promise<MediaRow> {
    const row = await this.rowFor(messageId, key);
    const updated = await this.repo.retry(messageId, this.now(), key);
    if (!updated) throw new AppError(HttpStatus.CONFLICT, 'CONFLICT', `The media is ${row.state}: nothing to retry`, { state: row.state });
    return updated;
  }

  /**
   * Stores an uploaded file (POST /v1/media) to send later (`POST /v1/messages` with `{image|video|audio|document:
   * {mediaId}}`): streamed into MEDIA_STORAGE like a download (MEDIA_MAX_BYTES, SHA-256, sniffed type).
   * @param declaredType the request's Content-Type (the sniffed type wins when they disagree; kept as declared).
   * @param exactLength Content-Length when given (more than MEDIA_MAX_BYTES is refused before a byte is read).
   * @throws AppError 413 `PAYLOAD_TOO_LARGE` over MEDIA_MAX_BYTES, 400 for an empty body; the store's error (500).
   */
  async upload(body: Readable, declaredType: string | undefined, filename: string | null, exactLength?: number): Promise<UploadedMedia> {
    const id = randomUUID();
    let stored: Awaited<ReturnType<MediaService['store']>>;
    try {
      stored = await this.store(id, { body, mimeType: declaredType, exactLength });
    } catch (e) {
      if (e instanceof TooLargeError)
        throw new AppError(
          HttpStatus.PAYLOAD_TOO_LARGE,
          'PAYLOAD_TOO_LARGE',
          `The file is larger than MEDIA_MAX_BYTES (${this.config.MEDIA_MAX_BYTES} bytes)`,
        );
      if (e instanceof MediaFetchError && e.code === 'EMPTY') throw AppError.badRequest('The file is empty: send its bytes as the body');
      throw e;
    }
    const row = await this.repo
      .insertUpload(id, { storage: this.storage.name, objectKey: id, filename, ...stored }, this.now())
      .catch(async (e: unknown) => {
        await this.storage.delete(id).catch(() => undefined);
        throw e;
      });
    return toUploaded(row);
  }

  /**
   * An uploaded file's facts, checked when a message naming it is queued.
   * @throws AppError 400 naming `field` for an id that is not a stored upload (unknown, a received file's, or deleted).
   */
  async uploaded(mediaId: string, field: string): Promise<UploadedMedia> {
    const row = /^[0-9a-f-]{36}$/i.test(mediaId) ? await this.repo.upload(mediaId) : null;
    if (!row || row.state !== 'stored')
      throw AppError.badRequest(
        `${field}: no uploaded file ${mediaId}${row ? ` (it is ${row.state})` : ''}; upload it with POST /v1/media`,
        [{ field, errors: ['unknown upload'] }],
      );
    return toUploaded(row);
  }

  /**
   * The bytes of an uploaded file, whole (at most MEDIA_MAX_BYTES), for a provider call at send time.
   * @throws Error when it is no longer stored (deleted by retention) or the store fails.
   */
  async uploadedBytes(mediaId: string): Promise<{ file: UploadedMedia; bytes: Buffer }> {
    const row = await this.repo.upload(mediaId);
    if (!row || row.state !== 'stored' || !row.storage || !row.object_key) throw new Error(`Uploaded file ${mediaId} is no longer stored`);
    const storage = this.storages.get(row.storage);
    if (!storage) throw new Error(`Uploaded file ${mediaId} is in the ${row.storage} store, which is not configured`);
    const chunks: Buffer[] = [];
    for await (const c of await storage.get(row.object_key)) chunks.push(Buffer.from(c as Uint8Array));
    return { file: toUploaded(row), bytes: Buffer.concat(chunks) };
  }

  /** MEDIA_MAX_BYTES: the largest file stored or uploaded. */
  get maxBytes(): number {
    return this.config.MEDIA_MAX_BYTES;
  }

  /** Whether signed URLs can be made without a request (MEDIA_PUBLIC_BASE_URL set): the outbox has no origin. */
  get hasPublicBaseUrl(): boolean {
    return this.config.MEDIA_PUBLIC_BASE_URL !== undefined;
  }

  /** The stored media ids of `messageIds` (`message id → media id`). */
  storedIdsOf(messageIds: string[]): Promise<Map<string, string>> {
    return this.repo.storedIdsOf(messageIds);
  }

  private async rowFor(messageId: string, key: AuthenticatedKey | undefined): Promise<ServedMediaRow> {
    if (!/^\d{1,18}$/.test(messageId)) throw AppError.notFound('Message');
    const row = await this.repo.forMessage(messageId, key);
    if (row) return row;
    if (await this.repo.messageVisible(messageId, key))
      throw new AppError(HttpStatus.NOT_FOUND, 'NOT_FOUND', 'This message has no media file');
    throw AppError.notFound('Message');
  }

  private async serve(row: ServedMediaRow, rangeHeader?: string, ifNoneMatch?: string): Promise<MediaResponse> {
    if (row.state !== 'stored' || !row.storage || !row.object_key || row.size === null) {
      const why = row.state === 'pending' ? 'not downloaded yet' : row.state === 'failed' ? `failed: ${row.error}` : 'deleted (retention)';
      throw new AppError(HttpStatus.CONFLICT, 'CONFLICT', `The media file is ${why}`, {
        state: row.state,
        code: row.error_code,
        error: row.error,
      });
    }
    const storage = this.storages.get(row.storage);
    if (!storage)
      throw new AppError(
        HttpStatus.SERVICE_UNAVAILABLE,
        'SERVICE_UNAVAILABLE',
        `The media is in the ${row.storage} store, which is not configured`,
      );
    const size = Number(row.size);
    const etag = `"${row.sha256}"`;
    const type = row.mime_type ?? 'application/octet-stream';
    const headers: Record<string, string> = {
      'content-type': type,
      etag,
      'accept-ranges': 'bytes',
      'cache-control': 'private, max-age=3600',
      'content-disposition': disposition(
        row.message_type === 'document' || ACTIVE_TYPES.test(essence(type) ?? '') ? 'attachment' : 'inline',
        row.filename,
      ),
      'content-security-policy': "default-src 'none'; sandbox",
      'x-content-type-options': 'nosniff',
    };
    if (ifNoneMatch && ifNoneMatch.split(',').some((t) => t.trim() === etag || t.trim() === '*')) return { status: 304, headers };
    const range = parseRange(rangeHeader, size);
    if (range === 'unsatisfiable')
      throw new AppError(
        HttpStatus.REQUESTED_RANGE_NOT_SATISFIABLE,
        'VALIDATION_FAILED',
        `Range not satisfiable: the file has ${size} bytes`,
        undefined,
        {
          'Content-Range': `bytes */${size}`,
        },
      );
    const body = await storage.get(row.object_key, range);
    if (!range) return { status: 200, headers: { ...headers, 'content-length': String(size) }, body };
    return {
      status: 206,
      headers: {
        ...headers,
        'content-length': String(range.end - range.start + 1),
        'content-range': `bytes ${range.start}-${range.end}/${size}`,
      },
      body,
    };
  }

  private secretKey(): Promise<Buffer> {
    return (this.secret ??= (async () =>
      Buffer.from(this.config.MEDIA_URL_SECRET ?? (await this.repo.urlSecret(randomBytes(32).toString('base64url'))), 'utf8'))().catch(
      (e) => {
        this.secret = undefined;
        throw e;
      },
    ));
  }
}
