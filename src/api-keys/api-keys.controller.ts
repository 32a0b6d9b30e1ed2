import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Req } from '@nestjs/common';
import { ApiCreatedResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { AuditService } from '../audit/audit.service';
import { ApiKeyAuth } from '../auth/api-key.guard';
import { AppError } from '../common/app-error';
import { ErrorResponseDto } from '../common/error-response.dto';
import { PageQueryDto } from '../common/page-query.dto';
import { ApiKeyEntity } from '../auth/api-key.entity';
import { ApiKeyPageDto, ApiKeyResponseDto, AuditPageDto, CreateApiKeyDto, CreatedApiKeyResponseDto } from './api-key.dto';
import { ApiKeysService } from '../auth/api-keys.service';

/** API keys and the audit log (admin scope). */
@ApiTags('api-keys')
@ApiKeyAuth('admin')
@Controller('v1')
export class ApiKeysController {
  constructor(
    private readonly keys: ApiKeysService,
    private readonly audit: AuditService,
  ) {}

  /** Creates a key; the secret (prefix + 256 random bits) is in this answer only. */
  @Post('api-keys')
  @ApiOperation({ summary: 'Create an API key' })
  @ApiCreatedResponse({ type: CreatedApiKeyResponseDto })
  async create(@Body() dto: CreateApiKeyDto, @Req() req: Request): Promise<CreatedApiKeyResponseDto> {
    const expiresAt = dto.expiresAt ? new Date(dto.expiresAt) : null;
    if (expiresAt && expiresAt.getTime() <= Date.now())
      throw AppError.badRequest('expiresAt must be in the future', [{ field: 'expiresAt', errors: ['must be in the future'] }]);
    const { key, secret } = await this.keys.create(dto.name, dto.scopes, dto.sessionIds ?? null, expiresAt);
    await this.audit.record(
      req,
      'api_key.created',
      { type: 'api_key', id: key.id },
      { name: key.name, scopes: key.scopes, sessionIds: key.sessionIds, prefix: key.prefix },
    );
    return { ...toDto(key), secret };
  }

  @Get('api-keys')
  @ApiOperation({ summary: 'List API keys' })
  @ApiOkResponse({ type: ApiKeyPageDto })
  async list(): Promise<ApiKeyPageDto> {
    const data = (await this.keys.list()).map(toDto);
    return { data, total: data.length, totalExact: true, limit: data.length, offset: 0, nextCursor: null };
  }

  /** Revokes a key at once. */
  @Delete('api-keys/:id')
  @HttpCode(200)
  @ApiOperation({ summary: 'Revoke an API key' })
  @ApiOkResponse({ type: ApiKeyResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  async revoke(@Param('id') id: string, @Req() req: Request): Promise<ApiKeyResponseDto> {
    const key = await this.keys.revoke(id);
    if (!key) throw AppError.notFound('API key');
    await this.audit.record(req, 'api_key.revoked', { type: 'api_key', id: key.id }, { name: key.name, prefix: key.prefix });
    return toDto(key);
  }

  /** Admin actions, newest first. */
  @Get('audit-log')
  @ApiOperation({ summary: 'Audit log' })
  @ApiOkResponse({ type: AuditPageDto })
  auditLog(@Query() q: PageQueryDto): Promise<AuditPageDto> {
    return this.audit.list(q);
  }
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

function toDto(k: ApiKeyEntity): ApiKeyResponseDto {
  return {
    id: k.id,
    name: k.name,
    prefix: k.prefix,
    scopes: k.scopes,
    sessionIds: k.sessionIds,
    createdAt: k.createdAt.toISOString(),
    lastUsedAt: iso(k.lastUsedAt),
    expiresAt: iso(k.expiresAt),
    revokedAt: iso(k.revokedAt),
  };
}
