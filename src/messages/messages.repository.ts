import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { AuthenticatedKey } from '../auth/api-keys.service';
import { keysetPage } from '../common/keyset-page';
import type { Page, PageQueryDto } from '../common/page-query.dto';
import { likeContains } from '../common/sql-text';
import { SqlWhere } from '../common/sql-where';

/**
 * A message as the `/v1` reads select it: the `messages` columns (migration InitialSchema) plus its session's
 * provider and its contact's number and book name. `bigint` ids come back as decimal text, `timestamptz` as Date,
 * `jsonb` parsed.
 */
export interface MessageRow {
  /** bigint, as decimal text. */
  id: string;
  /** sessions.provider: meta, wablas, wwebjs, baileys. */
  provider: string;
  session_id: string;
  conversation_id: string;
  external_id: string | null;
  direction: 'in' | 'out';
  type: string;
  chat_id: string;
  sender: string | null;
  sender_name: string | null;
  /** contacts.phone (E.164 digits) of the linked contact, null without one. */
  contact_phone: string | null;
  /** The contact's book name, else its profile name; null without either. */
  contact_name: string | null;
  text: string | null;
  caption: string | null;
  media: Record<string, unknown> | null;
  location: Record<string, unknown> | null;
  context: Record<string, unknown> | null;
  reply_to_external_id: string | null;
  payload: Record<string, unknown> | null;
  status: string;
  status_at: Date | null;
  error_code: string | null;
  error_title: string | null;
  error_detail: string | null;
  provider_timestamp: Date;
  created_at: Date;
  read_at: Date | null;
  /** The message's `media` row (download state, see src/media), null columns without one. */
  md_id: string | null;
  md_state: string | null;
  md_error_code: string | null;
  md_error: string | null;
  md_mime_type: string | null;
  md_declared_mime_type: string | null;
  md_size: number | null;
  md_sha256: string | null;
  md_filename: string | null;
}

/** {@link MessageRow} with the provider's raw object (`messages.raw`, jsonb). */
export interface MessageWithRawRow extends MessageRow {
  raw: unknown;
}

/** The columns seed s3 (Django/Meta) lists: see {@link MessagesRepository.recentSummaries}. */
export interface MessageSummaryRow {
  id: string;
  external_id: string | null;
  chat_id: string;
  sender: string | null;
  direction: 'in' | 'out';
  type: string;
  text: string | null;
  caption: string | null;
  status: string;
  read_at: Date | null;
  provider_timestamp: Date;
  /** Book name, else profile name, else the message's sender name; null without any. */
  contact_name: string | null;
  /** sessions.display_number of the message's session. */
  display_number: string | null;
  /** `messages.media` (the provider's descriptor: Meta's media `id`, `mimeType`, ...), null without one. */
  media: Record<string, unknown> | null;
  /** `messages.location` (`latitude`, `longitude`, `name`, `address`), null without one. */
  location: Record<string, unknown> | null;
  /** wa-hub media id (uuid) of the message's file once it is stored (sign it with MediaService.sign), else null. */
  stored_media_id: string | null;
}

/** Filters of {@link MessagesRepository.list}; all optional, combined with AND. */
export interface MessageFilter {
  /** One chat: contact E.164 digits (already normalised) or group id. */
  phone?: string;
  /** Text or caption contains this (case- and accent-insensitive); blank means no filter. */
  q?: string;
  sessionId?: string;
  conversationId?: string;
  direction?: string;
  type?: string;
  status?: string;
  provider?: string;
  /** ISO 8601; provider timestamp at or after. */
  from?: string;
  /** ISO 8601; provider timestamp before. */
  to?: string;
}

/** Filters of {@link MessagesRepository.countFromConversations}. */
export interface ConversationCounterFilter {
  phone?: string;
  sessionId?: string;
  conversationId?: string;
  provider?: string;
}

/** The folded text `q` searches: what ix_messages_search (trigram GIN, migration ContactsAndSearch) indexes. */
const SEARCH_TEXT = `wa_fold(coalesce(m.text, '') || ' ' || coalesce(m.caption, ''))`;

/** Beyond this many hits a search term counts as common (see {@link MessagesRepository.searchHits}). */
export const SEARCH_HITS_CAP = 2000;

