import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { AppError, type ErrorBody } from '../common/app-error';
import { toErrorBody, type PathErrorShape } from '../common/http-exception.filter';
import { requestIdOf } from '../common/request-id';

/** Renders one of our errors (status + {@link ErrorBody}) as a seed's error body. */
export type SeedErrorShape = (status: number, body: ErrorBody) => Record<string, unknown>;

/**
 * Renders errors of a compat controller in its seed's own shape, with our HTTP status codes and headers
 * (`Retry-After` on 429); internal details are never echoed. One instance per seed shape, e.g.
 * `@UseFilters(ODOO_ERRORS)`. Errors raised before a route runs (body parsing, unknown sub-paths) get the same
 * shapes through {@link SEED_PATH_ERROR_SHAPES} and the global filter.
 */
@Catch()
export class SeedErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('Compat');

  constructor(readonly shape: SeedErrorShape) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const req = host.switchToHttp().getRequest<Request>();
    const res = host.switchToHttp().getResponse<Response>();
    const { status, body } = toErrorBody(exception, requestIdOf(req));
    if (status >= 500) this.logger.error(`${req.method} ${req.path} → ${status}`, (exception as Error)?.stack);
    if (res.headersSent) return;
    if (exception instanceof AppError && exception.headers) res.set(exception.headers);
    res.status(status).json(this.shape(status, body));
  }
}

/**
 * Seed s0 (Odoo WhatsApp Headless, "Error Handling"): `{ "status": "error", "message": "..." }`; 401 answers the
 * words of its "Enable API Authentication" example, `"Unauthorized"`.
 */
export const odooShape: SeedErrorShape = (status, body) => ({
  status: 'error',
  message: status === 401 ? 'Unauthorized' : body.error.message,
});
export const ODOO_ERRORS = new SeedErrorFilter(odooShape);

/** Seed s3 (Django): documents no error body; the Odoo-style `{ "status": "error", "message" }` its views use. */
export const djangoShape: SeedErrorShape = (_status, body) => ({ status: 'error', message: body.error.message });
export const DJANGO_ERRORS = new SeedErrorFilter(djangoShape);

/**
 * Seeds s1/s4 (Next.js routes): `{ "success": false, "error": "..." }`; a 400 (s4 "Validation Errors: invalid
 * webhook payloads return 400 with error details") adds `details`: the field errors when there are some, else
 * the message.
 */
export const nextjsShape: SeedErrorShape = (status, body) =>
  status === 400
    ? { success: false, error: body.error.message, details: body.error.details ?? body.error.message }
    : { success: false, error: body.error.message };
export const NEXTJS_ERRORS = new SeedErrorFilter(nextjsShape);

/**
 * Seed s2 (Flask gateway over Baileys, "Response Error"): `{ "error": "...", "details": "..." }`; 401 answers
 * its "Authentication" example's words, `"Invalid API key"`, with our reason in `details`.
 */
export const flaskShape: SeedErrorShape = (status, body) =>
  status === 401 ? { error: 'Invalid API key', details: body.error.message } : { error: body.error.message, details: body.error.message };
export const FLASK_ERRORS = new SeedErrorFilter(flaskShape);

const under =
  (...prefixes: string[]) =>
  (path: string): boolean => {
    const p = path.replace(/\/+$/, '');
    return prefixes.some((prefix) => p === prefix || p.startsWith(`${prefix}/`));
  };

/**
 * Which seed's shape answers an error under which path, most specific first: s0 `/api/wa`; s3's own
 * `/api/whatsapp/messages|conversations|mark-read`; s1/s4 `/api/whatsapp/webhook|session`; the rest of
 * `/api/whatsapp` and `/api/webhook` are seed s2's (its base URL is `/api/whatsapp`).
 */
export const SEED_PATH_ERROR_SHAPES: readonly PathErrorShape[] = [
  { matches: under('/api/wa'), render: odooShape },
  { matches: under('/api/whatsapp/messages', '/api/whatsapp/conversations', '/api/whatsapp/mark-read'), render: djangoShape },
  { matches: under('/api/whatsapp/webhook', '/api/whatsapp/session'), render: nextjsShape },
  { matches: under('/api/whatsapp', '/api/webhook'), render: flaskShape },
];
