import { Module } from '@nestjs/common';
import { BaileysModule } from './baileys/baileys.module';
import { MetaModule } from './meta/meta.module';
import { WablasModule } from './wablas/wablas.module';
import { WwebjsModule } from './wwebjs/wwebjs.module';

/**
 * Every provider wa-hub speaks, one folder and one module each. Adding a provider is a new folder
 * (`src/providers/<name>/`: webhook controller, guard, normalizer, sender, credentials, definition, module) and
 * one entry in this list; ingest, sending and sessions find it through the ProviderRegistry.
 */
export const PROVIDER_MODULES = [MetaModule, WablasModule, WwebjsModule, BaileysModule];

@Module({ imports: PROVIDER_MODULES, exports: PROVIDER_MODULES })
export class ProvidersModule {}
