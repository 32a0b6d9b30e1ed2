import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { ApiKeyAuth } from '../auth/api-key.guard';
import { AppError } from '../common/app-error';
import { ErrorResponseDto } from '../common/error-response.dto';
import { keysetPage } from '../common/keyset-page';
import { SqlWhere } from '../common/sql-where';
import { ListWebhookEventsQueryDto, WebhookEventPageDto, WebhookEventResponseDto } from './webhook-event.dto';

/**
 * Raw webhooks as received, so operators can see what did not normalise (`?state=failed`). Admin scope: raw
 * bodies span every session.
 */
@ApiTags('webhook-events')
@ApiKeyAuth('admin')
@Controller('v1/webhook-events')
export class WebhookEventsController {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  @Get()
  @ApiOperation({ summary: 'List stored webhooks, newest first' })
  @ApiOkResponse({ type: WebhookEventPageDto })
  async list(@Query() q: ListWebhookEventsQueryDto): Promise<WebhookEventPageDto> {
    const where = new SqlWhere();
    if (q.state) where.add('state = ?', q.state);
    if (q.provider) where.add('provider = ?', q.provider);
    return keysetPage(this.db, {
      select: 'SELECT *',
      from: 'FROM webhook_events',
      where,
      query: q,
      sortAt: 'received_at',
      id: 'id',
      idType: 'bigint',
      sortValue: (r) => r.received_at,
      map: toDto,
    });
  }

  @Get(':id')
  @ApiOperation({ summary: 'Get one stored webhook' })
  @ApiOkResponse({ type: WebhookEventResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  async get(@Param('id') id: string): Promise<WebhookEventResponseDto> {
    if (!/^\d{1,18}$/.test(id)) throw AppError.notFound('Webhook event');
    const rows = (await this.db.query(`SELECT * FROM webhook_events WHERE id = $1`, [id])) as Record<string, unknown>[];
    if (rows.length === 0) throw AppError.notFound('Webhook event');
    return toDto(rows[0]);
  }
}

function toDto(r: Record<string, unknown>): WebhookEventResponseDto {
  return {
    id: String(r.id),
    provider: r.provider as string,
    receivedAt: new Date(r.received_at as string).toISOString(),
    contentType: (r.content_type as string) ?? null,
    state: r.state as string,
    error: (r.error as string) ?? null,
    eventCount: Number(r.event_count),
    attempts: Number(r.attempts),
    body: r.body,
  };
}
