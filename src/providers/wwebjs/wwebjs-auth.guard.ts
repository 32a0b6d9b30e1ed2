import { Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { AppError } from '../../common/app-error';
import { safeEqual, verifySha256Signature } from '../../common/crypto';
import { FailedAuthLimiter } from '../../auth/failed-auth-limiter';
import { AppConfig } from '../../config/app-config';
import { SHA256_SIGNATURE_RE, WebhookAuthGuard, type Precheck, type WebhookRequest } from '../../ingest/webhook-auth.guard';

/**
 * Authenticates a whatsapp-web.js server's webhook by either credential it can carry:
 * - `X-Webhook-Signature: sha256=<hex HMAC-SHA256(WWEBJS_WEBHOOK_SECRET, raw body)>` (seed s1's universal webhook);
 * - `x-api-key: <WWEBJS_API_KEY>`, the only credential chrishubert/whatsapp-api and avoylenko/wwebjs-api send
 *   (they do not sign; fixture wwebjs.webhook_auth_analysis).
 * Both compared in constant time. A signature that is present must be right; neither → 401, nothing stored.
 */
@Injectable()
export class WwebjsAuthGuard extends WebhookAuthGuard {
  constructor(
    private readonly config: AppConfig,
    failures: FailedAuthLimiter,
  ) {
    super(failures);
  }

  /**
   * `x-api-key` is checked in full before the body is read; a signature header must be well formed and have a
   * secret to be checked against, the HMAC itself needs the body.
   */
  override precheck(req: WebhookRequest): Precheck {
    const signature = header(req, 'x-webhook-signature');
    if (signature === undefined) {
      this.check(req);
      return 'verified';
    }
    if (!this.config.WWEBJS_WEBHOOK_SECRET || !SHA256_SIGNATURE_RE.test(signature.trim()))
      throw AppError.unauthorized('Invalid X-Webhook-Signature');
    return 'needs-body';
  }

  check(req: WebhookRequest): true {
    const signature = header(req, 'x-webhook-signature');
    if (signature !== undefined) {
      const secret = this.config.WWEBJS_WEBHOOK_SECRET;
      if (secret && verifySha256Signature(secret, req.rawBody, signature)) return true;
      throw AppError.unauthorized('Invalid X-Webhook-Signature');
    }
    const apiKey = header(req, 'x-api-key');
    if (apiKey !== undefined && this.config.WWEBJS_API_KEY && safeEqual(apiKey, this.config.WWEBJS_API_KEY)) return true;
    throw AppError.unauthorized("Missing or wrong credentials: send X-Webhook-Signature or the server's x-api-key");
  }
}

function header(req: Request, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === 'string' ? v : undefined;
}
