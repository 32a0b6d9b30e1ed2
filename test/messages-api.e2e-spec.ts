import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadFixture } from './helpers/fixtures';
import { apiGet, postMeta, postWablas, withFreshIds } from './helpers/http';
import { MessagesRepository, SEARCH_HITS_CAP } from '../src/messages/messages.repository';
import { createTestApp, TEST_ENV, TestApp } from './helpers/test-app';

/** Seeds N inbound Meta texts from one contact, one second apart, plus Wablas traffic. */
async function seed(t: TestApp, n: number): Promise<void> {
  const base = loadFixture<any>('meta/inbound/text.json');
  for (let i = 0; i < n; i++) {
    const body = withFreshIds(base, `n${i}`);
    body.entry[0].changes[0].value.messages[0].timestamp = String(1_750_000_000 + i);
    body.entry[0].changes[0].value.messages[0].text.body = `message ${i}`;
    expect((await postMeta(t.app, body)).status).toBe(200);
  }
  await postWablas(t.app, loadFixture('wablas/inbound/text_private.json'));
  await postWablas(t.app, loadFixture('wablas/inbound/image.json'));
  await postWablas(t.app, loadFixture('wablas/inbound/from_me_echo.json'));
}

describe('/v1 read API (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  beforeEach(async () => t.reset());
  afterAll(async () => t?.close());

  describe('authentication', () => {
    it.each([
      ['no key', {}],
      ['wrong X-API-Key', { 'X-API-Key': 'wah_wrong' }],
      ['wrong bearer', { Authorization: 'Bearer wah_wrong' }],
    ])('%s → 401 with our error shape', async (_n, headers) => {
      const res = await request(t.app.getHttpServer()).get('/v1/messages').set(headers);
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ error: { code: 'UNAUTHORIZED', message: expect.any(String) }, requestId: res.headers['x-request-id'] });
    });

    it('accepts the key as Authorization: Bearer', async () => {
      const res = await request(t.app.getHttpServer()).get('/v1/messages').set('Authorization', `Bearer ${TEST_ENV.ADMIN_API_KEY}`);
      expect(res.status).toBe(200);
    });

    it('stores keys hashed, never the secret', async () => {
      const rows = await t.db.query('SELECT key_hash FROM api_keys');
      expect(rows).toHaveLength(1);
      expect(rows[0].key_hash).toMatch(/^[0-9a-f]{64}$/);
      expect(JSON.stringify(rows)).not.toContain(TEST_ENV.ADMIN_API_KEY);
    });

    it('health and docs need no key', async () => {
      expect((await request(t.app.getHttpServer()).get('/health')).status).toBe(200);
      expect((await request(t.app.getHttpServer()).get('/docs-json')).status).toBe(200);
    });
  });

  describe('GET /v1/messages', () => {
    beforeEach(async () => seed(t, 25));

    it('lists newest first with the list envelope and ISO 8601 UTC timestamps', async () => {
      const res = await apiGet(t.app, '/v1/messages?limit=5');
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ total: 28, limit: 5, offset: 0, nextCursor: expect.any(String) });
      const times = res.body.data.map((m: { timestamp: string }) => m.timestamp);
      expect([...times].sort().reverse()).toEqual(times);
      for (const ts of times) expect(ts).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    });

    it('filters: phone in any form, direction, type, provider, status, from/to', async () => {
      for (const phone of ['16505551234', '+1 650-555-1234', '16505551234@c.us']) {
        expect((await apiGet(t.app, `/v1/messages?phone=${encodeURIComponent(phone)}`)).body.total).toBe(25);
      }
      expect((await apiGet(t.app, '/v1/messages?direction=out')).body.total).toBe(1);
      expect((await apiGet(t.app, '/v1/messages?type=image')).body.total).toBe(1);
      expect((await apiGet(t.app, '/v1/messages?provider=wablas')).body.total).toBe(3);
      expect((await apiGet(t.app, '/v1/messages?status=sent')).body.total).toBe(1);
      const from = new Date((1_750_000_000 + 10) * 1000).toISOString();
      const to = new Date((1_750_000_000 + 20) * 1000).toISOString();
      const window = await apiGet(t.app, `/v1/messages?provider=meta&from=${from}&to=${to}`);
      expect(window.body.total).toBe(10);
      expect(window.body.data.map((m: { text: string }) => m.text)).toContain('message 10');
      expect(window.body.data.map((m: { text: string }) => m.text)).not.toContain('message 20');
    });

    it('totals: exact from the conversation counters; counted up to 10,000 for other filters, then flagged', async () => {
      const [v] = await t.db.query(`SELECT id, session_id FROM conversations WHERE chat_id = '16505551234'`);
      // 10,050 more messages of that conversation, written as a restore would (counters kept by hand).
      await t.db.query(
        `INSERT INTO messages (session_id, conversation_id, external_id, direction, type, chat_id, text, status, provider_timestamp)
         SELECT $1, $2, 'bulk.' || g, 'in', 'text', '16505551234', 'bulk ' || g, 'received', to_timestamp(1600000000 + g) FROM generate_series(1, 10050) g`,
        [v.session_id, v.id],
      );
      await t.db.query(`UPDATE conversations SET message_count = message_count + 10050 WHERE id = $1`, [v.id]);
      const count = async (where = 'true') => (await t.db.query(`SELECT count(*)::int AS n FROM messages WHERE ${where}`))[0].n as number;
      expect(await count(`conversation_id = '${v.id}'`)).toBe(10_075);
      expect((await apiGet(t.app, '/v1/messages?limit=1')).body).toMatchObject({ total: await count(), totalExact: true });
      expect((await apiGet(t.app, '/v1/messages?limit=1&phone=%2B1%20650-555-1234')).body).toMatchObject({
        total: 10_075,
        totalExact: true,
      });
      expect((await apiGet(t.app, `/v1/conversations/${v.id}/messages?limit=1`)).body).toMatchObject({ total: 10_075, totalExact: true });
      expect((await apiGet(t.app, '/v1/messages?limit=1&direction=in')).body).toMatchObject({ total: 10_000, totalExact: false });
      expect((await apiGet(t.app, '/v1/messages?limit=1&q=message')).body).toMatchObject({ total: 25, totalExact: true });
      expect((await apiGet(t.app, '/api/wa/get_history?limit=1')).body.total).toBe(await count());
    });

    it('search: rare terms answered from their hits, common ones by walking the newest; both complete under cursor paging', async () => {
      const [v] = await t.db.query(`SELECT id, session_id FROM conversations WHERE chat_id = '16505551234'`);
      await t.db.query(
        `INSERT INTO messages (session_id, conversation_id, external_id, direction, type, chat_id, text, status, provider_timestamp)
         SELECT $1, $2, 'bulk.' || g, 'in', 'text', '16505551234', CASE WHEN g = 777 THEN 'bulk zanzibar' ELSE 'bulk ' || g END,
           'received', to_timestamp(1600000000 + g) FROM generate_series(1, $3::int) g`,
        [v.session_id, v.id, SEARCH_HITS_CAP + 50],
      );
      const repo = t.app.get(MessagesRepository);
      expect(await repo.searchHits('bulk')).toBeNull(); // more hits than the cap: common
      expect(await repo.searchHits('Zanzibar')).toHaveLength(1);
      expect(await repo.searchHits('me')).toBeNull(); // too short for trigrams
      const rare = (await apiGet(t.app, '/v1/messages?q=ZANZIBAR')).body;
      expect(rare).toMatchObject({ total: 1, totalExact: true });
      expect(rare.data[0].text).toBe('bulk zanzibar');
      for (const [q, expected, limit] of [
        ['bulk', SEARCH_HITS_CAP + 50, 700],
        ['message', 25, 7],
      ] as const) {
        const seen = new Set<string>();
        let cursor: string | null = null;
        let pages = 0;
        do {
          const res = await apiGet(t.app, `/v1/messages?q=${q}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
          expect(res.status).toBe(200);
          expect(res.body.total).toBe(expected);
          const times = res.body.data.map((m: { timestamp: string }) => m.timestamp);
          expect([...times].sort().reverse()).toEqual(times);
          for (const m of res.body.data) seen.add(m.id);
          cursor = res.body.nextCursor;
          pages++;
        } while (cursor);
        expect(seen.size).toBe(expected);
        expect(pages).toBe(Math.ceil(expected / limit));
      }
    });

    it('sessionId filter', async () => {
      const [wablas] = await t.db.query(`SELECT id FROM sessions WHERE provider = 'wablas'`);
      expect((await apiGet(t.app, `/v1/messages?sessionId=${wablas.id}`)).body.total).toBe(3);
    });

    it('offset pages and cursor pages cover every message exactly once', async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const res = await apiGet(t.app, `/v1/messages?limit=7${cursor ? `&cursor=${cursor}` : ''}`);
        expect(res.status).toBe(200);
        seen.push(...res.body.data.map((m: { id: string }) => m.id));
        cursor = res.body.nextCursor;
      } while (cursor);
      expect(seen).toHaveLength(28);
      expect(new Set(seen).size).toBe(28);
      const offsetPage = await apiGet(t.app, '/v1/messages?limit=7&offset=7');
      expect(offsetPage.body.data.map((m: { id: string }) => m.id)).toEqual(seen.slice(7, 14));
    });

    it.each([
      ['limit=1001', 'limit'],
      ['limit=0', 'limit'],
      ['offset=-1', 'offset'],
      ['direction=sideways', 'direction'],
      ['from=yesterday', 'from'],
      ['sessionId=not-a-uuid', 'sessionId'],
      ['phone=abc', 'phone'],
      ['cursor=garbage', 'cursor'],
      ['unknownFilter=1', 'unknownFilter'],
    ])('%s → 400 naming %s', async (qs, field) => {
      const res = await apiGet(t.app, `/v1/messages?${qs}`);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_FAILED');
      expect(res.body.error.message).toContain(field);
    });

    it('GET /v1/messages/:id returns the raw provider object; unknown or malformed id → 404', async () => {
      const list = await apiGet(t.app, '/v1/messages?provider=meta&limit=1');
      const one = await apiGet(t.app, `/v1/messages/${list.body.data[0].id}`);
      expect(one.status).toBe(200);
      expect(one.body.raw).toMatchObject({ from: '16505551234', type: 'text' });
      expect((await apiGet(t.app, '/v1/messages/999999')).status).toBe(404);
      expect((await apiGet(t.app, '/v1/messages/abc')).body.error.code).toBe('NOT_FOUND');
    });
  });

  describe('conversations', () => {
    beforeEach(async () => seed(t, 3));

    it("most recent first, with counts and the conversation's messages", async () => {
      const res = await apiGet(t.app, '/v1/conversations');
      expect(res.body.total).toBe(2);
      const [first, second] = res.body.data;
      expect(new Date(first.lastMessageAt) >= new Date(second.lastMessageAt)).toBe(true);
      const meta = res.body.data.find((c: { provider: string }) => c.provider === 'meta');
      expect(meta).toMatchObject({ messageCount: 3, unreadCount: 3, lastMessagePreview: 'message 2', contact: { name: 'Sheena Nelson' } });
      const msgs = await apiGet(t.app, `/v1/conversations/${meta.id}/messages?limit=2`);
      expect(msgs.body).toMatchObject({ total: 3, limit: 2 });
      expect(msgs.body.data.map((m: { text: string }) => m.text)).toEqual(['message 2', 'message 1']);
      expect((await apiGet(t.app, '/v1/conversations/00000000-0000-0000-0000-000000000000/messages')).status).toBe(404);
    });

    it('cursor pages through conversations', async () => {
      const p1 = await apiGet(t.app, '/v1/conversations?limit=1');
      const p2 = await apiGet(t.app, `/v1/conversations?limit=1&cursor=${p1.body.nextCursor}`);
      expect(p2.body.data).toHaveLength(1);
      expect(p2.body.data[0].id).not.toBe(p1.body.data[0].id);
      expect(p2.body.nextCursor).toBeNull();
    });
  });
});
