import { PageMetaDto } from '../common/page-meta.dto';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

import { IsIn, IsISO8601, IsOptional, IsString, IsUUID, MaxLength, Matches } from 'class-validator';
import { PageQueryDto } from '../common/page-query.dto';
import { PROVIDER_NAME_RE } from '../domain/provider';
import { MESSAGE_STATUSES, MESSAGE_TYPES } from '../domain/message';

/** Filters for `GET /v1/messages`. */
export class ListMessagesQueryDto extends PageQueryDto {
  /** Search in text and captions, case- and accent-insensitive (`cafe` finds `Café`). */
  @IsOptional()
  @IsString()
  @MaxLength(200)
  q?: string;

  /** The contact's number in any common form (`+1 650-555-1234`, `16505551234`, `16505551234@c.us`). */
  @IsOptional()
  @IsString()
  @MaxLength(64)
  phone?: string;

  @IsOptional()
  @IsUUID()
  sessionId?: string;

  @IsOptional()
  @IsUUID()
  conversationId?: string;

  @IsOptional()
  @IsIn(['in', 'out'])
  direction?: 'in' | 'out';

  @ApiPropertyOptional({ enum: MESSAGE_TYPES })
  @IsOptional()
  @IsIn(MESSAGE_TYPES)
  type?: string;

  @ApiPropertyOptional({ enum: MESSAGE_STATUSES })
  @IsOptional()
  @IsIn(MESSAGE_STATUSES)
  status?: string;

  @IsOptional()
  @Matches(PROVIDER_NAME_RE, { message: 'provider must be a provider name such as meta' })
  provider?: string;

  /** Messages at or after this instant (ISO 8601). */
  @IsOptional()
  @IsISO8601({ strict: true })
  from?: string;

  /** Messages before this instant (ISO 8601). */
  @IsOptional()
  @IsISO8601({ strict: true })
  to?: string;
}

export class MessageContactDto {
  @ApiProperty({ example: '16505551234', description: 'E.164 digits' })
  phone: string;

  @ApiProperty({ example: 'Sheena Nelson', nullable: true, description: 'Contact book name, else the provider profile name' })
  name: string | null;
}

export class MessageErrorDto {
  @ApiProperty({ example: '131047', nullable: true })
  code: string | null;

  @ApiProperty({ example: 'Re-engagement message', nullable: true })
  title: string | null;

  @ApiProperty({
    example: 'Message failed to send because more than 24 hours have passed since the customer last replied to this number.',
    nullable: true,
  })
  detail: string | null;
}

/**
 * A message's file: what the provider declared, and its download into wa-hub's store (issue 14). The bytes are at
 * `GET /v1/messages/:id/media` (or a signed URL from `GET /v1/messages/:id/media-url`) once `state` is `stored`.
 */
export class MessageMediaDto {
  @ApiProperty({ format: 'uuid', nullable: true, description: 'wa-hub media id; null when the file is not tracked (our own sends)' })
  id: string | null;

  @ApiProperty({ example: '1003383421387256', nullable: true, description: "The provider's media id (Meta)" })
  providerId: string | null;

  @ApiProperty({
    enum: ['pending', 'stored', 'failed', 'deleted'],
    nullable: true,
    example: 'stored',
    description: 'pending: queued or being retried; stored: downloadable; failed: see error; deleted: removed by MEDIA_RETENTION_DAYS',
  })
  state: string | null;

  @ApiProperty({ nullable: true, example: null, description: 'Why the download failed (or the last temporary failure while pending)' })
  error: string | null;

  @ApiProperty({ nullable: true, example: null, description: 'SHA256_MISMATCH, TOO_LARGE, HTTP_404, META_100, NOT_DELIVERED, ...' })
  errorCode: string | null;

  @ApiProperty({ example: 'image/jpeg', nullable: true, description: 'Stored: the sniffed type when it disagrees with the declared one' })
  mimeType: string | null;

  @ApiProperty({ example: 'image/jpeg', nullable: true, description: 'What the provider declared' })
  declaredMimeType: string | null;

  @ApiProperty({ type: 'integer', example: 54005, nullable: true, description: 'Bytes (stored size once stored, else declared)' })
  size: number | null;

