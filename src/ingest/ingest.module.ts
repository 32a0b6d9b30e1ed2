import { Module } from '@nestjs/common';
import { IngestRepository } from './ingest.repository';
import { IngestService } from './ingest.service';
import { WebhookEventsController } from './webhook-events.controller';
import { WebhookFastLane } from './webhook-fast-lane';

/** The pipeline every provider feeds: the webhook edge, normalised events stored in batches, the raw event log. */
@Module({
  controllers: [WebhookEventsController],
  providers: [WebhookFastLane, IngestRepository, IngestService],
  exports: [WebhookFastLane, IngestService],
})
export class IngestModule {}
