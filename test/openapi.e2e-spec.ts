import { Validator } from '@seriousme/openapi-schema-validator';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, TEST_ENV, TestApp } from './helpers/test-app';

describe('OpenAPI document (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => t?.close());

  it('/docs-json validates as OpenAPI', async () => {
    const res = await request(t.app.getHttpServer()).get('/docs-json');
    const result = await new Validator().validate(res.body);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('documents every route with a response, and DTO schemas have properties (plugin metadata loaded)', async () => {
    const doc = t.openapi;
    for (const path of [
      '/v1/messages',
      '/v1/messages/{id}',
      '/v1/conversations',
      '/v1/conversations/{id}/messages',
      '/v1/webhook-events',
      '/webhooks/meta',
      '/webhooks/wablas',
      '/api/wa/get_history',
      '/api/wa/conversation/{phone}',
      '/api/wa/webhook',
      '/health',
      '/webhooks/wwebjs',
      '/webhooks/wwebjs/{sessionId}',
      '/v1/sessions',
      '/v1/sessions/{id}',
      '/v1/sessions/{id}/qr',
      '/v1/sessions/{id}/events',
      '/api/whatsapp/webhook',
      '/api/whatsapp/webhook/{sessionId}',
      '/api/whatsapp/session/status/{sessionId}',
      '/api/whatsapp/session/list-realtime',
    ]) {
      expect(doc.paths[path], path).toBeDefined();
    }
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item as Record<string, { responses?: object }>)) {
        expect(Object.keys(op.responses ?? {}).length, `${method} ${path}`).toBeGreaterThan(0);
      }
    }
    const list = doc.paths['/v1/messages'].get!;
    expect(list.parameters?.map((p) => ('name' in p ? p.name : ''))).toEqual(
      expect.arrayContaining(['phone', 'sessionId', 'direction', 'type', 'status', 'from', 'to', 'limit', 'offset', 'cursor']),
    );
    const schema = doc.components!.schemas!.MessageResponseDto as { properties: Record<string, unknown> };
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining(['id', 'externalId', 'direction', 'text', 'status', 'timestamp']),
    );
  });

  it('the Swagger UI is served at /docs', async () => {
    const res = await request(t.app.getHttpServer()).get('/docs/');
    expect(res.status).toBe(200);
    expect(res.text).toContain('swagger');
  });

  it('/docs works over plain HTTP from any host name: no upgrade-insecure-requests, blob: images allowed', async () => {
    const res = await request(t.app.getHttpServer()).get('/docs/').set('Host', 'wa-hub.internal:3000');
    expect(res.status).toBe(200);
    const csp = String(res.headers['content-security-policy']);
    expect(csp).not.toContain('upgrade-insecure-requests');
    expect(csp).toMatch(/img-src 'self' data: blob:/);
    expect(csp).toContain("frame-ancestors 'self'"); // helmet's other protections stay
  });
});

