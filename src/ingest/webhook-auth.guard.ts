import { CanActivate, ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import type { FailedAuthLimiter } from '../auth/failed-auth-limiter';

export type WebhookRequest = Request & { rawBody?: Buffer };

/**
 * Base of the provider webhook guards: each supplies its credential {@link check}; this runs it behind the per-IP
 * failed-authentication limit, for Nest routes (`canActivate`) and for routes that choose the provider from the
 * body or bypass Express (`verify`).
 */
export abstract class WebhookAuthGuard implements CanActivate {
  protected constructor(private readonly failures: FailedAuthLimiter) {}

  canActivate(context: ExecutionContext): boolean {
    return this.verify(context.switchToHttp().getRequest<WebhookRequest>());
  }

  /** {@link check} behind the per-IP failed-authentication limit. @throws AppError 401, or 429 past the limit */
  verify(req: WebhookRequest): true {
    return this.failures.guard(req, () => this.check(req));
  }

  /** The provider's credential check alone. @throws AppError 401 */
  protected abstract check(req: WebhookRequest): true;
}
