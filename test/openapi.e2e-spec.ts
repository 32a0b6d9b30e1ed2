import { Validator } from '@seriousme/openapi-schema-validator';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, TestApp } from './helpers/test-app';

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
