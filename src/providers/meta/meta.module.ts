import { Module } from '@nestjs/common';
import { IngestModule } from '../../ingest/ingest.module';
import { MetaSignatureGuard } from './meta-signature.guard';
import { MetaWebhookController } from './meta-webhook.controller';
import { MetaDefinition } from './meta.definition';
import { MetaNormalizer } from './meta.normalizer';
import { MetaSender } from './meta.sender';

/** The meta provider: webhook route, its credential guard, normalizer, sender and definition. */
@Module({
  imports: [IngestModule],
  controllers: [MetaWebhookController],
  providers: [MetaSignatureGuard, MetaNormalizer, MetaSender, MetaDefinition],
  exports: [MetaSignatureGuard, MetaNormalizer],
})
export class MetaModule {}
