import { Module } from '@nestjs/common';
import { ConversationsController } from '../conversations/conversations.controller';
import { MessagesModule } from '../messages/messages.module';
import { OutboxJanitor } from './outbox-janitor';
import { OutboxSignal } from './outbox-signal';
import { OutboxWorker } from './outbox.worker';
import { SenderRegistry } from './sender-registry';
import { MetaSender } from './senders/meta.sender';
import { WablasSender } from './senders/wablas.sender';
import { WwebjsSender } from './senders/wwebjs.sender';
import { SendingController } from './sending.controller';
import { SendingService } from './sending.service';

@Module({
  imports: [MessagesModule],
  // Conversations' mark-read also sends read receipts, so their controller lives where the outbox is.
  controllers: [SendingController, ConversationsController],
  providers: [MetaSender, WablasSender, WwebjsSender, SenderRegistry, OutboxSignal, OutboxWorker, OutboxJanitor, SendingService],
  exports: [SendingService],
})
export class SendingModule {}
