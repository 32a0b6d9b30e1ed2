import { ApiKeyEntity } from '../api-keys/api-key.entity';
import { ContactEntity } from '../contacts/contact.entity';
import { ConversationEntity } from '../conversations/conversation.entity';
import { MessageStatusEventEntity } from '../messages/message-status-event.entity';
import { MessageEntity } from '../messages/message.entity';
import { SessionEntity } from '../sessions/session.entity';
import { ProviderErrorEntity } from '../webhooks/ingest/provider-error.entity';
import { WebhookEventEntity } from '../webhooks/ingest/webhook-event.entity';
import { InitialSchema1763683200000 } from '../../migrations/1763683200000-InitialSchema';
import { SessionLifecycle1763769600000 } from '../../migrations/1763769600000-SessionLifecycle';
import { IngestBatchFunction1763856000000 } from '../../migrations/1763856000000-IngestBatchFunction';
import { AuditLog1763942400000 } from '../../migrations/1763942400000-AuditLog';
import { ContactsAndSearch1764028800000 } from '../../migrations/1764028800000-ContactsAndSearch';
import { StatsRollups1764115200000 } from '../../migrations/1764115200000-StatsRollups';
import { Outbox1764201600000 } from '../../migrations/1764201600000-Outbox';

/** Listed by class, not glob, so the same options work under tsc, Vitest and the TypeORM CLI (STACK.md pitfall 3). */
export const ENTITIES = [
  SessionEntity,
  ContactEntity,
  ConversationEntity,
  MessageEntity,
  MessageStatusEventEntity,
  WebhookEventEntity,
  ProviderErrorEntity,
  ApiKeyEntity,
];

export const MIGRATIONS = [InitialSchema1763683200000, SessionLifecycle1763769600000, IngestBatchFunction1763856000000, AuditLog1763942400000, ContactsAndSearch1764028800000, StatsRollups1764115200000, Outbox1764201600000];
