import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import type { ErrorCode } from './app-error';
import { ErrorResponseDto } from './error-response.dto';

/** One error a route can answer: its code, a real message, and the `details` it carries (if any). */
export interface ErrorExample {
  code: ErrorCode;
  message: string;
  details?: unknown;
  /** Title of the example in the document (defaults to the code). */
  summary?: string;
}

/** The request id the examples show (a UUID, as `X-Request-Id` carries). */
export const EXAMPLE_REQUEST_ID = '5b0b3f0e-0a7c-4c43-9d3c-3c6f3f1f8d2a';

/**
 * What each status answers when nothing more specific is documented: the codes of http-exception.filter.ts and
 * the messages the guards, the validation pipe and the body parsers really produce.
 */
export const STANDARD_ERRORS: Readonly<Record<number, { description: string; examples: ErrorExample[] }>> = {
  400: {
    description: 'A parameter or body field is invalid (`VALIDATION_FAILED`, `details` names each field), or the body is not JSON',
    examples: [
      {
        code: 'VALIDATION_FAILED',
        message: 'limit must not be greater than 1000',
        details: [{ field: 'limit', errors: ['limit must not be greater than 1000'] }],
      },
      { code: 'MALFORMED_JSON', message: 'Request body is not valid JSON' },
    ],
  },
  401: {
    description: 'No API key, or one that is unknown, revoked or expired',
    examples: [
      { code: 'UNAUTHORIZED', message: 'API key required: send it as X-API-Key or Authorization: Bearer', summary: 'No key' },
      { code: 'UNAUTHORIZED', message: 'API key is unknown, revoked or expired', summary: 'Unknown key' },
    ],
  },
  403: {
    description: 'The API key lacks the scope the route requires',
    examples: [{ code: 'FORBIDDEN', message: 'API key lacks the "admin" scope' }],
  },
  404: { description: 'Not found, or not visible to this API key', examples: [{ code: 'NOT_FOUND', message: 'Message not found' }] },
  409: {
    description: 'Conflicts with the current state',
    examples: [{ code: 'CONFLICT', message: 'The media is stored: nothing to retry' }],
  },
  413: {
    description: 'The body is larger than the limit (`BODY_LIMIT_BYTES`)',
    examples: [{ code: 'PAYLOAD_TOO_LARGE', message: 'request entity too large' }],
  },
  415: {
    description: 'The body has a content type this route does not read',
    examples: [{ code: 'UNSUPPORTED_MEDIA_TYPE', message: 'Unsupported content type' }],
  },
  416: {
    description: 'The `Range` is outside the file (`Content-Range: bytes */<size>`)',
    examples: [{ code: 'VALIDATION_FAILED', message: 'Range not satisfiable: the file has 54005 bytes' }],
  },
  422: {
    description: 'Valid, but the provider or session cannot do it',
    examples: [{ code: 'CAPABILITY_NOT_SUPPORTED', message: 'wablas sessions cannot send location messages' }],
  },
  429: {
    description:
      'Rate limited (per API key, `RATE_LIMIT_*_PER_MINUTE`; or too many failed authentications from this address); see `Retry-After`',
    examples: [
      { code: 'RATE_LIMITED', message: 'Rate limit of 600 requests per minute exceeded; retry in 12 s', summary: 'Rate limit' },
      {
        code: 'RATE_LIMITED',
        message: 'Too many failed authentications from this address; retry in 30 s',
        summary: 'Failed authentications',
      },
    ],
  },
};

/** The `examples` map of a response content, one entry per example, each a full error body. */
export function errorExamples(examples: readonly ErrorExample[]): Record<string, { summary: string; value: unknown }> {
  const out: Record<string, { summary: string; value: unknown }> = {};
  for (const e of examples) {
    let key: string = e.code;
    for (let i = 2; out[key]; i++) key = `${e.code}_${i}`;
    const error = e.details === undefined ? { code: e.code, message: e.message } : { code: e.code, message: e.message, details: e.details };
    out[key] = { summary: e.summary ?? e.code, value: { error, requestId: EXAMPLE_REQUEST_ID } };
  }
  return out;
}

/** One documented error status: the status alone (its standard description and example), or with its own. */
export type ApiErrorSpec = number | { status: number; description?: string; examples?: ErrorExample[] };

/**
 * Documents the errors a route answers, each status with its own example(s) in our error shape
 * ({@link ErrorResponseDto}): `@ApiErrors(404, { status: 409, description: '…', examples: [{ code: 'CONFLICT', message: '…' }] })`.
 * A bare status uses {@link STANDARD_ERRORS}. 400 (validation), 413 (body size) and 401/403/429 (API key routes)
 * are added to every route where they apply when the document is built (openapi-contract.ts, ApiKeyAuth).
 */
export function ApiErrors(...specs: ApiErrorSpec[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...specs.map((spec) => {
      const { status, description, examples } = typeof spec === 'number' ? { status: spec } : spec;
      const standard = STANDARD_ERRORS[status];
      return ApiResponse({
        status,
        description: description ?? standard?.description ?? `Error ${status}`,
        type: ErrorResponseDto,
        examples: errorExamples(examples ?? standard?.examples ?? []),
      });
    }),
  );
}
