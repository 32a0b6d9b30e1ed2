import { Module } from '@nestjs/common';
import { MessagesModule } from '../messages/messages.module';
import { SendingModule } from '../sending/sending.module';
import { ConversationsController } from './conversations.controller';
import { ConversationsRepository } from './conversations.repository';
import { ConversationsService } from './conversations.service';

/** Conversations: list, thread, mark read (which queues the provider's read receipt through SendingModule). */
@Module({
  imports: [MessagesModule, SendingModule],
  controllers: [ConversationsController],
  providers: [ConversationsService, ConversationsRepository],
  exports: [ConversationsService],
})
export class ConversationsModule {}
