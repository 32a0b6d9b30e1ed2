import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsISO8601,
  IsObject,
  IsOptional,
  IsString,
  IsUUID,
  Length,
  Matches,
  MaxLength,
} from 'class-validator';
import { PageMetaDto } from '../common/page-meta.dto';

export const WEBHOOK_FORMATS = ['standard', 's0'] as const;
export const DELIVERY_STATES = ['pending', 'delivered', 'failed'] as const;
const EVENT_TYPE = /^[a-z][a-z0-9_.]{0,31}$/;

export class CreateWebhookDto {
  /** Target URL: https:// (http:// only with WEBHOOK_ALLOW_HTTP=true), not resolving to a private address. */
  @IsString()
  @MaxLength(2048)
  @ApiProperty({ example: 'https://example.com/hooks/wa' })
  url: string;

  /** Event types to send (e.g. `message.received`); omitted or null = all. */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  @Matches(EVENT_TYPE, { each: true, message: 'each event type must look like message.received' })
  @ApiPropertyOptional({ type: [String], nullable: true, example: ['message.received'] })
  events?: string[] | null;

  /** Only events of these sessions; omitted or null = every session (and events of none). */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(1000)
  @IsUUID('all', { each: true })
  @ApiPropertyOptional({ type: [String], nullable: true })
  sessionIds?: string[] | null;

  /** Extra request headers (e.g. an `Authorization` for the receiver); names may not be the signature or framing headers. */
  @IsOptional()
  @IsObject()
  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'string' }, example: { Authorization: 'Bearer abc' } })
  headers?: Record<string, string>;

  /** `standard` (default): the event envelope; `s0`: seed s0's forward body, message events only. */
  @IsOptional()
  @IsIn(WEBHOOK_FORMATS)
  @ApiPropertyOptional({ enum: WEBHOOK_FORMATS, default: 'standard' })
  format?: (typeof WEBHOOK_FORMATS)[number];

  @IsOptional()
  @IsString()
  @Length(0, 500)
  description?: string | null;
}

export class UpdateWebhookDto {
  @IsOptional()
  @IsBoolean()
  enabled?: boolean;

  @IsOptional()
  @IsString()
  @MaxLength(2048)
  url?: string;

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  @Matches(EVENT_TYPE, { each: true, message: 'each event type must look like message.received' })
  @ApiPropertyOptional({ type: [String], nullable: true })
  events?: string[] | null;

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(1000)
  @IsUUID('all', { each: true })
  @ApiPropertyOptional({ type: [String], nullable: true })
  sessionIds?: string[] | null;

  @IsOptional()
  @IsObject()
  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'string' } })
  headers?: Record<string, string>;

  @IsOptional()
  @IsString()
  @Length(0, 500)
  description?: string | null;
}

export class ReplayWebhookDto {
  /** ISO 8601; events that occurred at or after. */
  @IsISO8601()
  @ApiProperty({ example: '2026-12-01T00:00:00Z' })
  from: string;

  /** ISO 8601; events that occurred before. */
  @IsISO8601()
  @ApiProperty({ example: '2026-12-02T00:00:00Z' })
  to: string;

  /** Only these event types; omitted = the subscription's own filter. */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  @Matches(EVENT_TYPE, { each: true, message: 'each event type must look like message.received' })
  @ApiPropertyOptional({ type: [String] })
  types?: string[];
}

export class DeliveryQueryDto {
  @IsOptional()
  @IsIn(DELIVERY_STATES)
  @ApiPropertyOptional({ enum: DELIVERY_STATES })
  state?: (typeof DELIVERY_STATES)[number];
}

/** A subscription as the API shows it: never its secret. */
export class WebhookResponseDto {
  id: string;
  url: string;
  @ApiProperty({ type: [String], nullable: true }) events: string[] | null;
  @ApiProperty({ type: [String], nullable: true }) sessionIds: string[] | null;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } }) headers: Record<string, string>;
  @ApiProperty({ enum: WEBHOOK_FORMATS }) format: string;
  @ApiProperty({ nullable: true, type: String }) description: string | null;
  enabled: boolean;
  /** Why it was disabled automatically (410, failing too long); null otherwise. */
  @ApiProperty({ nullable: true, type: String }) disabledReason: string | null;
  /** Since when every attempt failed; null while healthy. */
  @ApiProperty({ nullable: true, type: String }) failingSince: string | null;
  /** Until when the previous secret still signs (after a rotation); null when none. */
  @ApiProperty({ nullable: true, type: String }) previousSecretUntil: string | null;
  createdAt: string;
  updatedAt: string;
}

/** Creation and rotation answers: the only time the secret is shown. */
export class WebhookWithSecretDto extends WebhookResponseDto {
  /** `whsec_` + base64 of 32 random bytes; verify with any Standard Webhooks library. Shown once. */
  @ApiProperty({ example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }) secret: string;
}

export class WebhookListDto extends PageMetaDto {
  @ApiProperty({ type: [WebhookResponseDto] }) data: WebhookResponseDto[];
}

export class AttemptDto {
  at: string;
  /** HTTP status; null when no answer (network error, timeout, refused target). */
  @ApiProperty({ type: 'integer', nullable: true }) status: number | null;
  @ApiProperty({ type: 'integer' })
  latencyMs: number;
  /** The first 1 KB of the answer's body. */
  @ApiProperty({ nullable: true, type: String }) responseExcerpt: string | null;
  @ApiProperty({ nullable: true, type: String }) error: string | null;
}

export class WebhookDeliveryDto {
  /** Also the `webhook-id` header, the same on every attempt. */
  id: string;
  webhookId: string;
  subscriptionId: string;
  @ApiProperty({ nullable: true, type: String }) eventId: string | null;
  eventType: string;
  @ApiProperty({ enum: DELIVERY_STATES }) state: string;
  @ApiProperty({ type: 'integer' })
  attempts: number;
  nextAttemptAt: string;
  @ApiProperty({ type: 'integer', nullable: true }) lastStatus: number | null;
  @ApiProperty({ nullable: true, type: String }) lastError: string | null;
  createdAt: string;
  @ApiProperty({ nullable: true, type: String }) deliveredAt: string | null;
  @ApiProperty({ type: [AttemptDto] }) attemptLog: AttemptDto[];
}

export class WebhookDeliveryListDto extends PageMetaDto {
  @ApiProperty({ type: [WebhookDeliveryDto] }) data: WebhookDeliveryDto[];
}

export class ReplayResultDto {
  /** Deliveries queued (or queued again). */
  @ApiProperty({ type: 'integer' })
  queued: number;
}
