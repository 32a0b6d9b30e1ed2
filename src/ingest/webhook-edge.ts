import { HttpStatus, Injectable } from '@nestjs/common';
import { json, raw, urlencoded } from 'body-parser';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { IncomingMessage } from 'node:http';
import { ApiKeysService, type AuthenticatedKey } from '../auth/api-keys.service';
import { extractKey } from '../auth/api-key.guard';
import { FailedAuthLimiter } from '../auth/failed-auth-limiter';
import { AppError } from '../common/app-error';
import { jsonDepthExceeds, MAX_JSON_DEPTH } from '../common/json-depth';
import { AppConfig } from '../config/app-config';
import type { Precheck, WebhookAuthGuard, WebhookRequest } from './webhook-auth.guard';

/** A webhook route's edge: who may post there, and how large a body may be. */
export interface EdgeRoute {
  /** Exact paths (a trailing slash and sub-paths are included: `/webhooks/wwebjs` covers `/webhooks/wwebjs/:id`). */
  paths: string[];
  /** The route's credential checks; the request may go on when any one of them passes its precheck. */
  guards: WebhookAuthGuard[];
  /** Largest body in bytes (default BODY_LIMIT_BYTES). */
  bodyLimit?: number;
}

type EdgeRequest = IncomingMessage & { signatureDue?: boolean; edgeRefusal?: unknown };

/** The error the edge refused a request with (thrown by ApiKeyGuard and WebhookAuthGuard), if any. */
export function refusalOf(req: IncomingMessage): unknown {
  return (req as EdgeRequest).edgeRefusal;
}

/** Wraps a body parser so it leaves refused requests alone (their body must not be read). */
export function unlessRefused(parser: RequestHandler): RequestHandler {
  return (req, res, next) => ((req as EdgeRequest).edgeRefusal !== undefined ? next() : parser(req, res, next));
}

function refuse(req: IncomingMessage, res: Response, error: unknown, next: NextFunction): void {
  (req as EdgeRequest).edgeRefusal = error;
  res.setHeader('Connection', 'close');
  next();
}

/** Requests whose API key was authenticated before their body was read; ApiKeyGuard reuses it. */
export type PreauthenticatedRequest = IncomingMessage & { preauthenticatedKey?: AuthenticatedKey };

/**
 * The one place request bodies are admitted (installed by configureApp ahead of every body parser):
 * - webhook routes (registered by provider and compat modules with {@link protect}): each guard's header
 *   precheck runs first; a request no guard can pass is refused before a byte of its body is read. Bodies whose
 *   signature can only be checked once read count against `UNVERIFIED_BODY_BUDGET_BYTES` while they are read.
 *   Then the route's parsers keep the exact bytes of any content type (JSON, form, anything else as bytes).
 * - every other request with a body must carry a valid API key (`X-API-Key` or `Authorization: Bearer`) before
 *   its body is read: a 20 MB contact import without a key is refused at its headers. The key's scope is still
 *   checked by ApiKeyGuard on the route.
 * A refused request's body is never read: the refusal is kept on the request ({@link refusalOf}) and thrown by
 * the route's own guard, so it is answered in the route's error shape (compat routes: their seed's), with
 * `Connection: close` so the unread body is dropped with the socket. 401, 429 past the failed-auth limit, 503 over
 * the budget.
 */
@Injectable()
export class WebhookEdge {
  private readonly routes: { path: string; route: EdgeRoute; parsers: RequestHandler[] }[] = [];
  private unverifiedBytes = 0;

  constructor(
    private readonly config: AppConfig,
    private readonly keys: ApiKeysService,
    private readonly failures: FailedAuthLimiter,
  ) {}

  /** Registers a webhook route (called by modules when they are initialised, before traffic). */
  protect(route: EdgeRoute): void {
    const limit = route.bodyLimit ?? this.config.BODY_LIMIT_BYTES;
    // body-parser calls `verify` with the exact bytes BEFORE it parses them: a signature that needs the body is
    // checked there, so an unauthenticated body is never parsed (the route's own guard checks again, cheaply).
    const verify = (req: IncomingMessage, _res: unknown, buf: Buffer) => {
      keepRawBody(req, buf);
      if ((req as EdgeRequest).signatureDue) this.failures.guard(req, () => verifyAny(route.guards, req as WebhookRequest));
    };
    const parsers = [
      json({ limit, type: ['application/json', 'application/*+json'], verify }),
      urlencoded({ limit, extended: true, verify }),
      raw({ limit, type: () => true, verify }),
    ];
    for (const path of route.paths) this.routes.push({ path: path.replace(/\/$/, ''), route, parsers });
  }

