import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import { ApiKeyAuth } from '../auth/api-key.guard';
import { ErrorResponseDto } from '../common/error-response.dto';
import { ListWebhookEventsQueryDto, WebhookEventPageDto, WebhookEventResponseDto } from './webhook-event.dto';
import { WebhookEventsService } from './webhook-events.service';

/** A stored raw webhook with the exact request bytes. */
export class WebhookEventDetailResponseDto extends WebhookEventResponseDto {
  @ApiProperty({
    type: String,
    nullable: true,
    format: 'byte',
    example: 'eyJvYmplY3QiOiJwYWdlIiwiZW50cnkiOltdfQ==',
    description: 'The exact request bytes, base64 (null for events stored before they were kept)',
  })
  rawBody: string | null;
}

/**
 * Raw webhooks as received, so operators can see what did not normalise (`?state=failed`). Admin scope: raw
 * bodies span every session.
 */
@ApiTags('webhook-events')
@ApiKeyAuth('admin')
@Controller('v1/webhook-events')
export class WebhookEventsController {
  constructor(private readonly events: WebhookEventsService) {}

  @Get()
  @ApiOperation({ summary: 'List stored webhooks, newest first' })
  @ApiOkResponse({ type: WebhookEventPageDto })
  list(@Query() q: ListWebhookEventsQueryDto): Promise<WebhookEventPageDto> {
    return this.events.list(q);
  }

  @Get(':id')
  @ApiOperation({ summary: 'Get one stored webhook, with its exact bytes' })
  @ApiOkResponse({ type: WebhookEventDetailResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  get(@Param('id') id: string): Promise<WebhookEventDetailResponseDto> {
    return this.events.get(id);
  }
}
