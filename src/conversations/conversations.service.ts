import { Injectable } from '@nestjs/common';
import type { AuthenticatedKey } from '../auth/api-keys.service';
import { AppError } from '../common/app-error';
import type { Page } from '../common/page-query.dto';
import { SendingService } from '../sending/sending.service';
import type { ConversationResponseDto, ListConversationsQueryDto, MarkReadResponseDto } from './conversation.dto';
import { toIso as iso, UUID_RE } from '../common/sql-text';
import { ConversationRow, ConversationsRepository } from './conversations.repository';

/** Conversation list (most recent first) and lookup. */
@Injectable()
export class ConversationsService {
  constructor(
    private readonly repo: ConversationsRepository,
    private readonly sending: SendingService,
  ) {}

  /**
   * Lists conversations by latest message, newest first.
   * @throws AppError 400 for a bad cursor.
   */
  async list(query: ListConversationsQueryDto, key?: AuthenticatedKey): Promise<Page<ConversationResponseDto>> {
    const page = await this.repo.list(query, query, key);
    return { ...page, data: page.data.map(toConversationDto) };
  }

  /**
   * Marks a conversation read: unread count to zero, its received inbound messages to `read` with `read_at`;
   * when that marked anything, the provider's read receipt is queued. Idempotent. Used by
   * `/v1/conversations/:id/read` and seed s3's mark-read.
   * @throws AppError 404 when it does not exist or the key may not see it.
   */
  async markRead(id: string, key?: AuthenticatedKey): Promise<MarkReadResponseDto> {
    await this.assertVisible(id, key);
    const marked = await this.repo.markRead(id);
    if (marked.marked > 0) await this.sending.queueReadReceipt(id);
    return { conversationId: id, markedRead: marked.marked, unreadCount: 0, readAt: new Date(marked.at).toISOString() };
  }

  /**
   * Checks a conversation exists and is visible to `key`.
   * @throws AppError 404 otherwise.
   */
  async assertVisible(id: string, key?: AuthenticatedKey): Promise<void> {
    if (!UUID_RE.test(id)) throw AppError.notFound('Conversation');
    if (!(await this.repo.isVisible(id, key))) throw AppError.notFound('Conversation');
  }

  /**
   * The ids of the conversations (one per session) with chat `chatId` (E.164 digits or group id) that `key` may see.
   * @returns possibly empty.
   */
  idsOfChat(chatId: string, key?: AuthenticatedKey): Promise<string[]> {
    return this.repo.idsByChat(chatId, key);
  }
}

function toConversationDto(r: ConversationRow): ConversationResponseDto {
  return {
    id: r.id,
    sessionId: r.session_id,
    provider: r.provider,
    chatId: r.chat_id,
    isGroup: r.is_group,
    subject: r.subject ?? null,
    contact: r.contact_phone ? { phone: r.contact_phone, name: r.contact_name ?? null } : null,
    lastMessageAt: iso(r.last_message_at),
    lastMessagePreview: r.last_message_preview ?? null,
    lastMessageDirection: r.last_message_direction ?? null,
    messageCount: Number(r.message_count),
    unreadCount: Number(r.unread_count),
    createdAt: iso(r.created_at)!,
  };
}
