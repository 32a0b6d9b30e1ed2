import { Module } from '@nestjs/common';
import { IngestModule } from '../../ingest/ingest.module';
import { SessionsModule } from '../../sessions/sessions.module';
import { WablasIngest } from './wablas-ingest.service';
import { WablasSecretGuard } from './wablas-secret.guard';
import { WablasWebhookController } from './wablas-webhook.controller';
import { WablasDefinition } from './wablas.definition';
import { WablasNormalizer } from './wablas.normalizer';
import { WablasSender } from './wablas.sender';

/** The wablas provider: webhook route, its credential guard, normalizer, sender and definition. */
@Module({
  imports: [IngestModule, SessionsModule],
  controllers: [WablasWebhookController],
  providers: [WablasSecretGuard, WablasNormalizer, WablasIngest, WablasSender, WablasDefinition],
  exports: [WablasSecretGuard, WablasNormalizer, WablasIngest],
})
export class WablasModule {}
