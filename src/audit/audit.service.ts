import { Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { apiKeyOf } from '../auth/api-key.guard';
import type { Page, PageQueryDto } from '../common/page-query.dto';
import { requestIdOf } from '../common/request-id';
import { AuditRepository } from './audit.repository';

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
  constructor(private readonly repo: AuditRepository) {}

  /** Records `action` (e.g. `api_key.created`) on a target by the request's key. */
  async record(
    req: Request,
    action: string,
    target: { type: string; id: string },
    details: Record<string, unknown> | null = null,
  ): Promise<void> {
    const key = apiKeyOf(req);
    await this.repo.insert({
      actor_key_id: key?.id ?? null,
      actor_key_prefix: key?.prefix ?? null,
      action,
      target_type: target.type,
      target_id: target.id,
      details,
      request_id: requestIdOf(req),
      ip: req.ip ?? null,
    });
  }

  /** Entries newest first. */
  async list(q: PageQueryDto): Promise<Page<AuditEntry>> {
    const page = await this.repo.page(q);
    return {
      ...page,
      data: page.data.map((r) => ({
        id: String(r.id),
        at: new Date(r.at).toISOString(),
        actorKeyId: r.actor_key_id ?? null,
        actorKeyPrefix: r.actor_key_prefix ?? null,
        action: r.action,
        targetType: r.target_type ?? null,
        targetId: r.target_id ?? null,
        details: r.details ?? null,
        requestId: r.request_id ?? null,
        ip: r.ip ?? null,
      })),
    };
  }
}
