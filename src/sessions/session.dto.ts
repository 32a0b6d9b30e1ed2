import { ApiProperty } from '@nestjs/swagger';
import { IsIn, IsObject, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { PageMetaDto } from '../common/page-meta.dto';
import { PageQueryDto } from '../common/page-query.dto';
import { SESSION_STATUSES } from '../domain/session-status';
import { PROVIDER_NAME_RE } from '../domain/provider';

export class ListSessionsQueryDto extends PageQueryDto {
  @ApiProperty({ required: false, enum: SESSION_STATUSES })
  @IsOptional()
  @IsIn(SESSION_STATUSES)
  status?: string;

  @IsOptional()
  @Matches(PROVIDER_NAME_RE, { message: 'provider must be a provider name such as meta' })
  provider?: string;

  /**
   * Owner id (seed s4 `userId`): sessions whose own owner it is, and sessions without an owner of their own whose
   * provider has it as default owner (PUT /v1/session-defaults/:provider).
   */
  @IsOptional()
  @IsString()
  @MaxLength(128)
  userId?: string;
}

export class UpdateSessionDto {
  /** Owner id in your system (seed s4 `userId`); null clears it (the session then inherits its provider's default owner, if any). */
  @IsOptional()
  @IsString()
  @MaxLength(128)
  userId?: string | null;

  /**
   * Replaces the session's sending credentials (null clears them) and releases a queue held for refused ones;
   * never returned or logged. The fields are the session's provider's (checked against its credentials class in
   * `src/providers/<name>/<name>.credentials.ts`): Meta `accessToken`, `graphBaseUrl`, `apiVersion`; Wablas
   * `baseUrl`, `token`, `secretKey`; wwebjs `baseUrl`, `apiKey`. Unknown fields → 400.
   */
  @IsOptional()
  @IsObject()
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' }, nullable: true, example: { accessToken: 'EAAG...' } })
  credentials?: Record<string, string> | null;
}

/** A session with seed s4's computed flags. Timestamps are ISO 8601 UTC. */
export class SessionResponseDto {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ example: 'wwebjs', description: 'Provider name' })
  provider: string;

  @ApiProperty({
    example: 'f8377d8d-a589-4242-9ba6-9486a04ef80c',
    description: 'Meta phone_number_id, Wablas deviceId, wwebjs/Baileys session id',
  })
  externalId: string;

  @ApiProperty({ nullable: true, example: '15550783881' })
  displayNumber: string | null;

  @ApiProperty({
    nullable: true,
    example: 'user-456',
    description:
      "The session's owner (seed s4 `userId`): its own (PATCH /v1/sessions/:id), or else its provider's default owner " +
      '(PUT /v1/session-defaults/:provider); null when it has neither. `userIdSource` says which',
  })
  userId: string | null;

  @ApiProperty({
    enum: ['own', 'inherited'],
    nullable: true,
    example: 'own',
    description: "`own`: set on the session; `inherited`: its provider's default owner; null when `userId` is null",
  })
  userIdSource: 'own' | 'inherited' | null;

  @ApiProperty({ enum: SESSION_STATUSES, example: 'qr' })
  status: string;

  @ApiProperty({ nullable: true, example: 'QR code generated, scan to connect' })
  message: string | null;

  @ApiProperty({ nullable: true, example: '2@frfbmy+MjqRPtWLgBRveIbQaIy34QvNBYRy1js4aoPWBQJcr0ZjxBkkubARvejHRoL4NbBWheqwv2w==,...' })
  qr: string | null;

  @ApiProperty({ nullable: true, example: '2026-11-21T10:00:00.000Z' })
  qrAt: string | null;

  @ApiProperty({ type: 'integer', nullable: true, example: 100 })
  loadingPercent: number | null;

  @ApiProperty({ nullable: true, example: '2026-11-21T10:00:05.000Z' })
  lastEventAt: string | null;

  @ApiProperty({ nullable: true, example: '2026-11-21T10:00:05.000Z', description: 'Last time it became connected' })
  connectedAt: string | null;

  @ApiProperty({ example: '2026-11-21T09:59:00.000Z' })
  createdAt: string;

  @ApiProperty({ example: '2026-11-21T10:00:05.000Z' })
  updatedAt: string;

  @ApiProperty({ description: 'status is connected' })
  isConnected: boolean;

  @ApiProperty({ description: 'status is qr and a QR is live' })
  needsQR: boolean;

  @ApiProperty({ description: 'status is connecting or loading' })
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
  @ApiProperty({
    nullable: true,
    example: 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAA...',
    description: 'The live QR as a PNG data URL',
  })
  qrImage: string | null;
}

export class SessionSummaryDto {
  @ApiProperty({ type: 'integer', example: 5 }) connected: number;
  @ApiProperty({ type: 'integer', example: 2 }) disconnected: number;
  @ApiProperty({ type: 'integer', example: 1 }) loading: number;
  @ApiProperty({ type: 'integer', example: 3 }) needsQR: number;
  @ApiProperty({ type: 'integer', example: 3 }) hasQR: number;
  @ApiProperty({ type: 'integer', example: 0 }) error: number;
  @ApiProperty({ type: 'integer', example: 11 }) total: number;
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
  @ApiProperty({ enum: SESSION_STATUSES, nullable: true, example: 'authenticated' }) fromStatus: string | null;
  @ApiProperty({ enum: SESSION_STATUSES, nullable: true, example: 'connected' }) toStatus: string | null;
  @ApiProperty({ nullable: true, example: 'WhatsApp session connected successfully' }) message: string | null;
  @ApiProperty({ nullable: true, example: null }) payload: Record<string, unknown> | null;
  @ApiProperty({ example: '2026-11-21T10:00:05.000Z' }) occurredAt: string;
}

export class SessionEventPageDto extends PageMetaDto {
  @ApiProperty({ type: [SessionEventResponseDto] })
  data: SessionEventResponseDto[];
}

/** `POST /v1/sessions`: a session wa-hub runs itself (providers with in-process sessions: `baileys`). */
export class CreateSessionDto {
  @ApiProperty({ example: 'baileys', description: 'Provider name; only providers wa-hub runs itself (baileys)' })
  @Matches(PROVIDER_NAME_RE, { message: 'provider must be a provider name such as baileys' })
  provider: string;

  /** The session's name, its id at the provider (`externalId`); letters, digits, `-` and `_`. Default: a uuid. */
  @ApiProperty({ required: false, example: 'sales-team' })
  @IsOptional()
  @Matches(/^[A-Za-z0-9_-]{1,64}$/, { message: 'name must be 1-64 letters, digits, - or _' })
  name?: string;

  /** Owner id in your system (seed s4 `userId`). */
  @ApiProperty({ required: false, example: 'user-42' })
  @IsOptional()
  @IsString()
  @MaxLength(128)
  userId?: string;
}

/** `POST /v1/sessions/:id/pairing-code`. */
export class RequestPairingCodeDto {
  /** The phone number to link, in international form (`+62 812 3456 7890`, digits, or with DEFAULT_PHONE_REGION). */
  @ApiProperty({ example: '+16505551111' })
  @IsString()
  @MaxLength(32)
  phoneNumber: string;
}

export class PairingCodeResponseDto {
  /** Type it on the phone: WhatsApp > Linked devices > Link a device > Link with phone number instead. */
  @ApiProperty({ example: 'ABCD1234' })
  code: string;
}
