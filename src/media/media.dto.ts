import { ApiProperty } from '@nestjs/swagger';

/** `GET /v1/messages/:id/media-url`: a URL that serves the file without any header, until `expiresAt`. */
export class MediaUrlResponseDto {
  @ApiProperty({
    example: 'https://hub.example.com/v1/media/0b0f4c1e-8d1c-4b7e-9a57-0c2f7f4b9f10/content?expires=1767225600&signature=3q2-7w…',
    description: 'Signed (HMAC-SHA256), valid MEDIA_URL_TTL_SECONDS; answers like GET /v1/messages/:id/media, ranges included',
  })
  url: string;

  @ApiProperty({ example: '2026-01-01T00:00:00.000Z' })
  expiresAt: string;
}

/** The download state of one message's media (answer of `POST /v1/messages/:id/media/retry`). */
export class MediaStateResponseDto {
  @ApiProperty({ format: 'uuid', description: 'wa-hub media id' })
  id: string;

  @ApiProperty({ enum: ['pending', 'stored', 'failed', 'deleted'], example: 'pending' })
  state: string;

  @ApiProperty({ type: 'integer', example: 0, description: 'Attempts made so far' })
  attempts: number;

  @ApiProperty({ example: '2026-01-01T00:00:00.000Z', description: 'When the next attempt is due' })
  nextAttemptAt: string;
}

/** `POST /v1/media`: an uploaded file, to send with `POST /v1/messages` (`image|video|audio|document: {mediaId}`). */
export class MediaUploadResponseDto {
  @ApiProperty({
    format: 'uuid',
    example: '0b0f4c1e-8d1c-4b7e-9a57-0c2f7f4b9f10',
    description: 'wa-hub media id: `mediaId` in POST /v1/messages',
  })
  id: string;

  @ApiProperty({ example: 'image/jpeg', description: 'Sniffed from the bytes; the declared Content-Type when nothing is recognised' })
  mimeType: string;

  @ApiProperty({ type: 'integer', example: 48213, description: 'Bytes' })
  size: number;

  @ApiProperty({ example: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08', description: 'Hex SHA-256 of the bytes' })
  sha256: string;

  @ApiProperty({
    example: 'invoice.pdf',
    nullable: true,
    type: String,
    description: 'From the multipart part, ?filename= or Content-Disposition',
  })
  filename: string | null;
}
