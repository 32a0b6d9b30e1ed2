import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsArray,
  IsBoolean,
  IsIn,
  IsLatitude,
  IsLongitude,
  IsOptional,
  IsString,
  IsUrl,
  IsUUID,
  Length,
  MaxLength,
  ValidateNested,
} from 'class-validator';
import { OUTBOUND_TYPES, type OutboundType } from '../domain/message-sender';

export class SendTextDto {
  /** Message text (1–4096 characters, WhatsApp's limit). */
  @IsString()
  @Length(1, 4096)
  body: string;

  /** Render a preview of the first URL in the text (Meta `preview_url`). */
  @IsOptional()
  @IsBoolean()
  previewUrl?: boolean;
}

export class SendMediaDto {
  /** Public https URL the provider downloads. Exactly one of `link`, `id`, `mediaId`. */
  @IsOptional()
  @IsUrl({ protocols: ['http', 'https'], require_protocol: true })
  @MaxLength(2048)
  link?: string;

  /** Provider media id (Meta: an uploaded media object). */
  @IsOptional()
  @IsString()
  @Length(1, 256)
  id?: string;

  /**
   * A file uploaded with POST /v1/media (its `id`): Meta receives it through its media upload endpoint at send time,
   * wwebjs as base64, Baileys as bytes, Wablas by a signed URL (MEDIA_PUBLIC_BASE_URL).
   */
  @IsOptional()
  @IsUUID()
  @ApiProperty({ required: false, format: 'uuid', example: '0b0f4c1e-8d1c-4b7e-9a57-0c2f7f4b9f10' })
  mediaId?: string;

  @IsOptional()
  @IsString()
  @MaxLength(1024)
  caption?: string;

  /** Documents only: the file name shown to the recipient. */
  @IsOptional()
  @IsString()
  @MaxLength(240)
  filename?: string;
}

export class SendLocationDto {
  @IsLatitude()
  latitude: number;

  @IsLongitude()
  longitude: number;

  @IsOptional()
  @IsString()
  @MaxLength(1000)
  name?: string;

  @IsOptional()
  @IsString()
  @MaxLength(1000)
  address?: string;
}

export class SendReactionDto {
  /** The message reacted to: a wa-hub message id or the provider's id (wamid, …). */
  @IsString()
  @Length(1, 255)
  messageId: string;

  /** One emoji; empty string removes the reaction. */
  @IsString()
  @MaxLength(16)
  emoji: string;
}

export class SendTemplateDto {
  /** Approved template name. */
  @IsString()
  @Length(1, 512)
  name: string;

  /** Language and locale code, e.g. `en_US`. */
  @IsString()
  @Length(2, 15)
  language: string;

  /** Meta template components (header/body/button parameters), passed through as given. */
  @ApiProperty({
    required: false,
    type: 'array',
    items: { type: 'object', additionalProperties: true },
    example: [{ type: 'body', parameters: [{ type: 'text', text: 'Budi' }] }],
  })
  @IsOptional()
  @IsArray()
  components?: Record<string, unknown>[];
}

export class SendContextDto {
  /** The message replied to: a wa-hub message id or the provider's id. */
  @IsString()
  @Length(1, 255)
  messageId: string;
}

/** POST /v1/messages. Exactly the object named by `type` must be present (e.g. `type: "image"` → `image`). */
export class SendMessageDto {
  /** wa-hub session id; default `DEFAULT_SESSION_ID`, else the only connected session. */
  @IsOptional()
  @IsUUID()
  sessionId?: string;

  /** Recipient in any common form (`+62 812-…`, `6281…@c.us`), or a group id `…@g.us`. */
  @IsString()
  @Length(3, 128)
  @ApiProperty({ example: '+1 650-555-1234' })
  to: string;

  @IsIn(OUTBOUND_TYPES)
  @ApiProperty({ enum: OUTBOUND_TYPES })
  type: OutboundType;

  @IsOptional() @ValidateNested() @Type(() => SendTextDto) text?: SendTextDto;
  @IsOptional() @ValidateNested() @Type(() => SendMediaDto) image?: SendMediaDto;
  @IsOptional() @ValidateNested() @Type(() => SendMediaDto) video?: SendMediaDto;
  @IsOptional() @ValidateNested() @Type(() => SendMediaDto) audio?: SendMediaDto;
  @IsOptional() @ValidateNested() @Type(() => SendMediaDto) document?: SendMediaDto;
  @IsOptional() @ValidateNested() @Type(() => SendLocationDto) location?: SendLocationDto;
  @IsOptional() @ValidateNested() @Type(() => SendReactionDto) reaction?: SendReactionDto;
  @IsOptional() @ValidateNested() @Type(() => SendTemplateDto) template?: SendTemplateDto;
  /** Reply to a message (Meta `context`, wwebjs `quotedMessageId`). */
  @IsOptional() @ValidateNested() @Type(() => SendContextDto) context?: SendContextDto;
}
