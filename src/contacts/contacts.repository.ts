import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { AuthenticatedKey } from '../auth/api-keys.service';
import { keysetPage } from '../common/keyset-page';
import type { Page, PageQueryDto } from '../common/page-query.dto';
import { addNameOrNumberFilter } from '../common/sql-text';
import { SqlWhere } from '../common/sql-where';

/**
 * A `contacts` row (migrations InitialSchema and ContactsAndSearch). `timestamptz` comes back as Date, `text[]` as
 * an array.
 */
export interface ContactRow {
  id: string;
  /** E.164 digits; unique. */
  phone: string;
  /** Contact-book name; wins over the provider's profile name. */
  name: string | null;
  /** Name from the provider's profile (traffic), not the book. */
  profile_name: string | null;
  email: string | null;
  /** Never null; `{}` when none. */
  tags: string[];
  notes: string | null;
  external_ref: string | null;
  /** WhatsApp `@lid` id of the number; unique when set. */
  lid: string | null;
  created_at: Date;
  updated_at: Date;
}

/** The contact-book fields written by create, update and import (`null` stores NULL). */
export interface ContactFields {
  phone: string;
  name: string | null;
  email: string | null;
  tags: string[];
  notes: string | null;
  external_ref: string | null;
  lid: string | null;
}

/** One import row: a phone and the fields it carries (absent or undefined = keep the stored value). */
export type ContactImportRow = { phone: string } & Partial<Omit<ContactFields, 'phone'>>;

/** Limits a query on `c` (contacts) to those with a conversation in the sessions of a session-limited key. */
function visibleTo(where: SqlWhere, key: AuthenticatedKey | undefined): void {
  if (key?.sessionIds)
    where.add('EXISTS (SELECT 1 FROM conversations v WHERE v.contact_id = c.id AND v.session_id = ANY(?::uuid[]))', key.sessionIds);
}

