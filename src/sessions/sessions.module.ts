import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { SessionDefaultsController } from './session-defaults.controller';
import { SessionDefaultsRepository } from './session-defaults.repository';
import { SessionDefaultsService } from './session-defaults.service';
import { SessionsController } from './sessions.controller';
import { SessionsRepository } from './sessions.repository';
import { SessionsService } from './sessions.service';

@Module({
  imports: [AuditModule],
  controllers: [SessionsController, SessionDefaultsController],
  providers: [SessionsRepository, SessionsService, SessionDefaultsRepository, SessionDefaultsService],
  exports: [SessionsService],
})
export class SessionsModule {}
