import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query, Req } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { Request } from 'express';
import { AuditService } from '../audit/audit.service';
import { ApiKeyAuth } from '../auth/api-key.guard';
import { ErrorResponseDto } from '../common/error-response.dto';
import {
  CreateWebhookDto,
  WebhookDeliveryDto,
  WebhookDeliveryListDto,
  DeliveryQueryDto,
  ReplayResultDto,
  ReplayWebhookDto,
  UpdateWebhookDto,
  WebhookListDto,
  WebhookResponseDto,
  WebhookWithSecretDto,
} from './webhook.dto';
import { WebhooksService } from './webhooks.service';

/**
 * Outgoing webhooks (admin key): subscriptions that receive the event log's events, signed with Standard Webhooks
 * headers (`webhook-id`, `webhook-timestamp`, `webhook-signature`) and `X-Hub-Signature-256`. Unknown ids → 404;
 * invalid bodies or refused targets → 400.
 */
@ApiTags('webhooks')
@ApiKeyAuth('admin')
@Controller()
export class WebhooksController {
  constructor(
    private readonly webhooks: WebhooksService,
    private readonly audit: AuditService,
  ) {}

  @Post('v1/webhooks')
  @ApiOperation({ summary: 'Subscribe a URL to events; the answer shows the signing secret once' })
  @ApiCreatedResponse({ type: WebhookWithSecretDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'Invalid body, or a refused target (http, private address)' })
  async create(@Body() dto: CreateWebhookDto, @Req() req: Request): Promise<WebhookWithSecretDto> {
    const w = await this.webhooks.create(dto);
    await this.audit.record(req, 'webhook.created', { type: 'webhook', id: w.id }, { host: hostOf(w.url) });
    return w;
  }

  @Get('v1/webhooks')
  @ApiOperation({ summary: 'List subscriptions, newest first (secrets are never shown)' })
  @ApiOkResponse({ type: WebhookListDto })
  async list(): Promise<WebhookListDto> {
    const data = await this.webhooks.list();
    return { data, total: data.length, totalExact: true, limit: data.length, offset: 0, nextCursor: null };
  }

  @Get('v1/webhooks/:id')
  @ApiOperation({ summary: 'Get a subscription (its secret is never shown)' })
  @ApiOkResponse({ type: WebhookResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  get(@Param('id') id: string): Promise<WebhookResponseDto> {
    return this.webhooks.get(id);
  }

  @Patch('v1/webhooks/:id')
  @ApiOperation({ summary: 'Change a subscription (enabled, url, events, sessionIds, headers, description)' })
  @ApiOkResponse({ type: WebhookResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  async update(@Param('id') id: string, @Body() dto: UpdateWebhookDto, @Req() req: Request): Promise<WebhookResponseDto> {
    const w = await this.webhooks.update(id, dto);
    await this.audit.record(req, 'webhook.updated', { type: 'webhook', id }, { enabled: w.enabled, host: hostOf(w.url) });
    return w;
  }

  @Delete('v1/webhooks/:id')
  @ApiOperation({ summary: 'Delete a subscription with its deliveries' })
  @ApiOkResponse({ type: WebhookResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  async delete(@Param('id') id: string, @Req() req: Request): Promise<WebhookResponseDto> {
    const w = await this.webhooks.delete(id);
    await this.audit.record(req, 'webhook.deleted', { type: 'webhook', id }, { host: hostOf(w.url) });
    return w;
  }

  @Post('v1/webhooks/:id/rotate-secret')
  @HttpCode(200)
  @ApiOperation({ summary: 'New signing secret (shown once); the old one keeps signing beside it for 24 h' })
  @ApiOkResponse({ type: WebhookWithSecretDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  async rotate(@Param('id') id: string, @Req() req: Request): Promise<WebhookWithSecretDto> {
    const w = await this.webhooks.rotate(id);
    await this.audit.record(req, 'webhook.secret_rotated', { type: 'webhook', id });
    return w;
  }

  @Post('v1/webhooks/:id/test')
  @HttpCode(202)
  @ApiOperation({ summary: 'Queue a webhook.test delivery' })
  @ApiAcceptedResponse({ type: WebhookDeliveryDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  test(@Param('id') id: string): Promise<WebhookDeliveryDto> {
    return this.webhooks.test(id);
  }

  @Get('v1/webhooks/:id/deliveries')
  @ApiOperation({ summary: 'The latest 100 deliveries, newest first, with every attempt' })
  @ApiOkResponse({ type: WebhookDeliveryListDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  async deliveries(@Param('id') id: string, @Query() q: DeliveryQueryDto): Promise<WebhookDeliveryListDto> {
    const data = await this.webhooks.deliveries(id, q.state);
    return { data, total: data.length, totalExact: data.length < 100, limit: 100, offset: 0, nextCursor: null };
  }

  @Post('v1/webhooks/:id/replay')
  @HttpCode(202)
  @ApiOperation({ summary: "Queue the event log's events of a time window [from, to) again" })
  @ApiAcceptedResponse({ type: ReplayResultDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  async replay(@Param('id') id: string, @Body() dto: ReplayWebhookDto, @Req() req: Request): Promise<ReplayResultDto> {
    const queued = await this.webhooks.replay(id, dto);
    await this.audit.record(req, 'webhook.replayed', { type: 'webhook', id }, { from: dto.from, to: dto.to, queued });
    return { queued };
  }

  @Post('v1/webhook-deliveries/:id/retry')
  @HttpCode(202)
  @ApiOperation({ summary: 'Send a delivery again now (attempts and retry window restart)' })
  @ApiAcceptedResponse({ type: WebhookDeliveryDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  retry(@Param('id') id: string): Promise<WebhookDeliveryDto> {
    return this.webhooks.retry(id);
  }
}

/** The URL's host only: audit details never hold a URL's path or query, which may carry the receiver's token. */
function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '';
  }
}
