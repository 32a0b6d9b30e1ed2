import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query, Req } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiCreatedResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { AuditService } from '../audit/audit.service';
import { ApiKeyAuth, apiKeyOf } from '../auth/api-key.guard';
import { ErrorResponseDto } from '../common/error-response.dto';
import { ApiErrors } from '../common/api-docs';
import {
  ContactPageDto,
  ContactResponseDto,
  CreateContactDto,
  ImportContactsResponseDto,
  ListContactsQueryDto,
  UpdateContactDto,
} from './contact.dto';
import { ContactsService } from './contacts.service';

/** The contact book. Reads need `read`; writes and imports `admin`. */
@ApiTags('contacts')
@Controller('v1/contacts')
export class ContactsController {
  constructor(
    private readonly contacts: ContactsService,
    private readonly audit: AuditService,
  ) {}

  @Post()
  @ApiKeyAuth('admin')
  @ApiOperation({ summary: 'Create a contact' })
  @ApiCreatedResponse({ type: ContactResponseDto })
  @ApiErrors({
    status: 409,
    description: 'A contact with that phone exists',
    examples: [{ code: 'CONFLICT', message: 'A contact with phone 6281234567890 already exists' }],
  })
  async create(@Body() dto: CreateContactDto, @Req() req: Request): Promise<ContactResponseDto> {
    const c = await this.contacts.create(dto);
    await this.audit.record(req, 'contact.created', { type: 'contact', id: c.id }, { phone: c.phone });
    return c;
  }

  /** CSV with a header row, or a JSON array; upsert by phone; up to 10,000 rows and more per request. */
  @Post('import')
  @HttpCode(200)
  @ApiKeyAuth('admin')
  @ApiOperation({ summary: 'Import contacts (CSV or JSON array)' })
  @ApiConsumes('text/csv', 'application/json')
  @ApiBody({
    schema: {
      oneOf: [
        { type: 'string', example: 'phone,name,email,tags\n+62 812-3456-7890,Budi,budi@example.com,vip;jakarta' },
        { type: 'array', items: { type: 'object' } },
      ],
    },
  })
  @ApiOkResponse({ type: ImportContactsResponseDto })
  async import(@Body() body: unknown, @Req() req: Request): Promise<ImportContactsResponseDto> {
    const result = await this.contacts.import(body, req.headers['content-type']);
    await this.audit.record(
      req,
      'contact.imported',
      { type: 'contact', id: '*' },
      { created: result.created, updated: result.updated, rejected: result.rejected },
    );
    return result;
  }

  @Get()
  @ApiKeyAuth('read')
  @ApiOperation({ summary: 'List contacts' })
  @ApiOkResponse({ type: ContactPageDto })
  list(@Query() q: ListContactsQueryDto, @Req() req: Request): Promise<ContactPageDto> {
    return this.contacts.list(q, apiKeyOf(req));
  }

  @Get(':id')
  @ApiKeyAuth('read')
  @ApiOperation({ summary: 'Get a contact' })
  @ApiOkResponse({ type: ContactResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  get(@Param('id') id: string, @Req() req: Request): Promise<ContactResponseDto> {
    return this.contacts.get(id, apiKeyOf(req));
  }

  @Patch(':id')
  @ApiKeyAuth('admin')
  @ApiOperation({ summary: 'Update a contact' })
  @ApiOkResponse({ type: ContactResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  @ApiErrors({
    status: 409,
    description: 'Another contact has that phone or lid',
    examples: [{ code: 'CONFLICT', message: 'Another contact has that phone or lid' }],
  })
  async update(@Param('id') id: string, @Body() dto: UpdateContactDto, @Req() req: Request): Promise<ContactResponseDto> {
    const c = await this.contacts.update(id, dto);
    await this.audit.record(req, 'contact.updated', { type: 'contact', id: c.id }, { fields: Object.keys(dto) });
    return c;
  }

  @Delete(':id')
  @HttpCode(200)
  @ApiKeyAuth('admin')
  @ApiOperation({ summary: 'Delete a contact' })
  @ApiOkResponse({ type: ContactResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  async delete(@Param('id') id: string, @Req() req: Request): Promise<ContactResponseDto> {
    const c = await this.contacts.delete(id);
    await this.audit.record(req, 'contact.deleted', { type: 'contact', id: c.id }, { phone: c.phone });
    return c;
  }
}
