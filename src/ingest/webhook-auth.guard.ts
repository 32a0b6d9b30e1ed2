import { CanActivate, ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import type { FailedAuthLimiter } from '../auth/failed-auth-limiter';
import { refusalOf } from './webhook-edge';

export type WebhookRequest = Request & { rawBody?: Buffer };

/** Outcome of {@link WebhookAuthGuard.precheck}. */
export type Precheck = 'verified' | 'needs-body';

/** A `sha256=<64 hex>` signature header (Meta's X-Hub-Signature-256, seed s1's X-Webhook-Signature). */
export const SHA256_SIGNATURE_RE = /^sha256=[0-9a-f]{64}$/i;

/**
 * Base of the provider webhook guards: each supplies its credential {@link check}; this runs it behind the per-IP
 * failed-authentication limit, for Nest routes (`canActivate`) and for routes that choose the provider from the
 * body or bypass Express (`verify`).
 */
export abstract class WebhookAuthGuard implements CanActivate {
  protected constructor(private readonly failures: FailedAuthLimiter) {}

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<WebhookRequest>();
    // Refused at the edge before the body was read (already counted as a failed authentication there).
    const refusal = refusalOf(req);
    if (refusal !== undefined) throw refusal;
    return this.verify(req);
  }

  /** {@link check} behind the per-IP failed-authentication limit. @throws AppError 401, or 429 past the limit */
  verify(req: WebhookRequest): true {
    return this.failures.guard(req, () => this.check(req));
  }

  /** The provider's credential check alone. @throws AppError 401 */
  abstract check(req: WebhookRequest): true;

  /**
   * What the headers alone can tell, before the body is read (WebhookEdge calls it): `verified` when they are
   * the whole credential (a URL secret, an API key header), `needs-body` when a signature over the body must
   * still be checked. Requests that cannot pass are refused here, so nothing unauthenticated is buffered.
   * @throws AppError 401 when the headers show the request cannot pass.
   */
  precheck(_req: WebhookRequest): Precheck {
    return 'needs-body';
  }
}
