import { Body, Controller, Get, Headers, HttpCode, HttpStatus, Post, Req, Res, UseFilters } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { IsNumber, IsOptional, IsString, Length } from 'class-validator';
import { createHash } from 'node:crypto';
import type { AuthenticatedKey } from '../auth/api-keys.service';
import { ApiKeyAuth, apiKeyOf } from '../auth/api-key.guard';
import { AppError } from '../common/app-error';
import { isObj } from '../common/guards';
import { requirePhone } from '../common/phone';
import { AppConfig } from '../config/app-config';
import type { InboundEvent, WebhookNormalizer } from '../domain/inbound-event';
import type { Provider } from '../domain/provider';
import { IncomingWebhook } from '../ingest/incoming-webhook';
import { IngestService } from '../ingest/ingest.service';
import { MessagesService } from '../messages/messages.service';
import { BaileysNormalizer } from '../providers/baileys/baileys.normalizer';
import { SendingService } from '../sending/sending.service';
import { SessionsService, type SessionRow } from '../sessions/sessions.service';
import { FLASK_ERRORS } from './seed-error.filter';

/** How long `POST /api/whatsapp/send` waits for the outbox to hand the message to WhatsApp. */
export const FLASK_SEND_WAIT_MS = 15_000;

/** Seed s2's status words ("Status Values"). */
export type FlaskStatus = 'qr_ready' | 'connected' | 'disconnected';

/** Canonical session status → seed s2's word: qr → qr_ready, connected → connected, anything else → disconnected. */
export function flaskStatus(status: string | null | undefined): FlaskStatus {
  if (status === 'qr') return 'qr_ready';
  if (status === 'connected') return 'connected';
  return 'disconnected';
}

/** Seed s2 `POST /api/whatsapp/send` body. */
export class FlaskSendDto {
  /** Recipient: country code + number (any common form is accepted). */
  @ApiProperty({ example: '6281234567890', minLength: 3, maxLength: 64, description: 'Recipient: country code + number (any common form)' })
  @IsString()
  @Length(3, 64)
  to: string;

  @ApiProperty({ example: 'Hello from WhatsApp API!', minLength: 1, maxLength: 4096 })
  @IsString()
  @Length(1, 4096)
  message: string;
}

/** Seed s2's "Response Success" of send; `messageId` is WhatsApp's id of the sent message. */
export class FlaskSendAckDto {
  @ApiProperty({ example: true }) success: boolean;
  @ApiProperty({ example: '3EB0C431C26A1916B1E3', description: "WhatsApp's message id (the provider id, `externalId` in /v1/messages)" })
  messageId: string;
  @ApiProperty({ example: '6281234567890@s.whatsapp.net' }) to: string;
  @ApiProperty({ example: 'Hello from WhatsApp API!' }) message: string;
}

/** Seed s2's "Response Error": `{ error, details }`. */
export class FlaskErrorDto {
  @ApiProperty({ example: 'WhatsApp not connected' }) error: string;
  @ApiPropertyOptional({ example: 'Connection status is disconnected' }) details?: string;
}

/** Seed s2 `GET /api/whatsapp/status`. */
export class FlaskStatusDto {
  @ApiProperty({ enum: ['qr_ready', 'connected', 'disconnected'] }) status: FlaskStatus;
  @ApiProperty() connected: boolean;
  @ApiProperty({ nullable: true, type: String, description: 'The live QR text while one is waiting to be scanned' }) qr: string | null;
}

/** Seed s2 `GET /api/whatsapp/qr`. */
export class FlaskQrDto {
  @ApiProperty({ example: '2@6ZenNHdEfCOXDU+iblDP4Xl4tmZ3X3qvW/SpVJY2vi+ROVHGVmQaaZwburnsY/1Lt8kJ2gkIFLeQWJlzOxCel1y2eAjAUMbXcTo=,...' })
  qr: string;
}

/** Seed s2 `POST /api/whatsapp/logout`. */
export class FlaskLogoutDto {
  @ApiProperty({ example: true }) success: boolean;
  @ApiProperty({ example: 'Logged out successfully' }) message: string;
}

/** Seed s2 `POST /api/webhook` body. */
export class FlaskWebhookDto {
  /** Sender: country code + number. */
  @ApiProperty({ example: '6281234567890', minLength: 3, maxLength: 64, description: 'Sender: country code + number' })
  @IsString()
  @Length(3, 64)
  from: string;

  @ApiProperty({ example: 'Hi, is my order ready?', minLength: 1, maxLength: 65536 })
  @IsString()
  @Length(1, 65536)
  message: string;

  /** Seconds since epoch (default: when wa-hub received it). */
  @ApiPropertyOptional({ type: 'number', example: 1764590400, description: 'Seconds since epoch (default: when wa-hub received it)' })
  @IsOptional()
  @IsNumber()
  timestamp?: number;
}

