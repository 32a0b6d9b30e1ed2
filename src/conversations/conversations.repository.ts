import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { AuthenticatedKey } from '../auth/api-keys.service';
import { keysetPage } from '../common/keyset-page';
import type { Page, PageQueryDto } from '../common/page-query.dto';
import { addNameOrNumberFilter } from '../common/sql-text';
import { SqlWhere } from '../common/sql-where';
import { scopeToKey } from '../messages/messages.repository';

/**
 * A conversation as listed: every `conversations` column (migration InitialSchema) plus its session's provider and
 * its contact's number and book name. `timestamptz` comes back as Date, `integer` as number.
 */
export interface ConversationRow {
  id: string;
  session_id: string;
  /** Contact E.164 digits, group id, or a `@lid` not yet linked to a number. */
  chat_id: string;
  is_group: boolean;
  contact_id: string | null;
  subject: string | null;
  last_message_at: Date | null;
  last_message_preview: string | null;
  last_message_direction: string | null;
  message_count: number;
  unread_count: number;
  created_at: Date;
  updated_at: Date;
  /** sessions.provider. */
  provider: string;
  /** contacts.phone of the linked contact, null without one. */
  contact_phone: string | null;
  /** The contact's book name, else its profile name; null without either. */
  contact_name: string | null;
}

/** Filters of {@link ConversationsRepository.list}; all optional, combined with AND. */
export interface ConversationFilter {
  sessionId?: string;
  provider?: string;
  /** `'true'`: with unread messages; `'false'`: without. */
  unread?: string;
  /** ISO 8601; last message at or after. */
  from?: string;
  /** ISO 8601; last message before. */
  to?: string;
  /** Name (contact or group subject, accent/case-insensitive) or chat digits contain this; blank means no filter. */
  q?: string;
}

// Conversations without messages sort last; the cursor uses epoch 0 for them, matching this expression.
const SORT_AT = `COALESCE(v.last_message_at, 'epoch'::timestamptz)`;

/** The SQL of conversations (table conversations, with sessions and contacts; mark-read also updates messages). */
@Injectable()
export class ConversationsRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * One page of conversations matching `f` and visible to `key`, by latest message, newest first (those without
   * messages last); `total` counted up to COUNT_CAP (see keysetPage).
   * @returns rows as {@link ConversationRow}; `nextCursor` null on the last page.
   * @throws AppError 400 for a cursor that is not ours; the database's error otherwise.
   */
  list(f: ConversationFilter, page: PageQueryDto, key?: AuthenticatedKey): Promise<Page<ConversationRow>> {
    const where = new SqlWhere();
    if (f.sessionId) where.add('v.session_id = ?', f.sessionId);
    if (f.provider) where.add('s.provider = ?', f.provider);
    if (f.unread === 'true') where.add('v.unread_count > 0');
    if (f.unread === 'false') where.add('v.unread_count = 0');
    if (f.from) where.add('v.last_message_at >= ?::timestamptz', f.from);
    if (f.to) where.add('v.last_message_at < ?::timestamptz', f.to);
    if (f.q?.trim()) addNameOrNumberFilter(where, `coalesce(c.name, c.profile_name, v.subject, '')`, 'v.chat_id', f.q.trim());
    scopeToKey(where, key, 'v.session_id');
    return keysetPage(this.db, {
      select: `SELECT v.*, s.provider, c.phone AS contact_phone, COALESCE(c.name, c.profile_name) AS contact_name`,
      from: `FROM conversations v JOIN sessions s ON s.id = v.session_id LEFT JOIN contacts c ON c.id = v.contact_id`,
      where,
      query: page,
      sortAt: SORT_AT,
      id: 'v.id',
      idType: 'uuid',
      sortValue: (r) => r.last_message_at,
      map: (r) => r as unknown as ConversationRow,
    });
  }

  /**
   * In one statement: the conversation's inbound messages not yet read become `read` (status_at and read_at now),
   * its unread count becomes 0. Does not check that the conversation exists.
   * @returns `marked`: how many messages it marked; `at`: the database's now() (the read_at written).
   * @throws the database's error.
   */
  async markRead(id: string): Promise<{ marked: number; at: Date }> {
    const [row] = (await this.db.query(
      `WITH m AS (
         UPDATE messages SET status = 'read', status_at = now(), read_at = now()
         WHERE conversation_id = $1 AND direction = 'in' AND read_at IS NULL RETURNING 1
       ), v AS (UPDATE conversations SET unread_count = 0, updated_at = now() WHERE id = $1 RETURNING 1)
       SELECT (SELECT count(*) FROM m)::int AS n, now() AS at`,
      [id],
    )) as { n: number; at: Date }[];
    return { marked: row.n, at: row.at };
  }

  /**
   * Whether conversation `id` exists and is in a session `key` may see.
   * @param id a canonical UUID (the caller checks the format).
   * @throws the database's error.
   */
  async isVisible(id: string, key?: AuthenticatedKey): Promise<boolean> {
    const where = new SqlWhere().add('v.id = ?', id);
    scopeToKey(where, key, 'v.session_id');
    const rows = (await this.db.query(`SELECT 1 FROM conversations v ${where}`, where.params)) as unknown[];
    return rows.length > 0;
  }

  /**
   * The ids of the conversations with `chatId` (contact E.164 digits or group id; one per session) that `key` may see.
   * @returns conversation ids (uuid), in no particular order; empty when none.
   * @throws the database's error.
   */
  async idsByChat(chatId: string, key?: AuthenticatedKey): Promise<string[]> {
    const where = new SqlWhere().add('v.chat_id = ?', chatId);
    scopeToKey(where, key, 'v.session_id');
    const rows = (await this.db.query(`SELECT v.id FROM conversations v ${where}`, where.params)) as { id: string }[];
    return rows.map((r) => r.id);
  }
}
