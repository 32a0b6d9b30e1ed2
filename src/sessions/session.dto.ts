import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsOptional, IsString, IsUrl, Matches, MaxLength, ValidateNested } from 'class-validator';
import { PageMetaDto } from '../common/page-meta.dto';
import { PageQueryDto } from '../common/page-query.dto';
import { SESSION_STATUSES } from '../webhooks/ingest/inbound-event';
import { PROVIDERS } from './session.entity';

export class ListSessionsQueryDto extends PageQueryDto {
  @IsOptional()
  @IsIn([...SESSION_STATUSES, 'unknown'])
  status?: string;

  @IsOptional()
  @IsIn(PROVIDERS)
  provider?: string;

  /** Owner id (seed s4 `userId`). */
  @IsOptional()
  @IsString()
  @MaxLength(128)
  userId?: string;
}

/**
 * Provider credentials of one session, over the environment's defaults; never returned by the API or logged.
 * Meta: `accessToken`, `graphBaseUrl`, `apiVersion`; Wablas: `baseUrl`, `token`, `secretKey`; wwebjs: `baseUrl`, `apiKey`.
 */
export class SessionCredentialsDto {
  @IsOptional() @IsString() @MaxLength(2048) accessToken?: string;
  @IsOptional() @IsUrl({ protocols: ['http', 'https'], require_protocol: true, require_tld: false }) @MaxLength(500) graphBaseUrl?: string;
  @IsOptional() @Matches(/^v\d+\.\d+$/) apiVersion?: string;
  @IsOptional() @IsUrl({ protocols: ['http', 'https'], require_protocol: true, require_tld: false }) @MaxLength(500) baseUrl?: string;
  @IsOptional() @IsString() @MaxLength(500) token?: string;
  @IsOptional() @IsString() @MaxLength(500) secretKey?: string;
  @IsOptional() @IsString() @MaxLength(500) apiKey?: string;
}

export class UpdateSessionDto {
  /** Owner id in your system (seed s4 `userId`); null clears it. */
  @IsOptional()
  @IsString()
  @MaxLength(128)
  userId?: string | null;

  /** Replaces the session's sending credentials (null clears them) and releases a queue held for refused ones. */
  @IsOptional()
  @ValidateNested()
  @Type(() => SessionCredentialsDto)
  credentials?: SessionCredentialsDto | null;
}

/** A session with seed s4's computed flags. Timestamps are ISO 8601 UTC. */
export class SessionResponseDto {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ enum: PROVIDERS, example: 'wwebjs' })
  provider: string;

  @ApiProperty({ example: 'f8377d8d-a589-4242-9ba6-9486a04ef80c', description: 'Meta phone_number_id, Wablas deviceId, wwebjs/Baileys session id' })
  externalId: string;

  @ApiProperty({ nullable: true, example: '15550783881' })
  displayNumber: string | null;

  @ApiProperty({ nullable: true, example: 'user-456' })
  userId: string | null;

  @ApiProperty({ enum: [...SESSION_STATUSES, 'unknown'], example: 'qr_generated' })
  status: string;

  @ApiProperty({ nullable: true, example: 'QR code generated, scan to connect' })
  message: string | null;

  @ApiProperty({ nullable: true, example: '2@frfbmy+MjqRPtWLgBRveIbQaIy34QvNBYRy1js4aoPWBQJcr0ZjxBkkubARvejHRoL4NbBWheqwv2w==,...' })
  qr: string | null;

  @ApiProperty({ nullable: true, example: '2026-11-21T10:00:00.000Z' })
  qrAt: string | null;

  @ApiProperty({ nullable: true, example: 100 })
  loadingPercent: number | null;

  @ApiProperty({ nullable: true, example: '2026-11-21T10:00:05.000Z' })
  lastEventAt: string | null;

  @ApiProperty({ nullable: true, example: '2026-11-21T10:00:05.000Z', description: 'Last time it became connected' })
  connectedAt: string | null;

  @ApiProperty({ example: '2026-11-21T09:59:00.000Z' })
  createdAt: string;

  @ApiProperty({ example: '2026-11-21T10:00:05.000Z' })
  updatedAt: string;

  @ApiProperty({ description: 'status is session_connected' })
  isConnected: boolean;

  @ApiProperty({ description: 'status is qr_generated and a QR is live' })
  needsQR: boolean;

  @ApiProperty({ description: 'status is loading or connecting' })
  isLoading: boolean;

  @ApiProperty({ description: 'status is auth_failure or error' })
  hasError: boolean;

  @ApiProperty({ description: 'a QR string is stored' })
  hasQR: boolean;

  /** Sending credentials are set on the session (values are never returned). */
  hasCredentials: boolean;

  /** The provider refused the credentials; queued messages wait until PATCH sets new ones. */
  sendHeld: boolean;
}

export class SessionDetailResponseDto extends SessionResponseDto {
  @ApiProperty({ nullable: true, example: 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAA...', description: 'The live QR as a PNG data URL' })
  qrImage: string | null;
}

export class SessionSummaryDto {
  @ApiProperty({ example: 5 }) connected: number;
  @ApiProperty({ example: 2 }) disconnected: number;
  @ApiProperty({ example: 1 }) loading: number;
  @ApiProperty({ example: 3 }) needsQR: number;
  @ApiProperty({ example: 3 }) hasQR: number;
  @ApiProperty({ example: 0 }) error: number;
  @ApiProperty({ example: 11 }) total: number;
}

export class SessionPageDto extends PageMetaDto {
  @ApiProperty({ type: [SessionResponseDto] })
  data: SessionResponseDto[];

  /** Counts over every session matching the filters (not only this page). */
  @ApiProperty({ type: SessionSummaryDto })
  summary: SessionSummaryDto;
}

export class SessionEventResponseDto {
  @ApiProperty({ example: '12' }) id: string;
  @ApiProperty({ example: 'ready' }) event: string;
  @ApiProperty({ nullable: true, example: 'authenticated' }) fromStatus: string | null;
  @ApiProperty({ nullable: true, example: 'session_connected' }) toStatus: string | null;
  @ApiProperty({ nullable: true, example: 'WhatsApp session connected successfully' }) message: string | null;
  @ApiProperty({ nullable: true, example: null }) payload: Record<string, unknown> | null;
  @ApiProperty({ example: '2026-11-21T10:00:05.000Z' }) occurredAt: string;
}

export class SessionEventPageDto extends PageMetaDto {
  @ApiProperty({ type: [SessionEventResponseDto] })
  data: SessionEventResponseDto[];
}
