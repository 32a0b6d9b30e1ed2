import { Controller, Get, HttpCode, Param, Post, Query, Req, Res, UseFilters } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import * as QRCode from 'qrcode';
import { ApiKeyAuth, apiKeyOf, Public } from '../auth/api-key.guard';
import { FailedAuthLimiter } from '../auth/failed-auth-limiter';
import { isObj, str } from '../common/guards';
import { AppConfig } from '../config/app-config';
import { SessionsService, toSessionDto } from '../sessions/sessions.service';
import { IngestService } from '../ingest/ingest.service';
import { MetaSignatureGuard } from '../providers/meta/meta-signature.guard';
import { verifyMetaSubscription } from '../providers/meta/meta-webhook.controller';
import { MetaNormalizer } from '../providers/meta/meta.normalizer';
import { WwebjsAuthGuard } from '../providers/wwebjs/wwebjs-auth.guard';
import { ingestWwebjs } from '../providers/wwebjs/wwebjs-webhook.controller';
import { WwebjsNormalizer } from '../providers/wwebjs/wwebjs.normalizer';
import { SeedSessionDto, SeedSessionListDto, SeedSessionStatusDto, SeedWebhookAckDto } from './nextjs-sessions.dto';
import { NEXTJS_ERRORS } from './seed-error.filter';
import { IncomingWebhook } from '../ingest/incoming-webhook';
import type { IngestResult } from '../ingest/ingest.types';
import { AppError } from '../common/app-error';

type RawRequest = Request & { rawBody?: Buffer };
// Seed s4's status names (its state machine) for wa-hub's canonical ones (src/domain/session-status.ts); the
// others (connecting, loading, authenticated, auth_failure, error, unknown) have the same name in both.
const TO_SEED_STATUS: Record<string, string> = {
  qr: 'qr_generated',
  connected: 'session_connected',
  disconnected: 'session_not_connected',
  logged_out: 'session_not_connected',
};
// Its list filter takes its own names and the short ones its example uses (`?status=connected`).
const FROM_SEED_STATUS: Record<string, string[]> = {
  qr_generated: ['qr'],
  session_connected: ['connected'],
  session_not_connected: ['disconnected', 'logged_out'],
  disconnected: ['disconnected', 'logged_out'],
};
const seedStatusFilter = (status: string): string[] => FROM_SEED_STATUS[status] ?? [status];

/**
 * Seeds s1 and s4 (Next.js WhatsApp session webhooks) and seed s3's Meta URL, which is the same
 * `/api/whatsapp/webhook/`: a GET with `hub.*` parameters or a POST of a `whatsapp_business_account` object goes
 * to the Meta handler under Meta's signature rules; anything else is a wwebjs event.
 */
@ApiTags('compat: s1/s3/s4 Next.js + Django')
@UseFilters(NEXTJS_ERRORS)
@Controller('api/whatsapp')
export class NextjsSessionsCompatController {
  constructor(
    private readonly config: AppConfig,
    private readonly ingest: IngestService,
    private readonly wwebjs: WwebjsNormalizer,
    private readonly meta: MetaNormalizer,
    private readonly wwebjsAuth: WwebjsAuthGuard,
    private readonly metaAuth: MetaSignatureGuard,
    private readonly sessions: SessionsService,
    private readonly failures: FailedAuthLimiter,
  ) {}

  @Get('webhook')
  @Public()
  @ApiOperation({ summary: 'Availability (s1), or Meta verification when hub.* parameters are present (s3)' })
  available(@Query() query: Record<string, unknown>, @Req() req: Request, @Res() res: Response): void {
    if (query['hub.mode'] !== undefined) return this.failures.guard(req, () => verifyMetaSubscription(this.config, query, res));
    res.status(200).json({ success: true, message: 'Webhook endpoint is active' });
  }

  @Post('webhook')
  @Public()
  @HttpCode(200)
  @ApiOperation({ summary: 'Universal webhook: wwebjs events (s1) or Meta notifications (s3)' })
  @ApiOkResponse({ type: SeedWebhookAckDto })
  async universal(@Req() req: RawRequest): Promise<SeedWebhookAckDto> {
    if (isObj(req.body) && req.body.object === 'whatsapp_business_account') {
      this.metaAuth.verify(req);
      await this.ingest.ingest('meta', this.meta, IncomingWebhook.fromRequest(req));
      return { success: true, message: 'Webhook processed successfully', event: 'whatsapp_business_account', sessionId: null };
    }
    this.wwebjsAuth.verify(req);
    return this.ack(req, await ingestWwebjs(this.ingest, this.wwebjs, req));
  }

