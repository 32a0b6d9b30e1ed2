import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { AuthenticatedKey } from '../api-keys/api-keys.service';
import { AppError } from '../common/app-error';
import { decodeCursor, encodeCursor, Page } from '../common/page-query.dto';
import { SqlWhere } from '../common/sql-where';
import { scopeToKey } from '../messages/messages.service';
import type { ConversationResponseDto, ListConversationsQueryDto } from './conversation.dto';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Conversations without messages sort last; the cursor uses epoch 0 for them, matching this expression.
const SORT_AT = `COALESCE(v.last_message_at, 'epoch'::timestamptz)`;

/** Conversation list (most recent first) and lookup. */
@Injectable()
export class ConversationsService {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * Lists conversations by latest message, newest first.
   * @throws AppError 400 for a bad cursor.
   */
  async list(query: ListConversationsQueryDto, key?: AuthenticatedKey): Promise<Page<ConversationResponseDto>> {
    const limit = query.limit ?? 100;
    const where = new SqlWhere();
    if (query.sessionId) where.add('v.session_id = ?', query.sessionId);
    if (query.provider) where.add('s.provider = ?', query.provider);
    scopeToKey(where, key, 'v.session_id');
    const from = `FROM conversations v JOIN sessions s ON s.id = v.session_id LEFT JOIN contacts c ON c.id = v.contact_id`;
    const total = Number((await this.db.query(`SELECT count(*)::bigint AS n ${from} ${where}`, where.params))[0].n);
    let offset = query.offset ?? 0;
    if (query.cursor) {
      const pos = decodeCursor(query.cursor);
      where.add(`(${SORT_AT}, v.id) < (?::timestamptz, ?::uuid)`, pos.at, pos.id);
      offset = 0;
    }
    const rows = (await this.db.query(
      `SELECT v.*, s.provider, c.phone AS contact_phone, COALESCE(c.name, c.profile_name) AS contact_name ${from} ${where}
       ORDER BY ${SORT_AT} DESC, v.id DESC LIMIT ${where.param(limit + 1)} OFFSET ${where.param(offset)}`,
      where.params,
    )) as Record<string, unknown>[];
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      data: page.map(toConversationDto),
      total,
      limit,
      offset,
      nextCursor:
        rows.length > limit && last
          ? encodeCursor({ at: new Date((last.last_message_at as string) ?? 0).toISOString(), id: String(last.id) })
          : null,
    };
  }

  /**
   * Checks a conversation exists and is visible to `key`.
   * @throws AppError 404 otherwise.
   */
  async assertVisible(id: string, key?: AuthenticatedKey): Promise<void> {
    if (!UUID.test(id)) throw AppError.notFound('Conversation');
    const where = new SqlWhere().add('v.id = ?', id);
    scopeToKey(where, key, 'v.session_id');
    const rows = await this.db.query(`SELECT 1 FROM conversations v ${where}`, where.params);
    if (rows.length === 0) throw AppError.notFound('Conversation');
  }
}

const iso = (v: unknown): string | null => (v ? new Date(v as string).toISOString() : null);

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
