import type { AuthenticatedKey } from '../auth/api-keys.service';
import { HttpStatus, Injectable } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { parse as parseCsvStream } from 'csv-parse';
import { once } from 'node:events';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { CountryCode } from 'libphonenumber-js';
import { AppError } from '../common/app-error';
import type { Page } from '../common/page-query.dto';
import { invalidPhoneReason, normalizePhone, requirePhone } from '../common/phone';
import { AppConfig } from '../config/app-config';
import { ContactResponseDto, CreateContactDto, ImportContactsResponseDto, ListContactsQueryDto, UpdateContactDto } from './contact.dto';
import { toIso, UUID_RE } from '../common/sql-text';
import { ContactImportRow, ContactRow, ContactsRepository } from './contacts.repository';

// CSV headers accepted for each field (case-insensitive).
const CSV_FIELDS: Record<string, keyof CreateContactDto> = {
  phone: 'phone',
  number: 'phone',
  mobile: 'phone',
  name: 'name',
  email: 'email',
  tags: 'tags',
  notes: 'notes',
  externalref: 'externalRef',
  external_ref: 'externalRef',
  lid: 'lid',
};

/**
 * The contact book: numbers as E.164 digits (libphonenumber-js, DEFAULT_PHONE_REGION for local forms), names
 * that win over provider profile names wherever messages and conversations are read.
 */
@Injectable()
export class ContactsService {
  constructor(
    private readonly repo: ContactsRepository,
    private readonly config: AppConfig,
  ) {}

  /**
   * E.164 digits for `input` (libphonenumber-js `isValid()`, DEFAULT_PHONE_REGION for national forms).
   * @throws AppError 400 naming `field` and DEFAULT_PHONE_REGION when it is not a valid phone number (group JIDs are
   *   not numbers).
   */
  phone(input: string, field = 'phone'): string {
    return requirePhone(input, field, this.config.DEFAULT_PHONE_REGION);
  }

  /**
   * Adds a number to the contact book. A number wa-hub only knows from traffic (no book fields yet) is taken over,
   * so its old messages get the name.
   * @throws AppError 400 for a bad phone, 409 `CONFLICT` when the number already is in the contact book.
   */
  async create(dto: CreateContactDto): Promise<ContactResponseDto> {
    const phone = this.phone(dto.phone);
    const row = await this.repo.insertOrTakeOver({
      phone,
      name: dto.name ?? null,
      email: dto.email ?? null,
      tags: dto.tags ?? [],
      notes: dto.notes ?? null,
      external_ref: dto.externalRef ?? null,
      lid: dto.lid ?? null,
    });
    if (!row) throw new AppError(HttpStatus.CONFLICT, 'CONFLICT', `A contact with phone ${phone} already exists`);
    if (row.lid) await this.mergeLidConversations([row.lid]);
    return toContactDto(row);
  }

  /**
   * Folds the conversations that were keyed by a `@lid` (before its number was known) into the number's
   * conversation of the same session: messages move (chat, contact and sender become the number), counters add
   * up, the last message is the newer one, the lid conversation is removed. One transaction; idempotent.
   * @param lids the `@lid` ids just linked to a contact.
   */
  async mergeLidConversations(lids: string[]): Promise<void> {
    if (lids.length === 0) return;
    await this.repo.mergeLidConversations(lids);
  }

  /**
   * Contacts, newest first; `q` matches name (accent/case-insensitive) or digits of the number. A key limited to
   * sessions sees the contacts that have a conversation in them.
   */
  async list(q: ListContactsQueryDto, key?: AuthenticatedKey): Promise<Page<ContactResponseDto>> {
    const page = await this.repo.list(q.q, q, key);
    return { ...page, data: page.data.map(toContactDto) };
  }

  /** @throws AppError 404, also when a session-limited key has no conversation with the contact. */
  async get(id: string, key?: AuthenticatedKey): Promise<ContactResponseDto> {
    return toContactDto(await this.row(id, key));
  }

