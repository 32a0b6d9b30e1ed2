import { Module } from '@nestjs/common';
import { WebhookFastLane } from './fast-lane/webhook-fast-lane';
import { IngestRepository } from './ingest/ingest.repository';
import { IngestService } from './ingest/ingest.service';
import { WebhookEventsController } from './ingest/webhook-events.controller';
import { MetaSignatureGuard } from './providers/meta/meta-signature.guard';
import { MetaWebhookController } from './providers/meta/meta-webhook.controller';
import { MetaNormalizer } from './providers/meta/meta.normalizer';
import { WablasSecretGuard } from './providers/wablas/wablas-secret.guard';
import { WablasWebhookController } from './providers/wablas/wablas-webhook.controller';
import { WablasNormalizer } from './providers/wablas/wablas.normalizer';
import { WwebjsAuthGuard } from './providers/wwebjs/wwebjs-auth.guard';
import { WwebjsWebhookController } from './providers/wwebjs/wwebjs-webhook.controller';
import { WwebjsNormalizer } from './providers/wwebjs/wwebjs.normalizer';

@Module({
  controllers: [MetaWebhookController, WablasWebhookController, WwebjsWebhookController, WebhookEventsController],
  providers: [WebhookFastLane, IngestRepository, IngestService, MetaNormalizer, MetaSignatureGuard, WablasNormalizer, WablasSecretGuard, WwebjsNormalizer, WwebjsAuthGuard],
  exports: [WebhookFastLane, IngestService, MetaNormalizer, WablasNormalizer, MetaSignatureGuard, WablasSecretGuard, WwebjsNormalizer, WwebjsAuthGuard],
})
export class WebhooksModule {}
