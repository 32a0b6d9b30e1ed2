import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { keysetPage } from '../common/keyset-page';
import type { Page, PageQueryDto } from '../common/page-query.dto';
import { SqlWhere } from '../common/sql-where';

/** An `audit_log` row (migration AuditLog); the bigint id as decimal text, `at` as Date. */
export interface AuditLogRow {
  id: string;
  at: Date;
  actor_key_id: string | null;
  actor_key_prefix: string | null;
  /** e.g. `api_key.created`. */
  action: string;
  target_type: string | null;
  target_id: string | null;
  details: Record<string, unknown> | null;
  request_id: string | null;
  ip: string | null;
}

/** A new audit entry; `at` and `id` are set by the database. */
export type NewAuditEntry = Omit<AuditLogRow, 'id' | 'at'>;

/** The SQL of the audit log (table `audit_log`). */
@Injectable()
export class AuditRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * Appends one entry, stamped now.
   * @returns nothing.
   * @throws the database's error.
   */
  async insert(e: NewAuditEntry): Promise<void> {
    await this.db.query(
      `INSERT INTO audit_log (actor_key_id, actor_key_prefix, action, target_type, target_id, details, request_id, ip)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [e.actor_key_id, e.actor_key_prefix, e.action, e.target_type, e.target_id, e.details, e.request_id, e.ip],
    );
  }

  /**
   * One page of entries, newest first (keyset pagination, see keysetPage).
   * @returns the page with its rows and counts.
   * @throws AppError 400 for a cursor that is not ours; the database's error.
   */
  page(q: PageQueryDto): Promise<Page<AuditLogRow>> {
    return keysetPage(this.db, {
      select: 'SELECT a.*',
      from: 'FROM audit_log a',
      where: new SqlWhere(),
      query: q,
      sortAt: 'a.at',
      id: 'a.id',
      idType: 'bigint',
      sortValue: (r) => r.at,
      map: (r) => r as unknown as AuditLogRow,
    });
  }
}