  /** @throws AppError 404, 400 for a bad phone, 409 when the new number belongs to another contact. */
  async update(id: string, dto: UpdateContactDto): Promise<ContactResponseDto> {
    const current = await this.row(id);
    const phone = dto.phone !== undefined ? this.phone(dto.phone) : current.phone;
    try {
      const row = await this.repo.update(id, {
        phone,
        name: pickField(dto.name, current.name),
        email: pickField(dto.email, current.email),
        tags: dto.tags ?? current.tags,
        notes: pickField(dto.notes, current.notes),
        external_ref: pickField(dto.externalRef, current.external_ref),
        lid: pickField(dto.lid, current.lid),
      });
      if (!row) throw AppError.notFound('Contact'); // deleted since it was read
      if (row.lid) await this.mergeLidConversations([row.lid]);
      return toContactDto(row);
    } catch (e) {
      if ((e as { driverError?: { code?: string } }).driverError?.code === '23505')
        throw new AppError(HttpStatus.CONFLICT, 'CONFLICT', 'Another contact has that phone or lid');
      throw e;
    }
  }

  /** @throws AppError 404. Messages keep their numbers; they lose the contact-book name. */
  async delete(id: string): Promise<ContactResponseDto> {
    const row = await this.row(id);
    await this.repo.delete(id);
    return toContactDto(row);
  }

  /**
   * Upserts contacts by phone from CSV (header row; columns phone, name, email, tags separated by `;`, notes,
   * external_ref, lid) or a JSON array of the same fields. Later rows win over earlier ones with the same number.
   * @returns counts, and each rejected row's line (CSV: the header is line 1; JSON: index + 1) with the reason.
   * @throws AppError 400 when the body is neither.
   */
  async import(body: unknown, contentType: string | undefined): Promise<ImportContactsResponseDto> {
    const errors: { line: number; reason: string }[] = [];
    let created = 0;
    let updated = 0;
    const lids: string[] = [];
    // Rows are validated, normalised and written IMPORT_CHUNK at a time, yielding to the event loop in between,
    // so a 350,000-row import leaves every other request (and /health) answered meanwhile. Each chunk is its own
    // statement: later rows win over earlier ones with the same number, field by field, as within one chunk.
    for await (const chunk of this.importChunks(body, contentType)) {
      const byPhone = new Map<string, ContactImportRow>();
      let n = 0;
      for (const { raw, line } of chunk) {
        if (++n % IMPORT_YIELD_EVERY === 0) await yieldToEventLoop(); // validation is the costly part
        const dto = plainToInstance(CreateContactDto, raw);
        const problems = validateSync(dto, { whitelist: true, forbidNonWhitelisted: true });
        if (problems.length > 0) {
          errors.push({
            line,
            reason: problems.map((p) => `${p.property}: ${Object.values(p.constraints ?? {}).join(', ') || 'invalid'}`).join('; '),
          });
          continue;
        }
        const phone = normalizePhone(dto.phone, this.config.DEFAULT_PHONE_REGION as CountryCode | undefined);
        if (!phone) {
          errors.push({ line, reason: `phone: ${invalidPhoneReason(this.config.DEFAULT_PHONE_REGION)}` });
          continue;
        }
        const row = {
          phone,
          name: dto.name,
          email: dto.email,
          tags: dto.tags,
          notes: dto.notes,
          external_ref: dto.externalRef,
          lid: dto.lid,
        };
        const merged: Record<string, unknown> = { ...(byPhone.get(phone) ?? {}) };
        for (const [k, v] of Object.entries(row)) if (v !== undefined) merged[k] = v;
        byPhone.set(phone, merged as ContactImportRow);
      }
      if (byPhone.size > 0) {
        const counts = await this.repo.upsertMany([...byPhone.values()]);
        created += counts.created;
        updated += counts.updated;
        for (const r of byPhone.values()) if (r.lid) lids.push(r.lid);
      }
      await yieldToEventLoop();
    }
    if (lids.length > 0) await this.mergeLidConversations(lids);
    return { created, updated, rejected: errors.length, errors };
  }

