import { Module } from '@nestjs/common';
import { EventTail } from './event-tail';
import { EventsController } from './events.controller';
import { EventsGateway } from './events.gateway';
import { EventsRepository } from './events.repository';
import { EventsRetention } from './events-retention';
import { EventsService } from './events.service';
import { GapTracker } from './gap-tracker';

/**
 * The event log's readers: GET /v1/events, the SSE stream, the Socket.IO gateway, retention. Writers are the changes themselves (ingest's
 * SQL functions, the outbox, session control), in the same transaction.
 */
@Module({
  controllers: [EventsController],
  providers: [EventsRepository, GapTracker, EventTail, EventsService, EventsRetention, EventsGateway],
  exports: [EventsService],
})
export class EventsModule {}
