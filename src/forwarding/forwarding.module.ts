import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { ForwardingConfig, loadForwardingConfig } from './forwarding.config';
import { ForwardingRepository } from './forwarding.repository';
import { ForwardingWorker } from './forwarding.worker';
import { WebhooksController } from './webhooks.controller';
import { WebhooksService } from './webhooks.service';

/**
 * Outgoing webhooks (issue 13): `/v1/webhooks` subscriptions and the worker that fans the event log out into
 * signed deliveries. Its settings (WEBHOOK_*) are read from the environment by {@link loadForwardingConfig}.
 */
@Module({
  imports: [AuditModule],
  controllers: [WebhooksController],
  providers: [
    { provide: ForwardingConfig, useFactory: () => loadForwardingConfig() },
    ForwardingRepository,
    WebhooksService,
    ForwardingWorker,
  ],
})
export class ForwardingModule {}
