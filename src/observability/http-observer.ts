import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Logger as Pino } from 'pino';
import { pinoHttp, type HttpLogger } from 'pino-http';
import { requestIdOf } from '../common/request-id';
import type { Metrics } from './metrics';
import { redactUrl } from './logger';

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;
type Observed = IncomingMessage & {
  route?: { path?: string };
  baseUrl?: string;
  apiKey?: { id: string };
  ip?: string;
  /** Set by handlers that answer outside Express (the webhook fast lane): the route pattern. */
  routeLabel?: string;
};

/** The route pattern of an answered request (`/v1/messages/:id`), never the raw URL (bounded label values). */
export function routeOf(req: Observed): string {
  if (req.routeLabel) return req.routeLabel;
  if (req.route?.path) return `${req.baseUrl ?? ''}${req.route.path}`;
  return '(unmatched)';
}

/** The fields every request line carries besides pino-http's own: route pattern, API key id, client IP. */
function propsOf(req: Observed): { route: string; apiKeyId?: string; ip?: string } {
  return { route: routeOf(req), apiKeyId: req.apiKey?.id, ip: req.ip ?? req.socket?.remoteAddress };
}

const levelOf = (res: ServerResponse, err?: unknown): 'error' | 'warn' | 'info' =>
  err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info';
const messageOf = (req: IncomingMessage, res: ServerResponse) => `${req.method} ${routeOf(req as Observed)} ${res.statusCode}`;

/**
 * Every HTTP request, whichever handler answers it (Express or the webhook fast lane), gets one JSON log line
 * when it ends (pino-http: request id, method, route, redacted URL, status, latency in ms, API key id (never the
 * secret), client IP) and counts in the HTTP metrics. Installed in front of the server's request listeners.
 * Successful requests log at `info`, 4xx at `warn`, 5xx at `error`.
 *
 * When `info` is off (LOG_LEVEL=warn or quieter) most requests write nothing, and pino-http's per-request work
 * (two child loggers, the redaction of their bindings: about 8 % of the webhook hot path's CPU, measured with
 * `npm run bench:ingest` and `BENCH_CPU_PROF`) is skipped: a request that ends with status 400 or more writes
 * the same line, built from the same serializers and options, when it finishes.
 */
export function observeHttp(server: Server, logger: Pino, metrics: Metrics): void {
  const http: HttpLogger = pinoHttp({
    logger,
    genReqId: (req) => requestIdOf(req),
    customLogLevel: (_req, res, err) => levelOf(res, err),
    customSuccessMessage: messageOf,
    customErrorMessage: messageOf,
    customSuccessObject: (req, _res, value: object) => ({ ...value, ...propsOf(req as Observed) }),
    customErrorObject: (req, _res, _err, value: object) => ({ ...value, ...propsOf(req as Observed) }),
    serializers: {
      req: (req: { id: string; method: string; url: string; headers: Record<string, unknown> }) => ({
        id: req.id,
        method: req.method,
        url: redactUrl(req.url),
        userAgent: req.headers?.['user-agent'],
      }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
    wrapSerializers: true,
    quietReqLogger: true,
  });
  const logsEveryRequest = logger.isLevelEnabled('info');
  /** pino-http's line for a request that ended with status >= 400 (its reqId and req bindings, then the line). */
  const logFailed = (req: IncomingMessage, res: ServerResponse, responseTime: number): void => {
    const level = levelOf(res);
    if (level === 'info' || !logger.isLevelEnabled(level)) return;
    const line = http.logger.child({ reqId: requestIdOf(req) }).child({ req });
    const value: Record<string, unknown> = { res, responseTime, ...propsOf(req as Observed) };
    if (level === 'error') value.err = new Error(`failed with status code ${res.statusCode}`);
    line[level](value, messageOf(req, res));
  };
  const listeners = server.listeners('request') as RequestListener[];
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const started = process.hrtime.bigint();
    if (logsEveryRequest) http(req, res);
    res.once('finish', () => {
      const route = routeOf(req as Observed);
      const method = req.method ?? 'GET';
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      metrics.httpRequests.inc({ method, route, status: String(res.statusCode) });
      metrics.httpDuration.observe({ method, route }, seconds);
      if (!logsEveryRequest && res.statusCode >= 400) logFailed(req, res, Math.round(seconds * 1000));
    });
    for (const listener of listeners) listener.call(server, req, res);
  });
}
