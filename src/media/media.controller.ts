import { Controller, Get, HttpCode, HttpStatus, Param, Post, Query, Req, Res } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiBody,
  ApiConsumes,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiHeader,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiPayloadTooLargeResponse,
  ApiProduces,
  ApiQuery,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { PassThrough, pipeline, Readable } from 'node:stream';
import { AppError } from '../common/app-error';
import { ApiKeyAuth, apiKeyOf, Public } from '../auth/api-key.guard';
import { ErrorResponseDto } from '../common/error-response.dto';
import { toIso } from '../common/sql-text';
import { MediaStateResponseDto, MediaUploadResponseDto, MediaUrlResponseDto } from './media.dto';
import { type MediaResponse, MediaService } from './media.service';

/** Writes a media response: status, headers, then the streamed body (a mid-stream store failure cuts the connection). */
function send(res: Response, r: MediaResponse): void {
  res.status(r.status).set(r.headers);
  if (!r.body) {
    res.end();
    return;
  }
  pipeline(r.body, res, (err) => {
    if (err) res.destroy(err);
  });
}

/** The origin the client used (honours TRUST_PROXY through Express's req.protocol / host). */
function originOf(req: Request): string {
  return `${req.protocol}://${req.get('host') ?? 'localhost'}`;
}

const RANGE_HEADERS = [
  ApiHeader({ name: 'Range', required: false, description: 'One byte range, e.g. `bytes=0-1023`, `bytes=1024-`, `bytes=-500`' }),
  ApiHeader({ name: 'If-None-Match', required: false, description: 'The ETag (the file SHA-256 in quotes): 304 when it matches' }),
];
const apply =
  (decorators: MethodDecorator[]): MethodDecorator =>
  (t, k, d) => {
    for (const dec of decorators) dec(t, k, d);
  };

/** `filename` of a `Content-Disposition` value (RFC 6266: `filename*=UTF-8''…` first, then `filename="…"`). */
function dispositionName(header: string | undefined): string | null {
  if (!header) return null;
  const ext = /filename\*\s*=\s*UTF-8''([^;]+)/i.exec(header);
  if (ext) {
    try {
      return decodeURIComponent(ext[1].trim());
    } catch {
      /* fall back to the plain parameter */
    }
  }
  const plain = /filename\s*=\s*(?:"([^"]*)"|([^;]+))/i.exec(header);
  return (plain?.[1] ?? plain?.[2])?.trim() || null;
}

/** A file name as stored (`media.filename`, varchar(255)): no path, no control characters; null when empty. */
function cleanName(name: string | null | undefined): string | null {
  const base = name
    ?.split(/[\\/]/)
    .pop()
    ?.replace(/[\u0000-\u001f\u007f]/g, '')
    .trim();
  return base ? base.slice(0, 255) : null;
}

/** Files of media messages: the bytes (with ranges), short-lived signed URLs, and re-queueing a failed download. */
@ApiTags('media')
@Controller()
export class MediaController {
  constructor(private readonly media: MediaService) {}

  /** The file of a media message, streamed; `Range` gives 206 with `Content-Range`, or 416. */
  @Get('v1/messages/:id/media')
  @ApiKeyAuth('read')
  @apply(RANGE_HEADERS)
  @ApiOperation({ summary: "Download a message's media file" })
  @ApiProduces('*/*')
  @ApiOkResponse({ description: 'The file, with Content-Type, Content-Length, ETag and Content-Disposition' })
  @ApiResponse({ status: 206, description: 'The requested range, with Content-Range' })
  @ApiResponse({ status: 416, description: 'Range not satisfiable (Content-Range: bytes */size)', type: ErrorResponseDto })
  @ApiNotFoundResponse({ description: 'Unknown message, or a message without a file', type: ErrorResponseDto })
  @ApiConflictResponse({ description: 'Not stored (yet): details {state, code, error}', type: ErrorResponseDto })
  async file(@Param('id') id: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    send(res, await this.media.open(id, apiKeyOf(req), req.headers.range, req.headers['if-none-match']));
  }

