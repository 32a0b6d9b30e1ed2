import { Injectable } from '@nestjs/common';
import type { MessageSender } from './outbound';
import { MetaSender } from './senders/meta.sender';
import { WablasSender } from './senders/wablas.sender';
import { WwebjsSender } from './senders/wwebjs.sender';

/** The {@link MessageSender} of each provider that wa-hub can send through. */
@Injectable()
export class SenderRegistry {
  private readonly byProvider: Map<string, MessageSender>;

  constructor(meta: MetaSender, wablas: WablasSender, wwebjs: WwebjsSender) {
    this.byProvider = new Map<string, MessageSender>([meta, wablas, wwebjs].map((s) => [s.provider, s]));
  }

  /** @returns the sender, or undefined for a provider without one (Baileys, until its issue). */
  get(provider: string): MessageSender | undefined {
    return this.byProvider.get(provider);
  }
}
