import { Global, Injectable, Module, type Type } from '@nestjs/common';
import type { MediaFetcher } from './media-fetcher';
import type { MessageSender } from './message-sender';
import type { Provider } from './provider';

/**
 * Everything the rest of wa-hub may know about a provider, declared by its folder (`src/providers/<name>/`) and
 * registered in the {@link ProviderRegistry}. Ingest, sending and sessions ask the registry; none of them names a
 * provider.
 */
export interface ProviderDefinition {
  /** Registry name, stored in `sessions.provider`. */
  readonly name: Provider;
  /**
   * Sessions are connected as soon as they deliver traffic and have no lifecycle of their own (Meta phone numbers
   * and Wablas devices are hosted by the provider). Such a session becomes `connected` on its first webhook, and
   * again when new sending credentials release a queue held for refused ones; other sessions report their own
   * status (wwebjs servers by webhook) and go to `unknown` then.
   */
  readonly connectedByTraffic: boolean;
  /** The outbound port, when wa-hub can send through this provider. */
  readonly sender?: MessageSender;
  /**
   * class-validator DTO of the per-session sending credentials (`PATCH /v1/sessions/:id {credentials}`), checked
   * with `whitelist` and `forbidNonWhitelisted`; absent = the provider takes none.
   */
  readonly credentials?: Type<object>;
  /**
   * Sessions wa-hub runs itself (Baileys): created, started, stopped and logged out through `/v1/sessions`.
   * Absent for providers whose sessions live on the provider's side (they appear with their first webhook);
   * the session routes then answer 422 `CAPABILITY_NOT_SUPPORTED`.
   */
  readonly sessions?: SessionControl;
  /**
   * Downloads the files of received media messages (src/media's worker). Absent = wa-hub cannot fetch this
   * provider's media itself; its items fail with `CAPABILITY_NOT_SUPPORTED` unless the bytes came in a webhook.
   */
  readonly media?: MediaFetcher;
}

/** Lifecycle of sessions wa-hub runs in-process. Ids are wa-hub session ids (uuid). */
export interface SessionControl {
  /** Starts (or resumes) the session; its status then comes through ingest (connecting, qr, connected, ...). */
  start(sessionId: string): Promise<void>;
  /** Ends the connection, keeps the login; start resumes without a new QR. */
  stop(sessionId: string): Promise<void>;
  restart(sessionId: string): Promise<void>;
  /** Unlinks the device at WhatsApp and wipes its login; a new QR is needed. */
  logout(sessionId: string): Promise<void>;
  /**
   * @returns the pairing code to type on the phone (8 characters), for `phoneDigits` (E.164 digits).
   * @throws Error when the session is not waiting for a login.
   */
  pairingCode(sessionId: string, phoneDigits: string): Promise<string>;
}

/**
 * The one `Map<Provider, ProviderDefinition>`. Each provider module registers its definition when it is
 * initialised (`onModuleInit`), before any request or background job runs.
 */
@Injectable()
export class ProviderRegistry {
  private readonly definitions = new Map<Provider, ProviderDefinition>();

  /** @throws Error when two modules register the same name (a wiring mistake, caught at boot). */
  register(definition: ProviderDefinition): void {
    if (this.definitions.has(definition.name)) throw new Error(`provider ${definition.name} is registered twice`);
    this.definitions.set(definition.name, definition);
  }

  /** @returns the definition, or undefined for a name no module registered (e.g. rows of a removed provider). */
  get(name: Provider): ProviderDefinition | undefined {
    return this.definitions.get(name);
  }

  /** Registered names, in registration order. */
  names(): Provider[] {
    return [...this.definitions.keys()];
  }

  /** Names of the providers whose sessions are connected by traffic (see {@link ProviderDefinition.connectedByTraffic}). */
  connectedByTraffic(): Provider[] {
    return [...this.definitions.values()].filter((d) => d.connectedByTraffic).map((d) => d.name);
  }
}

/** Makes the registry injectable everywhere (a global module: the registry is infrastructure, like config). */
@Global()
@Module({ providers: [ProviderRegistry], exports: [ProviderRegistry] })
export class ProviderRegistryModule {}
