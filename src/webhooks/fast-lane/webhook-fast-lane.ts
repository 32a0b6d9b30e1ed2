import { Injectable, Logger } from '@nestjs/common';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { AppError } from '../../common/app-error';
import { toErrorBody } from '../../common/http-exception.filter';
import { jsonDepthExceeds, MAX_JSON_DEPTH } from '../../common/json-depth';
import { requestIdOf } from '../../common/request-id';
import { AppConfig } from '../../config/app-config';
import { IngestService } from '../ingest/ingest.service';
import { MetaSignatureGuard } from '../providers/meta/meta-signature.guard';
import { MetaNormalizer } from '../providers/meta/meta.normalizer';

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * The ingest hot path without the web framework: `POST /webhooks/meta` with a JSON body is answered straight
 * from the HTTP server's request event, ahead of Express. Measured on the 2-core reference machine, Express 5 +
 * express.json alone tops out near 2.9k requests/s, below the node:http + pg baseline of issue 2, so Meta's
 * 1,000 messages/s per number plus status callbacks would queue in the framework, not in the database.
 *
 * Same behaviour as the documented controller route (MetaWebhookController, which still serves every other
 * content type): the same signature check over the raw bytes, the same IngestService, our error shape, the
 * `X-Request-Id` header, the body limit (413). The signature is checked before the body is parsed, so nothing
 * unauthenticated is parsed.
 */
@Injectable()
export class WebhookFastLane {
  private readonly logger = new Logger(WebhookFastLane.name);

  constructor(
    private readonly config: AppConfig,
    private readonly ingest: IngestService,
    private readonly normalizer: MetaNormalizer,
    private readonly signature: MetaSignatureGuard,
  ) {}

  /** Puts the fast lane in front of the server's existing request listeners (Express). Call once. */
  attach(server: Server): void {
    const fallback = server.listeners('request') as RequestListener[];
    server.removeAllListeners('request');
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      if (this.takes(req)) void this.handle(req, res);
      else for (const listener of fallback) listener.call(server, req, res);
    });
  }

  private takes(req: IncomingMessage): boolean {
    if (req.method !== 'POST') return false;
    const path = req.url?.split('?', 1)[0];
    if (path !== '/webhooks/meta' && path !== '/webhooks/meta/') return false;
    return /^application\/json\b/i.test(req.headers['content-type'] ?? '');
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = requestIdOf(req);
    try {
      const rawBody = await readBody(req, this.config.BODY_LIMIT_BYTES);
      this.signature.verify(Object.assign(req, { rawBody }) as never);
      if (jsonDepthExceeds(rawBody, MAX_JSON_DEPTH)) throw new AppError(400, 'VALIDATION_FAILED', `JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
      let body: unknown;
      try {
        body = JSON.parse(rawBody.toString('utf8'));
      } catch {
        throw new AppError(400, 'MALFORMED_JSON', 'Request body is not valid JSON');
      }
      const result = await this.ingest.ingest('meta', this.normalizer, { rawBody, body, contentType: req.headers['content-type'] ?? null });
      send(res, 200, requestId, { received: true, webhookEventId: result.webhookEventId, state: result.state });
    } catch (e) {
      const { status, body } = toErrorBody(e, requestId);
      if (status >= 500) this.logger.error(`POST ${req.url} → ${status} [${requestId}]`, (e as Error)?.stack);
      // A body we stopped reading (too large) must not be left for the next request on this connection.
      if (status === 413) res.setHeader('Connection', 'close');
      if (e instanceof AppError && e.headers) for (const [name, value] of Object.entries(e.headers)) res.setHeader(name, value);
      send(res, status, requestId, body);
    }
  }
}

function send(res: ServerResponse, status: number, requestId: string, body: unknown): void {
  if (res.headersSent) return;
  const json = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(json), 'X-Request-Id': requestId });
  res.end(json);
}

/**
 * Reads the request body.
 * @throws AppError 413 `PAYLOAD_TOO_LARGE` past `limit` bytes (declared or streamed), 400 on an aborted body.
 */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) return Promise.reject(new AppError(413, 'PAYLOAD_TOO_LARGE', `Request body is larger than ${limit} bytes`));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(new AppError(413, 'PAYLOAD_TOO_LARGE', `Request body is larger than ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size)));
    req.on('error', () => reject(new AppError(400, 'VALIDATION_FAILED', 'Request body could not be read')));
  });
}