  /** The Express middleware. */
  readonly middleware: RequestHandler = (req, res, next) => {
    const match = this.routeOf(req.path);
    if (match) return this.admitWebhook(match.route, match.parsers, req, res, next);
    if (!hasBody(req)) return next();
    void this.admitKeyed(req).then(
      () => next(),
      (e) => refuse(req, res, e, next),
    );
  };

  private routeOf(path: string) {
    const p = path.replace(/\/$/, '');
    return this.routes.find((r) => p === r.path || p.startsWith(`${r.path}/`));
  }

  private admitWebhook(route: EdgeRoute, parsers: RequestHandler[], req: Request, res: Response, next: NextFunction): void {
    if (req.method !== 'POST' && req.method !== 'PUT' && req.method !== 'PATCH') return next();
    let outcome: Precheck;
    try {
      outcome = this.failures.guard(req, () => precheckAny(route.guards, req as WebhookRequest));
    } catch (e) {
      return refuse(req, res, e, next);
    }
    let held = 0;
    (req as EdgeRequest).signatureDue = outcome === 'needs-body';
    if (outcome === 'needs-body' && hasBody(req)) {
      const declared = Number(req.headers['content-length']);
      held = Number.isFinite(declared) && declared >= 0 ? declared : (route.bodyLimit ?? this.config.BODY_LIMIT_BYTES);
      if (this.unverifiedBytes + held > this.config.UNVERIFIED_BODY_BUDGET_BYTES) {
        return refuse(
          req,
          res,
          new AppError(
            HttpStatus.SERVICE_UNAVAILABLE,
            'SERVICE_UNAVAILABLE',
            'Too many unverified webhook bodies in flight; retry later',
            undefined,
            { 'Retry-After': '1' },
          ),
          next,
        );
      }
      this.unverifiedBytes += held;
      let released = false;
      const release = () => {
        if (!released) this.unverifiedBytes -= held;
        released = true;
      };
      req.once('end', release);
      req.once('close', release);
    }
    runAll(parsers, req, res, next);
  }

  private async admitKeyed(req: Request): Promise<void> {
    const secret = extractKey(req);
    if (!secret) throw AppError.unauthorized('API key required: send it as X-API-Key or Authorization: Bearer');
    const ip = this.failures.ipOf(req);
    this.failures.assertAllowed(ip);
    const key = await this.keys.authenticate(secret);
    if (!key) {
      this.failures.recordFailure(ip);
      throw AppError.unauthorized('API key is unknown, revoked or expired');
    }
    (req as PreauthenticatedRequest).preauthenticatedKey = key;
  }
}

function verifyAny(guards: WebhookAuthGuard[], req: WebhookRequest): true {
  let firstError: unknown;
  for (const guard of guards) {
    try {
      return guard.check(req);
    } catch (e) {
      firstError ??= e;
    }
  }
  throw firstError ?? AppError.unauthorized('Missing credentials');
}

function precheckAny(guards: WebhookAuthGuard[], req: WebhookRequest): Precheck {
  let firstError: unknown;
  for (const guard of guards) {
    try {
      return guard.precheck(req);
    } catch (e) {
      firstError ??= e;
    }
  }
  throw firstError ?? AppError.unauthorized('Missing credentials');
}

function runAll(handlers: RequestHandler[], req: Request, res: Response, next: NextFunction): void {
  const step = (i: number) => (err?: unknown) => {
    if (err) return next(err);
    if (i === handlers.length) return next();
    handlers[i](req, res, step(i + 1));
  };
  step(0)();
}

function hasBody(req: IncomingMessage): boolean {
  return (
    req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0')
  );
}

/** body-parser `verify`: keeps the exact bytes (signatures are over them) and refuses absurdly deep JSON. */
export function keepRawBody(req: IncomingMessage, buf: Buffer): void {
  if (jsonDepthExceeds(buf, MAX_JSON_DEPTH)) {
    throw Object.assign(new Error(`JSON nested deeper than ${MAX_JSON_DEPTH} levels`), { status: 400, type: 'entity.verify.failed' });
  }
  (req as IncomingMessage & { rawBody?: Buffer }).rawBody = buf;
}
