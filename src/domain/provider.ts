/**
 * A provider's registry name (`meta`, `wablas`, ...): the key of its ProviderDefinition and the value of
 * `sessions.provider`. Deliberately a string: which providers exist is decided by the folders under
 * `src/providers/` (registered in ProvidersModule), not by a list here. The OpenAPI document lists the
 * registered names as the enum of every `provider` field (configure-app.ts).
 */
export type Provider = string;

/** What a provider name looks like; filters with anything else are refused with 400. */
export const PROVIDER_NAME_RE = /^[a-z][a-z0-9_-]{0,31}$/;