const SELECT = `
  SELECT m.id, s.provider, m.session_id, m.conversation_id, m.external_id, m.direction, m.type, m.chat_id,
    m.sender, m.sender_name, c.phone AS contact_phone, COALESCE(c.name, c.profile_name) AS contact_name,
    m.text, m.caption, m.media, m.location, m.context, m.reply_to_external_id, m.payload, m.status, m.status_at,
    m.error_code, m.error_title, m.error_detail, m.provider_timestamp, m.created_at, m.read_at,
    md.id AS md_id, md.state AS md_state, md.error_code AS md_error_code, md.error AS md_error, md.mime_type AS md_mime_type,
    md.declared_mime_type AS md_declared_mime_type, md.size::float8 AS md_size, md.sha256 AS md_sha256, md.filename AS md_filename`;
// media: one row per message at most (unique message_id); unused by the counts, so PostgreSQL drops the join there.
const FROM = `FROM messages m JOIN sessions s ON s.id = m.session_id LEFT JOIN contacts c ON c.id = m.contact_id
  LEFT JOIN media md ON md.message_id = m.id`;

/**
 * Condition on `m` (messages) for one chat (contact E.164 digits or group id), through its conversations: that
 * uses ix_messages_conversation_recent, so messages need no chat_id index of their own.
 */
export const CHAT_FILTER = 'm.conversation_id IN (SELECT v.id FROM conversations v WHERE v.chat_id = ?)';

/** Limits a query on `m` (messages), or on `column`, to the sessions a key may see; no condition for unlimited keys. */
export function scopeToKey(where: SqlWhere, key: AuthenticatedKey | undefined, column = 'm.session_id'): void {
  if (key?.sessionIds) where.add(`${column} = ANY(?::uuid[])`, key.sessionIds);
}

