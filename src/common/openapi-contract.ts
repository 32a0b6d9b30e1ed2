import type { OpenAPIObject } from '@nestjs/swagger';
import type { ErrorBody } from './app-error';
import { EXAMPLE_REQUEST_ID, type ErrorExample, STANDARD_ERRORS, errorExamples } from './api-docs';
import type { PathErrorShape } from './http-exception.filter';
import { REQUEST_EXAMPLES } from './openapi-examples';

/**
 * Request body schemas per media type where one `@ApiBody` cannot say it (it gives every media type the same
 * schema): the import reads CSV text or a JSON array of contacts.
 */
const REQUEST_SCHEMAS: Readonly<Record<string, Record<string, Json>>> = {
  importContacts: {
    'text/csv': {
      type: 'string',
      description: 'A header row (phone, name, email, tags, notes, externalRef, lid), then one contact a line',
    },
    'application/json': { type: 'array', items: { $ref: '#/components/schemas/CreateContactDto' } },
  },
};

/**
 * Operation ids by Nest's default id (`<Controller>_<method>`): verb + noun, unique, what generated clients name
 * their functions. A route missing here gets `<method><Controller name>` (e.g. `listSessionDefaults`);
 * test/openapi.e2e-spec.ts checks that ids are unique.
 */
export const OPERATION_IDS: Readonly<Record<string, string>> = {
  ApiKeysController_create: 'createApiKey',
  ApiKeysController_list: 'listApiKeys',
  ApiKeysController_revoke: 'revokeApiKey',
  ApiKeysController_auditLog: 'listAuditLog',
  WebhookEventsController_list: 'listWebhookEvents',
  WebhookEventsController_get: 'getWebhookEvent',
  MetaWebhookController_verify: 'verifyMetaWebhook',
  MetaWebhookController_receive: 'receiveMetaWebhook',
  WablasWebhookController_receive: 'receiveWablasWebhook',
  WwebjsWebhookController_available: 'checkWwebjsWebhook',
  WwebjsWebhookController_receive: 'receiveWwebjsWebhook',
  WwebjsWebhookController_availableFor: 'checkWwebjsSessionWebhook',
  WwebjsWebhookController_receiveFor: 'receiveWwebjsSessionWebhook',
  SessionsController_create: 'createSession',
  SessionsController_list: 'listSessions',
  SessionsController_start: 'startSession',
  SessionsController_stop: 'stopSession',
  SessionsController_restart: 'restartSession',
  SessionsController_logout: 'logoutSession',
  SessionsController_pairingCode: 'requestPairingCode',
  SessionsController_delete: 'deleteSession',
  SessionsController_get: 'getSession',
  SessionsController_update: 'updateSession',
  SessionsController_qr: 'getSessionQr',
  SessionsController_events: 'listSessionEvents',
  SessionDefaultsController_list: 'listSessionDefaults',
  SessionDefaultsController_get: 'getSessionDefault',
  SessionDefaultsController_set: 'setSessionDefault',
  SessionDefaultsController_clear: 'clearSessionDefault',
  MessagesController_list: 'listMessages',
  MessagesController_get: 'getMessage',
  SendingController_send: 'sendMessage',
  ConversationsController_list: 'listConversations',
  ConversationsController_markRead: 'markConversationRead',
  ConversationsController_messagesOf: 'listConversationMessages',
  MediaController_file: 'getMessageMedia',
  MediaController_url: 'getMessageMediaUrl',
  MediaController_upload: 'uploadMedia',
  MediaController_retry: 'retryMessageMedia',
  MediaController_signed: 'getSignedMedia',
  AutoRepliesController_create: 'createAutoReply',
  AutoRepliesController_list: 'listAutoReplies',
  AutoRepliesController_get: 'getAutoReply',
  AutoRepliesController_update: 'updateAutoReply',
  AutoRepliesController_delete: 'deleteAutoReply',
  ContactsController_create: 'createContact',
  ContactsController_list: 'listContacts',
  ContactsController_import: 'importContacts',
  ContactsController_get: 'getContact',
  ContactsController_update: 'updateContact',
  ContactsController_delete: 'deleteContact',
  StatsController_get: 'getStats',
  EventsController_list: 'listEvents',
  EventsController_stream: 'streamEvents',
  WebhooksController_create: 'createWebhook',
  WebhooksController_list: 'listWebhooks',
  WebhooksController_get: 'getWebhook',
  WebhooksController_update: 'updateWebhook',
  WebhooksController_delete: 'deleteWebhook',
  WebhooksController_rotate: 'rotateWebhookSecret',
  WebhooksController_test: 'testWebhook',
  WebhooksController_deliveries: 'listWebhookDeliveries',
  WebhooksController_replay: 'replayWebhookEvents',
  WebhooksController_retry: 'retryWebhookDelivery',
  OdooWablasCompatController_sendMessage: 'compatOdooSendMessage',
  OdooWablasCompatController_webhook: 'compatOdooWebhook',
  OdooWablasCompatController_history: 'compatOdooGetHistory',
  OdooWablasCompatController_stats: 'compatOdooGetStats',
  OdooWablasCompatController_conversation: 'compatOdooGetConversation',
  NextjsSessionsCompatController_available: 'compatNextjsCheckWebhook',
  NextjsSessionsCompatController_universal: 'compatNextjsWebhook',
  NextjsSessionsCompatController_availableFor: 'compatNextjsCheckSessionWebhook',
  NextjsSessionsCompatController_perSession: 'compatNextjsSessionWebhook',
  NextjsSessionsCompatController_status: 'compatNextjsGetSessionStatus',
  NextjsSessionsCompatController_listRealtime: 'compatNextjsListSessions',
  DjangoMetaCompatController_messages: 'compatDjangoListMessages',
  DjangoMetaCompatController_list: 'compatDjangoListConversations',
  DjangoMetaCompatController_markRead: 'compatDjangoMarkRead',
  FlaskBaileysCompatController_status: 'compatFlaskGetStatus',
  FlaskBaileysCompatController_qr: 'compatFlaskGetQr',
  FlaskBaileysCompatController_logout: 'compatFlaskLogout',
  FlaskBaileysCompatController_send: 'compatFlaskSend',
  FlaskBaileysCompatController_webhook: 'compatFlaskWebhook',
  FlaskBaileysCompatController_receive: 'compatFlaskReceive',
  HealthController_check: 'getHealth',
  ProbesController_live: 'getLiveness',
  ProbesController_ready: 'getReadiness',
  MetricsController_metrics: 'getMetrics',
};