  /** A URL that serves the file without a header (for `<img>`, browsers and integrators), valid MEDIA_URL_TTL_SECONDS. */
  @Get('v1/messages/:id/media-url')
  @ApiKeyAuth('read')
  @ApiOperation({ summary: "A signed, short-lived URL of a message's media file" })
  @ApiOkResponse({ type: MediaUrlResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  url(@Param('id') id: string, @Req() req: Request): Promise<MediaUrlResponseDto> {
    return this.media.signedUrl(id, apiKeyOf(req), originOf(req));
  }

  /**
   * Uploads a file to send (`POST /v1/messages` with `image|video|audio|document: {mediaId}`). Two forms:
   * the raw bytes as the body with their `Content-Type` (streamed into the store; the name from `?filename=` or
   * `Content-Disposition`), or `multipart/form-data` with a `file` part (read whole by the multipart parser, at most
   * MEDIA_MAX_BYTES). The type is sniffed from the bytes (`file-type`); it wins over a declared type that disagrees.
   */
  @Post('v1/media')
  @HttpCode(201)
  @ApiKeyAuth('send')
  @ApiOperation({ summary: 'Upload a file to send' })
  @ApiConsumes('multipart/form-data', 'application/octet-stream', 'image/jpeg', 'application/pdf')
  @ApiQuery({ name: 'filename', required: false, description: 'File name for a raw body (shown to the recipient of a document)' })
  @ApiBody({
    schema: { type: 'object', properties: { file: { type: 'string', format: 'binary' } }, required: ['file'] },
    description: 'multipart/form-data with a `file` part, or the raw bytes with their Content-Type',
  })
  @ApiCreatedResponse({ type: MediaUploadResponseDto })
  @ApiBadRequestResponse({ description: 'Empty body, or a multipart body without a file part', type: ErrorResponseDto })
  @ApiPayloadTooLargeResponse({ description: 'Larger than MEDIA_MAX_BYTES', type: ErrorResponseDto })
  async upload(@Query('filename') filename: unknown, @Req() req: Request): Promise<MediaUploadResponseDto> {
    const type = req.headers['content-type'];
    const length = req.headers['content-length'] ? Number(req.headers['content-length']) : undefined;
    const multipart = !!type && /^multipart\/form-data/i.test(type);
    // Refused before a byte is read (multipart: room for the part headers); Node discards the unread body.
    if (length !== undefined && length > this.media.maxBytes + (multipart ? 64 * 1024 : 0))
      throw new AppError(
        HttpStatus.PAYLOAD_TOO_LARGE,
        'PAYLOAD_TOO_LARGE',
        `The file is larger than MEDIA_MAX_BYTES (${this.media.maxBytes} bytes)`,
      );
    if (multipart) {
      let form: FormData;
      try {
        // undici's multipart parser (Node's fetch Request): no extra dependency; it holds the body in memory.
        form = await new Request('http://upload.invalid/', {
          method: 'POST',
          headers: { 'content-type': type },
          body: Readable.toWeb(req) as ReadableStream,
          duplex: 'half',
        } as RequestInit).formData();
      } catch {
        throw AppError.badRequest('The multipart body could not be parsed', [{ field: 'file', errors: ['malformed multipart body'] }]);
      }
      const file = form.get('file');
      if (!file || typeof file === 'string')
        throw AppError.badRequest('A multipart upload needs a file part named "file"', [{ field: 'file', errors: ['required'] }]);
      return this.media.upload(
        Readable.fromWeb(file.stream() as import('node:stream/web').ReadableStream),
        file.type || undefined,
        cleanName(file.name) ?? cleanName(typeof filename === 'string' ? filename : null),
        file.size,
      );
    }
    // A JSON or form body was parsed by the global parsers: its exact bytes are kept in rawBody.
    const raw = (req as Request & { rawBody?: Buffer }).rawBody;
    // Not the request itself: a failed check destroys the stream it reads, which would reset the connection before
    // the 413 is written.
    let body: Readable;
    if (raw) body = Readable.from([raw]);
    else {
      const through = new PassThrough();
      req.on('close', () => {
        if (!req.complete) through.destroy(new Error('The upload was interrupted'));
      });
      body = req.pipe(through);
    }
    const name =
      cleanName(typeof filename === 'string' ? filename : null) ?? cleanName(dispositionName(req.headers['content-disposition']));
    return this.media.upload(body, type || undefined, name, raw ? raw.length : Number.isFinite(length) ? length : undefined);
  }

  /** Queues a failed (or waiting) download again, due now with its attempts from zero. */
  @Post('v1/messages/:id/media/retry')
  @HttpCode(202)
  @ApiKeyAuth('send')
  @ApiOperation({ summary: "Retry a message's media download" })
  @ApiAcceptedResponse({ type: MediaStateResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  @ApiConflictResponse({ description: 'Already stored, or deleted by retention', type: ErrorResponseDto })
  async retry(@Param('id') id: string, @Req() req: Request): Promise<MediaStateResponseDto> {
    const row = await this.media.retry(id, apiKeyOf(req));
    return { id: row.id, state: row.state, attempts: row.attempts, nextAttemptAt: toIso(row.next_attempt_at)! };
  }

  /** The file behind a signed URL (from `GET /v1/messages/:id/media-url`): no API key, the signature is the credential. */
  @Get('v1/media/:mediaId/content')
  @Public()
  @apply(RANGE_HEADERS)
  @ApiOperation({ summary: 'Download a media file by signed URL (no API key)' })
  @ApiProduces('*/*')
  @ApiQuery({ name: 'expires', description: 'Unix seconds, from the signed URL' })
  @ApiQuery({ name: 'signature', description: 'From the signed URL' })
  @ApiOkResponse({ description: 'The file, as GET /v1/messages/:id/media' })
  @ApiForbiddenResponse({ description: 'Signature wrong or expired', type: ErrorResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  async signed(
    @Param('mediaId') mediaId: string,
    @Query('expires') expires: unknown,
    @Query('signature') signature: unknown,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    send(res, await this.media.openSigned(mediaId, expires, signature, req.headers.range, req.headers['if-none-match']));
  }
}
