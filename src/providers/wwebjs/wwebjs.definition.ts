import { Injectable, OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { WebhookEdge } from '../../ingest/webhook-edge';
import { WwebjsAuthGuard } from './wwebjs-auth.guard';
import { ProviderRegistry, type ProviderDefinition } from '../../domain/provider-definition';
import { WwebjsCredentials } from './wwebjs.credentials';
import { WwebjsMediaFetcher } from './wwebjs.media';
import { WwebjsSender } from './wwebjs.sender';

/** whatsapp-web.js API servers: one session per server session; its status comes from the server's lifecycle webhooks. */
@Injectable()
export class WwebjsDefinition implements ProviderDefinition, OnModuleInit {
  readonly name = 'wwebjs';
  readonly connectedByTraffic = false;
  readonly credentials = WwebjsCredentials;
  /** Media bytes come in the server's own `media` webhook (see WwebjsMediaFetcher). */
  readonly media = new WwebjsMediaFetcher();

  constructor(
    readonly sender: WwebjsSender,
    private readonly registry: ProviderRegistry,
    private readonly edge: WebhookEdge,
    private readonly guard: WwebjsAuthGuard,
    private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.registry.register(this);
    this.edge.protect({ paths: ['/webhooks/wwebjs'], guards: [this.guard], bodyLimit: this.config.WWEBJS_BODY_LIMIT_BYTES });
  }
}
