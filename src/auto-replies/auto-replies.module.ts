import { Module } from '@nestjs/common';
import { SendingModule } from '../sending/sending.module';
import { AuditModule } from '../audit/audit.module';
import { IngestModule } from '../ingest/ingest.module';
import { AutoRepliesController } from './auto-replies.controller';
import { AutoRepliesService } from './auto-replies.service';
import { AutoRepliesRepository } from './auto-replies.repository';

@Module({
  imports: [AuditModule, SendingModule, IngestModule],
  controllers: [AutoRepliesController],
  providers: [AutoRepliesRepository, AutoRepliesService],
})
export class AutoRepliesModule {}
