import { Body, Controller, Headers, HttpCode, Post, Req, UseFilters } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { IsString, Length } from 'class-validator';
import { ApiKeyAuth, apiKeyOf } from '../auth/api-key.guard';
import { SendingService } from '../sending/sending.service';
import { FLASK_ERRORS } from './seed-error.filter';

/** Seed s2 `POST /api/whatsapp/send` body. */
export class FlaskSendDto {
  /** Recipient: country code + number (any common form is accepted). */
  @IsString()
  @Length(3, 64)
  to: string;

  @IsString()
  @Length(1, 4096)
  message: string;
}

/** Seed s2's "Response Success"; `messageId` is the wa-hub message id (GET /v1/messages/:id shows the delivery). */
export class FlaskSendAckDto {
  @ApiProperty({ example: true }) success: boolean;
  @ApiProperty({ example: '83' }) messageId: string;
  @ApiProperty({ example: '6281234567890@s.whatsapp.net' }) to: string;
  @ApiProperty({ example: 'Hello from WhatsApp API!' }) message: string;
}

/**
 * Seed s2 (Flask gateway over a Baileys service): its send route and shapes, served through our outbox. Errors
 * answer the seed's `{ "error", "details" }`. Differences on purpose: a send key is required; the message is
 * queued (202-like semantics behind the seed's 200), so `messageId` is wa-hub's id, not the provider's.
 */
@ApiTags('compat: s2 Flask/Baileys')
@UseFilters(FLASK_ERRORS)
@Controller('api/whatsapp')
export class FlaskBaileysCompatController {
  constructor(private readonly sending: SendingService) {}

  @Post('send')
  @HttpCode(200)
  @ApiKeyAuth('send')
  @ApiOperation({ summary: 'Send a text (seed s2 shape)' })
  @ApiOkResponse({ type: FlaskSendAckDto })
  async send(
    @Body() body: FlaskSendDto,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Req() req: Request,
  ): Promise<FlaskSendAckDto> {
    const { message } = await this.sending.send({ to: body.to, type: 'text', text: { body: body.message } }, apiKeyOf(req), idempotencyKey);
    return {
      success: true,
      messageId: message.id,
      to: message.chatId.includes('@') ? message.chatId : `${message.chatId}@s.whatsapp.net`,
      message: body.message,
    };
  }
}
