import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { AuthenticatedKey } from '../auth/api-keys.service';
import { SqlWhere } from '../common/sql-where';
import { CHAT_FILTER, scopeToKey } from '../messages/messages.repository';

/** One message as seed s0's `whatsapp_history` rows show it. */
export interface OdooHistoryRow {
  id: string;
  provider_timestamp: Date;
  /** The contact (conversation) number, or the group id. */
  chat_id: string;
  direction: 'in' | 'out';
  text: string | null;
  caption: string | null;
  /** The contact book's name, else `Unknown` (seed s0 "Contact Name Lookup": no profile-name fallback). */
  sender_name: string;
}

/** Seed s0's history reads over the message store (tables messages and contacts). */
@Injectable()
export class OdooHistoryRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * Messages newest first (provider time, then id), optionally of one chat, `limit` after `offset`, visible to
   * `key`. Uses ix_messages_conversation_recent through {@link CHAT_FILTER} when `phone` is given.
   * @param phone contact E.164 digits (already normalised) or a group id.
   * @throws the database's error.
   */
  async history(phone: string | undefined, limit: number, offset: number, key?: AuthenticatedKey): Promise<OdooHistoryRow[]> {
    const where = new SqlWhere();
    if (phone) where.add(CHAT_FILTER, phone);
    scopeToKey(where, key);
    return (await this.db.query(
      `SELECT m.id, m.provider_timestamp, m.chat_id, m.direction, m.text, m.caption, COALESCE(c.name, 'Unknown') AS sender_name
       FROM messages m LEFT JOIN contacts c ON c.id = m.contact_id ${where}
       ORDER BY m.provider_timestamp DESC, m.id DESC LIMIT ${where.param(limit)} OFFSET ${where.param(offset)}`,
      where.params,
    )) as OdooHistoryRow[];
  }
}
