import type { AuthenticatedKey } from '../auth/api-keys.service';
import { HttpStatus, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { parse as parseCsv } from 'csv-parse/sync';
import type { CountryCode } from 'libphonenumber-js';
import { DataSource } from 'typeorm';
import { AppError } from '../common/app-error';
import { keysetPage } from '../common/keyset-page';
import type { Page } from '../common/page-query.dto';
import { normalizePhone } from '../common/phone';
import { SqlWhere } from '../common/sql-where';
import { AppConfig } from '../config/app-config';
import { ContactResponseDto, CreateContactDto, ImportContactsResponseDto, ListContactsQueryDto, UpdateContactDto } from './contact.dto';
import { addNameOrNumberFilter, toIso, UUID_RE } from '../common/sql-text';

type Row = Record<string, unknown>;
// CSV headers accepted for each field (case-insensitive).
const CSV_FIELDS: Record<string, keyof CreateContactDto> = {
  phone: 'phone', number: 'phone', mobile: 'phone', name: 'name', email: 'email', tags: 'tags', notes: 'notes',
  externalref: 'externalRef', external_ref: 'externalRef', lid: 'lid',
};

/**
 * The contact book: numbers as E.164 digits (libphonenumber-js, DEFAULT_PHONE_REGION for local forms), names
 * that win over provider profile names wherever messages and conversations are read.
 */
@Injectable()
export class ContactsService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly config: AppConfig,
  ) {}

  /**
   * E.164 digits for `input`.
   * @throws AppError 400 naming `field` when it is not a valid phone number (group JIDs are not numbers).
   */
  phone(input: string, field = 'phone'): string {
    const digits = normalizePhone(input, this.config.DEFAULT_PHONE_REGION as CountryCode | undefined);
    if (!digits) throw AppError.badRequest(`${field} is not a valid phone number`, [{ field, errors: ['not a valid phone number'] }]);
    return digits;
  }

  /**
   * Adds a number to the contact book. A number wa-hub only knows from traffic (no book fields yet) is taken over,
   * so its old messages get the name.
   * @throws AppError 400 for a bad phone, 409 `CONFLICT` when the number already is in the contact book.
   */
  async create(dto: CreateContactDto): Promise<ContactResponseDto> {
    const phone = this.phone(dto.phone);
    const rows = (await this.db.query(
      `INSERT INTO contacts (phone, name, email, tags, notes, external_ref, lid) VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (phone) DO UPDATE SET name = EXCLUDED.name, email = EXCLUDED.email, tags = EXCLUDED.tags,
         notes = EXCLUDED.notes, external_ref = EXCLUDED.external_ref, lid = EXCLUDED.lid, updated_at = now()
         WHERE contacts.name IS NULL AND contacts.email IS NULL AND contacts.notes IS NULL
           AND contacts.external_ref IS NULL AND contacts.tags = '{}'
       RETURNING *`,
      [phone, dto.name ?? null, dto.email ?? null, dto.tags ?? [], dto.notes ?? null, dto.externalRef ?? null, dto.lid ?? null],
    )) as Row[];
    if (rows.length === 0) throw new AppError(HttpStatus.CONFLICT, 'CONFLICT', `A contact with phone ${phone} already exists`);
    if (rows[0].lid) await this.mergeLidConversations([rows[0].lid as string]);
    return toContactDto(rows[0]);
  }

  /**
   * Folds the conversations that were keyed by a `@lid` (before its number was known) into the number's
   * conversation of the same session: messages move (chat, contact and sender become the number), counters add
   * up, the last message is the newer one, the lid conversation is removed. One transaction; idempotent.
   * @param lids the `@lid` ids just linked to a contact.
   */
  async mergeLidConversations(lids: string[]): Promise<void> {
    if (lids.length === 0) return;
    const src = `SELECT v.id AS src_id, v.session_id, c.phone, c.id AS contact_id, v.chat_id AS lid
      FROM conversations v JOIN contacts c ON c.lid = v.chat_id WHERE v.chat_id = ANY($1::text[])`;
    await this.db.transaction(async (m) => {
      await m.query(`INSERT INTO conversations (session_id, chat_id, contact_id) SELECT session_id, phone, contact_id FROM (${src}) s ON CONFLICT (session_id, chat_id) DO NOTHING`, [lids]);
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
   * Contacts, newest first; `q` matches name (accent/case-insensitive) or digits of the number. A key limited to
   * sessions sees the contacts that have a conversation in them.
   */
  list(q: ListContactsQueryDto, key?: AuthenticatedKey): Promise<Page<ContactResponseDto>> {
    const where = new SqlWhere();
    if (q.q?.trim()) addNameOrNumberFilter(where, `coalesce(c.name, c.profile_name, '')`, 'c.phone', q.q.trim());
    visibleTo(where, key);
    return keysetPage(this.db, {
      select: 'SELECT c.*',
      from: 'FROM contacts c',
      where,
      query: q,
      sortAt: 'c.created_at',
      id: 'c.id',
      idType: 'uuid',
      sortValue: (r) => r.created_at,
      map: toContactDto,
    });
  }

  /** @throws AppError 404, also when a session-limited key has no conversation with the contact. */
  async get(id: string, key?: AuthenticatedKey): Promise<ContactResponseDto> {
    return toContactDto(await this.row(id, key));
  }

  /** @throws AppError 404, 400 for a bad phone, 409 when the new number belongs to another contact. */
  async update(id: string, dto: UpdateContactDto): Promise<ContactResponseDto> {
    const current = await this.row(id);
    const phone = dto.phone !== undefined ? this.phone(dto.phone) : (current.phone as string);
    try {
      const rows = (await this.db.query(
        // Wrapped in a CTE: TypeORM answers a bare UPDATE with [rows, count] instead of rows.
        `WITH u AS (
           UPDATE contacts SET phone = $2, name = $3, email = $4, tags = $5, notes = $6, external_ref = $7, lid = $8, updated_at = now()
           WHERE id = $1 RETURNING *
         ) SELECT * FROM u`,
        [id, phone, pickField(dto, 'name', current.name), pickField(dto, 'email', current.email), dto.tags ?? current.tags, pickField(dto, 'notes', current.notes), pickField(dto, 'externalRef', current.external_ref), pickField(dto, 'lid', current.lid)],
      )) as Row[];
      if (rows[0].lid) await this.mergeLidConversations([rows[0].lid as string]);
      return toContactDto(rows[0]);
    } catch (e) {
      if ((e as { driverError?: { code?: string } }).driverError?.code === '23505') throw new AppError(HttpStatus.CONFLICT, 'CONFLICT', 'Another contact has that phone or lid');
      throw e;
    }
  }

  /** @throws AppError 404. Messages keep their numbers; they lose the contact-book name. */
  async delete(id: string): Promise<ContactResponseDto> {
    const row = await this.row(id);
    await this.db.query(`DELETE FROM contacts WHERE id = $1`, [id]);
    return toContactDto(row);
  }

  /**
   * Upserts contacts by phone from CSV (header row; columns phone, name, email, tags separated by `;`, notes,
   * external_ref, lid) or a JSON array of the same fields. Later rows win over earlier ones with the same number.
   * @returns counts, and each rejected row's line (CSV: the header is line 1; JSON: index + 1) with the reason.
   * @throws AppError 400 when the body is neither.
   */
  async import(body: unknown, contentType: string | undefined): Promise<ImportContactsResponseDto> {
    const { rows, lineOf } = this.parseImport(body, contentType);
    const errors: { line: number; reason: string }[] = [];
    const byPhone = new Map<string, Record<string, unknown>>();
    rows.forEach((raw, i) => {
      const dto = plainToInstance(CreateContactDto, raw);
      const problems = validateSync(dto, { whitelist: true, forbidNonWhitelisted: true });
      if (problems.length > 0) {
        errors.push({ line: lineOf(i), reason: problems.map((p) => `${p.property}: ${Object.values(p.constraints ?? {}).join(', ') || 'invalid'}`).join('; ') });
        return;
      }
      const phone = normalizePhone(dto.phone, this.config.DEFAULT_PHONE_REGION as CountryCode | undefined);
      if (!phone) {
        errors.push({ line: lineOf(i), reason: 'phone: not a valid phone number' });
        return;
      }
      // Several rows for one number: later values win field by field.
      const row = { phone, name: dto.name, email: dto.email, tags: dto.tags, notes: dto.notes, external_ref: dto.externalRef, lid: dto.lid };
      const merged: Record<string, unknown> = { ...(byPhone.get(phone) ?? {}) };
      for (const [k, v] of Object.entries(row)) if (v !== undefined) merged[k] = v;
      byPhone.set(phone, merged);
    });
    let created = 0;
    let updated = 0;
    if (byPhone.size > 0) {
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
        [JSON.stringify([...byPhone.values()])],
      )) as { inserted: boolean }[];
      created = result.filter((r) => r.inserted).length;
      updated = result.length - created;
      await this.mergeLidConversations([...byPhone.values()].map((r) => r.lid).filter((l): l is string => !!l));
    }
    return { created, updated, rejected: errors.length, errors };
  }

  private parseImport(body: unknown, contentType: string | undefined): { rows: Record<string, unknown>[]; lineOf: (i: number) => number } {
    if (typeof body === 'string' && /csv|text\/plain/i.test(contentType ?? '')) {
      let records: string[][];
      try {
        records = parseCsv(body, { skip_empty_lines: true, relax_column_count: true, trim: true, bom: true });
      } catch (e) {
        throw AppError.badRequest(`CSV could not be parsed: ${(e as Error).message}`);
      }
      const [header, ...data] = records;
      if (!header) throw AppError.badRequest('CSV is empty: a header row is required');
      const fields = header.map((h) => CSV_FIELDS[h.toLowerCase().replace(/\s+/g, '')]);
      if (!fields.includes('phone')) throw AppError.badRequest('CSV header has no phone column');
      const rows = data.map((cells) => {
        const row: Record<string, unknown> = {};
        fields.forEach((f, i) => {
          const v = cells[i];
          if (!f || v === undefined || v === '') return;
          row[f] = f === 'tags' ? v.split(/[;|]/).map((t) => t.trim()).filter(Boolean) : v;
        });
        return row;
      });
      return { rows, lineOf: (i) => i + 2 };
    }
    if (Array.isArray(body)) {
      return { rows: body.map((r) => (typeof r === 'object' && r !== null ? (r as Record<string, unknown>) : { phone: r })), lineOf: (i) => i + 1 };
    }
    throw AppError.badRequest('Send a CSV body (Content-Type: text/csv) or a JSON array of contacts');
  }

  /** @throws AppError 404 when missing, or not visible to a session-limited `key`. */
  private async row(id: string, key?: AuthenticatedKey): Promise<Row> {
    if (!UUID_RE.test(id)) throw AppError.notFound('Contact');
    const where = new SqlWhere().add('c.id = ?', id);
    visibleTo(where, key);
    const rows = (await this.db.query(`SELECT c.* FROM contacts c ${where}`, where.params)) as Row[];
    if (rows.length === 0) throw AppError.notFound('Contact');
    return rows[0];
  }

}

/** Limits a query on `c` (contacts) to those with a conversation in the sessions of a session-limited key. */
function visibleTo(where: SqlWhere, key: AuthenticatedKey | undefined): void {
  if (key?.sessionIds) where.add('EXISTS (SELECT 1 FROM conversations v WHERE v.contact_id = c.id AND v.session_id = ANY(?::uuid[]))', key.sessionIds);
}

/** The new value when the request carries the field (null clears it), else the current one. */
function pickField(dto: UpdateContactDto, key: keyof UpdateContactDto, current: unknown): unknown {
  return dto[key] !== undefined ? dto[key] : current;
}


export function toContactDto(r: Row): ContactResponseDto {
  const name = (r.name as string) ?? null;
  const profileName = (r.profile_name as string) ?? null;
  return {
    id: r.id as string,
    phone: r.phone as string,
    name,
    profileName,
    displayName: name ?? profileName ?? 'Unknown',
    email: (r.email as string) ?? null,
    tags: (r.tags as string[]) ?? [],
    notes: (r.notes as string) ?? null,
    externalRef: (r.external_ref as string) ?? null,
    lid: (r.lid as string) ?? null,
    createdAt: toIso(r.created_at)!,
    updatedAt: toIso(r.updated_at)!,
  };
}
