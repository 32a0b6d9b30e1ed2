import { HttpStatus } from '@nestjs/common';

/** Stable machine-readable error codes; clients switch on these, never on messages. */
export type ErrorCode =
  | 'VALIDATION_FAILED'
  | 'MALFORMED_JSON'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'CAPABILITY_NOT_SUPPORTED'
  | 'SESSION_REQUIRED'
  | 'RATE_LIMITED'
  | 'SERVICE_UNAVAILABLE'
  | 'INTERNAL';

/** An error we raise on purpose; the global filter renders it as `{ error: { code, message, details }, requestId }`. */
export class AppError extends Error {
  constructor(
    readonly status: HttpStatus,
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    /** Response headers to send with the error (e.g. Retry-After). */
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }

  static notFound(what: string): AppError {
    return new AppError(HttpStatus.NOT_FOUND, 'NOT_FOUND', `${what} not found`);
  }

  static unauthorized(message: string): AppError {
    return new AppError(HttpStatus.UNAUTHORIZED, 'UNAUTHORIZED', message);
  }

  static badRequest(message: string, details?: unknown): AppError {
    return new AppError(HttpStatus.BAD_REQUEST, 'VALIDATION_FAILED', message, details);
  }
}

/** The one error body shape every `/v1` and webhook route answers with. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: unknown };
  requestId: string;
}