/** `SwaggerDocumentOptions.operationIdFactory`: {@link OPERATION_IDS}, else `<method><Controller name>`. */
export function operationIdOf(controllerKey: string, methodKey: string): string {
  return OPERATION_IDS[`${controllerKey}_${methodKey}`] ?? `${methodKey}${controllerKey.replace(/Controller$/, '')}`;
}

/** Tags in the order the UI lists them, each with its description. */
export const TAGS: readonly { name: string; description: string }[] = [
  { name: 'messages', description: 'Stored messages of every provider, one shape; sending (`POST /v1/messages`) through the outbox.' },
  { name: 'conversations', description: 'One conversation per session and contact, with counts and read state.' },
  { name: 'contacts', description: 'The contact book: phone numbers stored as E.164 digits; CSV or JSON imports.' },
  {
    name: 'sessions',
    description:
      'WhatsApp numbers wa-hub receives for. whatsapp-web.js, Meta Cloud API and Wablas sessions are created by their first ' +
      'webhook (an admin can then set their owner); Baileys sessions are created with `POST /v1/sessions` and run by wa-hub.',
  },
  { name: 'media', description: "Messages' files, downloaded into wa-hub's store; uploads for sending." },
  { name: 'events', description: 'The event log (every change, in commit order) and its live Server-Sent Events stream.' },
  { name: 'webhooks', description: 'Subscriptions: wa-hub POSTs signed events (Standard Webhooks) to your URLs, with retries.' },
  { name: 'auto-replies', description: 'Rules that answer inbound texts automatically.' },
  { name: 'stats', description: 'Message counts by day, session and delivery time.' },
  { name: 'webhook-events', description: 'Every provider webhook received, with its exact bytes and how it was ingested.' },
  { name: 'api-keys', description: 'API keys (admin): create, list, revoke; the audit log.' },
  {
    name: 'provider-webhooks',
    description: "Where providers deliver: authenticated by the provider's own signature or secret, not by an API key.",
  },
  { name: 'health', description: 'Liveness and readiness probes (no key).' },
  { name: 'compat: s0 Odoo/Wablas', description: 'Seed s0 routes, kept in its shapes (errors `{ "status": "error", "message" }`).' },
  {
    name: 'compat: s1/s3/s4 Next.js + Django',
    description: 'Seeds s1/s3/s4 routes, kept in their shapes (errors `{ "success": false, "error" }`).',
  },
  { name: 'compat: s2 Flask/Baileys', description: 'Seed s2 routes, kept in its shapes (errors `{ "error", "details" }`).' },
  { name: 'compat: s3 Django/Meta', description: 'Seed s3 routes, kept in its shapes (errors `{ "status": "error", "message" }`).' },
];

