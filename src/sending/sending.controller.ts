import { Body, Controller, Headers, HttpCode, Post, Req, Res } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiHeader,
  ApiNotFoundResponse,
  ApiOperation,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { ApiKeyAuth, apiKeyOf } from '../auth/api-key.guard';
import { ErrorResponseDto } from '../common/error-response.dto';
import { MessageResponseDto } from '../messages/message.dto';
import { SendMessageDto } from './send-message.dto';
import { SendingService } from './sending.service';

@ApiTags('messages')
@Controller('v1/messages')
export class SendingController {
  constructor(private readonly sending: SendingService) {}

  /**
   * Queues a message: answers 202 at once with the stored message (direction `out`, status `queued`); the send
   * happens in the background and `GET /v1/messages/:id` shows queued → sent → delivered → read, or failed with
   * the provider's error. `Idempotency-Key`: the same key and body within 24 h answer the first message again
   * (header `Idempotent-Replayed: true`) and send nothing; the same key with another body → 409.
   */
  @Post()
  @HttpCode(202)
  @ApiKeyAuth('send')
  @ApiOperation({ summary: 'Send a message' })
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'Up to 255 characters; remembered 24 h per API key' })
  @ApiAcceptedResponse({ type: MessageResponseDto })
  @ApiBadRequestResponse({ description: 'A field is invalid (the message names it)', type: ErrorResponseDto })
  @ApiNotFoundResponse({ description: 'Unknown session', type: ErrorResponseDto })
  @ApiConflictResponse({ description: 'Idempotency-Key reused with a different body', type: ErrorResponseDto })
  @ApiUnprocessableEntityResponse({ description: '`CAPABILITY_NOT_SUPPORTED` or `SESSION_REQUIRED`', type: ErrorResponseDto })
  async send(
    @Body() dto: SendMessageDto,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<MessageResponseDto> {
    const { message, replayed } = await this.sending.send(dto, apiKeyOf(req), idempotencyKey);
    if (replayed) res.setHeader('Idempotent-Replayed', 'true');
    const { raw: _raw, ...body } = message;
    return body;
  }
}
