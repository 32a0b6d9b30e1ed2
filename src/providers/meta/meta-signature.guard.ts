import { Injectable, Logger } from '@nestjs/common';
import { AppError } from '../../common/app-error';
import { verifySha256Signature } from '../../common/crypto';
import { FailedAuthLimiter } from '../../auth/failed-auth-limiter';
import { AppConfig } from '../../config/app-config';
import { SHA256_SIGNATURE_RE, WebhookAuthGuard, type Precheck, type WebhookRequest } from '../../ingest/webhook-auth.guard';

/**
 * Checks `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, raw body)>` over the exact bytes Meta sent
 * (Meta escapes `/`, `@` and non-ASCII in its JSON, so re-serialising the parsed body would not match), in
 * constant time. Missing or wrong → 401 and nothing is stored. Without `META_APP_SECRET` every POST is refused.
 * Source: https://developers.facebook.com/docs/graph-api/webhooks/getting-started#validate-payloads
 */
@Injectable()
export class MetaSignatureGuard extends WebhookAuthGuard {
  private readonly logger = new Logger(MetaSignatureGuard.name);

  constructor(
    private readonly config: AppConfig,
    failures: FailedAuthLimiter,
  ) {
    super(failures);
  }

  /** Without an app secret or a well-formed signature header nothing can pass: refused before the body. */
  override precheck(req: WebhookRequest): Precheck {
    const header = req.headers['x-hub-signature-256'];
    if (!this.config.META_APP_SECRET) this.check(req); // throws: no secret configured
    if (typeof header !== 'string' || !SHA256_SIGNATURE_RE.test(header.trim()))
      throw AppError.unauthorized('Missing or invalid X-Hub-Signature-256');
    return 'needs-body';
  }

  check(req: WebhookRequest): true {
    const secret = this.config.META_APP_SECRET;
    if (!secret) {
      this.logger.warn('Meta webhook refused: META_APP_SECRET is not configured');
      throw AppError.unauthorized('Meta webhooks are not configured on this server (META_APP_SECRET)');
    }
    const header = req.headers['x-hub-signature-256'];
    if (!verifySha256Signature(secret, req.rawBody, typeof header === 'string' ? header : undefined)) {
      throw AppError.unauthorized('Missing or invalid X-Hub-Signature-256');
    }
    return true;
  }
}
