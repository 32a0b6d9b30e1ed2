import { ApiProperty } from '@nestjs/swagger';

export class ErrorDetailDto {
  /** Machine-readable code. */
  @ApiProperty({ example: 'VALIDATION_FAILED' })
  code: string;

  /** Human-readable explanation. */
  @ApiProperty({ example: 'limit must not be greater than 1000' })
  message: string;

  /**
   * Per-field problems for validation errors (`[{ field, errors }]`); other errors may carry an object (e.g. a
   * media 409: `{ state, code, error }`).
   */
  @ApiProperty({
    required: false,
    oneOf: [
      {
        type: 'array',
        items: {
          type: 'object',
          properties: { field: { type: 'string', example: 'limit' }, errors: { type: 'array', items: { type: 'string' } } },
          required: ['field', 'errors'],
        },
      },
      { type: 'array', items: { type: 'string' } },
      { type: 'object', additionalProperties: true },
    ],
    example: [{ field: 'limit', errors: ['limit must not be greater than 1000'] }],
  })
  details?: { field: string; errors: string[] }[] | string[] | Record<string, unknown>;
}

/** Body of every error answered by `/v1` and webhook routes. */
export class ErrorResponseDto {
  @ApiProperty({ type: ErrorDetailDto })
  error: ErrorDetailDto;

  /** Same value as the `X-Request-Id` response header. */
  @ApiProperty({ example: '5b0b3f0e-0a7c-4c43-9d3c-3c6f3f1f8d2a' })
  requestId: string;
}
