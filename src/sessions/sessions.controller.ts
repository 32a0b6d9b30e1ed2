import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query, Req, Res } from '@nestjs/common';
import {
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { AuditService } from '../audit/audit.service';
import { ApiKeyAuth, apiKeyOf } from '../auth/api-key.guard';
import { ErrorResponseDto } from '../common/error-response.dto';
import { ApiErrors } from '../common/api-docs';
import { PageQueryDto } from '../common/page-query.dto';
import {
  CreateSessionDto,
  ListSessionsQueryDto,
  PairingCodeResponseDto,
  RequestPairingCodeDto,
  SessionDetailResponseDto,
  SessionEventPageDto,
  SessionPageDto,
  UpdateSessionDto,
} from './session.dto';
import { AppConfig } from '../config/app-config';
import type { CountryCode } from 'libphonenumber-js';
import { SessionsService } from './sessions.service';

@ApiTags('sessions')
@ApiKeyAuth('read')
@Controller('v1/sessions')
export class SessionsController {
  constructor(
    private readonly sessions: SessionsService,
    private readonly audit: AuditService,
    private readonly config: AppConfig,
  ) {}

  /** Creates a session wa-hub runs itself (`provider: baileys`) and starts it: its QR appears on GET /v1/sessions/:id. */
  @Post()
  @ApiKeyAuth('admin')
  @ApiOperation({
    summary: 'Create and start a session (Baileys)',
    description:
      'Creates a Baileys session and starts it: scan its QR (`GET /v1/sessions/{id}/qr`) or request a pairing code. ' +
      'Sessions of the other providers are not created here: whatsapp-web.js, Meta Cloud API and Wablas sessions are created ' +
      'by their first webhook (`422 CAPABILITY_NOT_SUPPORTED` for them).',
  })
  @ApiCreatedResponse({ type: SessionDetailResponseDto })
  @ApiErrors(
    {
      status: 409,
      description: 'The name is taken',
      examples: [{ code: 'CONFLICT', message: 'A baileys session named sales-team exists already' }],
    },
    {
      status: 422,
      description: "The provider's sessions are not run by wa-hub (they appear with their first webhook)",
      examples: [
        { code: 'CAPABILITY_NOT_SUPPORTED', message: 'meta sessions are not run by wa-hub: they appear with their first webhook' },
      ],
    },
  )
  async create(@Body() body: CreateSessionDto, @Req() req: Request): Promise<SessionDetailResponseDto> {
    const created = await this.sessions.create(body);
    await this.audit.record(
      req,
      'session.created',
      { type: 'session', id: created.id },
      { provider: created.provider, externalId: created.externalId },
    );
    return created;
  }

  /** Starts a stopped session: from the stored login, or with a new QR when there is none. */
  @Post(':id/start')
  @HttpCode(200)
  @ApiKeyAuth('admin')
  @ApiOperation({ summary: 'Start a session (Baileys)' })
  @ApiOkResponse({ type: SessionDetailResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  @ApiUnprocessableEntityResponse({ type: ErrorResponseDto })
  start(@Param('id') id: string, @Req() req: Request): Promise<SessionDetailResponseDto> {
    return this.control(id, 'start', req);
  }

  /** Ends the connection and keeps the login: start resumes without a QR. */
  @Post(':id/stop')
  @HttpCode(200)
  @ApiKeyAuth('admin')
  @ApiOperation({ summary: 'Stop a session (Baileys)' })
  @ApiOkResponse({ type: SessionDetailResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  @ApiUnprocessableEntityResponse({ type: ErrorResponseDto })
  stop(@Param('id') id: string, @Req() req: Request): Promise<SessionDetailResponseDto> {
    return this.control(id, 'stop', req);
  }

  /** Stops and starts again with a new connection. */
  @Post(':id/restart')
  @HttpCode(200)
  @ApiKeyAuth('admin')
  @ApiOperation({ summary: 'Restart a session (Baileys)' })
  @ApiOkResponse({ type: SessionDetailResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  @ApiUnprocessableEntityResponse({ type: ErrorResponseDto })
  restart(@Param('id') id: string, @Req() req: Request): Promise<SessionDetailResponseDto> {
    return this.control(id, 'restart', req);
  }

  /** Unlinks the device at WhatsApp and wipes its login (status `logged_out`; a new QR is needed). */
  @Post(':id/logout')
  @HttpCode(200)
  @ApiKeyAuth('admin')
  @ApiOperation({ summary: 'Log a session out (Baileys)' })
  @ApiOkResponse({ type: SessionDetailResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  @ApiUnprocessableEntityResponse({ type: ErrorResponseDto })
  logout(@Param('id') id: string, @Req() req: Request): Promise<SessionDetailResponseDto> {
    return this.control(id, 'logout', req);
  }

  private async control(id: string, action: 'start' | 'stop' | 'restart' | 'logout', req: Request): Promise<SessionDetailResponseDto> {
    const session = await this.sessions.control(id, action, apiKeyOf(req));
    await this.audit.record(req, `session.${action}`, { type: 'session', id: session.id }, {});
    return session;
  }

  /** A pairing code for linking without a QR scan, for the phone number that will own the session. */
  @Post(':id/pairing-code')
  @HttpCode(200)
  @ApiKeyAuth('admin')
  @ApiOperation({ summary: 'Request a pairing code (Baileys)' })
  @ApiOkResponse({ type: PairingCodeResponseDto })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'The session is not waiting for a login' })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  pairingCode(@Param('id') id: string, @Body() body: RequestPairingCodeDto, @Req() req: Request): Promise<PairingCodeResponseDto> {
    return this.sessions.pairingCode(id, body.phoneNumber, this.config.DEFAULT_PHONE_REGION as CountryCode | undefined, apiKeyOf(req));
  }

  /** Logs the session out (when wa-hub runs it) and deletes it with its messages and history. */
  @Delete(':id')
  @HttpCode(204)
  @ApiKeyAuth('admin')
  @ApiOperation({ summary: 'Delete a session' })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  async delete(@Param('id') id: string, @Req() req: Request): Promise<void> {
    await this.sessions.delete(id, apiKeyOf(req));
    await this.audit.record(req, 'session.deleted', { type: 'session', id }, {});
  }

  /** Sessions of every provider with status flags and a summary; filters `status`, `provider`, `userId`. */
  @Get()
  @ApiOperation({
    summary: 'List sessions',
    description:
      'Where sessions come from: whatsapp-web.js, Meta Cloud API and Wablas sessions are created by their first webhook ' +
      '(the first delivery naming a new wwebjs session id, Meta phone number id or Wablas device); Baileys sessions are ' +
      "created with `POST /v1/sessions` and run by wa-hub. An admin sets a session's owner (`userId`) with " +
      '`PATCH /v1/sessions/{id}`, or a default owner per provider with `PUT /v1/session-defaults/{provider}`.',
  })
  @ApiOkResponse({ type: SessionPageDto })
  list(@Query() q: ListSessionsQueryDto, @Req() req: Request): Promise<SessionPageDto> {
    return this.sessions.list(q, apiKeyOf(req));
  }

  /** One session; `qrImage` is the live QR as a PNG data URL. */
  @Get(':id')
  @ApiOperation({
    summary: 'Get a session',
    description:
      'whatsapp-web.js, Meta Cloud API and Wablas sessions exist from their first webhook; Baileys sessions from `POST /v1/sessions`.',
  })
  @ApiOkResponse({ type: SessionDetailResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  get(@Param('id') id: string, @Req() req: Request): Promise<SessionDetailResponseDto> {
    return this.sessions.get(id, apiKeyOf(req));
  }

  /** The live QR as image/png; 404 when there is none. */
  @Get(':id/qr')
  @ApiOperation({ summary: 'QR code as PNG' })
  @ApiProduces('image/png')
  @ApiOkResponse({ description: 'PNG image', content: { 'image/png': { schema: { type: 'string', format: 'binary' } } } })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  async qr(@Param('id') id: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    const png = await this.sessions.qrPng(id, apiKeyOf(req));
    res.status(200).type('image/png').setHeader('Cache-Control', 'no-store');
    res.end(png);
  }

  /** Status transitions and recorded events (group joins, contact changes, ...), newest first. */
  @Get(':id/events')
  @ApiOperation({ summary: "A session's history" })
  @ApiOkResponse({ type: SessionEventPageDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  events(@Param('id') id: string, @Query() q: PageQueryDto, @Req() req: Request): Promise<SessionEventPageDto> {
    return this.sessions.events(id, q, apiKeyOf(req));
  }

  /** Sets the session's owner (`userId`, seed s4) and/or its sending credentials (never returned; releases a held queue). */
  @Patch(':id')
  @ApiKeyAuth('admin')
  @ApiOperation({ summary: 'Update a session (owner, credentials)' })
  @ApiOkResponse({ type: SessionDetailResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  async update(@Param('id') id: string, @Body() body: UpdateSessionDto, @Req() req: Request): Promise<SessionDetailResponseDto> {
    const updated = await this.sessions.update(id, body, apiKeyOf(req));
    // Which credential fields changed, never their values.
    const credentials = body.credentials === undefined ? undefined : body.credentials === null ? null : Object.keys(body.credentials);
    await this.audit.record(
      req,
      'session.updated',
      { type: 'session', id: updated.id },
      { userId: updated.userId, userIdSource: updated.userIdSource, ...(credentials !== undefined ? { credentials } : {}) },
    );
    return updated;
  }
}
