import { Injectable, OnModuleInit } from '@nestjs/common';
import { WebhookEdge } from '../../ingest/webhook-edge';
import { WablasSecretGuard } from './wablas-secret.guard';
import { ProviderRegistry, type ProviderDefinition } from '../../domain/provider-definition';
import { WablasCredentials } from './wablas.credentials';
import { WablasMediaFetcher } from './wablas.media';
import { WablasSender } from './wablas.sender';

/** Wablas: one session per device, connected by its traffic (Wablas hosts the device). */
@Injectable()
export class WablasDefinition implements ProviderDefinition, OnModuleInit {
  readonly name = 'wablas';
  readonly connectedByTraffic = true;
  readonly credentials = WablasCredentials;
  /** Received media by the webhook's public `url` (see WablasMediaFetcher). */
  readonly media = new WablasMediaFetcher();

  constructor(
    readonly sender: WablasSender,
    private readonly registry: ProviderRegistry,
    private readonly edge: WebhookEdge,
    private readonly guard: WablasSecretGuard,
  ) {}

  onModuleInit(): void {
    this.registry.register(this);
    this.edge.protect({ paths: ['/webhooks/wablas'], guards: [this.guard] });
  }
}
