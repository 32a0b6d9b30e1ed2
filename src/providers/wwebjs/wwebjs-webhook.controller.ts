import { Controller, Get, HttpCode, Param, Post, Req, UseGuards } from '@nestjs/common';
import { ApiBody, ApiHeader, ApiOkResponse, ApiOperation, ApiParam, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';
import type { Request } from 'express';
import { Public } from '../../auth/api-key.guard';
import { ErrorResponseDto } from '../../common/error-response.dto';
import { IncomingWebhook } from '../../ingest/incoming-webhook';
import { IngestService } from '../../ingest/ingest.service';
import type { IngestResult } from '../../ingest/ingest.types';
import { WebhookAckDto } from '../../ingest/webhook-ack.dto';
import { WwebjsAuthGuard } from './wwebjs-auth.guard';
import { WwebjsNormalizer } from './wwebjs.normalizer';
import wwebjsQrExample from './examples/qr.json';

/** whatsapp-web.js servers' webhooks: universal (session id in the payload) and per session (in the path). */
@ApiTags('provider-webhooks')
@Public()
@Controller('webhooks/wwebjs')
export class WwebjsWebhookController {
  constructor(
    private readonly ingest: IngestService,
    private readonly normalizer: WwebjsNormalizer,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Availability check for the universal wwebjs webhook' })
  available(): { success: true; message: string } {
    return { success: true, message: 'wa-hub wwebjs webhook is available' };
  }

  @Get(':sessionId')
  @ApiOperation({ summary: 'Availability check for a per-session wwebjs webhook (seed s4 verification)' })
  availableFor(@Param('sessionId') sessionId: string): { success: true; message: string; sessionId: string } {
    return { success: true, message: 'wa-hub wwebjs webhook is available', sessionId };
  }

  /** Stores any wwebjs event; the session id comes from the payload's `sessionId`. */
  @Post()
  @HttpCode(200)
  @UseGuards(WwebjsAuthGuard)
  @ApiOperation({ summary: 'wwebjs webhook, universal (native {dataType,data,sessionId} or seed {sessionId,event,data})' })
  @ApiHeader({
    name: 'X-Webhook-Signature',
    required: false,
    description: 'sha256=<hex HMAC-SHA256 of the raw body with WWEBJS_WEBHOOK_SECRET>',
  })
  @ApiHeader({ name: 'x-api-key', required: false, description: 'WWEBJS_API_KEY (native servers do not sign)' })
  @ApiBody({ schema: { type: 'object' }, examples: { qr: { summary: 'QR event (wwebjs.inbound.qr)', value: wwebjsQrExample } } })
  @ApiOkResponse({ type: WebhookAckDto })
  @ApiUnauthorizedResponse({ type: ErrorResponseDto })
  async receive(@Req() req: Request & { rawBody?: Buffer }): Promise<WebhookAckDto> {
    return ack(await ingestWwebjs(this.ingest, this.normalizer, req));
  }

  /** Stores any wwebjs event for the session named in the path. */
  @Post(':sessionId')
  @HttpCode(200)
  @UseGuards(WwebjsAuthGuard)
  @ApiOperation({ summary: 'wwebjs webhook for one session (session id from the path)' })
  @ApiParam({ name: 'sessionId', example: 'f8377d8d-a589-4242-9ba6-9486a04ef80c' })
  @ApiBody({ schema: { type: 'object' }, examples: { qr: { summary: 'QR event (wwebjs.inbound.qr)', value: wwebjsQrExample } } })
  @ApiOkResponse({ type: WebhookAckDto })
  @ApiUnauthorizedResponse({ type: ErrorResponseDto })
  async receiveFor(@Param('sessionId') sessionId: string, @Req() req: Request & { rawBody?: Buffer }): Promise<WebhookAckDto> {
    return ack(await ingestWwebjs(this.ingest, this.normalizer, req, sessionId));
  }
}

const ack = (r: IngestResult): WebhookAckDto => ({ received: true, webhookEventId: r.webhookEventId, state: r.state });

/** Shared with the seed s1/s4 compat routes. */
export function ingestWwebjs(
  ingest: IngestService,
  normalizer: WwebjsNormalizer,
  req: Request & { rawBody?: Buffer },
  pathSessionId?: string,
): Promise<IngestResult> {
  return ingest.ingest(
    'wwebjs',
    { normalize: (body, at) => normalizer.normalizeFor(body, at, pathSessionId) },
    IncomingWebhook.fromRequest(req),
  );
}