  @ApiProperty({
    example: '49f227634806293b0995459bc310b593e1400f41591efcf07e9bced335f41942',
    nullable: true,
    description: 'SHA-256: hex of the stored bytes once stored; before, as the provider declared it (base64 for Meta and Baileys)',
  })
  sha256: string | null;

  @ApiProperty({ example: 'invoice-0012.pdf', nullable: true })
  filename: string | null;

  @ApiProperty({ example: 'Taj Mahal', nullable: true, description: "The message's caption" })
  caption: string | null;

  @ApiProperty({ nullable: true, example: null, description: "The provider's own link (may need its credentials or have expired)" })
  providerUrl: string | null;

  @ApiProperty({ example: false, description: 'Voice note (push-to-talk)' })
  voice: boolean;

  @ApiProperty({ example: false, description: 'Animated (GIF, animated sticker)' })
  animated: boolean;
}

/** A stored message. Timestamps are ISO 8601 UTC. */
export class MessageResponseDto {
  @ApiProperty({ example: '1042', description: 'wa-hub id (bigint as string)' })
  id: string;

  @ApiProperty({ example: 'meta', description: 'Provider name' })
  provider: string;

  @ApiProperty({ format: 'uuid' })
  sessionId: string;

  @ApiProperty({ format: 'uuid' })
  conversationId: string;

  @ApiProperty({
    example: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=',
    nullable: true,
    description: 'Provider message id (wamid, Wablas id, wwebjs id)',
  })
  externalId: string | null;

  @ApiProperty({ enum: ['in', 'out'] })
  direction: 'in' | 'out';

  @ApiProperty({ enum: MESSAGE_TYPES, example: 'text' })
  type: string;

  @ApiProperty({ example: '16505551234', description: 'Contact E.164 digits, or group id' })
  chatId: string;

  @ApiProperty({ type: MessageContactDto, nullable: true })
  contact: MessageContactDto | null;

  @ApiProperty({ example: '16505551234', nullable: true })
  sender: string | null;

  @ApiProperty({ example: 'Sheena Nelson', nullable: true, description: 'Resolved when read: contact book, then provider profile name' })
  senderName: string | null;

  @ApiProperty({ example: 'Does it come in another color?', nullable: true })
  text: string | null;

  @ApiProperty({ example: null, nullable: true })
  caption: string | null;

  @ApiProperty({ type: MessageMediaDto, nullable: true })
  media: MessageMediaDto | null;

  @ApiProperty({ nullable: true, example: { latitude: 37.422, longitude: -122.084, name: 'Philz Coffee' } })
  location: Record<string, unknown> | null;

  @ApiProperty({ nullable: true, example: { from: '15550783881', id: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgARGA9wcm9kdWN0X2lucXVpcnkA' } })
  context: Record<string, unknown> | null;

  @ApiProperty({ nullable: true, example: null })
  replyToExternalId: string | null;

  @ApiProperty({
    nullable: true,
    description: 'Type-specific fields (interactive, button, reaction, order, contacts, system)',
    example: null,
  })
  payload: Record<string, unknown> | null;

  @ApiProperty({ enum: MESSAGE_STATUSES, example: 'received' })
  status: string;

  @ApiProperty({ nullable: true, example: '2025-06-08T20:59:43.000Z' })
  statusAt: string | null;

  @ApiProperty({ type: MessageErrorDto, nullable: true })
  error: MessageErrorDto | null;

  @ApiProperty({ example: '2025-06-08T20:59:43.000Z', description: 'Provider timestamp' })
  timestamp: string;

  @ApiProperty({ example: '2025-06-08T20:59:44.120Z', description: 'When wa-hub stored it' })
  createdAt: string;

  @ApiProperty({ nullable: true, example: null })
  readAt: string | null;
}

export class MessageWithRawResponseDto extends MessageResponseDto {
  @ApiProperty({ description: "The provider's own object for this message, verbatim", example: { from: '16505551234', type: 'text' } })
  raw: unknown;
}

export class MessagePageDto extends PageMetaDto {
  @ApiProperty({ type: [MessageResponseDto] })
  data: MessageResponseDto[];
}
