import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadFixture } from './helpers/fixtures';
import { apiGet, postMeta, postWablas } from './helpers/http';
import { createTestApp, TestApp } from './helpers/test-app';

/** Seed s0 (shared/seeds/s0-odoo-wablas-headless.md): routes and response shapes, field by field. */
describe('compat: seed s0 Odoo WhatsApp Headless (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  beforeEach(async () => t.reset());
  afterAll(async () => t?.close());

  it("POST /api/wa/webhook stores a Wablas message and answers the seed's shape with the record id", async () => {
    const res = await postWablas(t.app, loadFixture('wablas/inbound/text_private.json'), { path: '/api/wa/webhook' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'success', message: 'Message received', record_id: expect.any(Number) });
    const [row] = await t.db.query('SELECT id FROM messages');
    expect(res.body.record_id).toBe(Number(row.id));
  });

  it("POST /api/wa/webhook with the seed's own example body (ISO timestamp, string sender)", async () => {
    const body = {
      id: 'seed-uuid-1',
      pushName: '6285137033257@s.whatsapp.net',
      isGroup: false,
      group: { group_id: '', sender: '', subject: '', owner: '', desc: '', participants: null },
      message: 'Hello',
      phone: '6285137033257',
      messageType: 'text',
      file: '',
      url: '',
      mimeType: '',
      deviceId: 'RF0WVV',
      sender: '6285920524227',
      isFromMe: false,
      timestamp: '2026-02-16T07:50:42Z',
    };
    expect((await postWablas(t.app, body, { path: '/api/wa/webhook' })).body.status).toBe('success');
    const hist = await apiGet(t.app, '/api/wa/get_history');
    expect(hist.body.data[0]).toEqual({
      id: expect.any(Number),
      time: '2026-02-16 07:50:42',
      sender_number: '6285137033257',
      sender_name: 'Unknown',
      message: 'Hello',
      direction: 'in',
    });
  });

  it("POST /api/wa/webhook without the secret → 401 in the seed's error shape", async () => {
    const res = await request(t.app.getHttpServer()).post('/api/wa/webhook').send(loadFixture('wablas/inbound/text_private.json'));
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ status: 'error', message: expect.any(String) });
  });

  describe('reads', () => {
    beforeEach(async () => {
      await postWablas(t.app, loadFixture('wablas/inbound/text_private.json'));
      await postWablas(t.app, loadFixture('wablas/inbound/image.json'));
      await postWablas(t.app, loadFixture('wablas/inbound/from_me_echo.json'));
      await postMeta(t.app, loadFixture('meta/inbound/text.json'));
    });

    it('GET /api/wa/get_history: seed fields, newest first, names resolved, limit/offset/total', async () => {
      const res = await apiGet(t.app, '/api/wa/get_history?limit=2&offset=0');
      expect(res.status).toBe(200);
      expect(Object.keys(res.body)).toEqual(['status', 'count', 'total', 'limit', 'offset', 'data']);
      expect(res.body).toMatchObject({ status: 'success', count: 2, total: 4, limit: 2, offset: 0 });
      for (const row of res.body.data)
        expect(Object.keys(row)).toEqual(['id', 'time', 'sender_number', 'sender_name', 'message', 'direction']);
      const all = (await apiGet(t.app, '/api/wa/get_history')).body.data;
      expect(all.map((r: { time: string }) => r.time)).toEqual([...all.map((r: { time: string }) => r.time)].sort().reverse());
      expect(all.find((r: { message: string }) => r.message === 'Halo, saya mau tanya stok')).toMatchObject({
        sender_number: '6281234567890',
        sender_name: 'Budi',
        direction: 'in',
        time: '2024-03-11 06:20:00',
      });
      expect(all.find((r: { direction: string }) => r.direction === 'out')).toMatchObject({
        message: 'Baik kak, stok tersedia',
        sender_number: '6281234567890',
      });
      expect(all.find((r: { sender_number: string }) => r.sender_number === '16505551234').sender_name).toBe('Sheena Nelson');
    });

    it('GET /api/wa/get_history?phone= filters; limit above 1000 is capped at 1000', async () => {
      const res = await apiGet(t.app, '/api/wa/get_history?phone=6281234567890&limit=5000');
      expect(res.body).toMatchObject({ total: 3, count: 3, limit: 1000 });
    });

    it('GET /api/wa/conversation/:phone: seed fields', async () => {
      const res = await apiGet(t.app, '/api/wa/conversation/6281234567890?limit=2');
      expect(res.status).toBe(200);
      expect(Object.keys(res.body)).toEqual(['status', 'phone', 'count', 'messages']);
      expect(res.body).toMatchObject({ status: 'success', phone: '6281234567890', count: 2 });
    });

    it("bad input answers the seed's error shape", async () => {
      const bad = await apiGet(t.app, '/api/wa/conversation/not-a-phone');
      expect(bad.status).toBe(400);
      expect(bad.body).toEqual({ status: 'error', message: 'Phone number format invalid' });
      const badLimit = await apiGet(t.app, '/api/wa/get_history?limit=ten');
      expect(badLimit.status).toBe(400);
      expect(badLimit.body.status).toBe('error');
      const noKey = await request(t.app.getHttpServer()).get('/api/wa/get_history');
      expect(noKey.status).toBe(401);
      expect(noKey.body).toEqual({ status: 'error', message: expect.any(String) });
    });
  });
});
