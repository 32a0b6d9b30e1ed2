import { Body, Controller, Headers, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { ApiKeyAuth, apiKeyOf } from '../auth/api-key.guard';
import { ApiErrors } from '../common/api-docs';
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
  @ApiErrors(
    {
      status: 400,
      description: 'A field is invalid (the message names it), or the body is not JSON',
      examples: [
        {
          code: 'VALIDATION_FAILED',
          message: 'text is required when type is text',
          details: [{ field: 'text', errors: ['text is required when type is text'] }],
        },
        { code: 'MALFORMED_JSON', message: 'Request body is not valid JSON' },
      ],
    },
    {
      status: 404,
      description: 'Unknown session (or not visible to this key)',
      examples: [{ code: 'NOT_FOUND', message: 'Session not found' }],
    },
    {
      status: 409,
      description: 'Idempotency-Key reused with a different body',
      examples: [
        {
          code: 'CONFLICT',
          message: 'Idempotency-Key was already used with a different request body',
          details: [{ field: 'Idempotency-Key', errors: ['reused with a different body'] }],
        },
      ],
    },
    {
      status: 422,
      description:
        "`CAPABILITY_NOT_SUPPORTED`: the session's provider cannot send it; `SESSION_REQUIRED`: no `sessionId` and not exactly one connected session",
      examples: [
        {
          code: 'CAPABILITY_NOT_SUPPORTED',
          message: 'wablas sessions cannot send location messages',
          details: [{ field: 'type', errors: ['not supported by wablas'] }],
        },
        {
          code: 'SESSION_REQUIRED',
          message: 'No connected session to send from; pass sessionId',
          details: [{ field: 'sessionId', errors: ['No connected session to send from; pass sessionId'] }],
        },
      ],
    },
  )
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
