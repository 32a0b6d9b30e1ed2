import { ExecutionContext, Injectable } from '@nestjs/common';
import { ThrottlerGuard, ThrottlerLimitDetail } from '@nestjs/throttler';
import { AppError } from '../common/app-error';
import { isPublicRoute } from './api-key.guard';

/**
 * Rate limit of the API (@nestjs/throttler): per API key, per IP for requests without one; limits per scope from
 * RATE_LIMIT_*_PER_MINUTE. Public routes are not throttled here: provider webhooks are limited only when their
 * verification fails (FailedAuthLimiter), since Meta alone may deliver 1,000 verified webhooks a second.
 * Over the limit → 429 `RATE_LIMITED` with `Retry-After`.
 */
@Injectable()
export class ApiThrottlerGuard extends ThrottlerGuard {
  protected override async shouldSkip(context: ExecutionContext): Promise<boolean> {
    return isPublicRoute(this.reflector, context);
  }

  protected override async getTracker(req: Record<string, any>): Promise<string> {
    return req.apiKey?.id ? `key:${req.apiKey.id}` : `ip:${req.ip}`;
  }

  /** One count per API key (or IP) over every route, not one per route: the limit is the caller's. */
  protected override generateKey(_context: ExecutionContext, suffix: string, name: string): string {
    return `${name}:${suffix}`;
  }

  protected override async throwThrottlingException(_context: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    const retryAfter = Math.max(1, Math.ceil(detail.timeToBlockExpire));
    throw new AppError(
      429,
      'RATE_LIMITED',
      `Rate limit of ${detail.limit} requests per minute exceeded; retry in ${retryAfter} s`,
      undefined,
      { 'Retry-After': String(retryAfter) },
    );
  }
}
