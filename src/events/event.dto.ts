import { ApiProperty } from '@nestjs/swagger';
import { IsOptional, IsString, IsUUID, Matches, MaxLength } from 'class-validator';

/** Event types wa-hub writes (src/database/sql, the outbox, session control). */
export const EVENT_TYPES = [
  'message.received',
  'message.sent',
  'message.updated',
  'message.failed',
  'session.status',
  'session.qr',
  'call.received',
] as const;

export class ListEventsQueryDto {
  /** Events after this id (exclusive): the `id` of the last event you processed. */
  @IsOptional()
  @Matches(/^\d{1,19}$/, { message: 'after must be an event id' })
  after?: string;

  /** Comma-separated event types, e.g. `message.received,session.status`. */
  @IsOptional()
  @IsString()
  @MaxLength(500)
  @Matches(/^[a-z._,]+$/, { message: 'types must be comma-separated event types' })
  types?: string;

  @IsOptional()
  @IsUUID()
  sessionId?: string;

  /** At most this many events (default 100, at most 1000). */
  @IsOptional()
  @Matches(/^\d{1,4}$/, { message: 'limit must be 1-1000' })
  limit?: string;
}

/** One entry of the event log. */
export class EventResponseDto {
  @ApiProperty({ example: '1042', description: 'Monotonic id; resume after it' })
  id: string;

  @ApiProperty({ enum: EVENT_TYPES, example: 'message.received' })
  type: string;

  @ApiProperty({ example: '2026-12-01T10:00:00.000Z' })
  occurredAt: string;

  @ApiProperty({ format: 'uuid', nullable: true, type: String })
  sessionId: string | null;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    example: {
      messageId: '83',
      externalId: 'wamid.HBgL...',
      conversationId: '12',
      direction: 'in',
      type: 'text',
      chatId: '16505551234',
      preview: 'Hi',
    },
    description:
      'message.*: messageId, externalId, conversationId (+ direction, type, chatId, sender, preview, timestamp for new messages; change status|edit|revoke|reaction for updates); session.status: event, from, status, message; session.qr: qr; call.received: externalId, chatId, fromMe, isVideo',
  })
  data: Record<string, unknown>;
}

export class EventPageDto {
  @ApiProperty({ type: [EventResponseDto] })
  data: EventResponseDto[];

  /** Pass as `after` for the next page; null when the page is empty. */
  @ApiProperty({ nullable: true, type: String, example: '1042' })
  nextAfter: string | null;
}