  @Get('webhook/:sessionId')
  @Public()
  @ApiOperation({ summary: 'Per-session webhook verification (s4)' })
  availableFor(@Param('sessionId') sessionId: string): { success: true; message: string; sessionId: string } {
    return { success: true, message: 'Webhook endpoint is active', sessionId };
  }

  @Post('webhook/:sessionId')
  @Public()
  @HttpCode(200)
  @ApiOperation({ summary: 'Per-session wwebjs webhook (s4)' })
  @ApiOkResponse({ type: SeedWebhookAckDto })
  async perSession(@Param('sessionId') sessionId: string, @Req() req: RawRequest): Promise<SeedWebhookAckDto> {
    this.wwebjsAuth.verify(req);
    return this.ack(req, await ingestWwebjs(this.ingest, this.wwebjs, req, sessionId), sessionId);
  }

  /** Seed s4's status of one session by its provider session id. */
  @Get('session/status/:sessionId')
  @ApiKeyAuth('read')
  @ApiOperation({ summary: 'Session status with flags and QR image (s4)' })
  @ApiOkResponse({ type: SeedSessionStatusDto })
  async status(@Param('sessionId') sessionId: string, @Req() req: Request): Promise<SeedSessionStatusDto> {
    const row = await this.sessions.findByExternalId(sessionId, apiKeyOf(req));
    const s = toSeedSession(row);
    return { success: true, data: { ...s, qrImage: s.qr ? await QRCode.toDataURL(s.qr) : null } };
  }

  /** Seed s4's realtime list: filters `userId`, `status` (also `connected`/`disconnected`), with a summary. */
  @Get('session/list-realtime')
  @ApiKeyAuth('read')
  @ApiOperation({ summary: 'Session list with flags and summary (s4)' })
  @ApiQuery({
    name: 'userId',
    required: false,
    description: "Sessions owned by this id: their own `userId`, or their provider's default owner (PUT /v1/session-defaults/:provider)",
  })
  @ApiQuery({ name: 'status', required: false })
  @ApiOkResponse({ type: SeedSessionListDto })
  async listRealtime(@Query('userId') userId: unknown, @Query('status') status: unknown, @Req() req: Request): Promise<SeedSessionListDto> {
    const filters = {
      userId: typeof userId === 'string' && userId ? userId : undefined,
      status: typeof status === 'string' && status ? seedStatusFilter(status) : undefined,
    };
    const key = apiKeyOf(req);
    const { connected, disconnected, loading, needsQR, error, total } = await this.sessions.summary(this.sessions.filters(filters, key));
    const rows = await this.sessions.listRows(filters, key);
    const data = rows.map((r) => {
      const s = toSeedSession(r);
      return { ...s, hasQR: s.qr !== null, lastUpdated: s.updatedAt };
    });
    return {
      success: true,
      data,
      summary: { connected, disconnected, loading, needsQR, error, total },
      timestamp: new Date().toISOString(),
    };
  }

  /**
   * The seed's acknowledgement; a payload that is not understood was stored raw (GET /v1/webhook-events) and is
   * answered as seed s4 answers invalid payloads ("Error Handling": 400 with error details).
   * @throws AppError 400 → `{ success: false, error: "Invalid webhook payload", details }`.
   */
  private ack(req: Request, result: IngestResult, pathSessionId?: string): SeedWebhookAckDto {
    if (result.state === 'failed') throw AppError.badRequest('Invalid webhook payload', result.error ?? 'not a wwebjs event');
    const body = isObj(req.body) ? req.body : {};
    return {
      success: true,
      message: 'Webhook processed successfully',
      event: str(body.event) ?? str(body.dataType) ?? null,
      sessionId: pathSessionId ?? str(body.sessionId) ?? null,
    };
  }
}

function toSeedSession(row: Record<string, unknown>): SeedSessionDto {
  const s = toSessionDto(row);
  return {
    sessionId: s.externalId,
    status: TO_SEED_STATUS[s.status] ?? s.status,
    message: s.message,
    qr: s.qr,
    // The seed's model requires a string (`userId String`): a session without an owner answers "".
    userId: s.userId ?? '',
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
    isConnected: s.isConnected,
    needsQR: s.needsQR,
    isLoading: s.isLoading,
    hasError: s.hasError,
  };
}
