import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { toErrorBody } from '../common/http-exception.filter';
import { requestIdOf } from '../common/request-id';

/**
 * Renders errors of a compat controller in its seed's own shape, with our HTTP status codes; internal details
 * are never echoed. Use one instance per seed shape, e.g. `@UseFilters(ODOO_ERRORS)`.
 */
@Catch()
export class SeedErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('Compat');

  constructor(private readonly shape: (message: string) => Record<string, unknown>) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const req = host.switchToHttp().getRequest<Request>();
    const res = host.switchToHttp().getResponse<Response>();
    const { status, body } = toErrorBody(exception, requestIdOf(req));
    if (status >= 500) this.logger.error(`${req.method} ${req.path} → ${status}`, (exception as Error)?.stack);
    if (!res.headersSent) res.status(status).json(this.shape(body.error.message));
  }
}

/** Seed s0 (Odoo WhatsApp Headless, "Error Handling"): `{ "status": "error", "message": "..." }`. */
export const ODOO_ERRORS = new SeedErrorFilter((message) => ({ status: 'error', message }));

/** Seeds s1/s4 (Next.js routes): `{ "success": false, "error": "..." }`. */
export const NEXTJS_ERRORS = new SeedErrorFilter((error) => ({ success: false, error }));

/** Seed s2 (Flask gateway over Baileys, "Response Error"): `{ "error": "...", "details": "..." }`. */
export const FLASK_ERRORS = new SeedErrorFilter((error) => ({ error, details: error }));
