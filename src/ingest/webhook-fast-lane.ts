import { Injectable, Logger } from '@nestjs/common';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { AppError } from '../common/app-error';
import { toErrorBody } from '../common/http-exception.filter';
import { jsonDepthExceeds, MAX_JSON_DEPTH } from '../common/json-depth';
import { requestIdOf } from '../common/request-id';
import { AppConfig } from '../config/app-config';
import { LogFlood } from '../observability/log-flood';
import type { WebhookNormalizer } from '../domain/inbound-event';
import type { Provider } from '../domain/provider';
import { IngestService } from './ingest.service';
import type { WebhookAuthGuard, WebhookRequest } from './webhook-auth.guard';

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;
type HeaderMiddleware = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

/** A webhook route a provider serves through the lane (JSON POSTs only; every other request goes to Express). */
export interface FastLaneRoute {
  /** Exact path, e.g. `/webhooks/meta` (a trailing slash is accepted too). */
  path: string;
  provider: Provider;
  /** The same guard the controller route uses. */
  guard: WebhookAuthGuard;
  normalizer: WebhookNormalizer;
}

/**
 * The ingest hot path without the web framework: a JSON POST to a registered provider route is answered straight
 * from the HTTP server's request event, ahead of Express. Measured on the 2-core reference machine, Express 5 +
 * express.json alone tops out near 2.9k requests/s, below the node:http + pg baseline of issue 2, so Meta's
 * 1,000 messages/s per number plus status callbacks would queue in the framework, not in the database.
 *
 * Provider-agnostic: a provider module registers its route ({@link register}) with the guard and normalizer its
 * controller uses, so the lane has the controller's behaviour (which still serves every other content type): the
 * same credential check over the raw bytes, the same IngestService, our error shape, the security headers and
 * `X-Request-Id` of every response, the body limit (413). Credentials are checked before the body is parsed.
 */
@Injectable()
export class WebhookFastLane {
  private readonly logger = new Logger(WebhookFastLane.name);
  private readonly failures = new LogFlood(this.logger);

  private readonly routes = new Map<string, FastLaneRoute>();
  private headers: HeaderMiddleware = (_req, _res, next) => next();

  constructor(
    private readonly config: AppConfig,
    private readonly ingest: IngestService,
  ) {}

  /** Serves `route` through the lane (called by a provider module when it is initialised). */
  register(route: FastLaneRoute): void {
    this.routes.set(route.path.replace(/\/$/, ''), route);
  }

  /**
   * Puts the fast lane in front of the server's existing request listeners (Express). Call once.
   * @param headers the security-header middleware Express responses get (helmet), applied to the lane's too.
   */
  attach(server: Server, headers?: HeaderMiddleware): void {
    if (headers) this.headers = headers;
    const fallback = server.listeners('request') as RequestListener[];
    server.removeAllListeners('request');
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const route = this.routeOf(req);
      if (route) void this.handle(route, req, res);
      else for (const listener of fallback) listener.call(server, req, res);
    });
  }

  private routeOf(req: IncomingMessage): FastLaneRoute | undefined {
    if (req.method !== 'POST' || !/^application\/json\b/i.test(req.headers['content-type'] ?? '')) return undefined;
    const path = req.url?.split('?', 1)[0].replace(/\/$/, '');
    return path === undefined ? undefined : this.routes.get(path);
  }

  private async handle(route: FastLaneRoute, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = requestIdOf(req);
    (req as IncomingMessage & { routeLabel?: string }).routeLabel = route.path;
    this.headers(req, res, () => undefined);
    try {
      const rawBody = await readBody(req, this.config.BODY_LIMIT_BYTES);
      route.guard.verify(Object.assign(req, { rawBody }) as unknown as WebhookRequest);
      if (jsonDepthExceeds(rawBody, MAX_JSON_DEPTH))
        throw new AppError(400, 'VALIDATION_FAILED', `JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
      let body: unknown;
      try {
        body = JSON.parse(rawBody.toString('utf8'));
      } catch {
        throw new AppError(400, 'MALFORMED_JSON', 'Request body is not valid JSON');
      }
      const result = await this.ingest.ingest(route.provider, route.normalizer, {
        rawBody,
        body,
        contentType: req.headers['content-type'] ?? null,
      });
      send(res, 200, requestId, { received: true, webhookEventId: result.webhookEventId, state: result.state });
    } catch (e) {
      const { status, body } = toErrorBody(e, requestId);
      // IngestService already reported a failed store (once a second at most); anything else is unexpected.
      if (status >= 500 && !(e instanceof AppError))
        this.failures.write('error', `fast-lane:${route.path}`, `POST ${route.path} → ${status}: ${(e as Error)?.message}`, { requestId });
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
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(json),
    'X-Request-Id': requestId,
  });
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
