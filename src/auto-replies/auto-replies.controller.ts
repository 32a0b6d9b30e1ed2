import { Body, Controller, Delete, Get, Param, Patch, Post, Req } from '@nestjs/common';
import { ApiCreatedResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { AuditService } from '../audit/audit.service';
import { ApiKeyAuth } from '../auth/api-key.guard';
import { ErrorResponseDto } from '../common/error-response.dto';
import { AutoRepliesService } from './auto-replies.service';
import { AutoReplyListDto, AutoReplyResponseDto, CreateAutoReplyDto, UpdateAutoReplyDto } from './auto-reply.dto';

/** Auto-reply rules (admin). Seed s2's ping → pong ships as a disabled rule: PATCH `{ "enabled": true }` turns it on. */
@ApiTags('auto-replies')
@ApiKeyAuth('admin')
@Controller('v1/auto-replies')
export class AutoRepliesController {
  constructor(
    private readonly rules: AutoRepliesService,
    private readonly audit: AuditService,
  ) {}

  @Post()
  @ApiOperation({ summary: 'Create a rule' })
  @ApiCreatedResponse({ type: AutoReplyResponseDto })
  async create(@Body() dto: CreateAutoReplyDto, @Req() req: Request): Promise<AutoReplyResponseDto> {
    const rule = await this.rules.create(dto);
    await this.audit.record(req, 'auto_reply.created', { type: 'auto_reply', id: rule.id }, { name: rule.name });
    return rule;
  }

  @Get()
  @ApiOperation({ summary: 'List rules, highest priority first' })
  @ApiOkResponse({ type: AutoReplyListDto })
  async list(): Promise<AutoReplyListDto> {
    const data = await this.rules.list();
    return { data, total: data.length, totalExact: true, limit: data.length, offset: 0, nextCursor: null };
  }

  @Get(':id')
  @ApiOperation({ summary: 'Get a rule' })
  @ApiOkResponse({ type: AutoReplyResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  get(@Param('id') id: string): Promise<AutoReplyResponseDto> {
    return this.rules.get(id);
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Change a rule (e.g. enable it)' })
  @ApiOkResponse({ type: AutoReplyResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  async update(@Param('id') id: string, @Body() dto: UpdateAutoReplyDto, @Req() req: Request): Promise<AutoReplyResponseDto> {
    const rule = await this.rules.update(id, dto);
    await this.audit.record(req, 'auto_reply.updated', { type: 'auto_reply', id: rule.id }, { enabled: rule.enabled });
    return rule;
  }

  @Delete(':id')
  @ApiOperation({ summary: 'Delete a rule' })
  @ApiOkResponse({ type: AutoReplyResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  async delete(@Param('id') id: string, @Req() req: Request): Promise<AutoReplyResponseDto> {
    const rule = await this.rules.delete(id);
    await this.audit.record(req, 'auto_reply.deleted', { type: 'auto_reply', id: rule.id }, { name: rule.name });
    return rule;
  }
}
