import { Module } from '@nestjs/common';
import { ClockModule } from '../common/clock.module';
import { OutboxJanitor } from './outbox-janitor';
import { OutboxRepository } from './outbox.repository';
import { OutboxSignal } from './outbox-signal';
import { OutboxWorker } from './outbox.worker';
import { SenderRegistry } from './sender-registry';
import { SendingController } from './sending.controller';
import { SendingRepository } from './sending.repository';
import { SendingService } from './sending.service';

import { MediaModule } from '../media/media.module';
import { MessagesModule } from '../messages/messages.module';

/**
 * Outbound: POST /v1/messages, the durable outbox and its worker; senders come from the ProviderRegistry. Uploaded
 * files (POST /v1/media, in MediaModule) are read from the media store at send time; MediaModule is re-exported so
 * the seed routes built on sending (CompatModule) sign media URLs too.
 */
@Module({
  // ClockModule is global; imported here too so the worker's CLOCK resolves whichever modules the app imports.
  imports: [MessagesModule, ClockModule, MediaModule],
  controllers: [SendingController],
  providers: [SenderRegistry, OutboxSignal, OutboxRepository, SendingRepository, OutboxWorker, OutboxJanitor, SendingService],
  exports: [SendingService, MediaModule],
})
export class SendingModule {}
