import { Body, Controller, Delete, Get, Param, Put, Req } from '@nestjs/common';
import { ApiBadRequestResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { AuditService } from '../audit/audit.service';
import { ApiKeyAuth, apiKeyOf } from '../auth/api-key.guard';
import { ErrorResponseDto } from '../common/error-response.dto';
import { SessionDefaultDto, SessionDefaultListDto, SetSessionDefaultDto } from './session-defaults.dto';
import { SessionDefaultsService } from './session-defaults.service';

const PROVIDER_PARAM = { name: 'provider', example: 'wwebjs', description: 'Provider name: meta, wablas, wwebjs, baileys' };

/**
 * The default owner (seed s4 `userId`) per provider: sessions come from a provider's first webhook (or
 * POST /v1/sessions) without an owner; one default per provider owns all of them that have no `userId` of their
 * own, so seed s4's `?userId=` lists work without a PATCH per session. Admin keys not limited to sessions.
 */
@ApiTags('sessions')
@ApiKeyAuth('admin')
@Controller('v1/session-defaults')
export class SessionDefaultsController {
  constructor(
    private readonly defaults: SessionDefaultsService,
    private readonly audit: AuditService,
  ) {}

  /** Every provider that has a default owner, by name, with how many sessions inherit it. */
  @Get()
  @ApiOperation({ summary: 'List default session owners' })
  @ApiOkResponse({ type: SessionDefaultListDto })
  async list(): Promise<SessionDefaultListDto> {
    return { data: await this.defaults.list() };
  }

  /** One provider's default owner; 404 when it has none. */
  @Get(':provider')
  @ApiOperation({ summary: "Get a provider's default session owner" })
  @ApiParam(PROVIDER_PARAM)
  @ApiOkResponse({ type: SessionDefaultDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'Unknown provider' })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'The provider has no default owner' })
  get(@Param('provider') provider: string): Promise<SessionDefaultDto> {
    return this.defaults.get(provider);
  }

  /**
   * Sets (or replaces) the owner of the provider's sessions that have no `userId` of their own, now and later
   * (sessions created by a first webhook included): they answer it as `userId` with `userIdSource: inherited`
   * and are found by `?userId=` on GET /v1/sessions and seed s4's list. A session's own `userId` (PATCH
   * /v1/sessions/:id) always wins. Audited as `session_default.set`.
   */
  @Put(':provider')
  @ApiOperation({ summary: "Set a provider's default session owner" })
  @ApiParam(PROVIDER_PARAM)
  @ApiOkResponse({ type: SessionDefaultDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'Unknown provider, or `userId` missing, empty or longer than 128' })
  async set(@Param('provider') provider: string, @Body() body: SetSessionDefaultDto, @Req() req: Request): Promise<SessionDefaultDto> {
    const { value, previous } = await this.defaults.set(provider, body.userId, apiKeyOf(req));
    await this.audit.record(req, 'session_default.set', { type: 'provider', id: provider }, { userId: value.userId, previous });
    return value;
  }

  /**
   * Removes the provider's default owner: its sessions without an owner of their own then have none
   * (`userId: null`). Audited as `session_default.cleared`.
   */
  @Delete(':provider')
  @ApiOperation({ summary: "Clear a provider's default session owner" })
  @ApiParam(PROVIDER_PARAM)
  @ApiOkResponse({ type: SessionDefaultDto, description: 'The removed default' })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'Unknown provider' })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'The provider had no default owner' })
  async clear(@Param('provider') provider: string, @Req() req: Request): Promise<SessionDefaultDto> {
    const removed = await this.defaults.clear(provider, apiKeyOf(req));
    await this.audit.record(req, 'session_default.cleared', { type: 'provider', id: provider }, { userId: removed.userId });
    return removed;
  }
}
