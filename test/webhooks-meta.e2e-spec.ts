import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MetaNormalizer } from '../src/providers/meta/meta.normalizer';
import { insertOutboundMessage } from './helpers/factories';
import { inboundFixtures, loadFixture } from './helpers/fixtures';
import { apiGet, postMeta, withFreshIds } from './helpers/http';
import { metaSignature, metaWireBytes } from './helpers/signing';
import { createTestApp, TEST_ENV, TestApp } from './helpers/test-app';

type MetaBody = {
  entry: {
    changes: {
      value: {
        metadata?: { phone_number_id: string };
        messages?: { id: string; from: string; type: string }[];
        statuses?: { id: string }[];
      };
    }[];
  }[];
};

const count = async (t: TestApp, table: string) => Number((await t.db.query(`SELECT count(*) AS n FROM ${table}`))[0].n);
const messageByExternalId = async (t: TestApp, externalId: string) => {
  const res = await apiGet(t.app, '/v1/messages?limit=1000');
  return (res.body.data as { externalId: string }[]).find((m) => m.externalId === externalId) as Record<string, any> | undefined;
};

describe('Meta Cloud API webhooks (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  beforeEach(async () => t.reset());
  afterAll(async () => t?.close());

  describe('GET verification handshake', () => {
    it('echoes hub.challenge as text/plain for subscribe + the configured token (meta.verification.get_subscribe_ok)', async () => {
      const { query, expect: want } = loadFixture<{ query: Record<string, string>; expect: { body: string } }>(
        'meta/verification/get_subscribe_ok.json',
      );
      const res = await request(t.app.getHttpServer())
        .get('/webhooks/meta')
        .query({ ...query, 'hub.verify_token': TEST_ENV.META_VERIFY_TOKEN });
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/plain/);
      expect(res.text).toBe(want.body);
    });

    it.each([
      [
        'wrong token (meta.verification.get_subscribe_bad_token)',
        loadFixture<{ query: Record<string, string> }>('meta/verification/get_subscribe_bad_token.json').query,
      ],
      ['wrong mode', { 'hub.mode': 'unsubscribe', 'hub.challenge': '1158201444', 'hub.verify_token': TEST_ENV.META_VERIFY_TOKEN }],
      ['no parameters', {}],
    ])('%s → 403, challenge not echoed', async (_name, query) => {
      const res = await request(t.app.getHttpServer()).get('/webhooks/meta').query(query);
      expect(res.status).toBe(403);
      expect(res.text).not.toBe('1158201444');
      expect(res.body.error.code).toBe('FORBIDDEN');
    });
  });

  describe('signature', () => {
    const body = loadFixture('meta/inbound/contacts.json'); // non-ASCII names: escaped on the wire

    it("accepts the signature over Meta's escaped wire bytes", async () => {
      const res = await postMeta(t.app, body);
      expect(res.status).toBe(200);
      expect(await count(t, 'messages')).toBe(1);
    });

    it('checks the raw bytes, not a re-serialisation: the same JSON signed unescaped is refused', async () => {
      const bytes = metaWireBytes(body);
      const res = await request(t.app.getHttpServer())
        .post('/webhooks/meta')
        .set('Content-Type', 'application/json')
        .set('X-Hub-Signature-256', metaSignature(TEST_ENV.META_APP_SECRET, JSON.stringify(body)))
        .send(bytes.toString());
      expect(res.status).toBe(401);
    });

    it.each([
      ['missing', undefined],
      ['wrong secret', metaSignature('not-the-secret', metaWireBytes(body))],
      ['malformed', 'sha256=zz'],
      ['sha1 form', `sha1=${'a'.repeat(40)}`],
    ])('%s signature → 401 with our error shape, nothing stored', async (_name, signature) => {
      const req = request(t.app.getHttpServer()).post('/webhooks/meta').set('Content-Type', 'application/json');
      if (signature) req.set('X-Hub-Signature-256', signature);
      const res = await req.send(metaWireBytes(body).toString());
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ error: { code: 'UNAUTHORIZED', message: expect.any(String) }, requestId: expect.any(String) });
      expect(await count(t, 'webhook_events')).toBe(0);
      expect(await count(t, 'messages')).toBe(0);
    });

    it('a tampered body with the original signature → 401, nothing stored', async () => {
      const bytes = metaWireBytes(body);
      const tampered = bytes.toString().replace('Google', 'Gooogle');
      const res = await request(t.app.getHttpServer())
        .post('/webhooks/meta')
        .set('Content-Type', 'application/json')
        .set('X-Hub-Signature-256', metaSignature(TEST_ENV.META_APP_SECRET, bytes))
        .send(tampered);
      expect(res.status).toBe(401);
      expect(await count(t, 'webhook_events')).toBe(0);
    });

    it('the Node SDK signature vector matches our HMAC', async () => {
      const v = loadFixture<{ vector: { appSecret: string; body: string; header: string } }>(
        'meta/verification/x_hub_signature_256_vector.json',
      ).vector;
      expect(metaSignature(v.appSecret, v.body)).toBe(v.header);
    });
  });

  describe('replaying every replayable Meta fixture', () => {
    const fixtures = inboundFixtures('meta');

    it.each(fixtures.map((f) => [f.id, f.file]))('%s lands as the expected rows, readable via /v1/messages', async (id, file) => {
      const body = withFreshIds(loadFixture<MetaBody>(file), id);
      const res = await postMeta(t.app, body);
      expect(res.status).toBe(200);
      expect(res.body.state).not.toBe('failed');
      const expected = new MetaNormalizer().normalize(body, new Date());
      for (const e of expected) {
        if (e.kind !== 'message') continue;
        const row = await messageByExternalId(t, e.message.externalId);
        expect(row, `message ${e.message.externalId}`).toBeDefined();
        expect(row).toMatchObject({
          provider: 'meta',
          direction: 'in',
          type: e.message.type,
          chatId: e.message.chatId,
          text: e.message.text ?? null,
          caption: e.message.caption ?? null,
        });
      }
      const statusEvents = expected.filter((e) => e.kind === 'status').length;
      expect(await count(t, 'message_status_events')).toBe(statusEvents);
      const [{ n: rawCount }] = await t.db.query(`SELECT count(*) AS n FROM webhook_events WHERE state IN ('processed', 'ignored')`);
      expect(Number(rawCount)).toBe(1);
    });

    it('all fixtures in file order, as published (shared spec wamids included): every distinct message is one row', async () => {
      const distinct = new Set<string>();
      for (const f of fixtures) {
        const body = loadFixture<MetaBody>(f.file);
        for (const c of body.entry.flatMap((e) => e.changes))
          for (const m of c.value.messages ?? []) distinct.add(`${c.value.metadata?.phone_number_id}/${m.id}`);
        expect((await postMeta(t.app, body)).status).toBe(200);
      }
      expect(await count(t, 'messages')).toBe(distinct.size);
      expect(await count(t, 'webhook_events')).toBe(fixtures.length);
      const res = await apiGet(t.app, '/v1/messages?limit=1000');
      expect(res.body.total).toBe(distinct.size);
    });
  });

  it('the same delivery twice is one raw event (attempts 2) and one message', async () => {
    const body = loadFixture('meta/inbound/text.json');
    expect((await postMeta(t.app, body)).status).toBe(200);
    expect((await postMeta(t.app, body)).status).toBe(200);
    expect(await count(t, 'messages')).toBe(1);
    const [{ attempts }] = await t.db.query('SELECT attempts FROM webhook_events');
    expect(attempts).toBe(2);
    const [conv] = await t.db.query('SELECT message_count, unread_count FROM conversations');
    expect(conv).toEqual({ message_count: 1, unread_count: 1 });
  });

  it('the batch fixture stores all 3 messages and 2 statuses, with conversation counters and the contact name', async () => {
    const res = await postMeta(t.app, loadFixture('meta/inbound/batch_multi_entry.json'));
    expect(res.status).toBe(200);
    expect(await count(t, 'messages')).toBe(3);
    expect(await count(t, 'message_status_events')).toBe(2);
    const sessions = await t.db.query(`SELECT external_id, display_number, status FROM sessions ORDER BY external_id`);
    expect(sessions.map((s: { external_id: string }) => s.external_id)).toEqual(['106540352242922', '1122334455667', '409552778964973']);
    expect(sessions[0]).toMatchObject({ display_number: '15550783881', status: 'connected' });
    const convs = await apiGet(t.app, '/v1/conversations');
    expect(convs.body.data).toHaveLength(1);
    expect(convs.body.data[0]).toMatchObject({
      chatId: '16505551234',
      messageCount: 3,
      unreadCount: 3,
      contact: { phone: '16505551234', name: 'Sheena Nelson' },
      lastMessagePreview: '👍',
    });
  });

  describe('statuses', () => {
    const statusBody = (id: string, status: string, extra: Record<string, unknown> = {}) => ({
      object: 'whatsapp_business_account',
      entry: [
        {
          id: '1',
          changes: [
            {
              field: 'messages',
              value: {
                messaging_product: 'whatsapp',
                metadata: { display_phone_number: '15550783881', phone_number_id: '106540352242922' },
                statuses: [{ id, status, timestamp: '1700000000', recipient_id: '16505551234', ...extra }],
              },
            },
          ],
        },
      ],
    });

    it('move forward only: read is not downgraded by a late delivered or failed (meta.inbound.status_read note)', async () => {
      const id = await insertOutboundMessage(t.db, {
        provider: 'meta',
        sessionExternalId: '106540352242922',
        externalId: 'wamid.out1',
        to: '16505551234',
      });
      for (const s of ['read', 'delivered', 'failed', 'sent'])
        expect((await postMeta(t.app, statusBody('wamid.out1', s))).status).toBe(200);
      expect((await apiGet(t.app, `/v1/messages/${id}`)).body.status).toBe('read');
      await postMeta(t.app, statusBody('wamid.out1', 'played'));
      expect((await apiGet(t.app, `/v1/messages/${id}`)).body.status).toBe('played');
    });

    it('failed keeps code, title and detail (meta.inbound.status_failed_131047)', async () => {
      const fixture = loadFixture<MetaBody>('meta/inbound/status_failed_131047.json');
      const wamid = fixture.entry[0].changes[0].value.statuses![0].id;
      const id = await insertOutboundMessage(t.db, {
        provider: 'meta',
        sessionExternalId: fixture.entry[0].changes[0].value.metadata!.phone_number_id,
        externalId: wamid,
        to: '5511111111111',
      });
      expect((await postMeta(t.app, fixture)).status).toBe(200);
      const msg = (await apiGet(t.app, `/v1/messages/${id}`)).body;
      expect(msg.status).toBe('failed');
      expect(msg.error).toEqual({ code: '131047', title: 'Re-engagement message', detail: expect.stringContaining('more than 24 hours') });
    });

    it('a status for an unknown wamid is kept and does not fail the webhook', async () => {
      const res = await postMeta(t.app, statusBody('wamid.unknown', 'delivered'));
      expect(res.status).toBe(200);
      expect(res.body.state).toBe('processed');
      expect(await count(t, 'message_status_events')).toBe(1);
    });
  });

  it('value-level errors[] are recorded (meta.inbound.value_errors_131000)', async () => {
    expect((await postMeta(t.app, loadFixture('meta/inbound/value_errors_131000.json'))).status).toBe(200);
    const [err] = await t.db.query('SELECT code, title, detail FROM provider_errors');
    expect(err).toEqual({ code: '131000', title: 'Something went wrong', detail: 'Unsupported webhook payload' });
  });

  it('a signed body of an unknown shape is stored as failed, answered 200, listed in /v1/webhook-events?state=failed', async () => {
    const res = await postMeta(t.app, { object: 'instagram', entry: [{ id: '1', changes: [] }] });
    expect(res.status).toBe(200);
    expect(res.body.state).toBe('failed');
    const list = await apiGet(t.app, '/v1/webhook-events?state=failed');
    expect(list.body.total).toBe(1);
    expect(list.body.data[0]).toMatchObject({
      provider: 'meta',
      state: 'failed',
      body: { object: 'instagram' },
      error: expect.stringContaining('whatsapp_business_account'),
    });
  });

  it('a body over BODY_LIMIT_BYTES → 413 in our error shape, nothing stored', async () => {
    const body = { object: 'whatsapp_business_account', entry: [], padding: 'x'.repeat(1_100_000) };
    const res = await postMeta(t.app, body);
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE' }, requestId: res.headers['x-request-id'] });
    expect(await count(t, 'webhook_events')).toBe(0);
  });

  it('a correctly signed body with a non-JSON content type is kept raw and reported, not parsed or applied', async () => {
    // Meta sends application/json; anything else it signed is still its bytes: stored losslessly as `failed`.
    const bytes = metaWireBytes(loadFixture('meta/inbound/text.json'));
    const res = await request(t.app.getHttpServer())
      .post('/webhooks/meta')
      .set('Content-Type', 'text/plain')
      .set('X-Hub-Signature-256', metaSignature(TEST_ENV.META_APP_SECRET, bytes))
      .send(bytes.toString());
    expect(res.status).toBe(200);
    const rows = await t.db.query(`SELECT state, raw_body FROM webhook_events`);
    expect(rows).toHaveLength(1);
    expect(rows[0].state).toBe('failed');
    expect(Buffer.compare(rows[0].raw_body, bytes)).toBe(0);
    expect(await count(t, 'messages')).toBe(0);
  });

  it('a text/plain body with a wrong signature is refused before it is read', async () => {
    const res = await request(t.app.getHttpServer())
      .post('/webhooks/meta')
      .set('Content-Type', 'text/plain')
      .set('X-Hub-Signature-256', metaSignature('wrong-secret', 'x'))
      .send('x');
    expect(res.status).toBe(401);
    expect(await count(t, 'webhook_events')).toBe(0);
  });

  it('malformed JSON → 400 MALFORMED_JSON in our error shape, nothing stored', async () => {
    const bytes = '{"object": "whatsapp_business_account", "entry": [';
    const res = await request(t.app.getHttpServer())
      .post('/webhooks/meta')
      .set('Content-Type', 'application/json')
      .set('X-Hub-Signature-256', metaSignature(TEST_ENV.META_APP_SECRET, bytes))
      .send(bytes);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: { code: 'MALFORMED_JSON' }, requestId: expect.any(String) });
    expect(await count(t, 'webhook_events')).toBe(0);
  });
});