  /**
   * The import's rows in chunks of IMPORT_CHUNK, each with its line (CSV: the header is line 1; JSON: index + 1).
   * CSV is parsed as a stream, fed 16 KiB at a time, so parsing a large file never holds the event loop.
   * @throws AppError 400 when the body is neither CSV nor a JSON array, the CSV cannot be parsed or has no phone column.
   */
  private async *importChunks(
    body: unknown,
    contentType: string | undefined,
  ): AsyncGenerator<{ raw: Record<string, unknown>; line: number }[]> {
    if (typeof body === 'string' && /csv|text\/plain/i.test(contentType ?? '')) {
      let fields: (string | undefined)[] | undefined;
      let line = 1;
      let chunk: { raw: Record<string, unknown>; line: number }[] = [];
      try {
        for await (const cells of csvRecords(body)) {
          if (!fields) {
            fields = cells.map((h) => CSV_FIELDS[h.toLowerCase().replace(/\s+/g, '')]);
            if (!fields.includes('phone')) throw AppError.badRequest('CSV header has no phone column');
            continue;
          }
          line++;
          const row: Record<string, unknown> = {};
          fields.forEach((f, i) => {
            const v = cells[i];
            if (!f || v === undefined || v === '') return;
            row[f] =
              f === 'tags'
                ? v
                    .split(/[;|]/)
                    .map((t) => t.trim())
                    .filter(Boolean)
                : v;
          });
          chunk.push({ raw: row, line });
          if (chunk.length >= IMPORT_CHUNK) {
            yield chunk;
            chunk = [];
          }
        }
      } catch (e) {
        if (e instanceof AppError) throw e;
        throw AppError.badRequest(`CSV could not be parsed: ${(e as Error).message}`);
      }
      if (!fields) throw AppError.badRequest('CSV is empty: a header row is required');
      if (chunk.length > 0) yield chunk;
      return;
    }
    if (Array.isArray(body)) {
      for (let i = 0; i < body.length; i += IMPORT_CHUNK) {
        yield body.slice(i, i + IMPORT_CHUNK).map((r, j) => ({
          raw: typeof r === 'object' && r !== null ? (r as Record<string, unknown>) : { phone: r },
          line: i + j + 1,
        }));
      }
      return;
    }
    throw AppError.badRequest('Send a CSV body (Content-Type: text/csv) or a JSON array of contacts');
  }

  /** @throws AppError 404 when missing, or not visible to a session-limited `key`. */
  private async row(id: string, key?: AuthenticatedKey): Promise<ContactRow> {
    if (!UUID_RE.test(id)) throw AppError.notFound('Contact');
    const row = await this.repo.findById(id, key);
    if (!row) throw AppError.notFound('Contact');
    return row;
  }
}

/** Rows validated and written per statement by an import (and between two yields to the event loop). */
const IMPORT_CHUNK = 1000;
/** Rows validated between two yields to the event loop (class-validator and libphonenumber cost ~50 µs a row). */
const IMPORT_YIELD_EVERY = 50;

/** The records of a CSV text, parsed as a stream fed 16 KiB at a time with a yield to the event loop between. */
async function* csvRecords(text: string): AsyncGenerator<string[]> {
  const parser = parseCsvStream({ skip_empty_lines: true, relax_column_count: true, trim: true, bom: true });
  parser.on('error', () => undefined); // surfaced by the iterator below; a write after it stopped must not crash
  const feed = (async () => {
    for (let i = 0; i < text.length; i += 16_384) {
      if (!parser.write(text.slice(i, i + 16_384))) await once(parser, 'drain');
      await yieldToEventLoop();
    }
    parser.end();
  })();
  feed.catch((e: Error) => parser.destroy(e));
  for await (const record of parser) yield record as string[];
}

/** The new value when the request carries the field (null clears it), else the current one. */
function pickField<T>(value: T | null | undefined, current: T | null): T | null {
  return value !== undefined ? value : current;
}

/** The `/v1` shape of a contact row. */
export function toContactDto(r: ContactRow): ContactResponseDto {
  const name = r.name ?? null;
  const profileName = r.profile_name ?? null;
  return {
    id: r.id,
    phone: r.phone,
    name,
    profileName,
    displayName: name ?? profileName ?? 'Unknown',
    email: r.email ?? null,
    tags: r.tags ?? [],
    notes: r.notes ?? null,
    externalRef: r.external_ref ?? null,
    lid: r.lid ?? null,
    createdAt: toIso(r.created_at)!,
    updatedAt: toIso(r.updated_at)!,
  };
}