/** The SQL of the contact book (table contacts; the lid merge also rewrites conversations, messages and calls). */
@Injectable()
export class ContactsRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * Inserts a contact, or takes over the row of a number known only from traffic (no book fields yet: name, email,
   * notes, external_ref null and no tags), keeping its id so its old messages get the name.
   * @returns the stored row, or null when the number already is in the contact book (nothing written).
   * @throws the database's error, e.g. a unique violation (23505) when `lid` belongs to another contact.
   */
  async insertOrTakeOver(f: ContactFields): Promise<ContactRow | null> {
    const rows = (await this.db.query(
      `INSERT INTO contacts (phone, name, email, tags, notes, external_ref, lid) VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (phone) DO UPDATE SET name = EXCLUDED.name, email = EXCLUDED.email, tags = EXCLUDED.tags,
         notes = EXCLUDED.notes, external_ref = EXCLUDED.external_ref, lid = EXCLUDED.lid, updated_at = now()
         WHERE contacts.name IS NULL AND contacts.email IS NULL AND contacts.notes IS NULL
           AND contacts.external_ref IS NULL AND contacts.tags = '{}'
       RETURNING *`,
      [f.phone, f.name, f.email, f.tags, f.notes, f.external_ref, f.lid],
    )) as ContactRow[];
    return rows[0] ?? null;
  }

  /**
   * Folds the conversations that were keyed by a `@lid` (before its number was known) into the number's
   * conversation of the same session: messages move (chat, contact and sender become the number), counters add
   * up, the last message is the newer one, calls follow, the lid conversation is removed. One transaction;
   * idempotent; nothing for lids that no contact carries.
   * @param lids `@lid` ids linked to a contact; must not be empty.
   * @throws the database's error (the transaction is rolled back).
   */
  async mergeLidConversations(lids: string[]): Promise<void> {
    const src = `SELECT v.id AS src_id, v.session_id, c.phone, c.id AS contact_id, v.chat_id AS lid
      FROM conversations v JOIN contacts c ON c.lid = v.chat_id WHERE v.chat_id = ANY($1::text[])`;
    await this.db.transaction(async (m) => {
      await m.query(
        `INSERT INTO conversations (session_id, chat_id, contact_id) SELECT session_id, phone, contact_id FROM (${src}) s ON CONFLICT (session_id, chat_id) DO NOTHING`,
        [lids],
      );
      await m.query(
        `UPDATE messages m SET conversation_id = t.id, chat_id = s.phone, contact_id = s.contact_id, sender = CASE WHEN m.sender = s.lid THEN s.phone ELSE m.sender END
         FROM (${src}) s JOIN conversations t ON t.session_id = s.session_id AND t.chat_id = s.phone WHERE m.conversation_id = s.src_id`,
        [lids],
      );
      await m.query(
        `UPDATE conversations t SET message_count = t.message_count + o.message_count, unread_count = t.unread_count + o.unread_count,
           last_message_preview = CASE WHEN t.last_message_at IS NULL OR o.last_message_at > t.last_message_at THEN o.last_message_preview ELSE t.last_message_preview END,
           last_message_direction = CASE WHEN t.last_message_at IS NULL OR o.last_message_at > t.last_message_at THEN o.last_message_direction ELSE t.last_message_direction END,
           last_message_at = GREATEST(t.last_message_at, o.last_message_at), contact_id = COALESCE(t.contact_id, s.contact_id), updated_at = now()
         FROM (${src}) s JOIN conversations o ON o.id = s.src_id WHERE t.session_id = s.session_id AND t.chat_id = s.phone`,
        [lids],
      );
      await m.query(`UPDATE calls k SET chat_id = s.phone FROM (${src}) s WHERE k.session_id = s.session_id AND k.chat_id = s.lid`, [lids]);
      await m.query(`DELETE FROM conversations WHERE id IN (SELECT src_id FROM (${src}) s)`, [lids]);
    });
  }

  /**
   * One page of contacts, newest first (created_at, then id); `q` matches name or profile name (accent- and
   * case-insensitive) or digits of the number; a session-limited key sees the contacts with a conversation in
   * its sessions. `total` counted up to COUNT_CAP (see keysetPage).
   * @returns rows as {@link ContactRow}; `nextCursor` null on the last page.
   * @throws AppError 400 for a cursor that is not ours; the database's error otherwise.
   */
  list(q: string | undefined, page: PageQueryDto, key?: AuthenticatedKey): Promise<Page<ContactRow>> {
    const where = new SqlWhere();
    if (q?.trim()) addNameOrNumberFilter(where, `coalesce(c.name, c.profile_name, '')`, 'c.phone', q.trim());
    visibleTo(where, key);
    return keysetPage(this.db, {
      select: 'SELECT c.*',
      from: 'FROM contacts c',
      where,
      query: page,
      sortAt: 'c.created_at',
      id: 'c.id',
      idType: 'uuid',
      sortValue: (r) => r.created_at,
      map: (r) => r as unknown as ContactRow,
    });
  }

  /**
   * One contact, if it exists and (for a session-limited `key`) has a conversation in the key's sessions.
   * @param id a canonical UUID (the caller checks the format).
   * @returns the row, or null.
   * @throws the database's error.
   */
  async findById(id: string, key?: AuthenticatedKey): Promise<ContactRow | null> {
    const where = new SqlWhere().add('c.id = ?', id);
    visibleTo(where, key);
    const rows = (await this.db.query(`SELECT c.* FROM contacts c ${where}`, where.params)) as ContactRow[];
    return rows[0] ?? null;
  }

  /**
   * Overwrites every book field of contact `id` (and updated_at).
   * @returns the updated row, or null when no contact has that id.
   * @throws the database's error: QueryFailedError with driverError.code 23505 when the phone or lid belongs to
   * another contact.
   */
  async update(id: string, f: ContactFields): Promise<ContactRow | null> {
    const rows = (await this.db.query(
      // Wrapped in a CTE: TypeORM answers a bare UPDATE with [rows, count] instead of rows.
      `WITH u AS (
         UPDATE contacts SET phone = $2, name = $3, email = $4, tags = $5, notes = $6, external_ref = $7, lid = $8, updated_at = now()
         WHERE id = $1 RETURNING *
       ) SELECT * FROM u`,
      [id, f.phone, f.name, f.email, f.tags, f.notes, f.external_ref, f.lid],
    )) as ContactRow[];
    return rows[0] ?? null;
  }

  /**
   * Deletes contact `id` (nothing when absent); its conversations and messages keep their numbers (contact_id
   * becomes NULL).
   * @throws the database's error.
   */
  async delete(id: string): Promise<void> {
    await this.db.query(`DELETE FROM contacts WHERE id = $1`, [id]);
  }

  /**
   * Upserts contacts by phone in one statement: new numbers are inserted; for existing ones each given field
   * replaces the stored one (absent/null fields and empty tags keep it). Phones must be distinct.
   * @returns how many rows were inserted (`created`) and how many existing ones updated (`updated`).
   * @throws the database's error, e.g. a unique violation (23505) when a lid belongs to another contact.
   */
  async upsertMany(rows: ContactImportRow[]): Promise<{ created: number; updated: number }> {
    const result = (await this.db.query(
      `INSERT INTO contacts (phone, name, email, tags, notes, external_ref, lid)
       SELECT phone, name, email, COALESCE(tags, '{}'), notes, external_ref, lid
       FROM jsonb_to_recordset($1::jsonb) AS x(phone text, name text, email text, tags text[], notes text, external_ref text, lid text)
       ON CONFLICT (phone) DO UPDATE SET
         name = COALESCE(EXCLUDED.name, contacts.name), email = COALESCE(EXCLUDED.email, contacts.email),
         tags = CASE WHEN EXCLUDED.tags = '{}' THEN contacts.tags ELSE EXCLUDED.tags END,
         notes = COALESCE(EXCLUDED.notes, contacts.notes), external_ref = COALESCE(EXCLUDED.external_ref, contacts.external_ref),
         lid = COALESCE(EXCLUDED.lid, contacts.lid), updated_at = now()
       RETURNING (xmax = 0) AS inserted`,
      [JSON.stringify(rows)],
    )) as { inserted: boolean }[];
    const created = result.filter((r) => r.inserted).length;
    return { created, updated: result.length - created };
  }
}