/** Seed s2 `POST /api/webhook` answer. */
export class FlaskWebhookAckDto {
  @ApiProperty({ example: 'success' }) status: string;
  @ApiProperty({ example: 'Webhook received' }) message: string;
}

/** `POST /api/whatsapp/receive` answer (the seed documents none). */
export class FlaskReceiveAckDto {
  @ApiProperty({ example: 'success' }) status: string;
  @ApiProperty({ example: 'Messages received' }) message: string;
  @ApiProperty({ type: 'integer', example: 1, description: 'Message rows the body is stored as (new or already there)' }) stored: number;
}

/**
 * Seed s2 (Flask gateway over a Baileys service) on wa-hub's own Baileys session: its routes and shapes. The
 * seed's single session is `DEFAULT_SESSION_ID` when set, else the only Baileys session. Errors answer the seed's
 * `{ "error", "details" }`. Differences on purpose: every route needs an API key (reads `read`, sends and
 * inbound posts `send`, logout `admin`); send answers once WhatsApp took the message (at most 15 s).
 */
@ApiTags('compat: s2 Flask/Baileys')
@UseFilters(FLASK_ERRORS)
@Controller('api')
export class FlaskBaileysCompatController {
  constructor(
    private readonly sending: SendingService,
    private readonly sessions: SessionsService,
    private readonly messages: MessagesService,
    private readonly ingest: IngestService,
    private readonly baileys: BaileysNormalizer,
    private readonly config: AppConfig,
  ) {}

  @Get('whatsapp/status')
  @ApiKeyAuth('read')
  @ApiOperation({ summary: "The seed session's connection status (seed s2 shape); no Baileys session → disconnected" })
  @ApiOkResponse({ type: FlaskStatusDto })
  async status(@Req() req: Request): Promise<FlaskStatusDto> {
    const session = await this.seedSession(apiKeyOf(req));
    const status = flaskStatus(session?.status);
    return { status, connected: status === 'connected', qr: status === 'qr_ready' ? (session?.qr ?? null) : null };
  }

