import { ApiKeyEntity } from '../auth/api-key.entity';
import { InitialSchema1763683200000 } from '../../migrations/1763683200000-InitialSchema';
import { SessionLifecycle1763769600000 } from '../../migrations/1763769600000-SessionLifecycle';
import { IngestBatchFunction1763856000000 } from '../../migrations/1763856000000-IngestBatchFunction';
import { AuditLog1763942400000 } from '../../migrations/1763942400000-AuditLog';
import { ContactsAndSearch1764028800000 } from '../../migrations/1764028800000-ContactsAndSearch';
import { StatsRollups1764115200000 } from '../../migrations/1764115200000-StatsRollups';
import { Outbox1764201600000 } from '../../migrations/1764201600000-Outbox';
import { HouseOrder1764288000000 } from '../../migrations/1764288000000-HouseOrder';
import { BaileysSessions1764374400000 } from '../../migrations/1764374400000-BaileysSessions';
import { EventLog1764460800000 } from '../../migrations/1764460800000-EventLog';
import { Forwarding1764547200000 } from '../../migrations/1764547200000-Forwarding';
import { Media1764633600000 } from '../../migrations/1764633600000-Media';
import { ReadsUnderLoad1764720000000 } from '../../migrations/1764720000000-ReadsUnderLoad';
import { SharedLimits1764806400000 } from '../../migrations/1764806400000-SharedLimits';
import { DeliveryClaimIndex1764892800000 } from '../../migrations/1764892800000-DeliveryClaimIndex';
import { SessionDefaultOwners1764979200000 } from '../../migrations/1764979200000-SessionDefaultOwners';
import { IngestInbox1765065600000 } from '../../migrations/1765065600000-IngestInbox';
import { sqlSourcesMigration } from './sql-sources';

/**
 * Entities for the tables wa-hub reads and writes through TypeORM repositories. Every other table is accessed by
 * hand-written SQL inside its feature's repository. test/entities-schema.e2e-spec.ts proves these match the
 * migrated schema (TypeORM's schema builder finds nothing to change).
 */
/**
 * Entities for the tables wa-hub reads and writes through TypeORM repositories. Every other table is accessed by
 * hand-written SQL inside its feature's repository. test/entities-schema.e2e-spec.ts proves these match the
 * migrated schema (TypeORM's schema builder finds nothing to change).
 */
export const ENTITIES = [ApiKeyEntity];

/**
 * Listed by class, not glob, so the same options work under tsc, Vitest and the TypeORM CLI. The last one applies
 * the PL/pgSQL sources of src/database/sql whenever they change.
 */
/**
 * Listed by class, not glob, so the same options work under tsc, Vitest and the TypeORM CLI. The last one applies
 * the PL/pgSQL sources of src/database/sql whenever they change.
 */
export const MIGRATIONS = [
  InitialSchema1763683200000,
  SessionLifecycle1763769600000,
  IngestBatchFunction1763856000000,
  AuditLog1763942400000,
  ContactsAndSearch1764028800000,
  StatsRollups1764115200000,
  Outbox1764201600000,
  HouseOrder1764288000000,
  BaileysSessions1764374400000,
  EventLog1764460800000,
  Forwarding1764547200000,
  Media1764633600000,
  ReadsUnderLoad1764720000000,
  SharedLimits1764806400000,
  DeliveryClaimIndex1764892800000,
  SessionDefaultOwners1764979200000,
  IngestInbox1765065600000,
  sqlSourcesMigration(),
];
