import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, Min } from 'class-validator';
import { AppError } from './app-error';

/** Query parameters shared by every `/v1` list. */
export class PageQueryDto {
  /** Rows per page (1–1000). */
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 1000, default: 100 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit?: number = 100;

  /** Rows to skip (ignored when `cursor` is given). */
  @ApiPropertyOptional({ type: 'integer', minimum: 0, maximum: 10_000_000, default: 0 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(10_000_000)
  offset?: number = 0;

  /** Opaque cursor from a previous page's `nextCursor`; use it for deep pages instead of `offset`. */
  @IsOptional()
  @IsString()
  cursor?: string;
}

/** Keyset position: the last row's sort timestamp (ISO 8601) and id. */
export interface CursorPosition {
  at: string;
  id: string;
}

/** Encodes a keyset position as an opaque base64url token. */
export function encodeCursor(pos: CursorPosition): string {
  return Buffer.from(JSON.stringify([pos.at, pos.id]), 'utf8').toString('base64url');
}

/**
 * Decodes a token from {@link encodeCursor}.
 * @throws AppError 400 `VALIDATION_FAILED` naming `cursor` when the token is not one of ours.
 */
export function decodeCursor(token: string): CursorPosition {
  try {
    const value: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      typeof value[0] === 'string' &&
      typeof value[1] === 'string' &&
      !Number.isNaN(Date.parse(value[0]))
    ) {
      return { at: value[0], id: value[1] };
    }
  } catch {
    // fall through
  }
  throw AppError.badRequest('cursor is not a valid cursor from a previous page', [{ field: 'cursor', errors: ['invalid cursor'] }]);
}

/** The envelope of every `/v1` list. */
export interface Page<T> {
  data: T[];
  total: number;
  totalExact: boolean;
  limit: number;
  offset: number;
  nextCursor: string | null;
}