  @Get('whatsapp/qr')
  @ApiKeyAuth('read')
  @ApiOperation({ summary: 'The live QR text; 404 `{ "error": "QR code not available" }` when there is none' })
  @ApiOkResponse({ type: FlaskQrDto })
  async qr(@Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<FlaskQrDto | FlaskErrorDto> {
    const session = await this.seedSession(apiKeyOf(req));
    if (!session?.qr || session.status !== 'qr') {
      res.status(HttpStatus.NOT_FOUND);
      return { error: 'QR code not available' }; // the seed's exact body, without `details`
    }
    return { qr: session.qr };
  }

  @Post('whatsapp/logout')
  @HttpCode(200)
  @ApiKeyAuth('admin')
  @ApiOperation({ summary: "Unlinks the seed session's device at WhatsApp and wipes its login (admin key)" })
  @ApiOkResponse({ type: FlaskLogoutDto })
  async logout(@Req() req: Request): Promise<FlaskLogoutDto> {
    const key = apiKeyOf(req);
    const session = await this.requireSession(key);
    await this.sessions.control(session.id, 'logout', key);
    return { success: true, message: 'Logged out successfully' };
  }

  @Post('whatsapp/send')
  @HttpCode(200)
  @ApiKeyAuth('send')
  @ApiOperation({
    summary:
      'Sends a text (seed s2 shape) through the outbox and answers once WhatsApp took it, with its WhatsApp id; ' +
      'a session that is not connected → 503 `{ "error": "WhatsApp not connected", "details": "Connection status is <status>" }`',
  })
  @ApiOkResponse({ type: FlaskSendAckDto })
  async send(
    @Body() body: FlaskSendDto,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<FlaskSendAckDto | FlaskErrorDto> {
    const key = apiKeyOf(req);
    // The seed session when there is one (else SendingService picks the only connected session of any provider).
    const session = await this.seedSession(key);
    if (session && session.status !== 'connected') {
      res.status(HttpStatus.SERVICE_UNAVAILABLE);
      return { error: 'WhatsApp not connected', details: `Connection status is ${flaskStatus(session.status)}` };
    }
    const { message } = await this.sending.send(
      { sessionId: session?.id, to: body.to, type: 'text', text: { body: body.message } },
      key,
      idempotencyKey,
    );
    const to = message.chatId.includes('@') ? message.chatId : `${message.chatId}@s.whatsapp.net`;
    const deadline = Date.now() + FLASK_SEND_WAIT_MS;
    for (let delay = 25; ; delay = Math.min(delay * 2, 250)) {
      const m = await this.messages.get(message.id, key);
      if (m.externalId) return { success: true, messageId: m.externalId, to, message: body.message };
      if (m.status === 'failed') {
        res.status(HttpStatus.BAD_GATEWAY);
        const why = [m.error?.title, m.error?.detail].filter(Boolean).join(': ');
        return { error: 'Failed to send message', details: why || `WhatsApp refused message ${m.id}` };
      }
      if (Date.now() + delay > deadline) break;
      await new Promise((r) => setTimeout(r, delay));
    }
    res.status(HttpStatus.GATEWAY_TIMEOUT);
    return {
      error: 'Message not sent yet',
      details: `Queued as wa-hub message ${message.id} but not sent within ${FLASK_SEND_WAIT_MS / 1000} s; it is still being sent: GET /v1/messages/${message.id} shows its progress (do not resend it)`,
    };
  }

  @Post('webhook')
  @HttpCode(200)
  @ApiKeyAuth('send')
  @ApiOperation({
    summary: 'Stores `{ from, message, timestamp }` as an inbound text of the seed session (a retry of the same body is stored once)',
  })
  @ApiOkResponse({ type: FlaskWebhookAckDto })
  async webhook(@Body() body: FlaskWebhookDto, @Req() req: Request): Promise<FlaskWebhookAckDto> {
    const session = await this.requireSession(apiKeyOf(req));
    const phone = requirePhone(body.from, 'from', this.config.DEFAULT_PHONE_REGION);
    const webhook = IncomingWebhook.fromRequest(req);
    const externalId = `s2-webhook-${createHash('sha256').update(webhook.rawBody).digest('hex')}`;
    const ref = { provider: session.provider as Provider, externalId: session.external_id };
    const normalizer: WebhookNormalizer = {
      normalize: (_raw, receivedAt): InboundEvent[] => [
        {
          kind: 'message',
          session: ref,
          message: {
            externalId,
            direction: 'in',
            type: 'text',
            chatId: phone,
            isGroup: false,
            contact: { phone },
            sender: phone,
            text: body.message,
            timestamp: body.timestamp !== undefined ? new Date(body.timestamp * 1000) : receivedAt,
            raw: webhook.body,
          },
        },
      ],
    };
    await this.ingest.ingest(ref.provider, normalizer, webhook);
    return { status: 'success', message: 'Webhook received' };
  }

  @Post('whatsapp/receive')
  @HttpCode(200)
  @ApiKeyAuth('send')
  @ApiOperation({
    summary:
      'Stores a Baileys `messages.upsert` payload `{ messages, type, sessionId? }` from an external Baileys service ' +
      '(session default: the seed session); auto-replies answer its texts. A body not understood → 400 (kept raw)',
  })
  @ApiOkResponse({ type: FlaskReceiveAckDto })
  async receive(@Req() req: Request): Promise<FlaskReceiveAckDto | FlaskErrorDto> {
    const webhook = IncomingWebhook.fromRequest(req);
    const given = isObj(webhook.body) && typeof webhook.body.sessionId === 'string' && webhook.body.sessionId.length > 0;
    const sessionId = given ? undefined : (await this.requireSession(apiKeyOf(req))).external_id;
    const normalizer: WebhookNormalizer = {
      normalize: (raw, receivedAt) => this.baileys.normalize(sessionId && isObj(raw) ? { ...raw, sessionId } : raw, receivedAt),
    };
    // The answer counts the stored rows: wait (bounded) for this webhook's events to be applied.
    const result = await this.ingest.ingest('baileys', normalizer, webhook, { waitApplied: true });
    if (result.state === 'failed') {
      throw AppError.badRequest(`Messages not understood: ${result.error ?? 'unknown shape'}`);
    }
    return { status: 'success', message: 'Messages received', stored: result.messageIds.length };
  }

  /**
   * The seed's single session: DEFAULT_SESSION_ID when set, else the only Baileys session the key may see; null
   * when there is no Baileys session.
   * @throws AppError 404 when DEFAULT_SESSION_ID names no visible session, 422 when several Baileys sessions exist.
   */
  private async seedSession(key: AuthenticatedKey | undefined): Promise<SessionRow | null> {
    if (this.config.DEFAULT_SESSION_ID) return this.sessions.findRow(this.config.DEFAULT_SESSION_ID, key);
    const rows = await this.sessions.listRows({ provider: 'baileys' }, key);
    if (rows.length <= 1) return rows[0] ?? null;
    throw new AppError(
      HttpStatus.UNPROCESSABLE_ENTITY,
      'SESSION_REQUIRED',
      `${rows.length >= 1000 ? 'At least 1000' : rows.length} Baileys sessions exist; set DEFAULT_SESSION_ID to the one these routes use`,
    );
  }

  /** {@link seedSession}, required. @throws AppError 404 when there is none. */
  private async requireSession(key: AuthenticatedKey | undefined): Promise<SessionRow> {
    const session = await this.seedSession(key);
    if (!session)
      throw new AppError(
        HttpStatus.NOT_FOUND,
        'NOT_FOUND',
        'No WhatsApp session: create one with POST /v1/sessions {"provider":"baileys"}',
      );
    return session;
  }
}
