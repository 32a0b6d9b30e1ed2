import { Injectable, Logger } from '@nestjs/common';
import { AppError } from '../../common/app-error';
import { safeEqual } from '../../common/crypto';
import { FailedAuthLimiter } from '../../auth/failed-auth-limiter';
import { AppConfig } from '../../config/app-config';
import { WebhookAuthGuard, type Precheck, type WebhookRequest } from '../../ingest/webhook-auth.guard';

/**
 * Wablas does not sign its webhooks, so the URL configured in the Wablas dashboard carries our shared secret:
 * `?secret=<WABLAS_WEBHOOK_SECRET>` (or an `X-Webhook-Secret` header from a proxy). Compared in constant time;
 * missing or wrong → 401 and nothing is stored. Without `WABLAS_WEBHOOK_SECRET` every POST is refused.
 * Source: fixture MANIFEST, "common wablas rules".
 */
@Injectable()
export class WablasSecretGuard extends WebhookAuthGuard {
  private readonly logger = new Logger(WablasSecretGuard.name);

  constructor(
    private readonly config: AppConfig,
    failures: FailedAuthLimiter,
  ) {
    super(failures);
  }

  /** The URL secret (or header) is the whole credential: checked in full before the body is read. */
  override precheck(req: WebhookRequest): Precheck {
    this.check(req);
    return 'verified';
  }

  check(req: WebhookRequest): true {
    const expected = this.config.WABLAS_WEBHOOK_SECRET;
    if (!expected) {
      this.logger.warn('Wablas webhook refused: WABLAS_WEBHOOK_SECRET is not configured');
      throw AppError.unauthorized('Wablas webhooks are not configured on this server (WABLAS_WEBHOOK_SECRET)');
    }
    const fromQuery = req.query?.secret;
    const fromHeader = req.headers['x-webhook-secret'];
    const given = typeof fromQuery === 'string' ? fromQuery : typeof fromHeader === 'string' ? fromHeader : undefined;
    if (given === undefined || !safeEqual(given, expected)) throw AppError.unauthorized('Missing or wrong webhook secret');
    return true;
  }
}
