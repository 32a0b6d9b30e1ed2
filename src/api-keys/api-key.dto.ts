import { ApiProperty } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, ArrayUnique, IsArray, IsIn, IsISO8601, IsOptional, IsString, IsUUID, Length } from 'class-validator';
import { PageMetaDto } from '../common/page-meta.dto';
import { SCOPES } from '../auth/api-key.entity';

export class CreateApiKeyDto {
  /** What the key is for. */
  @IsString()
  @Length(1, 100)
  name: string;

  /** `read` (GETs), `send` (sending, mark-read), `admin` (keys, contacts, sessions; implies the others). */
  @IsArray()
  @ArrayMinSize(1)
  @ArrayUnique()
  @IsIn(SCOPES, { each: true })
  @ApiProperty({ enum: SCOPES, isArray: true, example: ['read'] })
  scopes: ('read' | 'send' | 'admin')[];

  /** Limit the key to these sessions (wa-hub session ids); omitted = all sessions. */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(1000)
  @IsUUID('all', { each: true })
  sessionIds?: string[];

  /** When the key stops working (ISO 8601). */
  @IsOptional()
  @IsISO8601({ strict: true })
  expiresAt?: string;
}

/** A key as listed: never its secret. */
export class ApiKeyResponseDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ example: 'crm read-only' }) name: string;
  @ApiProperty({ example: 'wah_3kQ9xZ1a', description: 'First characters of the secret' }) prefix: string;
  @ApiProperty({ enum: SCOPES, isArray: true, example: ['read'] }) scopes: string[];
  @ApiProperty({ nullable: true, type: [String], example: null, description: 'null = all sessions' }) sessionIds: string[] | null;
  @ApiProperty({ example: '2026-11-21T10:00:00.000Z' }) createdAt: string;
  @ApiProperty({ nullable: true, example: null }) lastUsedAt: string | null;
  @ApiProperty({ nullable: true, example: null }) expiresAt: string | null;
  @ApiProperty({ nullable: true, example: null }) revokedAt: string | null;
}

export class CreatedApiKeyResponseDto extends ApiKeyResponseDto {
  @ApiProperty({ example: 'wah_3kQ9xZ1aQm3dT0k8W3y2nH7v5cJrLpE6sB1uYfA9gXo', description: 'The secret: shown once, store it now' })
  secret: string;
}

export class ApiKeyPageDto extends PageMetaDto {
  @ApiProperty({ type: [ApiKeyResponseDto] }) data: ApiKeyResponseDto[];
}

export class AuditEntryDto {
  @ApiProperty({ example: '7' }) id: string;
  @ApiProperty({ example: '2026-11-21T10:00:00.000Z' }) at: string;
  @ApiProperty({ nullable: true, format: 'uuid' }) actorKeyId: string | null;
  @ApiProperty({ nullable: true, example: 'wah_3kQ9xZ1a' }) actorKeyPrefix: string | null;
  @ApiProperty({ example: 'api_key.revoked' }) action: string;
  @ApiProperty({ nullable: true, example: 'api_key' }) targetType: string | null;
  @ApiProperty({ nullable: true, example: '5b0b3f0e-0a7c-4c43-9d3c-3c6f3f1f8d2a' }) targetId: string | null;
  @ApiProperty({ nullable: true, example: { name: 'crm read-only' } }) details: Record<string, unknown> | null;
  @ApiProperty({ nullable: true }) requestId: string | null;
  @ApiProperty({ nullable: true, example: '127.0.0.1' }) ip: string | null;
}

export class AuditPageDto extends PageMetaDto {
  @ApiProperty({ type: [AuditEntryDto] }) data: AuditEntryDto[];
}