describe('OpenAPI document: a contract clients can generate from (e2e)', () => {
  type Schema = Record<string, unknown> & { properties?: Record<string, Schema>; items?: Schema; allOf?: Schema[]; oneOf?: Schema[] };
  type Media = {
    schema?: Schema;
    example?: unknown;
    examples?: Record<string, { value: { error?: { code?: string }; requestId?: string } }>;
  };
  type Response = { description?: string; content?: Record<string, Media>; headers?: Record<string, unknown> };
  type Operation = {
    operationId: string;
    summary?: string;
    description?: string;
    tags?: string[];
    security?: unknown[];
    parameters?: { name: string; in: string; schema?: Schema }[];
    requestBody?: { content: Record<string, Media> };
    responses: Record<string, Response>;
  };
  let t: TestApp;
  let doc: {
    paths: Record<string, Record<string, Operation>>;
    components: { schemas: Record<string, Schema>; securitySchemes: Record<string, Record<string, unknown>> };
    servers?: { url: string }[];
    tags?: { name: string; description?: string }[];
  };
  const operations = () =>
    Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ path, method, op })));
  beforeAll(async () => {
    t = await createTestApp();
    doc = (await request(t.app.getHttpServer()).get('/docs-json').expect(200)).body;
  });
  afterAll(async () => t?.close());

  /** Schemas typed `object` with neither properties nor additionalProperties nor a composition: what clients type as `{}`. */
  function bareObjects(schema: Schema | undefined, where: string, out: string[]): string[] {
    if (!schema || typeof schema !== 'object') return out;
    if (schema.type === 'object' && !schema.properties && schema.additionalProperties === undefined && !schema.allOf && !schema.oneOf)
      out.push(where);
    for (const [k, v] of Object.entries(schema.properties ?? {})) bareObjects(v, `${where}.${k}`, out);
    if (schema.items) bareObjects(schema.items, `${where}[]`, out);
    for (const s of [...(schema.allOf ?? []), ...(schema.oneOf ?? [])]) bareObjects(s, where, out);
    return out;
  }

  it('no property, parameter or body is a bare `object`; nullable properties keep their type', () => {
    const bare: string[] = [];
    for (const [name, schema] of Object.entries(doc.components.schemas)) bareObjects(schema, name, bare);
    for (const { path, method, op } of operations()) {
      for (const p of op.parameters ?? []) bareObjects(p.schema, `${method} ${path} ${p.name}`, bare);
      for (const [type, media] of Object.entries(op.requestBody?.content ?? {}))
        bareObjects(media.schema, `${method} ${path} ${type}`, bare);
      for (const [status, r] of Object.entries(op.responses))
        for (const [type, media] of Object.entries(r.content ?? {})) bareObjects(media.schema, `${method} ${path} ${status} ${type}`, bare);
    }
    expect(bare).toEqual([]);
    const message = doc.components.schemas.MessageResponseDto.properties!;
    expect(message.text).toMatchObject({ type: 'string', nullable: true });
    expect(message.direction.enum).toEqual(['in', 'out']);
    expect(message.provider.enum).toEqual(expect.arrayContaining(['meta', 'wablas', 'wwebjs', 'baileys']));
    expect(message.status.enum).toContain('delivered');
    expect((doc.components.schemas.CreateApiKeyDto.properties!.scopes.items as Schema).enum).toEqual(
      expect.arrayContaining(['read', 'send', 'admin']),
    );
    expect(doc.components.schemas.MessagePageDto.properties!.total.type).toBe('integer');
    expect(doc.components.schemas.WebhookEventResponseDto.properties!.attempts.type).toBe('integer');
    expect(doc.paths['/v1/messages'].get.parameters!.find((p) => p.name === 'limit')!.schema!.type).toBe('integer');
  });

  it('operation ids are verbs and nouns (listMessages, getMessage, sendMessage), unique; every operation has a summary and a description', () => {
    const ids = operations().map(({ op }) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.filter((id) => !/^[a-z][A-Za-z0-9]+$/.test(id) || /Controller/.test(id))).toEqual([]);
    expect(doc.paths['/v1/messages'].get.operationId).toBe('listMessages');
    expect(doc.paths['/v1/messages/{id}'].get.operationId).toBe('getMessage');
    expect(doc.paths['/v1/messages'].post.operationId).toBe('sendMessage');
    expect(
      operations()
        .filter(({ op }) => !op.summary || !op.description)
        .map(({ path, method }) => `${method} ${path}`),
    ).toEqual([]);
    const used = new Set(operations().flatMap(({ op }) => op.tags ?? []));
    const described = new Map((doc.tags ?? []).map((tag) => [tag.name, tag.description]));
    expect([...used].filter((tag) => !described.get(tag))).toEqual([]);
  });

  it('every error response has its own example in the route’s error shape, with the code its status answers', () => {
    const CODES: Record<string, string[]> = {
      '400': ['VALIDATION_FAILED', 'MALFORMED_JSON'],
      '401': ['UNAUTHORIZED'],
      '403': ['FORBIDDEN'],
      '404': ['NOT_FOUND'],
      '409': ['CONFLICT'],
      '413': ['PAYLOAD_TOO_LARGE'],
      '415': ['UNSUPPORTED_MEDIA_TYPE'],
      '416': ['VALIDATION_FAILED'],
      '422': ['CAPABILITY_NOT_SUPPORTED', 'SESSION_REQUIRED'],
      '429': ['RATE_LIMITED'],
    };
    const problems: string[] = [];
    for (const { path, method, op } of operations()) {
      const compat = op.tags?.some((tag) => tag.startsWith('compat:'));
      for (const [status, r] of Object.entries(op.responses)) {
        if (!CODES[status]) continue;
        const media = r.content?.['application/json'];
        type Body = { error?: { code?: string }; requestId?: string };
        const values: Body[] = media?.examples
          ? Object.values(media.examples).map((e) => e.value)
          : media?.example
            ? [media.example as Body]
            : [];
        if (values.length === 0) problems.push(`${method} ${path} ${status}: no example`);
        if (compat) {
          // Seed shapes: never ours.
          if (values.some((v) => v.requestId)) problems.push(`${method} ${path} ${status}: our shape on a compat route`);
          continue;
        }
        if (media?.schema?.$ref !== '#/components/schemas/ErrorResponseDto')
          problems.push(`${method} ${path} ${status}: not ErrorResponseDto`);
        for (const v of values)
          if (!CODES[status].includes(v.error?.code ?? '') || !v.requestId)
            problems.push(`${method} ${path} ${status}: example ${JSON.stringify(v)}`);
      }
      if (op.security?.length) {
        for (const status of ['401', '403', '429']) if (!op.responses[status]) problems.push(`${method} ${path}: ${status} undocumented`);
      }
      if (op.parameters?.length || op.requestBody) if (!op.responses['400']) problems.push(`${method} ${path}: 400 undocumented`);
    }
    expect(problems).toEqual([]);
    const unauthorized = doc.paths['/v1/messages'].get.responses['401'].content!['application/json'].examples!;
    expect(Object.values(unauthorized).map((e) => e.value.error?.code)).toEqual(['UNAUTHORIZED', 'UNAUTHORIZED']);
    const forbidden = doc.paths['/v1/api-keys'].get.responses['403'].content!['application/json'].examples!;
    expect(Object.values(forbidden)[0].value).toMatchObject({ error: { code: 'FORBIDDEN', message: 'API key lacks the "admin" scope' } });
  });

  it('the documented 401 and 403 are what the guard answers', async () => {
    const server = t.app.getHttpServer();
    const documented = (op: Operation, status: string) =>
      Object.values(op.responses[status].content!['application/json'].examples!).map((e) => e.value.error);
    const none = await request(server).get('/v1/messages');
    expect(documented(doc.paths['/v1/messages'].get, '401')).toContainEqual(none.body.error);
    const unknown = await request(server).get('/v1/messages').set('Authorization', 'Bearer not-a-key');
    expect(documented(doc.paths['/v1/messages'].get, '401')).toContainEqual(unknown.body.error);
    const created = await request(server)
      .post('/v1/api-keys')
      .set('X-API-Key', TEST_ENV.ADMIN_API_KEY)
      .send({ name: 'reader', scopes: ['read'] });
    const forbidden = await request(server)
      .get('/v1/api-keys')
      .set('X-API-Key', created.body.key ?? created.body.secret);
    expect(forbidden.status).toBe(403);
    expect(documented(doc.paths['/v1/api-keys'].get, '403')).toContainEqual(forbidden.body.error);
  });

  it('servers, the API key schemes (not a JWT) and the X-Request-Id header on every response', () => {
    expect(doc.servers?.length).toBeGreaterThan(0);
    expect(doc.components.securitySchemes.apiKey).toMatchObject({ type: 'apiKey', in: 'header', name: 'X-API-Key' });
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer', bearerFormat: 'API key' });
    expect(doc.components.securitySchemes.bearer.bearerFormat).not.toMatch(/JWT/);
    const missing = operations().flatMap(({ path, method, op }) =>
      Object.entries(op.responses)
        .filter(([, r]) => !r.headers?.['X-Request-Id'])
        .map(([status]) => `${method} ${path} ${status}`),
    );
    expect(missing).toEqual([]);
  });
});
