import { Module } from '@nestjs/common';
import { IngestModule } from '../../ingest/ingest.module';
import { WwebjsAuthGuard } from './wwebjs-auth.guard';
import { WwebjsWebhookController } from './wwebjs-webhook.controller';
import { WwebjsDefinition } from './wwebjs.definition';
import { WwebjsNormalizer } from './wwebjs.normalizer';
import { WwebjsSender } from './wwebjs.sender';

/** The wwebjs provider: webhook route, its credential guard, normalizer, sender and definition. */
@Module({
  imports: [IngestModule],
  controllers: [WwebjsWebhookController],
  providers: [WwebjsAuthGuard, WwebjsNormalizer, WwebjsSender, WwebjsDefinition],
  exports: [WwebjsAuthGuard, WwebjsNormalizer],
})
export class WwebjsModule {}
