import { Controller, HttpCode, Post, Req, Res, UseGuards } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiHeader, ApiOkResponse, ApiOperation, ApiQuery, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Public } from '../../auth/api-key.guard';
import { ErrorResponseDto } from '../../common/error-response.dto';
import { WablasIngest } from './wablas-ingest.service';
import { WablasSecretGuard } from './wablas-secret.guard';
import wablasTextExample from './examples/text_private.json';

/** Wablas webhooks (JSON or form-urlencoded), authenticated by our shared secret. */
@ApiTags('provider-webhooks')
@Public()
@Controller('webhooks/wablas')
export class WablasWebhookController {
  constructor(private readonly wablas: WablasIngest) {}

  /**
   * Stores a Wablas message or tracking callback and answers 200 with an EMPTY body: Wablas may send a
   * response body back to the customer as an auto-reply (Wablas' official PHP receiver sample).
   */
  @Post()
  @HttpCode(200)
  @UseGuards(WablasSecretGuard)
  @ApiOperation({ summary: 'Wablas webhook (messages and tracking); answers an empty body' })
  @ApiConsumes('application/json', 'application/x-www-form-urlencoded')
  @ApiQuery({ name: 'secret', required: false, description: 'WABLAS_WEBHOOK_SECRET (or send X-Webhook-Secret)' })
  @ApiHeader({ name: 'X-Webhook-Secret', required: false })
  @ApiBody({
    schema: { type: 'object' },
    examples: { text: { summary: 'Text message (wablas.inbound.text_private)', value: wablasTextExample } },
  })
  @ApiOkResponse({ description: 'Stored; empty body' })
  @ApiUnauthorizedResponse({ description: 'Missing or wrong secret; nothing stored', type: ErrorResponseDto })
  async receive(@Req() req: Request & { rawBody?: Buffer }, @Res() res: Response): Promise<void> {
    await this.wablas.receive(req);
    res.status(200).end();
  }
}
