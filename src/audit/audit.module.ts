import { Module } from '@nestjs/common';
import { AuditService } from './audit.service';

/** The audit log of admin actions (keys, sessions, contacts, auto-replies); read through GET /v1/audit-log. */
@Module({ providers: [AuditService], exports: [AuditService] })
export class AuditModule {}
