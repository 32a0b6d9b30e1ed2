import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadFixture } from './helpers/fixtures';
import { apiGet, asAdmin, postMeta, postWablas, postWwebjsNative, withFreshIds } from './helpers/http';
import { createTestApp, TEST_ENV, TestApp } from './helpers/test-app';

const as = (t: TestApp) => asAdmin(t.app);

describe('contacts, conversations, search and seed s3 (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ DEFAULT_PHONE_REGION: 'ID' });
  });
  beforeEach(async () => t.reset());
  afterAll(async () => t?.close());

  describe('contacts', () => {
    it.each(['+62 812-3456-7890', '081234567890', '6281234567890@c.us', '6281234567890@s.whatsapp.net', '6281234567890'])(
      '"%s" is stored as 6281234567890',
      async (phone) => {
        const res = await as(t).post('/v1/contacts', { phone, name: 'Budi Santoso' });
        expect(res.status).toBe(201);
        expect(res.body).toMatchObject({ phone: '6281234567890', name: 'Budi Santoso', displayName: 'Budi Santoso' });
      },
    );

    it.each([
      ['12', 'phone'],
      ['120363024158769234@g.us', 'phone'],
      ['not a number', 'phone'],
    ])('invalid phone %s → 400 naming the field', async (phone, field) => {
      const res = await as(t).post('/v1/contacts', { phone });
      expect(res.status).toBe(400);
      expect(res.body.error.message).toContain(field);
    });

    it('CRUD: duplicate → 409, search by name (accents, case) and number, update, delete (audited)', async () => {
      const created = (await as(t).post('/v1/contacts', { phone: '+6281234567890', name: 'José Núñez', tags: ['vip'] })).body;
      expect((await as(t).post('/v1/contacts', { phone: '081234567890' })).status).toBe(409);
      expect((await apiGet(t.app, '/v1/contacts?q=jose nunez')).body.total).toBe(1);
      expect((await apiGet(t.app, '/v1/contacts?q=34567')).body.total).toBe(1);
      expect((await apiGet(t.app, '/v1/contacts?q=nobody')).body.total).toBe(0);
      const updated = await as(t).patch(`/v1/contacts/${created.id}`, { name: 'José N.', email: 'jose@example.com' });
      expect(updated.body).toMatchObject({ name: 'José N.', email: 'jose@example.com', tags: ['vip'] });
      expect((await as(t).delete(`/v1/contacts/${created.id}`)).status).toBe(200);
      expect((await apiGet(t.app, `/v1/contacts/${created.id}`)).status).toBe(404);
      const actions = (await apiGet(t.app, '/v1/audit-log')).body.data.map((e: { action: string }) => e.action);
      expect(actions).toEqual(['contact.deleted', 'contact.updated', 'contact.created']);
    });

    it('names appear on old messages and conversations after the contact is added, and revert when deleted', async () => {
      await postWablas(t.app, { ...loadFixture<Record<string, unknown>>('wablas/inbound/text_private.json'), pushName: '' });
      expect((await apiGet(t.app, '/api/wa/get_history')).body.data[0].sender_name).toBe('Unknown');
      const c = (await as(t).post('/v1/contacts', { phone: '081234567890', name: 'Pak Budi' })).body;
      expect((await apiGet(t.app, '/api/wa/get_history')).body.data[0].sender_name).toBe('Pak Budi');
      expect((await apiGet(t.app, '/v1/messages')).body.data[0].senderName).toBe('Pak Budi');
      expect((await apiGet(t.app, '/v1/conversations')).body.data[0].contact.name).toBe('Pak Budi');
      await as(t).delete(`/v1/contacts/${c.id}`);
      expect((await apiGet(t.app, '/api/wa/get_history')).body.data[0].sender_name).toBe('Unknown');
    });

    it("a sender's profile name follows the provider: created from the first webhook, rewritten by a new one, kept when absent", async () => {
      type MetaText = { entry: { changes: { value: { contacts?: { profile: { name: string } }[] } }[] }[] };
      const first = loadFixture<MetaText>('meta/inbound/text.json');
      const renamed = withFreshIds(first, 'renamed');
      renamed.entry[0].changes[0].value.contacts![0].profile.name = 'Sheena N.';
      // Meta sends `contacts` with each message (fixture meta/inbound/text.json); without it the provider names no one.
      const nameless = withFreshIds(first, 'nameless');
      delete nameless.entry[0].changes[0].value.contacts;
      const profileName = async () => (await apiGet(t.app, '/v1/contacts?q=16505551234')).body.data[0]?.profileName;
      expect((await postMeta(t.app, first)).status).toBe(200);
      expect(await profileName()).toBe('Sheena Nelson');
      expect((await postMeta(t.app, renamed)).status).toBe(200);
      expect(await profileName()).toBe('Sheena N.');
      expect((await postMeta(t.app, nameless)).status).toBe(200);
      expect(await profileName()).toBe('Sheena N.');
      expect((await apiGet(t.app, '/v1/messages?phone=16505551234')).body.total).toBe(3);
    });

    it('import: CSV with bad rows reports each by line; JSON arrays; upsert by phone', async () => {
      const csv = [
        'phone,name,email,tags',
        '+62 812-0000-0001,Ani,ani@example.com,vip;jakarta',
        'garbage,Bad,,',
        '081200000002,Budi,not-an-email,',
        '081200000003,Citra,,',
        '+62 812-0000-0001,Ani Updated,,',
      ].join('\n');
      const res = await as(t).post('/v1/contacts/import', csv, 'text/csv');
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ created: 2, updated: 0, rejected: 2 });
      expect(res.body.errors).toEqual([
        { line: 3, reason: expect.stringMatching(/^phone: not a valid phone number .*DEFAULT_PHONE_REGION=ID/) },
        { line: 4, reason: expect.stringContaining('email') },
      ]);
      const again = await as(t).post('/v1/contacts/import', [
        { phone: '6281200000003', name: 'Citra B' },
        { phone: '6281200000004' },
        { name: 'no phone' },
      ]);
      expect(again.body).toMatchObject({
        created: 1,
        updated: 1,
        rejected: 1,
        errors: [{ line: 3, reason: expect.stringContaining('phone') }],
      });
      const ani = (await apiGet(t.app, '/v1/contacts?q=ani')).body.data[0];
      expect(ani).toMatchObject({ name: 'Ani Updated', tags: ['vip', 'jakarta'] });
    });

    it('import: 10,000 rows in one request', async () => {
      const lines = ['phone,name'];
      for (let i = 0; i < 10_000; i++) lines.push(`+62812${String(10_000_000 + i)},Contact ${i}`);
      const res = await as(t).post('/v1/contacts/import', lines.join('\n'), 'text/csv');
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ created: 10_000, updated: 0, rejected: 0 });
      expect((await apiGet(t.app, '/v1/contacts?limit=1')).body.total).toBe(10_000);
    }, 60_000);
  });

  describe('@lid aliases', () => {
    it('a @lid chat is merged into its number once a contact links them; later @lid messages thread there directly', async () => {
      const lidMessage = loadFixture<Record<string, unknown>>('wwebjs/inbound/message_from_lid.json');
      expect((await postWwebjsNative(t.app, loadFixture('wwebjs/inbound/message_text.json'))).status).toBe(200);
      expect((await postWwebjsNative(t.app, lidMessage)).status).toBe(200);
      const chats = async () => (await apiGet(t.app, '/v1/conversations')).body;
      expect((await chats()).data.map((c: { chatId: string }) => c.chatId).sort()).toEqual(['211071956705386@lid', '6281288888888']);

      const res = await as(t).post('/v1/contacts', { phone: '+62 812-8888-8888', name: 'Siti Aminah', lid: '211071956705386@lid' });
      expect(res.status).toBe(201);
      const merged = await chats();
      expect(merged.total).toBe(1);
      expect(merged.data[0]).toMatchObject({
        chatId: '6281288888888',
        messageCount: 2,
        unreadCount: 2,
        contact: { phone: '6281288888888', name: 'Siti Aminah' },
      });
      const history = (await apiGet(t.app, '/v1/messages?phone=6281288888888')).body;
      expect(history.total).toBe(2);
      expect(history.data.find((m: { text: string }) => m.text === 'Halo dari akun LID')).toMatchObject({
        chatId: '6281288888888',
        sender: '6281288888888',
        senderName: 'Siti Aminah',
        contact: { phone: '6281288888888', name: 'Siti Aminah' },
      });

      const later = JSON.parse(JSON.stringify(lidMessage).replaceAll('3A6F0B5C2D9E8A7B6C5D', '3A6F0B5C2D9E8A7B6C5E'));
      expect((await postWwebjsNative(t.app, later)).status).toBe(200);
      const after = await chats();
      expect(after.total).toBe(1);
      expect(after.data[0]).toMatchObject({ chatId: '6281288888888', messageCount: 3, unreadCount: 3 });
      // The raw payload keeps the lid as the provider sent it.
      const [raw] = await t.db.query(`SELECT raw->'id'->>'remote' AS remote FROM messages WHERE external_id LIKE '%3A6F0B5C2D9E8A7B6C5E'`);
      expect(raw.remote).toBe('211071956705386@lid');
    });
  });

  describe('conversations', () => {
    beforeEach(async () => {
      await postMeta(t.app, loadFixture('meta/inbound/text.json'));
      await postMeta(t.app, withFreshIds(loadFixture('meta/inbound/image.json'), 'img'));
      await postWablas(t.app, loadFixture('wablas/inbound/text_private.json'));
    });

    it('filters: unread, q (name or number), sessionId, from/to', async () => {
      expect((await apiGet(t.app, '/v1/conversations?unread=true')).body.total).toBe(2);
      expect((await apiGet(t.app, '/v1/conversations?q=sheena')).body.data.map((c: { chatId: string }) => c.chatId)).toEqual([
        '16505551234',
      ]);
      expect((await apiGet(t.app, '/v1/conversations?q=1234567')).body.total).toBe(1);
      expect((await apiGet(t.app, `/v1/conversations?from=${new Date(1749416383 * 1000).toISOString()}`)).body.total).toBe(1);
      expect((await apiGet(t.app, `/v1/conversations?to=2025-01-01T00:00:00Z`)).body.total).toBe(1);
    });

    it('POST /v1/conversations/:id/read zeroes unread and marks inbound messages read, idempotently', async () => {
      const meta = (await apiGet(t.app, '/v1/conversations?q=sheena')).body.data[0];
      expect(meta.unreadCount).toBe(2);
      const res = await request(t.app.getHttpServer()).post(`/v1/conversations/${meta.id}/read`).set('X-API-Key', TEST_ENV.ADMIN_API_KEY);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ markedRead: 2, unreadCount: 0 });
      const msgs = (await apiGet(t.app, `/v1/conversations/${meta.id}/messages`)).body.data;
      expect(msgs.every((m: { status: string; readAt: string | null }) => m.status === 'read' && m.readAt)).toBe(true);
      expect(
        (await request(t.app.getHttpServer()).post(`/v1/conversations/${meta.id}/read`).set('X-API-Key', TEST_ENV.ADMIN_API_KEY)).body
          .markedRead,
      ).toBe(0);
      expect((await apiGet(t.app, '/v1/conversations?unread=true')).body.total).toBe(1);
    });
  });

  describe('search', () => {
    it('q matches text and captions, case- and accent-insensitively, newest first', async () => {
      const base = loadFixture<any>('meta/inbound/text.json');
      const texts = ['Je voudrais un CAFÉ crème', 'café au lait, s’il vous plaît', 'nothing to see', 'Cafeteria hours?'];
      for (const [i, body] of texts.entries()) {
        const m = withFreshIds(base, `s${i}`);
        m.entry[0].changes[0].value.messages[0].text.body = body;
        m.entry[0].changes[0].value.messages[0].timestamp = String(1_750_000_000 + i);
        await postMeta(t.app, m);
      }
      await postMeta(t.app, withFreshIds(loadFixture('meta/inbound/image.json'), 'cap')); // caption "Taj Mahal"
      const hits = (await apiGet(t.app, '/v1/messages?q=cafe')).body;
      expect(hits.data.map((m: { text: string }) => m.text)).toEqual([
        'Cafeteria hours?',
        'café au lait, s’il vous plaît',
        'Je voudrais un CAFÉ crème',
      ]);
      expect((await apiGet(t.app, '/v1/messages?q=CRÈME')).body.total).toBe(1);
      expect((await apiGet(t.app, '/v1/messages?q=taj mahal')).body.data[0].caption).toBe('Taj Mahal');
      expect((await apiGet(t.app, '/v1/messages?q=50%25')).body.total).toBe(0);
    });
  });

  describe('seed s3 (Django on Meta)', () => {
    beforeEach(async () => {
      await postMeta(t.app, loadFixture('meta/inbound/text.json'));
      await postMeta(t.app, withFreshIds(loadFixture('meta/inbound/image.json'), 'img'));
    });

    it("GET /api/whatsapp/messages/?phone=&type=&limit= with the seed's field names", async () => {
      const res = await apiGet(t.app, '/api/whatsapp/messages/?phone=16505551234&limit=50');
      expect(res.status).toBe(200);
      expect(Array.isArray(res.body)).toBe(true);
      expect(res.body).toHaveLength(2);
      expect(res.body[0]).toMatchObject({
        from_number: '16505551234',
        from_name: 'Sheena Nelson',
        phone_number: '16505551234',
        direction: 'in',
        is_read: false,
        timestamp: expect.any(String),
      });
      expect((await apiGet(t.app, '/api/whatsapp/messages/?type=text')).body.map((m: { message_type: string }) => m.message_type)).toEqual([
        'text',
      ]);
      expect((await apiGet(t.app, '/api/whatsapp/messages/?type=bogus')).body).toEqual({
        status: 'error',
        message: expect.stringContaining('type'),
      });
    });

    it('GET /api/whatsapp/conversations/ and POST /api/whatsapp/mark-read/', async () => {
      const convs = await apiGet(t.app, '/api/whatsapp/conversations/');
      expect(convs.body).toEqual([
        {
          phone_number: '16505551234',
          contact_name: 'Sheena Nelson',
          message_count: 2,
          unread_count: 2,
          last_message_at: expect.any(String),
        },
      ]);
      const marked = await request(t.app.getHttpServer())
        .post('/api/whatsapp/mark-read/')
        .set('X-API-Key', TEST_ENV.ADMIN_API_KEY)
        .send({ phone_number: '16505551234' });
      expect(marked.body).toEqual({ status: 'success', phone_number: '16505551234', marked_read: 2 });
      expect((await apiGet(t.app, '/api/whatsapp/conversations/')).body[0].unread_count).toBe(0);
      const unknown = await request(t.app.getHttpServer())
        .post('/api/whatsapp/mark-read/')
        .set('X-API-Key', TEST_ENV.ADMIN_API_KEY)
        .send({ phone_number: '6289999999999' });
      expect(unknown.status).toBe(404);
    });
  });
});
