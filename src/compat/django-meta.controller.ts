import { Body, Controller, Get, HttpCode, Post, Query, Req, UseFilters } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { ApiKeyAuth, apiKeyOf } from '../auth/api-key.guard';
import { AppError } from '../common/app-error';
import { ContactsService } from '../contacts/contacts.service';
import { SendingService } from '../sending/sending.service';
import { ConversationsService } from '../conversations/conversations.service';
import { MESSAGE_TYPES } from '../domain/message';
import { MediaService } from '../media/media.service';
import { MessagesService } from '../messages/messages.service';
import { DjangoConversationDto, DjangoMarkReadDto, DjangoMarkReadResponseDto, DjangoMessageDto } from './django-meta.dto';
import { DJANGO_ERRORS } from './seed-error.filter';
import { toIso as iso } from '../common/sql-text';

/**
 * Seed s3 (Django on the Meta Cloud API): `GET /api/whatsapp/messages/?phone=&type=&limit=`,
 * `GET /api/whatsapp/conversations/`, `POST /api/whatsapp/mark-read/` with its field names. Lists answer plain
 * JSON arrays, as Django REST framework does without pagination; errors `{ "status": "error", "message" }`.
 * Messages carry the seed's media and location columns: `media_id` (the provider's), `media_url` (wa-hub's signed URL
 * of the downloaded file, valid MEDIA_URL_TTL_SECONDS, null until stored), `caption`, `latitude`, `longitude`.
 */
@ApiTags('compat: s3 Django/Meta')
@UseFilters(DJANGO_ERRORS)
@Controller('api/whatsapp')
export class DjangoMetaCompatController {
  constructor(
    private readonly messagesService: MessagesService,
    private readonly contacts: ContactsService,
    private readonly conversations: ConversationsService,
    private readonly sending: SendingService,
    private readonly media: MediaService,
  ) {}

  @Get('messages')
  @ApiKeyAuth('read')
  @ApiOperation({ summary: 'Messages, newest first (seed s3): phone, type, limit (default 100, at most 1000)' })
  @ApiQuery({ name: 'phone', required: false })
  @ApiQuery({ name: 'type', required: false, enum: MESSAGE_TYPES })
  @ApiQuery({ name: 'limit', required: false, example: 50 })
  @ApiOkResponse({ type: [DjangoMessageDto] })
  async messages(@Query() q: Record<string, unknown>, @Req() req: Request): Promise<DjangoMessageDto[]> {
    const phone = typeof q.phone === 'string' && q.phone ? await this.messagesService.requireChatPhone(q.phone) : undefined;
    let type: string | undefined;
    if (q.type !== undefined) {
      if (typeof q.type !== 'string' || !(MESSAGE_TYPES as readonly string[]).includes(q.type))
        throw AppError.badRequest(`type must be one of ${MESSAGE_TYPES.join(', ')}`);
      type = q.type;
    }
    const limit =
      q.limit === undefined
        ? 100
        : typeof q.limit === 'string' && /^\d{1,6}$/.test(q.limit)
          ? Math.min(Math.max(Number(q.limit), 1), 1000)
          : NaN;
    if (Number.isNaN(limit)) throw AppError.badRequest('limit must be a positive integer');
    // The seed's Message Types table: "audio: Voice messages, audio" (wa-hub keeps voice notes as their own type).
    const types = type === 'audio' ? ['audio', 'voice'] : type;
    const rows = await this.messagesService.recentSummaries({ phone, type: types }, limit, apiKeyOf(req));
    const origin = `${req.protocol}://${req.get('host')}`;
    const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
    return Promise.all(
      rows.map(async (r) => ({
        id: Number(r.id),
        message_id: r.external_id ?? null,
        from_number: r.direction === 'in' ? (r.sender ?? r.chat_id) : (r.sender ?? r.display_number ?? ''),
        from_name: r.direction === 'in' ? (r.contact_name ?? null) : null,
        phone_number: r.chat_id,
        message_type: r.type,
        text_body: r.text ?? null,
        caption: r.caption ?? null,
        // The provider's media id, as the seed stored Meta's; the file itself through media_url once downloaded.
        media_id: typeof r.media?.id === 'string' ? r.media.id : null,
        media_url: r.stored_media_id ? (await this.media.sign(r.stored_media_id, origin)).url : null,
        latitude: num(r.location?.latitude),
        longitude: num(r.location?.longitude),
        direction: r.direction,
        status: r.status,
        is_read: r.direction === 'out' || r.read_at !== null,
        timestamp: iso(r.provider_timestamp)!,
      })),
    );
  }

  @Get('conversations')
  @ApiKeyAuth('read')
  @ApiOperation({ summary: 'Conversations, most recent first (seed s3)' })
  @ApiOkResponse({ type: [DjangoConversationDto] })
  async list(@Req() req: Request): Promise<DjangoConversationDto[]> {
    const page = await this.conversations.list({ limit: 1000 }, apiKeyOf(req));
    return page.data.map((c) => ({
      phone_number: c.contact?.phone ?? c.chatId,
      contact_name: c.contact?.name ?? c.subject ?? null,
      message_count: c.messageCount,
      unread_count: c.unreadCount,
      last_message_at: c.lastMessageAt,
    }));
  }

  @Post('mark-read')
  @HttpCode(200)
  @ApiKeyAuth('send')
  @ApiOperation({ summary: "Mark a contact's conversations read (seed s3)" })
  @ApiOkResponse({ type: DjangoMarkReadResponseDto })
  async markRead(@Body() body: DjangoMarkReadDto, @Req() req: Request): Promise<DjangoMarkReadResponseDto> {
    const phone = this.contacts.phone(body.phone_number, 'phone_number');
    const ids = await this.conversations.idsOfChat(phone, apiKeyOf(req));
    if (ids.length === 0) throw AppError.notFound('Conversation');
    let marked = 0;
    for (const id of ids) marked += (await this.conversations.markRead(id, apiKeyOf(req))).markedRead;
    return { status: 'success', phone_number: phone, marked_read: marked };
  }
}
