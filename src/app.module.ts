import { Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { ApiKeysModule } from './api-keys/api-keys.module';
import { AuthModule } from './auth/auth.module';
import { AutoRepliesModule } from './auto-replies/auto-replies.module';
import { ClockModule } from './common/clock.module';
import { AllExceptionsFilter } from './common/http-exception.filter';
import { CompatModule } from './compat/compat.module';
import { ConsoleModule } from './console/console.module';
import { ConfigModule } from './config/config.module';
import { ContactsModule } from './contacts/contacts.module';
import { ConversationsModule } from './conversations/conversations.module';
import { DatabaseModule } from './database/database.module';
import { ProviderRegistryModule } from './domain/provider-definition';
import { EventsModule } from './events/events.module';
import { ForwardingModule } from './forwarding/forwarding.module';
import { HealthModule } from './health/health.module';
import { IngestModule } from './ingest/ingest.module';
import { MediaModule } from './media/media.module';
import { MessagesModule } from './messages/messages.module';
import { ObservabilityModule } from './observability/observability.module';
import { OperationsModule } from './operations/operations.module';
import { ProvidersModule } from './providers/providers.module';
import { SendingModule } from './sending/sending.module';
import { SessionsModule } from './sessions/sessions.module';
import { StatsModule } from './stats/stats.module';

/** Feature modules, one per folder (src/README in the repository's README: "How it works"). */
@Module({
  imports: [
    ConfigModule,
    ClockModule,
    ObservabilityModule,
    DatabaseModule,
    ProviderRegistryModule,
    AuthModule,
    ApiKeysModule,
    IngestModule,
    ProvidersModule,
    MessagesModule,
    ConversationsModule,
    SendingModule,
    AutoRepliesModule,
    SessionsModule,
    ContactsModule,
    StatsModule,
    EventsModule,
    ForwardingModule,
    MediaModule,
    CompatModule,
    HealthModule,
    ConsoleModule,
    OperationsModule,
  ],
  providers: [{ provide: APP_FILTER, useClass: AllExceptionsFilter }],
})
export class AppModule {}
