import { Module } from '@nestjs/common';
import { IngestApplier } from './ingest-applier';
import { IngestRepository } from './ingest.repository';
import { IngestService } from './ingest.service';
import { WebhookEventsController } from './webhook-events.controller';
import { WebhookEventsRepository } from './webhook-events.repository';
import { WebhookEventsService } from './webhook-events.service';
import { WebhookEdge } from './webhook-edge';
import { WebhookFastLane } from './webhook-fast-lane';

/** The pipeline every provider feeds: the webhook edge, normalised events stored in batches, the raw event log. */
@Module({
  controllers: [WebhookEventsController],
  providers: [WebhookEdge, WebhookFastLane, IngestRepository, IngestApplier, IngestService, WebhookEventsRepository, WebhookEventsService],
  exports: [WebhookEdge, WebhookFastLane, IngestService, IngestApplier],
})
export class IngestModule {}
