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

/**
 * Every HTTP request, whichever handler answers it (Express or the webhook fast lane), gets one JSON log line
 * when it ends (pino-http: request id, method, route, redacted URL, status, latency in ms, API key id (never the
 * secret), client IP) and counts in the HTTP metrics. Installed in front of the server's request listeners.
 * Successful requests log at `info`, 4xx at `warn`, 5xx at `error`.
 */
export function observeHttp(server: Server, logger: Pino, metrics: Metrics): void {
  const http: HttpLogger = pinoHttp({
    logger,
    genReqId: (req) => requestIdOf(req),
    customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info'),
    customSuccessMessage: (req, res) => `${req.method} ${routeOf(req as Observed)} ${res.statusCode}`,
    customErrorMessage: (req, res) => `${req.method} ${routeOf(req as Observed)} ${res.statusCode}`,
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
  const listeners = server.listeners('request') as RequestListener[];
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const started = process.hrtime.bigint();
    http(req, res);
    res.once('finish', () => {
      const route = routeOf(req as Observed);
      const method = req.method ?? 'GET';
      metrics.httpRequests.inc({ method, route, status: String(res.statusCode) });
      metrics.httpDuration.observe({ method, route }, Number(process.hrtime.bigint() - started) / 1e9);
    });
    for (const listener of listeners) listener.call(server, req, res);
  });
}
