import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { AuthenticatedKey } from '../auth/api-keys.service';
import { AppError } from '../common/app-error';
import { keysetPage } from '../common/keyset-page';
import type { Page } from '../common/page-query.dto';
import type { CountryCode } from 'libphonenumber-js';
import { normalizePhone } from '../common/phone';
import { AppConfig } from '../config/app-config';
import { SqlWhere } from '../common/sql-where';
import type { ListMessagesQueryDto, MessageResponseDto, MessageWithRawResponseDto } from './message.dto';
import { likeContains, toIso as iso } from '../common/sql-text';

const SELECT = `
  SELECT m.id, s.provider, m.session_id, m.conversation_id, m.external_id, m.direction, m.type, m.chat_id,
    m.sender, m.sender_name, c.phone AS contact_phone, COALESCE(c.name, c.profile_name) AS contact_name,
    m.text, m.caption, m.media, m.location, m.context, m.reply_to_external_id, m.payload, m.status, m.status_at,
    m.error_code, m.error_title, m.error_detail, m.provider_timestamp, m.created_at, m.read_at`;
const FROM = `FROM messages m JOIN sessions s ON s.id = m.session_id LEFT JOIN contacts c ON c.id = m.contact_id`;

type Row = Record<string, unknown> & { id: string; provider_timestamp: Date };

/** Reads of the message store: history with filters and keyset pagination, single messages. */
@Injectable()
export class MessagesService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly config: AppConfig,
  ) {}

  /**
   * Lists messages newest first (provider timestamp, then id).
   * @param key the caller; a key limited to sessions sees only theirs.
   * @returns a page; `nextCursor` continues after its last row (null on the last page); `total` counts all matches.
   * @throws AppError 400 for an unparseable `phone` or `cursor`.
   */
  async list(query: ListMessagesQueryDto, key?: AuthenticatedKey): Promise<Page<MessageResponseDto>> {
    const phone = this.phoneOf(query);
    return keysetPage(this.db, {
      select: SELECT,
      from: FROM,
      where: this.filters(query, phone, key),
      query,
      total: this.counterTotal(query, phone, key),
      sortAt: 'm.provider_timestamp',
      id: 'm.id',
      idType: 'bigint',
      sortValue: (r) => r.provider_timestamp,
      map: (r) => toMessageDto(r as Row),
    });
  }

  /**
   * One message with its raw provider object.
   * @throws AppError 404 when it does not exist or the key may not see its session.
   */
  async get(id: string, key?: AuthenticatedKey): Promise<MessageWithRawResponseDto> {
    if (!/^\d{1,18}$/.test(id)) throw AppError.notFound('Message');
    const where = new SqlWhere().add('m.id = ?', id);
    scopeToKey(where, key);
    const rows = (await this.db.query(`${SELECT}, m.raw ${FROM} ${where}`, where.params)) as Row[];
    if (rows.length === 0) throw AppError.notFound('Message');
    return { ...toMessageDto(rows[0]), raw: rows[0].raw };
  }

  /** Exact total from the conversations' counters when the filters select whole conversations (see below). */
  private counterTotal(q: ListMessagesQueryDto, phone: string | undefined, key?: AuthenticatedKey): (() => Promise<number>) | undefined {
    if (q.q?.trim() || q.direction || q.type || q.status || q.from || q.to) return undefined;
    return () => countFromConversations(this.db, { phone, sessionId: q.sessionId, conversationId: q.conversationId, provider: q.provider }, key);
  }

  /** @throws AppError 400 for an unparseable `phone`. */
  private phoneOf(q: ListMessagesQueryDto): string | undefined {
    if (q.phone === undefined) return undefined;
    const phone = normalizePhone(q.phone, this.config.DEFAULT_PHONE_REGION as CountryCode | undefined);
    if (!phone) throw AppError.badRequest('phone is not a valid phone number', [{ field: 'phone', errors: ['invalid phone number'] }]);
    return phone;
  }

  private filters(q: ListMessagesQueryDto, phone: string | undefined, key?: AuthenticatedKey): SqlWhere {
    const where = new SqlWhere();
    if (phone !== undefined) where.add(CHAT_FILTER, phone);
    if (q.q !== undefined && q.q.trim() !== '') {
      // Served by ix_messages_search (trigram GIN over the folded text); LIKE wildcards in the input are literal.
      where.add(`wa_fold(coalesce(m.text, '') || ' ' || coalesce(m.caption, '')) LIKE wa_fold(?)`, likeContains(q.q.trim()));
    }
    if (q.sessionId) where.add('m.session_id = ?', q.sessionId);
    if (q.conversationId) where.add('m.conversation_id = ?', q.conversationId);
    if (q.direction) where.add('m.direction = ?', q.direction);
    if (q.type) where.add('m.type = ?', q.type);
    if (q.status) where.add('m.status = ?', q.status);
    if (q.provider) where.add('s.provider = ?', q.provider);
    if (q.from) where.add('m.provider_timestamp >= ?::timestamptz', q.from);
    if (q.to) where.add('m.provider_timestamp < ?::timestamptz', q.to);
    scopeToKey(where, key);
    return where;
  }
}

