import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

/** An `auto_replies` row (migration Outbox); timestamps as Date. */
export interface AutoReplyRow {
  id: string;
  name: string;
  match_type: 'exact' | 'contains' | 'regex';
  pattern: string;
  case_insensitive: boolean;
  reply: string;
  /** Only this session's messages; null for every session. */
  session_id: string | null;
  include_groups: boolean;
  enabled: boolean;
  priority: number;
  created_at: Date;
  updated_at: Date;
}

/** A rule's writable columns (create, or the full new state on update). */
export type AutoReplyFields = Omit<AutoReplyRow, 'id' | 'created_at' | 'updated_at'>;

/** An inbound text an auto-reply may answer. */
export interface InboundTextRow {
  /** messages.id (bigint) as decimal text. */
  id: string;
  session_id: string;
  chat_id: string;
  text: string;
  /** Whether its conversation is a group. */
  is_group: boolean;
}

/** The SQL of auto-reply rules (table `auto_replies`) and of the messages they answer. */
@Injectable()
export class AutoRepliesRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * @returns those of `messageIds` (wa-hub message ids) that are inbound texts with a text, in no set order.
   * @throws the database's error.
   */
  async inboundTexts(messageIds: string[]): Promise<InboundTextRow[]> {
    return (await this.db.query(
      `SELECT m.id, m.session_id, m.chat_id, m.text, v.is_group FROM messages m JOIN conversations v ON v.id = m.conversation_id
       WHERE m.id = ANY($1::bigint[]) AND m.direction = 'in' AND m.type = 'text' AND m.text IS NOT NULL`,
      [messageIds],
    )) as InboundTextRow[];
  }

  /**
   * @returns every rule, enabled or not, highest priority first, then oldest.
   * @throws the database's error.
   */
  async list(): Promise<AutoReplyRow[]> {
    return (await this.db.query(`SELECT * FROM auto_replies ORDER BY priority DESC, created_at`)) as AutoReplyRow[];
  }

  /**
   * @returns the enabled rules, highest priority first, then oldest.
   * @throws the database's error.
   */
  async listEnabled(): Promise<AutoReplyRow[]> {
    return (await this.db.query(`SELECT * FROM auto_replies WHERE enabled ORDER BY priority DESC, created_at`)) as AutoReplyRow[];
  }

  /**
   * @param id a uuid (check it first: other text is a database error).
   * @returns the rule, or null when there is none with this id.
   * @throws the database's error.
   */
  async find(id: string): Promise<AutoReplyRow | null> {
    const [row] = (await this.db.query(`SELECT * FROM auto_replies WHERE id = $1`, [id])) as AutoReplyRow[];
    return row ?? null;
  }

  /**
   * @returns the new rule.
   * @throws the database's error (e.g. an unknown `session_id`).
   */
  async insert(f: AutoReplyFields): Promise<AutoReplyRow> {
    const [row] = (await this.db.query(
      `INSERT INTO auto_replies (name, match_type, pattern, case_insensitive, reply, session_id, include_groups, enabled, priority)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *`,
      [f.name, f.match_type, f.pattern, f.case_insensitive, f.reply, f.session_id, f.include_groups, f.enabled, f.priority],
    )) as AutoReplyRow[];
    return row;
  }

  /**
   * Replaces every writable column of a rule and bumps `updated_at`.
   * @returns the updated rule, or null when there is none with this id.
   * @throws the database's error (e.g. an unknown `session_id`).
   */
  async update(id: string, f: AutoReplyFields): Promise<AutoReplyRow | null> {
    const [row] = (await this.db.query(
      `WITH u AS (UPDATE auto_replies SET name = $2, match_type = $3, pattern = $4, case_insensitive = $5, reply = $6, session_id = $7,
         include_groups = $8, enabled = $9, priority = $10, updated_at = now() WHERE id = $1 RETURNING *) SELECT * FROM u`,
      [id, f.name, f.match_type, f.pattern, f.case_insensitive, f.reply, f.session_id, f.include_groups, f.enabled, f.priority],
    )) as AutoReplyRow[];
    return row ?? null;
  }

  /**
   * Deletes a rule.
   * @returns nothing; an unknown id deletes nothing.
   * @throws the database's error.
   */
  async delete(id: string): Promise<void> {
    await this.db.query(`DELETE FROM auto_replies WHERE id = $1`, [id]);
  }
}
