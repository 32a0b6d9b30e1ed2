import { Injectable, OnModuleInit } from '@nestjs/common';
import type { MediaFetcher } from '../../domain/media-fetcher';
import { ProviderRegistry, type ProviderDefinition, type SessionControl } from '../../domain/provider-definition';
import { BaileysEngine } from './baileys-engine';
import { BaileysMediaFetcher } from './baileys.media';
import { BaileysSender } from './baileys.sender';

/**
 * Baileys: WhatsApp Web sessions run inside wa-hub (QR or pairing-code login, auth state in PostgreSQL), created
 * and controlled through `/v1/sessions`. Their status comes from their own connection, not from traffic.
 */
@Injectable()
export class BaileysDefinition implements ProviderDefinition, OnModuleInit {
  readonly name = 'baileys';
  readonly connectedByTraffic = false;
  readonly sessions: SessionControl;
  /** Received media through the session's own socket (see BaileysMediaFetcher). */
  readonly media: MediaFetcher;

  constructor(
    readonly sender: BaileysSender,
    engine: BaileysEngine,
    private readonly registry: ProviderRegistry,
  ) {
    this.sessions = engine;
    this.media = new BaileysMediaFetcher(engine);
  }

  onModuleInit(): void {
    this.registry.register(this);
  }
}
