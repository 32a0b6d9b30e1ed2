import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query, Req, UseFilters, UseGuards } from '@nestjs/common';
import { ApiBody, ApiExcludeEndpoint, ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import type { CountryCode } from 'libphonenumber-js';
import { ApiKeyAuth, apiKeyOf, Public } from '../auth/api-key.guard';
import { AppError } from '../common/app-error';
import { normalizePhone } from '../common/phone';
import { AppConfig } from '../config/app-config';
import { MessagesService } from '../messages/messages.service';
import { StatsService } from '../stats/stats.service';
import { WablasSecretGuard } from '../providers/wablas/wablas-secret.guard';
import { WablasIngest } from '../providers/wablas/wablas-ingest.service';
import {
  OdooConversationDto,
  OdooHistoryDto,
  OdooMessageDto,
  OdooSendAckDto,
  OdooSendMessageDto,
  OdooWebhookAckDto,
} from './odoo-wablas.dto';
import { OdooHistoryRepository, type OdooHistoryRow } from './odoo-wablas.repository';
import { SendingService } from '../sending/sending.service';
import { ODOO_ERRORS } from './seed-error.filter';

/**
 * Seed s0 (Odoo WhatsApp Headless on Wablas): its routes, response shapes and error words ("Error Handling":
 * `{ "status": "error", "message": "Missing required parameter: phone" }`, `"Phone number format invalid"`),
 * served from our store. Differences on purpose: reads need an API key (read scope), sends a send key, and the
 * webhook the Wablas secret.
 */
@ApiTags('compat: s0 Odoo/Wablas')
@UseFilters(ODOO_ERRORS)
@Controller('api/wa')
export class OdooWablasCompatController {
  constructor(
    private readonly messages: MessagesService,
    private readonly historyRows: OdooHistoryRepository,
    private readonly wablas: WablasIngest,
    private readonly statsService: StatsService,
    private readonly sending: SendingService,
    private readonly config: AppConfig,
  ) {}

  /**
   * Seed s0's "Send Message", now really sending: a text through the default session (DEFAULT_SESSION_ID or the
   * only connected one), queued like POST /v1/messages (send key; `Idempotency-Key` honoured). Fields are checked
   * here, in the seed's words, and unknown fields are ignored as the seed does.
   * @throws AppError 400 "Missing required parameter: phone|message", "Phone number format invalid".
   */
  @Post('send_message')
  @HttpCode(200)
  @ApiKeyAuth('send')
  @ApiOperation({ summary: 'Send a text (seed s0 shape)' })
  @ApiBody({ type: OdooSendMessageDto })
  @ApiOkResponse({ type: OdooSendAckDto })
  async sendMessage(
    @Body() body: unknown,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Req() req: Request,
  ): Promise<OdooSendAckDto> {
    const fields = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
    const to = this.phoneParam(required(fields, 'phone'));
    const text = required(fields, 'message');
    if (typeof text !== 'string' || text.length > 4096)
      throw AppError.badRequest('Invalid parameter: message must be text of at most 4096 characters');
    const { message } = await this.sending.send({ to, type: 'text', text: { body: text } }, apiKeyOf(req), idempotencyKey);
    return { status: 'success', message: 'Message queued for sending', record_id: Number(message.id) };
  }

  /** Wablas webhook at the seed's URL; same storage as POST /webhooks/wablas, answered in the seed's shape. */
  @Post('webhook')
  @Public()
  @HttpCode(200)
  @UseGuards(WablasSecretGuard)
  @ApiOperation({ summary: 'Wablas webhook (seed s0 shape); needs ?secret=' })
  @ApiQuery({ name: 'secret', required: false })
  @ApiOkResponse({ type: OdooWebhookAckDto })
  async webhook(@Req() req: Request & { rawBody?: Buffer }): Promise<OdooWebhookAckDto> {
    // The seed's answer carries the message's row id: wait (bounded) for this webhook's events to be applied.
    const result = await this.wablas.receive(req, { waitApplied: true });
    const id = result.messageIds[0];
    return {
      status: 'success',
      message: result.state === 'failed' ? 'Payload stored, not understood' : 'Message received',
      record_id: id ? Number(id) : null,
    };
  }

  /** All messages, newest first: `limit` default 100, at most 1000; `offset` default 0; optional `phone`. */
  @Get('get_history')
  @ApiKeyAuth('read')
  @ApiOperation({ summary: 'Message history (seed s0 shape)' })
  @ApiQuery({ name: 'phone', required: false })
  @ApiQuery({ name: 'limit', required: false, example: 100 })
  @ApiQuery({ name: 'offset', required: false, example: 0 })
  @ApiOkResponse({ type: OdooHistoryDto })
  async history(@Query() q: Record<string, string>, @Req() req: Request): Promise<OdooHistoryDto> {
    const limit = Math.min(intParam(q.limit, 100, 'limit'), 1000);
    const offset = intParam(q.offset, 0, 'offset');
    const phone = q.phone !== undefined && q.phone !== '' ? await this.chatParam(q.phone) : undefined;
    const total = await this.messages.countInConversations({ phone }, apiKeyOf(req));
    const rows = await this.historyRows.history(phone, limit, offset, apiKeyOf(req));
    const data = rows.map(toOdooMessage);
    return { status: 'success', count: data.length, total, limit, offset, data };
  }

  /** Seed s0's statistics: overall totals, the last `days` (default 7), unique contacts. */
  @Get('stats')
  @ApiKeyAuth('read')
  @ApiOperation({ summary: 'Statistics (seed s0 shape)' })
  @ApiQuery({ name: 'days', required: false, example: 30 })
  @ApiOkResponse({
    schema: {
      type: 'object',
      properties: {
        status: { type: 'string', enum: ['success'] },
        total_messages: { type: 'integer' },
        incoming_messages: { type: 'integer' },
        outgoing_messages: { type: 'integer' },
        unique_contacts: { type: 'integer' },
      },
      required: ['status', 'total_messages', 'incoming_messages', 'outgoing_messages', 'unique_contacts'],
      // `messages_last_<days>_days`: messages in the window (the key names the window, as seed s0's does).
      additionalProperties: { type: 'integer' },
      example: {
        status: 'success',
        total_messages: 82,
        incoming_messages: 45,
        outgoing_messages: 37,
        messages_last_30_days: 82,
        unique_contacts: 12,
      },
    },
  })
  async stats(@Query() q: Record<string, unknown>, @Req() req: Request): Promise<OdooStats> {
    const days = intParam(q.days, 7, 'days');
    if (days < 1 || days > 3660) throw AppError.badRequest('Invalid parameter: days must be between 1 and 3660');
    const s = await this.statsService.stats({ days }, apiKeyOf(req));
    return {
      status: 'success',
      total_messages: s.overall.total,
      incoming_messages: s.overall.incoming,
      outgoing_messages: s.overall.outgoing,
      [`messages_last_${days}_days`]: s.window.total,
      unique_contacts: s.overall.uniqueContacts,
    };
  }

  /**
   * `GET /api/wa/conversation/` without the phone: the seed's missing-parameter error (an error path of the route
   * below, so not a route of its own in the OpenAPI document).
   */
  @Get('conversation')
  @ApiKeyAuth('read')
  @ApiExcludeEndpoint()
  conversationWithoutPhone(): never {
    throw AppError.badRequest('Missing required parameter: phone');
  }

  /** One contact's messages, newest first; `limit` default 100, at most 1000. */
  @Get('conversation/:phone')
  @ApiKeyAuth('read')
  @ApiOperation({ summary: 'Conversation with a contact (seed s0 shape)' })
  @ApiQuery({ name: 'limit', required: false, example: 100 })
  @ApiOkResponse({ type: OdooConversationDto })
  async conversation(@Param('phone') phone: string, @Query() q: Record<string, string>, @Req() req: Request): Promise<OdooConversationDto> {
    const digits = await this.chatParam(phone);
    const limit = Math.min(intParam(q.limit, 100, 'limit'), 1000);
    const rows = await this.historyRows.history(digits, limit, 0, apiKeyOf(req));
    const messages = rows.map(toOdooMessage);
    return { status: 'success', phone: digits, count: messages.length, messages };
  }

  /**
   * A number to read a stored chat by: as {@link phoneParam}, or the digits of a chat whose number
   * libphonenumber-js does not know (`MessagesService.chatPhone`).
   * @throws AppError 400 "Phone number format invalid".
   */
  private async chatParam(value: unknown): Promise<string> {
    const text = typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : value;
    const digits = typeof text === 'string' ? await this.messages.chatPhone(text) : null;
    if (!digits) throw AppError.badRequest('Phone number format invalid');
    return digits;
  }

  /**
   * A number in any common form (`DEFAULT_PHONE_REGION` for local ones) as E.164 digits.
   * @throws AppError 400 "Phone number format invalid".
   */
  private phoneParam(value: unknown): string {
    const text = typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : value;
    const digits = typeof text === 'string' ? normalizePhone(text, this.config.DEFAULT_PHONE_REGION as CountryCode | undefined) : null;
    if (!digits) throw AppError.badRequest('Phone number format invalid');
    return digits;
  }
}

/** Seed s0's stats shape; the window key carries the day count (`messages_last_30_days`). */
export type OdooStats = {
  status: string;
  total_messages: number;
  incoming_messages: number;
  outgoing_messages: number;
  unique_contacts: number;
} & Record<string, number | string>;

/** @throws AppError 400 "Missing required parameter: <name>" when absent, null or empty. */
function required(fields: Record<string, unknown>, name: string): unknown {
  const value = fields[name];
  if (value === undefined || value === null || value === '') throw AppError.badRequest(`Missing required parameter: ${name}`);
  return value;
}

function intParam(value: unknown, fallback: number, name: string): number {
  if (value === undefined || value === '') return fallback;
  if (typeof value !== 'string' || !/^\d{1,9}$/.test(value))
    throw AppError.badRequest(`Invalid parameter: ${name} must be a non-negative integer`);
  return Number(value);
}

function toOdooMessage(r: OdooHistoryRow): OdooMessageDto {
  return {
    id: Number(r.id),
    time: new Date(r.provider_timestamp).toISOString().slice(0, 19).replace('T', ' '),
    sender_number: r.chat_id,
    sender_name: r.sender_name,
    message: r.text ?? r.caption ?? '',
    direction: r.direction,
  };
}
