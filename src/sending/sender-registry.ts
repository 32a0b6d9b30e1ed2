import { Injectable } from '@nestjs/common';
import type { MessageSender } from '../domain/message-sender';
import { ProviderRegistry } from '../domain/provider-definition';

/** The {@link MessageSender} of each registered provider that wa-hub can send through. */
@Injectable()
export class SenderRegistry {
  constructor(private readonly providers: ProviderRegistry) {}

  /** @returns the sender, or undefined for a provider without one (or no longer registered). */
  get(provider: string): MessageSender | undefined {
    return this.providers.get(provider)?.sender;
  }
}
