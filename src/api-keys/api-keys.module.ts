import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { ApiKeysController } from './api-keys.controller';

/** API key management (`/v1/api-keys`) and the audit log route; the key store itself is AuthModule's. */
@Module({ imports: [AuditModule], controllers: [ApiKeysController] })
export class ApiKeysModule {}
