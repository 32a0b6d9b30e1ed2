import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Inject, Logger, Optional } from '@nestjs/common';
import type { Request, Response } from 'express';
import { AppError, ErrorBody, ErrorCode } from './app-error';
import { requestIdOf } from './request-id';

const CODE_BY_STATUS: Record<number, ErrorCode> = {
  400: 'VALIDATION_FAILED',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  422: 'CAPABILITY_NOT_SUPPORTED',
  429: 'RATE_LIMITED',
  503: 'SERVICE_UNAVAILABLE',
};

/**
 * Another error shape for the requests under some paths: the compat layer's seed shapes (src/compat registers
 * them under {@link PATH_ERROR_SHAPES}), so that errors raised before any route runs (malformed JSON, a body
 * too large, an unknown sub-path under a seed's prefix) answer in the seed's shape too.
 */
export interface PathErrorShape {
  /** True for the request paths (Express `req.path`, without the query) this shape renders. */
  matches(path: string): boolean;
  /** The response body for our `status` and error (the status code and headers stay ours). */
  render(status: number, body: ErrorBody): unknown;
}

/** DI token of the {@link PathErrorShape}s the global filter consults, first match wins (optional). */
export const PATH_ERROR_SHAPES = Symbol('PATH_ERROR_SHAPES');

/**
 * Renders every error as {@link ErrorBody}, or in the {@link PathErrorShape} registered for the request's path.
 * Unknown errors become 500 `INTERNAL` with the stack logged and nothing of it echoed. Compat controllers also
 * install their seed's filter on their routes.
 */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('HTTP');

  constructor(@Optional() @Inject(PATH_ERROR_SHAPES) private readonly shapes: readonly PathErrorShape[] | null = null) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const req = ctx.getRequest<Request>();
    const res = ctx.getResponse<Response>();
    const { status, body } = toErrorBody(exception, requestIdOf(req));
    if (status >= 500) {
      this.logger.error(`${req.method} ${req.path} → ${status} [${body.requestId}]`, (exception as Error)?.stack);
    }
    if (res.headersSent) return;
    if (exception instanceof AppError && exception.headers) res.set(exception.headers);
    const shape = this.shapes?.find((s) => s.matches(req.path ?? ''));
    res.status(status).json(shape ? shape.render(status, body) : body);
  }
}

/** Maps any thrown value to an HTTP status and our error body. */
export function toErrorBody(exception: unknown, requestId: string): { status: number; body: ErrorBody } {
  if (exception instanceof AppError) {
    return {
      status: exception.status,
      body: { error: { code: exception.code, message: exception.message, details: exception.details }, requestId },
    };
  }
  // body-parser errors (bad JSON, too large, bad charset) carry a `type`; Nest wraps them with them as `cause`.
  const parserError = (exception instanceof HttpException ? exception.cause : exception) as
    { status?: number; type?: string; message?: string } | undefined;
  if (
    typeof parserError?.type === 'string' &&
    typeof parserError.status === 'number' &&
    parserError.status >= 400 &&
    parserError.status < 500
  ) {
    const malformed = parserError.type === 'entity.parse.failed';
    return {
      status: parserError.status,
      body: {
        error: {
          code: malformed ? 'MALFORMED_JSON' : (CODE_BY_STATUS[parserError.status] ?? 'VALIDATION_FAILED'),
          message: malformed ? 'Request body is not valid JSON' : (parserError.message ?? 'Bad request'),
        },
        requestId,
      },
    };
  }
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const response = exception.getResponse();
    const raw = typeof response === 'object' && response !== null ? (response as Record<string, unknown>) : {};
    const messages = Array.isArray(raw.message) ? (raw.message as string[]) : undefined;
    const message = messages ? messages.join('; ') : String(raw.message ?? exception.message);
    const code = CODE_BY_STATUS[status] ?? (status >= 500 ? 'INTERNAL' : 'VALIDATION_FAILED');
    return { status, body: { error: { code, message, details: raw.details ?? (messages ? messages : undefined) }, requestId } };
  }
  // A value PostgreSQL refuses as data (SQLSTATE class 22: bad encoding, out of range, invalid syntax for the
  // type) came from the client: 400, without echoing the database's message.
  const sqlState =
    (exception as { driverError?: { code?: unknown }; code?: unknown })?.driverError?.code ?? (exception as { code?: unknown })?.code;
  if (typeof sqlState === 'string' && /^22[0-9A-Z]{3}$/.test(sqlState)) {
    return {
      status: HttpStatus.BAD_REQUEST,
      body: { error: { code: 'VALIDATION_FAILED', message: 'A value in the request is not valid' }, requestId },
    };
  }
  return { status: HttpStatus.INTERNAL_SERVER_ERROR, body: { error: { code: 'INTERNAL', message: 'Internal server error' }, requestId } };
}
