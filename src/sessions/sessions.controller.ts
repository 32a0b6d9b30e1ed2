import { Body, Controller, Get, Param, Patch, Query, Req, Res } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { AuditService } from '../audit/audit.service';
import { ApiKeyAuth, apiKeyOf } from '../auth/api-key.guard';
import { ErrorResponseDto } from '../common/error-response.dto';
import { PageQueryDto } from '../common/page-query.dto';
import { ListSessionsQueryDto, SessionDetailResponseDto, SessionEventPageDto, SessionPageDto, UpdateSessionDto } from './session.dto';
import { SessionsService } from './sessions.service';

@ApiTags('sessions')
@ApiKeyAuth('read')
@Controller('v1/sessions')
export class SessionsController {
  constructor(
    private readonly sessions: SessionsService,
    private readonly audit: AuditService,
  ) {}

  /** Sessions of every provider with status flags and a summary; filters `status`, `provider`, `userId`. */
  @Get()
  @ApiOperation({ summary: 'List sessions' })
  @ApiOkResponse({ type: SessionPageDto })
  list(@Query() q: ListSessionsQueryDto, @Req() req: Request): Promise<SessionPageDto> {
    return this.sessions.list(q, apiKeyOf(req));
  }

  /** One session; `qrImage` is the live QR as a PNG data URL. */
  @Get(':id')
  @ApiOperation({ summary: 'Get a session' })
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
      { userId: updated.userId, ...(credentials !== undefined ? { credentials } : {}) },
    );
    return updated;
  }
}
