import { Injectable, OnModuleInit } from '@nestjs/common';
import { ProviderRegistry, type ProviderDefinition } from '../../domain/provider-definition';
import { WwebjsCredentials } from './wwebjs.credentials';
import { WwebjsSender } from './wwebjs.sender';

/** whatsapp-web.js API servers: one session per server session; its status comes from the server's lifecycle webhooks. */
@Injectable()
export class WwebjsDefinition implements ProviderDefinition, OnModuleInit {
  readonly name = 'wwebjs';
  readonly connectedByTraffic = false;
  readonly credentials = WwebjsCredentials;

  constructor(
    readonly sender: WwebjsSender,
    private readonly registry: ProviderRegistry,
  ) {}

  onModuleInit(): void {
    this.registry.register(this);
  }
}
