import { PageMetaDto } from '../common/page-meta.dto';
import { ApiProperty } from '@nestjs/swagger';
import { IsIn, IsISO8601, IsOptional, IsString, IsUUID, MaxLength, Matches } from 'class-validator';
import { PageQueryDto } from '../common/page-query.dto';
import { PROVIDER_NAME_RE } from '../domain/provider';

export class ListConversationsQueryDto extends PageQueryDto {
  @IsOptional()
  @IsUUID()
  sessionId?: string;

  /** `true`: only conversations with unread messages. */
  @IsOptional()
  @IsIn(['true', 'false'])
  unread?: 'true' | 'false';

  /** Contact name (case- and accent-insensitive) or number. */
  @IsOptional()
  @IsString()
  @MaxLength(100)
  q?: string;

  /** Last message at or after (ISO 8601). */
  @IsOptional()
  @IsISO8601({ strict: true })
  from?: string;

  /** Last message before (ISO 8601). */
  @IsOptional()
  @IsISO8601({ strict: true })
  to?: string;

  @IsOptional()
  @Matches(PROVIDER_NAME_RE, { message: 'provider must be a provider name such as meta' })
  provider?: string;
}

export class ConversationContactDto {
  @ApiProperty({ example: '16505551234', description: 'E.164 digits' })
  phone: string;

  @ApiProperty({ example: 'Sheena Nelson', nullable: true, description: 'Contact book name, else the provider profile name' })
  name: string | null;
}

/** A conversation with its counters. Timestamps are ISO 8601 UTC. */
export class ConversationResponseDto {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ format: 'uuid' })
  sessionId: string;

  @ApiProperty({ example: 'meta', description: 'Provider name' })
  provider: string;

  @ApiProperty({ example: '16505551234', description: 'Contact E.164 digits, or group id' })
  chatId: string;

  @ApiProperty({ example: false })
  isGroup: boolean;

  @ApiProperty({ nullable: true, example: null })
  subject: string | null;

  @ApiProperty({ type: ConversationContactDto, nullable: true })
  contact: ConversationContactDto | null;

  @ApiProperty({ nullable: true, example: '2025-06-08T20:59:43.000Z' })
  lastMessageAt: string | null;

  @ApiProperty({ nullable: true, example: 'Does it come in another color?' })
  lastMessagePreview: string | null;

  @ApiProperty({ nullable: true, enum: ['in', 'out'], example: 'in' })
  lastMessageDirection: string | null;

  @ApiProperty({ type: 'integer', example: 3 })
  messageCount: number;

  @ApiProperty({ type: 'integer', example: 2 })
  unreadCount: number;

  @ApiProperty({ example: '2025-06-08T20:59:44.120Z' })
  createdAt: string;
}

export class ConversationPageDto extends PageMetaDto {
  @ApiProperty({ type: [ConversationResponseDto] })
  data: ConversationResponseDto[];
}

export class MarkReadResponseDto {
  @ApiProperty({ format: 'uuid' }) conversationId: string;
  @ApiProperty({ type: 'integer', example: 3, description: 'Inbound messages marked read now' }) markedRead: number;
  @ApiProperty({ type: 'integer', example: 0 }) unreadCount: number;
  @ApiProperty({ example: '2026-11-21T10:00:00.000Z' }) readAt: string;
}
