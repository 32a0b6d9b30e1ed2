import { Controller, Get, HttpCode, HttpStatus, Post, Query, Req, Res, UseGuards } from '@nestjs/common';
import {
  ApiBody,
  ApiForbiddenResponse,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiQuery,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Public } from '../../auth/api-key.guard';
import { FailedAuthLimiter } from '../../auth/failed-auth-limiter';
import { AppError } from '../../common/app-error';
import { safeEqual } from '../../common/crypto';
import { ErrorResponseDto } from '../../common/error-response.dto';
import { AppConfig } from '../../config/app-config';
import { IncomingWebhook } from '../../ingest/incoming-webhook';
import { IngestService } from '../../ingest/ingest.service';
import { WebhookAckDto } from '../../ingest/webhook-ack.dto';
import { MetaSignatureGuard } from './meta-signature.guard';
import { MetaNormalizer } from './meta.normalizer';
import metaTextExample from './examples/text.json';

/** WhatsApp Cloud API webhooks: the GET verification handshake and signed event POSTs. */
@ApiTags('provider-webhooks')
@Public()
@Controller('webhooks/meta')
export class MetaWebhookController {
  constructor(
    private readonly config: AppConfig,
    private readonly ingest: IngestService,
    private readonly normalizer: MetaNormalizer,
    private readonly failures: FailedAuthLimiter,
  ) {}

  /**
   * Meta's subscription check: answers `hub.challenge` as text/plain when `hub.mode=subscribe` and
   * `hub.verify_token` equals `META_VERIFY_TOKEN`; 403 otherwise.
   * Source: https://developers.facebook.com/docs/graph-api/webhooks/getting-started#verification-requests
   */
  @Get()
  @ApiOperation({ summary: 'Meta webhook verification (hub.challenge echo)' })
  @ApiQuery({ name: 'hub.mode', example: 'subscribe' })
  @ApiQuery({ name: 'hub.verify_token', example: 'meatyhamhock' })
  @ApiQuery({ name: 'hub.challenge', example: '1158201444' })
  @ApiOkResponse({ description: 'The challenge, verbatim', content: { 'text/plain': { example: '1158201444' } } })
  @ApiForbiddenResponse({ description: 'Wrong mode or verify token', type: ErrorResponseDto })
  verify(@Query() query: Record<string, unknown>, @Req() req: Request, @Res() res: Response): void {
    this.failures.guard(req, () => verifyMetaSubscription(this.config, query, res));
  }

  /**
   * Receives a signed notification batch. Every entry × change × message/status/error is stored; the answer is
   * sent once the raw event and its canonical events are committed to the ingest inbox (its rows are written by
   * the applier right after, INGEST_ACK). Unknown shapes are stored as `failed`, still 200.
   */
  @Post()
  @HttpCode(200)
  @UseGuards(MetaSignatureGuard)
  @ApiOperation({ summary: 'Meta webhook notifications (signed with X-Hub-Signature-256)' })
  @ApiHeader({ name: 'X-Hub-Signature-256', required: true, description: 'sha256=<hex HMAC-SHA256 of the raw body with the app secret>' })
  @ApiBody({ schema: { type: 'object' }, examples: { text: { summary: 'Text message (meta.inbound.text)', value: metaTextExample } } })
  @ApiOkResponse({ type: WebhookAckDto })
  @ApiUnauthorizedResponse({ description: 'Missing or invalid signature; nothing stored', type: ErrorResponseDto })
  async receive(@Req() req: Request & { rawBody?: Buffer }): Promise<WebhookAckDto> {
    const result = await this.ingest.ingest('meta', this.normalizer, IncomingWebhook.fromRequest(req));
    return { received: true, webhookEventId: result.webhookEventId, state: result.state };
  }
}

/**
 * Answers Meta's verification GET on `res`. Shared by the canonical route and seed s3's `/api/whatsapp/webhook/`.
 * @throws AppError 403 `FORBIDDEN` when the mode or token is wrong, or no verify token is configured.
 */
export function verifyMetaSubscription(config: AppConfig, query: Record<string, unknown>, res: Response): void {
  const mode = query['hub.mode'];
  const token = query['hub.verify_token'];
  const challenge = query['hub.challenge'];
  if (
    mode === 'subscribe' &&
    typeof token === 'string' &&
    typeof challenge === 'string' &&
    config.META_VERIFY_TOKEN !== undefined &&
    safeEqual(token, config.META_VERIFY_TOKEN)
  ) {
    res.status(200).type('text/plain').send(challenge);
    return;
  }
  throw new AppError(HttpStatus.FORBIDDEN, 'FORBIDDEN', 'Verification failed: wrong hub.mode or hub.verify_token');
}
