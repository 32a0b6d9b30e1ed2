import { Module } from '@nestjs/common';
import { IngestModule } from '../../ingest/ingest.module';
import { BaileysAuthRepository } from './baileys-auth.repository';
import { BaileysEngine } from './baileys-engine';
import { BaileysLeaseRepository } from './baileys-lease.repository';
import { BaileysDefinition } from './baileys.definition';
import { BaileysNormalizer } from './baileys.normalizer';
import { BaileysSender } from './baileys.sender';

/** The Baileys provider: in-process sessions (engine, auth state, leases), normalizer, sender, definition. */
@Module({
  imports: [IngestModule],
  providers: [BaileysAuthRepository, BaileysLeaseRepository, BaileysNormalizer, BaileysEngine, BaileysSender, BaileysDefinition],
  exports: [BaileysEngine, BaileysNormalizer],
})
export class BaileysModule {}
