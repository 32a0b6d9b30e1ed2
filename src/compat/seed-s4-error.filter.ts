import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { toErrorBody } from '../common/http-exception.filter';
import { requestIdOf } from '../common/request-id';

/** Error shape of seeds s1/s4 (Next.js routes): `{ "success": false, "error": "..." }`, with our status codes. */
@Catch()
export class SeedS4ErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('Compat');

  catch(exception: unknown, host: ArgumentsHost): void {
    const req = host.switchToHttp().getRequest<Request>();
    const res = host.switchToHttp().getResponse<Response>();
    const { status, body } = toErrorBody(exception, requestIdOf(req));
    if (status >= 500) this.logger.error(`${req.method} ${req.path} → ${status}`, (exception as Error)?.stack);
    if (!res.headersSent) res.status(status).json({ success: false, error: body.error.message });
  }
}