/** The SQL of the message store's reads (tables messages, with sessions, contacts and conversations' counters). */
@Injectable()
export class MessagesRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * One page of messages matching `f`, newest first (provider timestamp, then id), limited to the sessions `key`
   * may see. `total` is exact from the conversations' counters when the filters select whole conversations (only
   * phone, session, conversation, provider), else counted up to COUNT_CAP (see keysetPage).
   * @returns rows as {@link MessageRow}; `nextCursor` continues after the last one (null on the last page).
   * @throws AppError 400 for a cursor that is not ours; the database's error otherwise.
   */
  async list(f: MessageFilter, page: PageQueryDto, key?: AuthenticatedKey): Promise<Page<MessageRow>> {
    const where = new SqlWhere();
    if (f.phone !== undefined) where.add(CHAT_FILTER, f.phone);
    const q = f.q?.trim();
    if (q) {
      // A rare term is answered from its hits (found through the trigram index); a common one by walking the
      // newest messages, where matches come quickly. Left to the planner, a rare term could walk the whole
      // ix_messages_recent index looking for 101 matches that are not there (seconds at 1M rows).
      const hits = await this.searchHits(q);
      if (hits) where.add('m.id = ANY(?::bigint[])', hits);
      else where.add(`${SEARCH_TEXT} LIKE wa_fold(?)`, likeContains(q));
    }
    if (f.sessionId) where.add('m.session_id = ?', f.sessionId);
    if (f.conversationId) where.add('m.conversation_id = ?', f.conversationId);
    if (f.direction) where.add('m.direction = ?', f.direction);
    if (f.type) where.add('m.type = ?', f.type);
    if (f.status) where.add('m.status = ?', f.status);
    if (f.provider) where.add('s.provider = ?', f.provider);
    if (f.from) where.add('m.provider_timestamp >= ?::timestamptz', f.from);
    if (f.to) where.add('m.provider_timestamp < ?::timestamptz', f.to);
    scopeToKey(where, key);
    const wholeConversations = !(f.q?.trim() || f.direction || f.type || f.status || f.from || f.to);
    return keysetPage(this.db, {
      select: SELECT,
      from: FROM,
      where,
      query: page,
      total: wholeConversations
        ? () =>
            this.countFromConversations(
              { phone: f.phone, sessionId: f.sessionId, conversationId: f.conversationId, provider: f.provider },
              key,
            )
        : undefined,
      sortAt: 'm.provider_timestamp',
      id: 'm.id',
      idType: 'bigint',
      sortValue: (r) => r.provider_timestamp,
      map: (r) => r as unknown as MessageRow,
    });
  }

  /**
   * The ids of every message whose text or caption contains `term` (case- and accent-folded), when there are at
   * most {@link SEARCH_HITS_CAP} of them; null when there are more (a common term) or the term is too short for the
   * trigram index (under 3 characters). The lookup is planned as a bitmap scan of ix_messages_search whatever the
   * statistics say (`SET LOCAL` in its own transaction), so its cost follows the term's hits, never the table's size.
   * @returns message ids as decimal text, or null.
   * @throws the database's error.
   */
  async searchHits(term: string): Promise<string[] | null> {
    if ([...term].length < 3) return null;
    return this.db.transaction(async (m) => {
      await m.query('SET LOCAL enable_seqscan = off');
      await m.query('SET LOCAL enable_indexscan = off');
      const rows = (await m.query(`SELECT m.id FROM messages m WHERE ${SEARCH_TEXT} LIKE wa_fold($1) LIMIT ${SEARCH_HITS_CAP + 1}`, [
        likeContains(term),
      ])) as { id: string }[];
      return rows.length > SEARCH_HITS_CAP ? null : rows.map((r) => r.id);
    });
  }

  /** Whether `phone` (E.164 digits) has a contact row: it wrote to (or was written from) a session. */
  async isKnownNumber(phone: string): Promise<boolean> {
    const rows = (await this.db.query('SELECT 1 FROM contacts WHERE phone = $1 LIMIT 1', [phone])) as unknown[];
    return rows.length > 0;
  }

  /**
   * One message with its raw provider object, if it exists and `key` may see its session.
   * @param id decimal text of a bigint (the caller checks the format).
   * @returns the row, or null.
   * @throws the database's error.
   */
  async findById(id: string, key?: AuthenticatedKey): Promise<MessageWithRawRow | null> {
    const where = new SqlWhere().add('m.id = ?', id);
    scopeToKey(where, key);
    const rows = (await this.db.query(`${SELECT}, m.raw ${FROM} ${where}`, where.params)) as MessageWithRawRow[];
    return rows[0] ?? null;
  }

  /**
   * The number of messages of the conversations matching `f` (E.164 digits or group id, session, conversation,
   * provider) and visible to `key`, from the conversations' message counters (maintained on every message insert):
   * counting a million rows takes longer than a page should, summing 10,000 counters does not.
   * @returns a message count (0 when nothing matches).
   * @throws the database's error.
   */
  async countFromConversations(f: ConversationCounterFilter, key?: AuthenticatedKey): Promise<number> {
    const w = new SqlWhere();
    if (f.phone) w.add('v.chat_id = ?', f.phone);
    if (f.sessionId) w.add('v.session_id = ?', f.sessionId);
    if (f.conversationId) w.add('v.id = ?', f.conversationId);
    if (f.provider) w.add('s.provider = ?', f.provider);
    scopeToKey(w, key, 'v.session_id');
    const rows = (await this.db.query(
      `SELECT coalesce(sum(v.message_count), 0)::bigint AS n FROM conversations v JOIN sessions s ON s.id = v.session_id ${w}`,
      w.params,
    )) as { n: string }[];
    return Number(rows[0].n);
  }

  /**
   * The newest `limit` messages (provider timestamp, then id, descending) of one chat and/or one type (or any of
   * several: seed s3's `audio` is `['audio', 'voice']`), visible to `key`, in seed s3's columns with the media
   * descriptor, location and stored media id.
   * @param f.phone contact E.164 digits or group id (already normalised); f.type message type(s) (already validated).
   * @returns up to `limit` rows.
   * @throws the database's error.
   */
  async recentSummaries(
    f: { phone?: string; type?: string | string[] },
    limit: number,
    key?: AuthenticatedKey,
  ): Promise<MessageSummaryRow[]> {
    const where = new SqlWhere();
    if (f.phone) where.add(CHAT_FILTER, f.phone);
    if (typeof f.type === 'string') where.add('m.type = ?', f.type);
    else if (f.type !== undefined) where.add('m.type = ANY(?::text[])', f.type);
    scopeToKey(where, key);
    return (await this.db.query(
      `SELECT m.id, m.external_id, m.chat_id, m.sender, m.direction, m.type, m.text, m.caption, m.status, m.read_at, m.provider_timestamp,
         COALESCE(c.name, c.profile_name, m.sender_name) AS contact_name, s.display_number, m.media, m.location,
         CASE WHEN md.state = 'stored' THEN md.id END AS stored_media_id
       FROM messages m JOIN sessions s ON s.id = m.session_id LEFT JOIN contacts c ON c.id = m.contact_id
         LEFT JOIN media md ON md.message_id = m.id
       ${where} ORDER BY m.provider_timestamp DESC, m.id DESC LIMIT ${where.param(limit)}`,
      where.params,
    )) as MessageSummaryRow[];
  }
}
