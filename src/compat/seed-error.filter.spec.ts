import { describe, expect, it } from 'vitest';
import type { ErrorBody } from '../common/app-error';
import { djangoShape, flaskShape, nextjsShape, odooShape, SEED_PATH_ERROR_SHAPES } from './seed-error.filter';

const body = (message: string, details?: unknown): ErrorBody => ({
  error: { code: 'VALIDATION_FAILED', message, ...(details !== undefined ? { details } : {}) },
  requestId: 'r1',
});

describe('seed error shapes', () => {
  it('s0 "Error Handling": { status: "error", message }, "Unauthorized" for 401, "Internal server error" for 500', () => {
    expect(odooShape(400, body('Missing required parameter: phone'))).toEqual({
      status: 'error',
      message: 'Missing required parameter: phone',
    });
    expect(odooShape(401, body('API key required'))).toEqual({ status: 'error', message: 'Unauthorized' });
    expect(odooShape(500, body('Internal server error'))).toEqual({ status: 'error', message: 'Internal server error' });
  });

  it('s1/s4: { success: false, error }, with details on 400', () => {
    expect(nextjsShape(404, body('Session not found'))).toEqual({ success: false, error: 'Session not found' });
    expect(nextjsShape(400, body('Invalid webhook payload', 'no event'))).toEqual({
      success: false,
      error: 'Invalid webhook payload',
      details: 'no event',
    });
    expect(nextjsShape(400, body('Bad'))).toEqual({ success: false, error: 'Bad', details: 'Bad' });
  });

  it('s2: { error, details }, "Invalid API key" for 401; s3: { status: "error", message }', () => {
    expect(flaskShape(401, body('API key required'))).toEqual({ error: 'Invalid API key', details: 'API key required' });
    expect(flaskShape(503, body('WhatsApp not connected'))).toEqual({ error: 'WhatsApp not connected', details: 'WhatsApp not connected' });
    expect(djangoShape(401, body('API key required'))).toEqual({ status: 'error', message: 'API key required' });
  });

  it.each([
    ['/api/wa', odooShape],
    ['/api/wa/conversation/', odooShape],
    ['/api/whatsapp/messages/', djangoShape],
    ['/api/whatsapp/mark-read', djangoShape],
    ['/api/whatsapp/webhook/abc', nextjsShape],
    ['/api/whatsapp/session/status/x', nextjsShape],
    ['/api/whatsapp/nope', flaskShape],
    ['/api/webhook', flaskShape],
  ])('path %s → its seed', (path, shape) => {
    expect(SEED_PATH_ERROR_SHAPES.find((s) => s.matches(path))?.render).toBe(shape);
  });

  it.each(['/v1/messages', '/api/waX', '/webhooks/wablas', '/api', '/api/webhooks'])('path %s keeps our shape', (path) => {
    expect(SEED_PATH_ERROR_SHAPES.find((s) => s.matches(path))).toBeUndefined();
  });
});
