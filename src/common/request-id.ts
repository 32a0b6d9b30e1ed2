import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { IncomingMessage } from 'node:http';

const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Request id of this request: the caller's `X-Request-Id` when it is a safe token, else a new UUID. */
export function requestIdOf(req: IncomingMessage): string {
  const r = req as IncomingMessage & { id?: string };
  if (!r.id) {
    const given = req.headers['x-request-id'];
    r.id = typeof given === 'string' && SAFE_ID.test(given) ? given : randomUUID();
  }
  return r.id;
}

/** Express middleware: assigns the request id and echoes it as `X-Request-Id`. */
export function requestIdMiddleware(req: Request, res: Response, next: NextFunction): void {
  res.setHeader('X-Request-Id', requestIdOf(req));
  next();
}
