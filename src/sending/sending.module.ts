import { Module } from '@nestjs/common';
import { OutboxJanitor } from './outbox-janitor';
import { OutboxSignal } from './outbox-signal';
import { OutboxWorker } from './outbox.worker';
import { SenderRegistry } from './sender-registry';
import { SendingController } from './sending.controller';
import { SendingService } from './sending.service';

import { MessagesModule } from '../messages/messages.module';

/** Outbound: POST /v1/messages, the durable outbox and its worker; senders come from the ProviderRegistry. */
@Module({
  imports: [MessagesModule],
  controllers: [SendingController],
  providers: [SenderRegistry, OutboxSignal, OutboxWorker, OutboxJanitor, SendingService],
  exports: [SendingService],
})
export class SendingModule {}
