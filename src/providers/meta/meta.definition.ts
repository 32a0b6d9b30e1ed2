import { Injectable, OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import type { MediaFetcher } from '../../domain/media-fetcher';
import { ProviderRegistry, type ProviderDefinition } from '../../domain/provider-definition';
import { WebhookEdge } from '../../ingest/webhook-edge';
import { WebhookFastLane } from '../../ingest/webhook-fast-lane';
import { MetaSignatureGuard } from './meta-signature.guard';
import { MetaCredentials } from './meta.credentials';
import { MetaMediaFetcher } from './meta.media';
import { MetaNormalizer } from './meta.normalizer';
import { MetaSender } from './meta.sender';

/** Meta WhatsApp Cloud API: one session per phone_number_id, connected by its traffic (Meta hosts the number). */
@Injectable()
export class MetaDefinition implements ProviderDefinition, OnModuleInit {
  readonly name = 'meta';
  readonly connectedByTraffic = true;
  readonly credentials = MetaCredentials;
  /** Received media through the Graph API's media endpoint (see MetaMediaFetcher). */
  readonly media: MediaFetcher;

  constructor(
    readonly sender: MetaSender,
    private readonly registry: ProviderRegistry,
    private readonly edge: WebhookEdge,
    private readonly fastLane: WebhookFastLane,
    private readonly guard: MetaSignatureGuard,
    private readonly normalizer: MetaNormalizer,
    config: AppConfig,
  ) {
    this.media = new MetaMediaFetcher(config);
  }

  onModuleInit(): void {
    this.registry.register(this);
    this.edge.protect({ paths: ['/webhooks/meta'], guards: [this.guard] });
    // Meta alone may send 1,000 notifications/s per number: its JSON POSTs take the lane ahead of Express.
    this.fastLane.register({ path: '/webhooks/meta', provider: this.name, guard: this.guard, normalizer: this.normalizer });
  }
}
