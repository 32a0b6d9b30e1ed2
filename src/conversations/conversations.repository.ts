import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { AuthenticatedKey } from '../auth/api-keys.service';
import { keysetPage } from '../common/keyset-page';
import type { Page, PageQueryDto } from '../common/page-query.dto';
import { likeContains } from '../common/sql-text';
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

/**
 * Adds "the conversation's name or number contains `term`", the name being its contact's book name, else its
 * profile name, else the conversation's subject, compared case- and accent-insensitively (`wa_fold`), and the
 * number its chat id's digits when the term has at least three: the same matches as addNameOrNumberFilter over
 * `coalesce(c.name, c.profile_name, v.subject, '')` and `v.chat_id`. The named contacts that match, and the
 * conversations without a named contact whose subject matches, are read from their trigram indexes once (hashed),
 * so no conversation's name is folded row by row.
 */
function addNameMatches(where: SqlWhere, term: string): void {
  const pattern = where.param(likeContains(term));
  const ways = [
    `v.contact_id IN (SELECT nc.id FROM contacts nc WHERE wa_fold(coalesce(nc.name, nc.profile_name, '')) LIKE wa_fold(${pattern}))`,
    `v.id IN (SELECT n.id FROM conversations n LEFT JOIN contacts nc ON nc.id = n.contact_id
       WHERE wa_fold(coalesce(n.subject, '')) LIKE wa_fold(${pattern}) AND nc.name IS NULL AND nc.profile_name IS NULL)`,
  ];
  const digits = term.replace(/[^\d]/g, '');
  if (digits.length >= 3) ways.push(`v.chat_id LIKE ${where.param(`%${digits}%`)}`);
  where.add(`(${ways.join(' OR ')})`);
}

// Conversations without messages sort last; the cursor uses epoch 0 for them, matching this expression.
const SORT_AT = `COALESCE(v.last_message_at, 'epoch'::timestamptz)`;

/** The SQL of conversations (table conversations, with sessions and contacts; mark-read also updates messages). */
@Injectable()
export class ConversationsRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * One page of conversations matching `f` and visible to `key`, by latest message, newest first (those without
   * messages last); `total` counted up to COUNT_CAP (see keysetPage). Every filter is on the conversation row, so
   * the page is sorted from `conversations` alone and its session and contact are looked up for its rows only. The
   * name filter reads its matches from trigram indexes (migration 1764720000000-ReadsUnderLoad): contacts by name,
   * conversations by subject and by chat id, rather than folding the name of every conversation the other filters
   * leave (thousands with `unread=true` while messages arrive).
   * @returns rows as {@link ConversationRow}; `nextCursor` null on the last page.
   * @throws AppError 400 for a cursor that is not ours; the database's error otherwise.
   */
  list(f: ConversationFilter, page: PageQueryDto, key?: AuthenticatedKey): Promise<Page<ConversationRow>> {
    const where = new SqlWhere();
    if (f.sessionId) where.add('v.session_id = ?', f.sessionId);
    if (f.provider) where.add('v.session_id IN (SELECT s.id FROM sessions s WHERE s.provider = ?)', f.provider);
    if (f.unread === 'true') where.add('v.unread_count > 0');
    if (f.unread === 'false') where.add('v.unread_count = 0');
    if (f.from) where.add('v.last_message_at >= ?::timestamptz', f.from);
    if (f.to) where.add('v.last_message_at < ?::timestamptz', f.to);
    if (f.q?.trim()) addNameMatches(where, f.q.trim());
    scopeToKey(where, key, 'v.session_id');
    return keysetPage(this.db, {
      // Subqueries in the select list are evaluated after the sort and limit, for the page's rows only.
      select: `SELECT v.*, (SELECT s.provider FROM sessions s WHERE s.id = v.session_id) AS provider,
        (SELECT c.phone FROM contacts c WHERE c.id = v.contact_id) AS contact_phone,
        (SELECT COALESCE(c.name, c.profile_name) FROM contacts c WHERE c.id = v.contact_id) AS contact_name`,
      from: `FROM conversations v`,
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
