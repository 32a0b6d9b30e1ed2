import { Injectable, PipeTransform } from '@nestjs/common';
import { AppError } from './app-error';

/**
 * Refuses NUL characters anywhere in a handler's body, query or path values (400): PostgreSQL text cannot hold
 * them, so they would otherwise surface as a server error. Runs before validation, on every argument.
 */
@Injectable()
export class NoNulPipe implements PipeTransform {
  transform(value: unknown): unknown {
    if (containsNul(value, 0)) throw AppError.badRequest('NUL characters (\\u0000) are not allowed in input');
    return value;
  }
}

function containsNul(v: unknown, depth: number): boolean {
  if (typeof v === 'string') return v.includes('\u0000');
  if (depth > 64 || v === null || typeof v !== 'object' || Buffer.isBuffer(v)) return false;
  // Only plain data (parsed JSON, query objects), never framework objects such as the request.
  if (!Array.isArray(v) && Object.getPrototypeOf(v) !== Object.prototype && Object.getPrototypeOf(v) !== null) return false;
  return Object.entries(v as Record<string, unknown>).some(([k, x]) => k.includes('\u0000') || containsNul(x, depth + 1));
}