/** What {@link finishOpenApiDocument} needs from the running app. */
export interface ContractOptions {
  /** The error shapes of the compat paths (the global filter's PATH_ERROR_SHAPES): their errors are documented in them. */
  errorShapes: readonly PathErrorShape[];
}

type Json = Record<string, unknown>;
type Operation = {
  operationId?: string;
  description?: string;
  summary?: string;
  tags?: string[];
  parameters?: Json[];
  requestBody?: { content?: Record<string, Json> };
  responses: Record<string, Json>;
  security?: Record<string, string[]>[];
  'x-required-scope'?: string;
};

/** What a 404 under `/v1/<segment>` names (`AppError.notFound(noun)` → "<noun> not found"). */
const NOT_FOUND_NOUNS: Readonly<Record<string, string>> = {
  messages: 'Message',
  conversations: 'Conversation',
  contacts: 'Contact',
  sessions: 'Session',
  webhooks: 'Webhook',
  'webhook-deliveries': 'Webhook delivery',
  'webhook-events': 'Webhook event',
  'auto-replies': 'Auto-reply',
  'api-keys': 'API key',
  media: 'Media',
  'session-defaults': 'Default owner of wwebjs sessions',
};

/** The 422 of session control on a session wa-hub does not run (sessions.service.ts). */
const SESSION_NOT_RUN: ErrorExample = {
  code: 'CAPABILITY_NOT_SUPPORTED',
  message: 'meta sessions are not run by wa-hub: they appear with their first webhook',
};

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];
const ERROR_REF = '#/components/schemas/ErrorResponseDto';

/**
 * Completes what decorators cannot say per route, for the document clients generate from: errors every route of a
 * kind answers (400 where the validation pipe checks parameters or a body, 413 where a JSON body is read; compat
 * paths in their seed's error shape), an example for every documented error, the `X-Request-Id` header on every
 * response, the required scope in each description, tag descriptions, de-duplicated security requirements.
 */
export function finishOpenApiDocument(doc: OpenAPIObject, options: ContractOptions): void {
  const headers = ((doc.components ??= {}).headers ??= {}) as Json;
  headers['X-Request-Id'] = {
    description: "The request's id: the caller's `X-Request-Id` when it is a safe token (1–128 of `A-Za-z0-9._:-`), else a new UUID",
    schema: { type: 'string', example: EXAMPLE_REQUEST_ID },
  };
  headers['Retry-After'] = { description: 'Seconds to wait before retrying', schema: { type: 'integer', example: 12 } };
  doc.tags = TAGS.map((t) => ({ ...t }));
  // `nullable` needs a `type` beside it (OpenAPI 3.0): Nest writes nullable DTO references as `{ nullable, allOf }`.
  for (const schema of Object.values((doc.components?.schemas ?? {}) as Record<string, { properties?: Record<string, Json> }>))
    for (const property of Object.values(schema.properties ?? {}))
      if (property.nullable && property.allOf && !property.type) property.type = 'object';
  for (const [path, item] of Object.entries(doc.paths)) {
    const shape = options.errorShapes.find((s) => s.matches(path.replace(/\{[^}]+\}/g, 'x')));
    for (const method of METHODS) {
      const op = (item as Record<string, Operation | undefined>)[method];
      if (!op) continue;
      const noun = NOT_FOUND_NOUNS[/^\/v1\/([^/]+)/.exec(path)?.[1] ?? ''];
      finishOperation(op, shape, noun);
    }
  }
}

