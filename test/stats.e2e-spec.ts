import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { insertOutboundMessage } from './helpers/factories';
import { loadFixture } from './helpers/fixtures';
import { apiGet, postMeta, postWablas, withFreshIds } from './helpers/http';
import { createTestApp, TestApp } from './helpers/test-app';

/**
 * A hand-computed fixture set, relative to now: Meta inbound texts from two contacts (3 today, 1 ten days ago),
 * one Meta inbound image today, one Wablas inbound text today, one Wablas outgoing echo today, and two outgoing
 * Meta messages sent 60 s ago: one delivered after 10 s and read after 70 s, one failed.
 * Overall 9 (6 in, 3 out), 3 distinct chats; in the last 7 days 8 (5 in, 3 out): 7 texts and 1 image, 6 on Meta.
 */
describe('statistics (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  beforeEach(async () => {
    await t.reset();
    const now = Math.floor(Date.now() / 1000);
    const text = loadFixture<any>('meta/inbound/text.json');
    const at = (body: any, ts: number, from?: string) => {
      const m = body.entry[0].changes[0].value.messages[0];
      m.timestamp = String(ts);
      if (from) {
        m.from = from;
        body.entry[0].changes[0].value.contacts[0].wa_id = from;
      }
      return body;
    };
    await postMeta(t.app, at(withFreshIds(text, 'a'), now - 100));
    await postMeta(t.app, at(withFreshIds(text, 'b'), now - 90));
    await postMeta(t.app, at(withFreshIds(text, 'c'), now - 80, '16505550000'));
    await postMeta(t.app, at(withFreshIds(text, 'old'), now - 10 * 86_400));
    await postMeta(t.app, at(withFreshIds(loadFixture('meta/inbound/image.json'), 'img'), now - 70));
    await postWablas(t.app, { ...loadFixture<Record<string, unknown>>('wablas/inbound/text_private.json'), timestamp: now - 60 });
    await postWablas(t.app, { ...loadFixture<Record<string, unknown>>('wablas/inbound/from_me_echo.json'), timestamp: now - 50 });
    for (const [wamid, status] of [
      ['wamid.out.ok', 'sent'],
      ['wamid.out.bad', 'sent'],
    ] as const) {
      await insertOutboundMessage(t.db, {
        provider: 'meta',
        sessionExternalId: '106540352242922',
        externalId: wamid,
        to: '16505551234',
        status,
      });
    }
    await t.db.query(`UPDATE messages SET provider_timestamp = to_timestamp($1) WHERE external_id LIKE 'wamid.out.%'`, [now - 60]);
    const status = (id: string, s: string, ts: number) => ({
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
                statuses: [
                  {
                    id,
                    status: s,
                    timestamp: String(ts),
                    recipient_id: '16505551234',
                    ...(s === 'failed' ? { errors: [{ code: 131026, title: 'Message undeliverable' }] } : {}),
                  },
                ],
              },
            },
          ],
        },
      ],
    });
    await postMeta(t.app, status('wamid.out.ok', 'delivered', now - 50));
    await postMeta(t.app, status('wamid.out.ok', 'read', now + 10));
    await postMeta(t.app, status('wamid.out.bad', 'failed', now - 55));
  });
  afterAll(async () => t?.close());

  it('GET /v1/stats?days=7 matches the hand-computed figures', async () => {
    const s = (await apiGet(t.app, '/v1/stats?days=7')).body;
    expect(s.overall).toEqual({ total: 9, incoming: 6, outgoing: 3, uniqueContacts: 3 });
    expect(s.window).toEqual({ total: 8, incoming: 5, outgoing: 3, uniqueContacts: 3 });
    expect(s.perDay).toHaveLength(8);
    expect(s.perDay.reduce((a: number, d: { incoming: number }) => a + d.incoming, 0)).toBe(5);
    expect(s.byType).toEqual({ text: 7, image: 1 });
    expect(s.byProvider).toEqual({ meta: 6, wablas: 2 });
    expect(s.bySession).toHaveLength(2);
    expect(s.delivery.byStatus).toMatchObject({ read: 1, failed: 1, sent: 1 });
    expect(s.delivery.medianSecondsToDelivered).toBe(10);
    expect(s.delivery.medianSecondsToRead).toBe(70);
  });

  it('days=30 includes the older message; from/to and sessionId narrow it', async () => {
    expect((await apiGet(t.app, '/v1/stats?days=30')).body.window.total).toBe(9);
    const [wablas] = await t.db.query(`SELECT id FROM sessions WHERE provider = 'wablas'`);
    expect((await apiGet(t.app, `/v1/stats?sessionId=${wablas.id}`)).body.window).toMatchObject({ total: 2, incoming: 1, outgoing: 1 });
    expect((await apiGet(t.app, '/v1/stats?from=2030-01-01T00:00:00Z&to=2020-01-01T00:00:00Z')).status).toBe(400);
  });

  it('whole days come from the daily roll-ups, which stay equal to a recount through status changes, moves and deletes', async () => {
    const now = Math.floor(Date.now() / 1000);
    const threeDaysAgo = now - 3 * 86_400;
    for (const wamid of ['wamid.past.1', 'wamid.past.2', 'wamid.past.3']) {
      await insertOutboundMessage(t.db, { provider: 'meta', sessionExternalId: '106540352242922', externalId: wamid, to: '16505559999' });
    }
    await t.db.query(`UPDATE messages SET provider_timestamp = to_timestamp($1) WHERE external_id LIKE 'wamid.past.%'`, [threeDaysAgo]);
    const status = (id: string, s: string, ts: number) => ({
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
                statuses: [{ id, status: s, timestamp: String(ts), recipient_id: '16505559999' }],
              },
            },
          ],
        },
      ],
    });
    // Delivered after 4, 6 and 30 s (median 6); read after 100 and 200 s (median 150).
    for (const [id, d, r] of [
      ['wamid.past.1', 4, 100],
      ['wamid.past.2', 6, 200],
      ['wamid.past.3', 30, 0],
    ] as const) {
      await postMeta(t.app, status(id, 'delivered', threeDaysAgo + d));
      if (r) await postMeta(t.app, status(id, 'read', threeDaysAgo + r));
    }
    // A window of whole UTC days around the three: only the roll-ups answer it.
    const day = new Date(threeDaysAgo * 1000).toISOString().slice(0, 10);
    const next = new Date((threeDaysAgo + 86_400) * 1000).toISOString().slice(0, 10);
    const s = (await apiGet(t.app, `/v1/stats?from=${day}T00:00:00Z&to=${next}T00:00:00Z`)).body;
    expect(s.window).toEqual({ total: 3, incoming: 0, outgoing: 3, uniqueContacts: 1 });
    expect(s.delivery.byStatus).toMatchObject({ delivered: 1, read: 2, sent: 0 });
    expect(s.delivery.medianSecondsToDelivered).toBe(6);
    expect(s.delivery.medianSecondsToRead).toBe(150);

    const rolled = `SELECT day::text, session_id, direction, type, status, sum(messages)::int AS n FROM message_stats_daily GROUP BY 1, 2, 3, 4, 5 HAVING sum(messages) <> 0 ORDER BY 1, 2, 3, 4, 5`;
    const recount = `SELECT wa_stats_day(provider_timestamp)::text AS day, session_id, direction, type, status, count(*)::int AS n FROM messages GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5`;
    expect(await t.db.query(rolled)).toEqual(await t.db.query(recount));
    // A message moved to another day and type, then a whole conversation deleted (cascade): still equal.
    await t.db.query(
      `UPDATE messages SET provider_timestamp = provider_timestamp - interval '2 days', type = 'image' WHERE external_id = 'wamid.past.3'`,
    );
    await t.db.query(`DELETE FROM conversations WHERE chat_id = '16505550000'`);
    expect(await t.db.query(rolled)).toEqual(await t.db.query(recount));
    // Compaction folds past days into shard 0 and changes no figure.
    await t.db.query(`SELECT wa_stats_compact()`);
    expect(await t.db.query(rolled)).toEqual(await t.db.query(recount));
    expect(await t.db.query(`SELECT count(*)::int AS n FROM message_stats_daily WHERE shard <> 0 AND day < wa_stats_day(now())`)).toEqual([
      { n: 0 },
    ]);
    const after = (await apiGet(t.app, `/v1/stats?from=${day}T00:00:00Z&to=${next}T00:00:00Z`)).body;
    expect(after.window.total).toBe(2);
    expect(after.delivery.medianSecondsToRead).toBe(150);
  });

  it("seed s0 GET /api/wa/stats?days=30: exactly the seed's fields", async () => {
    const res = await apiGet(t.app, '/api/wa/stats?days=30');
    expect(res.body).toEqual({
      status: 'success',
      total_messages: 9,
      incoming_messages: 6,
      outgoing_messages: 3,
      messages_last_30_days: 9,
      unique_contacts: 3,
    });
    expect(Object.keys((await apiGet(t.app, '/api/wa/stats')).body)).toEqual([
      'status',
      'total_messages',
      'incoming_messages',
      'outgoing_messages',
      'messages_last_7_days',
      'unique_contacts',
    ]);
  });
});
