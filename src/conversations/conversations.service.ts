import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { AuthenticatedKey } from '../auth/api-keys.service';
import { AppError } from '../common/app-error';
import { keysetPage } from '../common/keyset-page';
import type { Page } from '../common/page-query.dto';
import { SqlWhere } from '../common/sql-where';
import { scopeToKey } from '../messages/messages.service';
import { SendingService } from '../sending/sending.service';
import type { ConversationResponseDto, ListConversationsQueryDto, MarkReadResponseDto } from './conversation.dto';
import { addNameOrNumberFilter, toIso as iso, UUID_RE } from '../common/sql-text';

// Conversations without messages sort last; the cursor uses epoch 0 for them, matching this expression.
const SORT_AT = `COALESCE(v.last_message_at, 'epoch'::timestamptz)`;

/** Conversation list (most recent first) and lookup. */
@Injectable()
export class ConversationsService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly sending: SendingService,
  ) {}

  /**
   * Lists conversations by latest message, newest first.
   * @throws AppError 400 for a bad cursor.
   */
  async list(query: ListConversationsQueryDto, key?: AuthenticatedKey): Promise<Page<ConversationResponseDto>> {
    const where = new SqlWhere();
    if (query.sessionId) where.add('v.session_id = ?', query.sessionId);
    if (query.provider) where.add('s.provider = ?', query.provider);
    if (query.unread === 'true') where.add('v.unread_count > 0');
    if (query.unread === 'false') where.add('v.unread_count = 0');
    if (query.from) where.add('v.last_message_at >= ?::timestamptz', query.from);
    if (query.to) where.add('v.last_message_at < ?::timestamptz', query.to);
    if (query.q?.trim()) addNameOrNumberFilter(where, `coalesce(c.name, c.profile_name, v.subject, '')`, 'v.chat_id', query.q.trim());
    scopeToKey(where, key, 'v.session_id');
    return keysetPage(this.db, {
      select: `SELECT v.*, s.provider, c.phone AS contact_phone, COALESCE(c.name, c.profile_name) AS contact_name`,
      from: `FROM conversations v JOIN sessions s ON s.id = v.session_id LEFT JOIN contacts c ON c.id = v.contact_id`,
      where,
      query,
      sortAt: SORT_AT,
      id: 'v.id',
      idType: 'uuid',
      sortValue: (r) => r.last_message_at,
      map: toConversationDto,
    });
  }

  /**
   * Marks a conversation read: unread count to zero, its received inbound messages to `read` with `read_at`;
   * when that marked anything, the provider's read receipt is queued. Idempotent. Used by
   * `/v1/conversations/:id/read` and seed s3's mark-read.
   * @throws AppError 404 when it does not exist or the key may not see it.
   */
  async markRead(id: string, key?: AuthenticatedKey): Promise<MarkReadResponseDto> {
    await this.assertVisible(id, key);
    const [marked] = await this.db.query(
      `WITH m AS (
         UPDATE messages SET status = 'read', status_at = now(), read_at = now()
         WHERE conversation_id = $1 AND direction = 'in' AND read_at IS NULL RETURNING 1
       ), v AS (UPDATE conversations SET unread_count = 0, updated_at = now() WHERE id = $1 RETURNING 1)
       SELECT (SELECT count(*) FROM m)::int AS n, now() AS at`,
      [id],
    );
    if (marked.n > 0) await this.sending.queueReadReceipt(id);
    return { conversationId: id, markedRead: marked.n, unreadCount: 0, readAt: new Date(marked.at).toISOString() };
  }

  /**
   * Checks a conversation exists and is visible to `key`.
   * @throws AppError 404 otherwise.
   */
  async assertVisible(id: string, key?: AuthenticatedKey): Promise<void> {
    if (!UUID_RE.test(id)) throw AppError.notFound('Conversation');
    const where = new SqlWhere().add('v.id = ?', id);
    scopeToKey(where, key, 'v.session_id');
    const rows = await this.db.query(`SELECT 1 FROM conversations v ${where}`, where.params);
    if (rows.length === 0) throw AppError.notFound('Conversation');
  }
}


function toConversationDto(r: Record<string, unknown>): ConversationResponseDto {
  return {
    id: r.id as string,
    sessionId: r.session_id as string,
    provider: r.provider as string,
    chatId: r.chat_id as string,
    isGroup: r.is_group as boolean,
    subject: (r.subject as string) ?? null,
    contact: r.contact_phone ? { phone: r.contact_phone as string, name: (r.contact_name as string) ?? null } : null,
    lastMessageAt: iso(r.last_message_at),
    lastMessagePreview: (r.last_message_preview as string) ?? null,
    lastMessageDirection: (r.last_message_direction as string) ?? null,
    messageCount: Number(r.message_count),
    unreadCount: Number(r.unread_count),
    createdAt: iso(r.created_at)!,
  };
}
