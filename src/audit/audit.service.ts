import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Request } from 'express';
import { DataSource } from 'typeorm';
import { apiKeyOf } from '../auth/api-key.guard';
import { keysetPage } from '../common/keyset-page';
import type { Page, PageQueryDto } from '../common/page-query.dto';
import { requestIdOf } from '../common/request-id';
import { SqlWhere } from '../common/sql-where';

/** One audited admin action. */
export interface AuditEntry {
  id: string;
  at: string;
  actorKeyId: string | null;
  actorKeyPrefix: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  details: Record<string, unknown> | null;
  requestId: string | null;
  ip: string | null;
}

/** The audit log: who (which key) did which admin action, when, from where. Secrets never go in `details`. */
@Injectable()
export class AuditService {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** Records `action` (e.g. `api_key.created`) on a target by the request's key. */
  async record(req: Request, action: string, target: { type: string; id: string }, details: Record<string, unknown> | null = null): Promise<void> {
    const key = apiKeyOf(req);
    await this.db.query(
      `INSERT INTO audit_log (actor_key_id, actor_key_prefix, action, target_type, target_id, details, request_id, ip)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [key?.id ?? null, key?.prefix ?? null, action, target.type, target.id, details, requestIdOf(req), req.ip ?? null],
    );
  }

  /** Entries newest first. */
  list(q: PageQueryDto): Promise<Page<AuditEntry>> {
    return keysetPage(this.db, {
      select: 'SELECT a.*',
      from: 'FROM audit_log a',
      where: new SqlWhere(),
      query: q,
      sortAt: 'a.at',
      id: 'a.id',
      idType: 'bigint',
      sortValue: (r) => r.at,
      map: (r) => ({
        id: String(r.id),
        at: new Date(r.at as string).toISOString(),
        actorKeyId: (r.actor_key_id as string) ?? null,
        actorKeyPrefix: (r.actor_key_prefix as string) ?? null,
        action: r.action as string,
        targetType: (r.target_type as string) ?? null,
        targetId: (r.target_id as string) ?? null,
        details: (r.details as Record<string, unknown>) ?? null,
        requestId: (r.request_id as string) ?? null,
        ip: (r.ip as string) ?? null,
      }),
    });
  }
}
