import { ApiProperty } from '@nestjs/swagger';

/** Response shapes of seeds s1 and s4 (Next.js WhatsApp session webhooks), field for field. */

export class SeedSessionDto {
  @ApiProperty({ example: 'session-123' }) sessionId: string;
  @ApiProperty({ example: 'qr_generated' }) status: string;
  @ApiProperty({ nullable: true, example: 'QR code generated, scan to connect' }) message: string | null;
  @ApiProperty({ nullable: true, example: '1@ABC123...' }) qr: string | null;
  @ApiProperty({ example: 'user-456', description: 'The owner (PATCH /v1/sessions/:id); "" when the session has none' }) userId: string;
  @ApiProperty({ example: '2025-01-20T10:00:00.000Z' }) createdAt: string;
  @ApiProperty({ example: '2025-01-20T10:05:00.000Z' }) updatedAt: string;
  @ApiProperty() isConnected: boolean;
  @ApiProperty() needsQR: boolean;
  @ApiProperty() isLoading: boolean;
  @ApiProperty() hasError: boolean;
}

export class SeedSessionStatusDataDto extends SeedSessionDto {
  @ApiProperty({ nullable: true, example: 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAA...' }) qrImage: string | null;
}

export class SeedSessionStatusDto {
  @ApiProperty({ example: true }) success: boolean;
  @ApiProperty({ type: SeedSessionStatusDataDto }) data: SeedSessionStatusDataDto;
}

export class SeedSessionListItemDto extends SeedSessionDto {
  @ApiProperty() hasQR: boolean;
  @ApiProperty({ example: '2025-01-20T10:05:00.000Z' }) lastUpdated: string;
}

export class SeedSessionSummaryDto {
  @ApiProperty({ type: 'integer', example: 5 }) connected: number;
  @ApiProperty({ type: 'integer', example: 2 }) disconnected: number;
  @ApiProperty({ type: 'integer', example: 1 }) loading: number;
  @ApiProperty({ type: 'integer', example: 3 }) needsQR: number;
  @ApiProperty({ type: 'integer', example: 0 }) error: number;
  @ApiProperty({ type: 'integer', example: 11 }) total: number;
}

export class SeedSessionListDto {
  @ApiProperty({ example: true }) success: boolean;
  @ApiProperty({ type: [SeedSessionListItemDto] }) data: SeedSessionListItemDto[];
  @ApiProperty({ type: SeedSessionSummaryDto }) summary: SeedSessionSummaryDto;
  @ApiProperty({ example: '2025-01-20T10:10:00.000Z' }) timestamp: string;
}

export class SeedWebhookAckDto {
  @ApiProperty({ example: true }) success: boolean;
  @ApiProperty({ example: 'Webhook processed successfully' }) message: string;
  @ApiProperty({ example: 'qr', nullable: true }) event: string | null;
  @ApiProperty({ example: 'session-123', nullable: true }) sessionId: string | null;
}
