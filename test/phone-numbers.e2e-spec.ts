import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadFixture } from './helpers/fixtures';
import { apiGet, asAdmin, postMeta, postWwebjsSeed, withFreshIds } from './helpers/http';
import { until } from './helpers/until';
import { createTestApp, type TestApp } from './helpers/test-app';

/** Issue 15's numbers that used to be stored: libphonenumber-js calls none of them valid. */
const INVALID = ['12345678', '99999999999', '(415) 555-0100'];

const as = (t: TestApp) => asAdmin(t.app);

/** The Meta session the inbound fixture creates (a session to send from). */
async function metaSession(t: TestApp): Promise<string> {
  expect((await postMeta(t.app, loadFixture('meta/inbound/text.json'))).status).toBe(200);
  const [row] = (await t.db.query(`SELECT id FROM sessions WHERE provider = 'meta'`)) as { id: string }[];
  return row.id;
}

/**
 * Numbers people write are checked with libphonenumber-js (`isValid()`) on every API route that takes one, the
 * 400 naming DEFAULT_PHONE_REGION (set or not); the contacts import reports them per row; seed s0 keeps its own
 * words. Numbers providers send stay on the lenient ingest path: a webhook is never refused for its number.
 */
describe('phone numbers: what libphonenumber-js rejects is rejected (e2e)', () => {
  describe('without DEFAULT_PHONE_REGION', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp();
    });
    beforeEach(async () => t.reset());
    afterAll(async () => t?.close());

    it.each(INVALID)('POST /v1/contacts "%s" → 400 naming the field and DEFAULT_PHONE_REGION; nothing stored', async (phone) => {
      const res = await as(t).post('/v1/contacts', { phone, name: 'X' });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_FAILED');
      expect(res.body.error.message).toMatch(/^phone is not a valid phone number/);
      expect(res.body.error.message).toContain('DEFAULT_PHONE_REGION is not set');
      expect(res.body.error.details).toEqual([{ field: 'phone', errors: [expect.stringContaining('DEFAULT_PHONE_REGION')] }]);
      expect((await apiGet(t.app, '/v1/contacts')).body.total).toBe(0);
    });

    it('international forms are stored as E.164 digits; PATCH to an invalid number → 400, the contact unchanged', async () => {
      const created = await as(t).post('/v1/contacts', { phone: '+1 (415) 555-0100' });
      expect(created.status).toBe(201);
      expect(created.body.phone).toBe('14155550100');
      expect((await as(t).post('/v1/contacts', { phone: '16502530000' })).body.phone).toBe('16502530000');
      const bad = await as(t).patch(`/v1/contacts/${created.body.id}`, { phone: '99999999999' });
      expect(bad.status).toBe(400);
      expect(bad.body.error.message).toContain('DEFAULT_PHONE_REGION');
      expect((await apiGet(t.app, `/v1/contacts/${created.body.id}`)).body.phone).toBe('14155550100');
    });

    it('POST /v1/messages `to` and GET /v1/messages?phone= → 400 naming DEFAULT_PHONE_REGION; nothing queued', async () => {
      const sessionId = await metaSession(t);
      for (const to of INVALID) {
        const res = await as(t).post('/v1/messages', { sessionId, to, type: 'text', text: { body: 'hi' } });
        expect(res.status, to).toBe(400);
        expect(res.body.error.message).toMatch(/^to is not a valid phone number .*DEFAULT_PHONE_REGION/);
        expect(res.body.error.details[0].field).toBe('to');
        const filter = await apiGet(t.app, `/v1/messages?phone=${encodeURIComponent(to)}`);
        expect(filter.status, to).toBe(400);
        expect(filter.body.error.message).toMatch(/^phone is not a valid phone number .*DEFAULT_PHONE_REGION/);
      }
      const [out] = await t.db.query(`SELECT count(*)::int AS n FROM messages WHERE direction = 'out'`);
      expect(out.n).toBe(0);
      expect((await apiGet(t.app, '/v1/messages?phone=%2B1%20650%20253%200000')).status).toBe(200);
    });

    it('a number libphonenumber-js rejects but that already wrote to the session can be answered (`to`), by that session only', async () => {
      const sessionId = await metaSession(t);
      const inbound = withFreshIds(loadFixture<any>('meta/inbound/text.json'), 'odd-number');
      inbound.entry[0].changes[0].value.contacts[0].wa_id = '99999999999';
      inbound.entry[0].changes[0].value.messages[0].from = '99999999999';
      expect((await postMeta(t.app, inbound)).status).toBe(200); // provider numbers are never refused
      await until(
        'the conversation of 99999999999',
        async () =>
          (await apiGet(t.app, '/v1/conversations?limit=100')).body.data.some((c: { chatId: string }) => c.chatId === '99999999999') ||
          undefined,
      );
      const reply = await as(t).post('/v1/messages', { sessionId, to: '+99999999999', type: 'text', text: { body: 'hi back' } });
      expect(reply.status).toBe(202);
      expect(reply.body.chatId).toBe('99999999999');
      // Still refused when it is not a chat of the session.
      const other = await as(t).post('/v1/messages', { sessionId, to: '88888888888', type: 'text', text: { body: 'hi' } });
      expect(other.status).toBe(400);
      // And its history can be read by that number on every route that filters by phone (an unknown one stays a 400).
      const listed = await apiGet(t.app, '/v1/messages?phone=%2B99999999999');
      expect(listed.status).toBe(200);
      expect(listed.body.data.map((m: { chatId: string }) => m.chatId)).toEqual(['99999999999', '99999999999']);
      expect((await apiGet(t.app, '/v1/messages?phone=88888888888')).status).toBe(400);
      const s0 = await apiGet(t.app, '/api/wa/get_history?phone=99999999999');
      expect(s0.status).toBe(200);
      expect(s0.body.data ?? s0.body.messages ?? s0.body).not.toHaveLength(0);
      const s0Conversation = await apiGet(t.app, '/api/wa/conversation/99999999999');
      expect(s0Conversation.body).toMatchObject({ status: 'success', phone: '99999999999', count: 2 });
      expect((await apiGet(t.app, '/api/wa/conversation/88888888888')).body).toEqual({
        status: 'error',
        message: 'Phone number format invalid',
      });
      const s3 = await apiGet(t.app, '/api/whatsapp/messages/?phone=99999999999');
      expect(s3.status).toBe(200);
      expect(s3.body).toHaveLength(2);
    });

    it('seed s0 keeps its words ("Phone number format invalid"); seed s3 answers 400 naming DEFAULT_PHONE_REGION', async () => {
      for (const res of [
        await as(t).post('/api/wa/send_message', { phone: '12345678', message: 'Hello' }),
        await apiGet(t.app, '/api/wa/conversation/88888888888'),
        await apiGet(t.app, `/api/wa/get_history?phone=${encodeURIComponent('(415) 555-0100')}`),
      ]) {
        expect(res.status).toBe(400);
        expect(res.body).toEqual({ status: 'error', message: 'Phone number format invalid' });
      }
      const s3 = await apiGet(t.app, '/api/whatsapp/messages/?phone=12345678');
      expect(s3.status).toBe(400);
      expect(JSON.stringify(s3.body)).toContain('DEFAULT_PHONE_REGION');
      const read = await as(t).post('/api/whatsapp/mark-read/', { phone_number: '99999999999' });
      expect(read.status).toBe(400);
      expect(JSON.stringify(read.body)).toContain('DEFAULT_PHONE_REGION');
    });

    it('import: each rejected number is reported by line with the reason naming DEFAULT_PHONE_REGION; CSV and JSON', async () => {
      const csv = ['phone,name', '12345678,A', '(415) 555-0100,B', '+1 650 253 0000,C', '6281234567890,D', '99999999999,E'].join('\n');
      const res = await as(t).post('/v1/contacts/import', csv, 'text/csv');
      expect(res.status).toBe(200);
      const reason = expect.stringMatching(/^phone: not a valid phone number .*DEFAULT_PHONE_REGION is not set/);
      expect(res.body).toEqual({
        created: 2,
        updated: 0,
        rejected: 3,
        errors: [
          { line: 2, reason },
          { line: 3, reason },
          { line: 6, reason },
        ],
      });
      const json = await as(t).post('/v1/contacts/import', [{ phone: '+62 812-3456-7890', name: 'D2' }, { phone: '12345678' }]);
      expect(json.body).toEqual({ created: 0, updated: 1, rejected: 1, errors: [{ line: 2, reason }] });
      const phones = (await apiGet(t.app, '/v1/contacts')).body.data.map((c: { phone: string }) => c.phone).sort();
      expect(phones).toEqual(['16502530000', '6281234567890']);
    });

    it('ingest stays lenient: a webhook from a number libphonenumber-js does not know is stored, not refused', async () => {
      const message = { id: 'lenient-1', body: 'hi', from: '15550002222@c.us', to: '6289876543210@c.us', timestamp: 1640995200 };
      const res = await postWwebjsSeed(t.app, { event: 'message', data: { message } }, '/api/whatsapp/webhook/lenient');
      expect(res.status).toBe(200);
      const stored = (await apiGet(t.app, '/v1/messages')).body.data;
      expect(stored).toEqual([expect.objectContaining({ chatId: '15550002222', text: 'hi', direction: 'in' })]);
    });
  });

  describe('with DEFAULT_PHONE_REGION=ID', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp({ DEFAULT_PHONE_REGION: 'ID' });
    });
    beforeEach(async () => t.reset());
    afterAll(async () => t?.close());

    it('national forms of the region are accepted; what the region does not make valid → 400 naming DEFAULT_PHONE_REGION=ID', async () => {
      expect((await as(t).post('/v1/contacts', { phone: '0812-3456-7890' })).body.phone).toBe('6281234567890');
      expect((await as(t).post('/v1/contacts', { phone: '16502530000' })).body.phone).toBe('16502530000'); // with its country code
      for (const phone of INVALID) {
        const res = await as(t).post('/v1/contacts', { phone });
        expect(res.status, phone).toBe(400);
        expect(res.body.error.message).toContain('DEFAULT_PHONE_REGION=ID');
      }
      const sessionId = await metaSession(t);
      const send = await as(t).post('/v1/messages', { sessionId, to: '12345678', type: 'text', text: { body: 'hi' } });
      expect(send.status).toBe(400);
      expect(send.body.error.message).toContain('DEFAULT_PHONE_REGION=ID');
    });

    it('import: the per-row reason names DEFAULT_PHONE_REGION=ID', async () => {
      const res = await as(t).post('/v1/contacts/import', 'phone\n12345678\n081200000002\n(415) 555-0100', 'text/csv');
      const reason = expect.stringMatching(/^phone: not a valid phone number .*DEFAULT_PHONE_REGION=ID/);
      expect(res.body).toEqual({
        created: 1,
        updated: 0,
        rejected: 2,
        errors: [
          { line: 2, reason },
          { line: 4, reason },
        ],
      });
    });
  });
});