function finishOperation(op: Operation, shape: PathErrorShape | undefined, noun: string | undefined): void {
  // No requirement means "public", said explicitly (an absent `security` would inherit a global one).
  op.security ??= [];
  if (op.security.length > 0) {
    const seen = new Set<string>();
    op.security = op.security.filter((r) => {
      const key = JSON.stringify(r);
      return !seen.has(key) && seen.add(key);
    });
  }
  const content = op.requestBody?.content;
  for (const [type, schema] of Object.entries(REQUEST_SCHEMAS[op.operationId ?? ''] ?? {}))
    if (content?.[type]) content[type].schema = schema;
  for (const [type, examples] of Object.entries(REQUEST_EXAMPLES[op.operationId ?? ''] ?? {})) {
    if (!content?.[type]) continue;
    delete content[type].example;
    content[type].examples = examples;
  }
  // Provider webhook bodies are the provider's own JSON, stored as received: free-form objects, said so.
  for (const media of Object.values(content ?? {})) {
    const schema = media.schema as Json | undefined;
    if (schema?.type === 'object' && !schema.properties && !schema.additionalProperties) schema.additionalProperties = true;
  }
  const jsonBody = Object.keys(op.requestBody?.content ?? {}).some((t) => /json/.test(t));
  const validated = (op.parameters?.length ?? 0) > 0 || op.requestBody !== undefined;
  if (validated && !op.responses['400']) op.responses['400'] = { description: STANDARD_ERRORS[400].description };
  if (jsonBody && !op.responses['413']) op.responses['413'] = { description: STANDARD_ERRORS[413].description };
  const scope = op['x-required-scope'];
  const auth = scope
    ? `Requires an API key with the \`${scope}\` scope${scope === 'admin' ? '' : ' (an `admin` key passes every scope)'}.`
    : op.security?.length
      ? ''
      : op.tags?.includes('provider-webhooks')
        ? "No API key: the provider's signature or shared secret authenticates the request."
        : 'No API key.';
  if (auth && !op.description?.includes(auth)) op.description = op.description ? `${op.description}\n\n${auth}` : auth;
  for (const [status, response] of Object.entries(op.responses)) {
    const code = Number(status);
    (response.headers as Json | undefined) ??= {};
    (response.headers as Json)['X-Request-Id'] = { $ref: '#/components/headers/X-Request-Id' };
    if (code === 429) (response.headers as Json)['Retry-After'] = { $ref: '#/components/headers/Retry-After' };
    if (code < 400 || code >= 600) continue;
    const standard =
      code === 404 && noun
        ? { ...STANDARD_ERRORS[404], examples: [{ code: 'NOT_FOUND' as const, message: `${noun} not found` }] }
        : code === 422 && noun === 'Session'
          ? { ...STANDARD_ERRORS[422], examples: [SESSION_NOT_RUN] }
          : STANDARD_ERRORS[code];
    const content = (response.content ??= {}) as Record<string, Json>;
    const json = (content['application/json'] ??= {});
    if (shape) {
      // Compat paths: the seed's own body, whatever the decorators say (the filter renders them so).
      const examples = (standard?.examples ?? [{ code: 'VALIDATION_FAILED' as const, message: String(response.description ?? '') }]).map(
        (e) =>
          shape.render(code, {
            error: { code: e.code, message: e.message, details: e.details },
            requestId: EXAMPLE_REQUEST_ID,
          } as ErrorBody),
      );
      json.schema = schemaOf(examples[0]);
      delete json.examples;
      json.example = examples[0];
      continue;
    }
    json.schema ??= { $ref: ERROR_REF };
    if (json.example === undefined && json.examples === undefined && standard) json.examples = errorExamples(standard.examples);
  }
}

/** A schema for a seed's error body: the example's keys with their JSON types. */
function schemaOf(example: unknown): Json {
  if (typeof example !== 'object' || example === null) return { type: 'string' };
  const properties: Record<string, Json> = {};
  for (const [k, v] of Object.entries(example)) {
    properties[k] = Array.isArray(v)
      ? { type: 'array', items: {} }
      : typeof v === 'object' && v !== null
        ? schemaOf(v)
        : { type: typeof v === 'number' ? 'number' : typeof v === 'boolean' ? 'boolean' : 'string' };
  }
  return { type: 'object', properties, required: Object.keys(properties) };
}

/**
 * `provider` properties and parameters (strings without an enum yet) get the registered provider names. Providers
 * register when the app initialises, after the document is built: configure-app.ts applies this when serving it.
 * @returns the document (changed in place).
 */
export function enumerateProviders(doc: OpenAPIObject, providers: readonly string[]): OpenAPIObject {
  if (providers.length === 0) return doc;
  const names = [...providers].sort();
  const apply = (schema: Json | undefined) => {
    if (schema && schema.type === 'string' && !schema.enum) schema.enum = names;
  };
  for (const schema of Object.values((doc.components?.schemas ?? {}) as Record<string, { properties?: Record<string, Json> }>)) {
    apply(schema.properties?.provider);
  }
  for (const item of Object.values(doc.paths)) {
    for (const method of METHODS) {
      const op = (item as Record<string, Operation | undefined>)[method];
      for (const p of op?.parameters ?? []) if (p.name === 'provider' && (p.in === 'query' || p.in === 'path')) apply(p.schema as Json);
    }
  }
  return doc;
}
