import { PageMetaDto } from '../common/page-meta.dto';
import { ApiProperty } from '@nestjs/swagger';
import { IsIn, IsOptional, Matches } from 'class-validator';
import { PageQueryDto } from '../common/page-query.dto';
import { PROVIDER_NAME_RE } from '../domain/provider';

export class ListWebhookEventsQueryDto extends PageQueryDto {
  @IsOptional()
  @IsIn(['processed', 'ignored', 'failed'])
  state?: 'processed' | 'ignored' | 'failed';

  @IsOptional()
  @Matches(PROVIDER_NAME_RE, { message: 'provider must be a provider name such as meta' })
  provider?: string;
}

/** A stored raw webhook. */
export class WebhookEventResponseDto {
  @ApiProperty({ example: '42' })
  id: string;

  @ApiProperty({ example: 'meta', description: 'Provider name' })
  provider: string;

  @ApiProperty({ example: '2026-11-21T10:00:00.000Z' })
  receivedAt: string;

  @ApiProperty({ type: String, nullable: true, example: 'application/json' })
  contentType: string | null;

  @ApiProperty({ enum: ['processed', 'ignored', 'failed'], example: 'failed' })
  state: string;

  @ApiProperty({
    type: String,
    nullable: true,
    example: 'not a WhatsApp Business Account webhook (expected object "whatsapp_business_account" with entry[])',
    description: 'Why it failed or was ignored',
  })
  error: string | null;

  @ApiProperty({ type: 'integer', example: 0, description: 'Messages, statuses and errors it produced' })
  eventCount: number;

  @ApiProperty({ type: 'integer', example: 1, description: 'Deliveries of these exact bytes (provider retries)' })
  attempts: number;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'The body as received (form bodies as their fields)',
    example: { object: 'page', entry: [] },
  })
  body: unknown;
}

export class WebhookEventPageDto extends PageMetaDto {
  @ApiProperty({ type: [WebhookEventResponseDto] })
  data: WebhookEventResponseDto[];
}