/**
 * Condition on `m` (messages) for one chat (contact E.164 digits or group id), through its conversations: that
 * uses ix_messages_conversation_recent, so messages need no chat_id index of their own.
 */
export const CHAT_FILTER = 'm.conversation_id IN (SELECT v.id FROM conversations v WHERE v.chat_id = ?)';

/**
 * The number of messages of the conversations matching `f` (E.164 digits or group id, session, conversation,
 * provider), from the conversations' message counters (maintained on every message insert): counting a million
 * rows takes longer than a page should, summing 10,000 counters does not.
 */
export async function countFromConversations(
  db: DataSource,
  f: { phone?: string; sessionId?: string; conversationId?: string; provider?: string },
  key?: AuthenticatedKey,
): Promise<number> {
  const w = new SqlWhere();
  if (f.phone) w.add('v.chat_id = ?', f.phone);
  if (f.sessionId) w.add('v.session_id = ?', f.sessionId);
  if (f.conversationId) w.add('v.id = ?', f.conversationId);
  if (f.provider) w.add('s.provider = ?', f.provider);
  scopeToKey(w, key, 'v.session_id');
  return Number((await db.query(`SELECT coalesce(sum(v.message_count), 0)::bigint AS n FROM conversations v JOIN sessions s ON s.id = v.session_id ${w}`, w.params))[0].n);
}

/** Limits a query on `m` (messages) to the sessions a key may see. */
export function scopeToKey(where: SqlWhere, key: AuthenticatedKey | undefined, column = 'm.session_id'): void {
  if (key?.sessionIds) where.add(`${column} = ANY(?::uuid[])`, key.sessionIds);
}


export function toMessageDto(r: Row): MessageResponseDto {
  return {
    id: String(r.id),
    provider: r.provider as string,
    sessionId: r.session_id as string,
    conversationId: r.conversation_id as string,
    externalId: (r.external_id as string) ?? null,
    direction: r.direction as 'in' | 'out',
    type: r.type as string,
    chatId: r.chat_id as string,
    contact: r.contact_phone ? { phone: r.contact_phone as string, name: (r.contact_name as string) ?? null } : null,
    sender: (r.sender as string) ?? null,
    senderName: (r.direction === 'in' ? ((r.contact_name as string) ?? (r.sender_name as string)) : (r.sender_name as string)) ?? null,
    text: (r.text as string) ?? null,
    caption: (r.caption as string) ?? null,
    media: (r.media as Record<string, unknown>) ?? null,
    location: (r.location as Record<string, unknown>) ?? null,
    context: (r.context as Record<string, unknown>) ?? null,
    replyToExternalId: (r.reply_to_external_id as string) ?? null,
    payload: (r.payload as Record<string, unknown>) ?? null,
    status: r.status as string,
    statusAt: iso(r.status_at),
    error: r.error_code || r.error_title ? { code: (r.error_code as string) ?? null, title: (r.error_title as string) ?? null, detail: (r.error_detail as string) ?? null } : null,
    timestamp: iso(r.provider_timestamp)!,
    createdAt: iso(r.created_at)!,
    readAt: iso(r.read_at),
  };
}
