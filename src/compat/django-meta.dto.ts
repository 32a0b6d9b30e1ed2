import { ApiProperty } from '@nestjs/swagger';
import { IsString, Length } from 'class-validator';

/** Shapes of seed s3 (Django on the Meta Cloud API), after its whatsapp_whatsappmessage / ...conversation tables. */

export class DjangoMessageDto {
  @ApiProperty({ type: 'integer', example: 1042 }) id: number;
  @ApiProperty({ example: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=', nullable: true }) message_id: string | null;
  @ApiProperty({ example: '919876543210', description: 'Sender: the contact for inbound, our number for outbound' }) from_number: string;
  @ApiProperty({ example: 'Priya', nullable: true }) from_name: string | null;
  @ApiProperty({ example: '919876543210', description: 'The contact (conversation) number' }) phone_number: string;
  @ApiProperty({ example: 'text' }) message_type: string;
  @ApiProperty({ example: 'Hello', nullable: true }) text_body: string | null;
  @ApiProperty({ example: null, nullable: true, type: String, description: 'Media caption (image, video, document)' })
  caption: string | null;
  @ApiProperty({ example: '1003383421387256', nullable: true, type: String, description: "The provider's media id (Meta's)" })
  media_id: string | null;
  @ApiProperty({
    example: null,
    nullable: true,
    type: String,
    description: "wa-hub's signed URL of the stored file (GET without a key; expires after MEDIA_URL_TTL_SECONDS); null until stored",
  })
  media_url: string | null;
  @ApiProperty({ example: null, nullable: true, type: Number, description: 'Shared location: degrees' }) latitude: number | null;
  @ApiProperty({ example: null, nullable: true, type: Number, description: 'Shared location: degrees' }) longitude: number | null;
  @ApiProperty({ example: 'in', enum: ['in', 'out'] }) direction: string;
  @ApiProperty({ example: 'received' }) status: string;
  @ApiProperty({ example: false }) is_read: boolean;
  @ApiProperty({ example: '2026-11-21T10:00:00.000Z' }) timestamp: string;
}

export class DjangoConversationDto {
  @ApiProperty({ example: '919876543210' }) phone_number: string;
  @ApiProperty({ example: 'Priya', nullable: true }) contact_name: string | null;
  @ApiProperty({ type: 'integer', example: 12 }) message_count: number;
  @ApiProperty({ type: 'integer', example: 2 }) unread_count: number;
  @ApiProperty({ example: '2026-11-21T10:00:00.000Z', nullable: true }) last_message_at: string | null;
}

export class DjangoMarkReadDto {
  @IsString()
  @Length(3, 64)
  @ApiProperty({ example: '919876543210' })
  phone_number: string;
}

export class DjangoMarkReadResponseDto {
  @ApiProperty({ example: 'success' }) status: string;
  @ApiProperty({ example: '919876543210' }) phone_number: string;
  @ApiProperty({ type: 'integer', example: 2, description: 'Messages marked read' }) marked_read: number;
}
