import { Module } from '@nestjs/common';
import { SendingModule } from '../sending/sending.module';
import { WebhooksModule } from '../webhooks/webhooks.module';
import { AutoRepliesController } from './auto-replies.controller';
import { AutoRepliesService } from './auto-replies.service';

@Module({ imports: [SendingModule, WebhooksModule], controllers: [AutoRepliesController], providers: [AutoRepliesService] })
export class AutoRepliesModule {}
