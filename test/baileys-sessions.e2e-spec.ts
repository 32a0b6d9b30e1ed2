import jsQR from 'jsqr';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeWhatsApp, type FakePeer, type FakeWhatsApp } from './fakes/whatsapp-web';
import type { InboundEvent } from '../src/domain/inbound-event';
import { IngestService } from '../src/ingest/ingest.service';
import { createTestApp, TEST_ENV, type TestApp } from './helpers/test-app';
import { until } from './helpers/until';

const ADMIN = { 'X-API-Key': TEST_ENV.ADMIN_API_KEY };

/**
 * Baileys sessions run by wa-hub (e2e): the real AppModule, PostgreSQL (or PGlite), the real Baileys 7.0.0-rc14
 * client, and only WhatsApp replaced, by the fake WhatsApp Web server in test/fakes/whatsapp-web.
 */
describe('Baileys sessions in-process (e2e, fake WhatsApp Web)', () => {
  let wa: FakeWhatsApp;
  let t: TestApp;
  let dataDir: string | undefined;
  let sessionId: string;
  let alice: FakePeer;

  const http = () => request(t.app.getHttpServer());
  const session = async () => (await http().get(`/v1/sessions/${sessionId}`).set(ADMIN)).body;
  const status = (want: string) => until(`status ${want}`, async () => ((await session()).status === want ? true : undefined));
  const messageBy = (externalId: string) =>
    until(`message ${externalId}`, async () => {
      const rows = await t.db.query(`SELECT * FROM messages WHERE external_id = $1`, [externalId]);
      return rows[0];
    });
  const boot = () => {
    const env: Record<string, string> = { BAILEYS_WA_WS_URL: wa.url };
    // The restart test needs the database to outlive the app: a data directory instead of memory on PGlite.
    if (!process.env.DATABASE_URL) env.DATA_DIR = dataDir!;
    return createTestApp(env);
  };

  beforeAll(async () => {
    wa = await startFakeWhatsApp();
    if (!process.env.DATABASE_URL) dataDir = mkdtempSync(join(tmpdir(), 'wa-hub-baileys-'));
    t = await boot();
    await t.reset();
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    await wa?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('POST /v1/sessions starts a session; its QR (PNG) is scanned by the phone; connected, creds in the database', async () => {
    const created = await http().post('/v1/sessions').set(ADMIN).send({ provider: 'baileys', name: 'shop', userId: 'owner-1' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ provider: 'baileys', externalId: 'shop', userId: 'owner-1' });
    sessionId = created.body.id;
    const qr = await until('a QR', async () => (await session()).qr ?? undefined);
    const png = await http()
      .get(`/v1/sessions/${sessionId}/qr`)
      .set(ADMIN)
      .buffer(true)
      .parse((res, cb) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => cb(null, Buffer.concat(chunks)));
      });
    expect(png.status).toBe(200);
    const image = PNG.sync.read(png.body as Buffer);
    const decoded = jsQR(new Uint8ClampedArray(image.data), image.width, image.height);
    expect(decoded?.data).toBe(qr);
    await wa.phone.scanQr(decoded!.data);
    await status('connected');
    expect((await session()).displayNumber).toBe(wa.account.pn);
    const [row] = await t.db.query(
      `SELECT creds IS NOT NULL AS has_creds, lease_owner IS NOT NULL AS leased FROM baileys_sessions WHERE session_id = $1`,
      [sessionId],
    );
    expect(row).toEqual({ has_creds: true, leased: true });
    const [{ n }] = await t.db.query(`SELECT count(*)::int AS n FROM baileys_keys WHERE session_id = $1 AND type = 'pre-key'`, [sessionId]);
    expect(n).toBeGreaterThan(100);
    const history = await http().get(`/v1/sessions/${sessionId}/events`).set(ADMIN);
    expect(history.body.data.map((e: { toStatus: string }) => e.toStatus)).toEqual(expect.arrayContaining(['qr', 'connected']));
  });

  it('inbound text, reply, reaction, edit and revoke land in /v1/messages through the ingest pipeline', async () => {
    alice = wa.addPeer({ pn: '16505552222', lid: '200000000000002', name: 'Alice' });
    await alice.sendText('hello from alice', { id: 'IN-1' });
    const m = await messageBy('IN-1');
    expect(m).toMatchObject({ direction: 'in', type: 'text', text: 'hello from alice', chat_id: '16505552222', sender_name: 'Alice' });
    const listed = await http().get('/v1/messages?phone=16505552222').set(ADMIN);
    expect(listed.body.data.map((x: { externalId: string }) => x.externalId)).toContain('IN-1');

    await alice.react({ id: 'IN-1', sentBy: 'peer' }, '👍');
    await until('the reaction', async () =>
      (await t.db.query(`SELECT reactions FROM messages WHERE external_id = 'IN-1'`))[0].reactions ? true : undefined,
    );
    await alice.edit('IN-1', 'hello, edited');
    await until('the edit', async () =>
      (await t.db.query(`SELECT text FROM messages WHERE external_id = 'IN-1'`))[0].text === 'hello, edited' ? true : undefined,
    );
    const [edited] = await t.db.query(`SELECT edits FROM messages WHERE external_id = 'IN-1'`);
    expect(edited.edits[0].text).toBe('hello from alice');
    await alice.revoke('IN-1');
    await until('the revoke', async () =>
      (await t.db.query(`SELECT deleted_at FROM messages WHERE external_id = 'IN-1'`))[0].deleted_at ? true : undefined,
    );
  });

  it('a LID-addressed message is threaded under the phone number', async () => {
    await alice.sendText('via lid', { id: 'IN-LID', addressing: 'lid' });
    const m = await messageBy('IN-LID');
    expect(m).toMatchObject({ chat_id: '16505552222', text: 'via lid' });
  });

  it('an image arrives as a media descriptor (bytes not fetched on the ack path), caption kept', async () => {
    const sent = await alice.sendImage({ caption: 'a photo', mimetype: 'image/png', fileLength: 70_001 }, { id: 'IN-IMG' });
    const m = await messageBy('IN-IMG');
    expect(m).toMatchObject({ direction: 'in', type: 'image', chat_id: '16505552222' });
    const listed = await http().get('/v1/messages?phone=16505552222&type=image').set(ADMIN);
    const dto = listed.body.data.find((x: { externalId: string }) => x.externalId === 'IN-IMG');
    expect(dto).toBeDefined();
    expect(JSON.stringify(dto)).toContain('a photo');
    expect(JSON.stringify(dto)).toContain('image/png');
    // The raw message proto is kept: its direct path is what a later download needs.
    expect(JSON.stringify(m.raw ?? (await t.db.query(`SELECT raw FROM messages WHERE id = $1`, [m.id]))[0].raw)).toContain(
      sent.image.directPath!,
    );
  });

  it('group messages thread under the group JID with the participant (phone number) as author', async () => {
    const group = '120363000000000001@g.us';
    await alice.sendGroupText(group, 'hello group', { id: 'IN-GRP-1' });
    await alice.sendGroupText(group, 'second, sender key only', { id: 'IN-GRP-2' });
    const first = await messageBy('IN-GRP-1');
    const second = await messageBy('IN-GRP-2');
    expect(first).toMatchObject({ text: 'hello group', sender: '16505552222' });
    expect(second).toMatchObject({ text: 'second, sender key only', chat_id: first.chat_id });
    expect(first.chat_id).toContain('120363000000000001');
    const [conv] = await t.db.query(`SELECT is_group FROM conversations WHERE id = $1`, [first.conversation_id]);
    expect(conv.is_group).toBe(true);
  });

  it('POST /v1/messages sends through the socket: the peer decrypts it; receipts move it to delivered and read', async () => {
    const res = await http()
      .post('/v1/messages')
      .set(ADMIN)
      .send({ sessionId, to: '16505552222', type: 'text', text: { body: 'hi alice' } });
    expect(res.status).toBe(202);
    const copy = await alice.nextMessage();
    expect(copy.message.conversation ?? copy.message.extendedTextMessage?.text).toBe('hi alice');
    const sent = await until('sent with the WhatsApp id', async () => {
      const [row] = await t.db.query(`SELECT external_id, status FROM messages WHERE id = $1`, [res.body.id]);
      return row?.external_id ? row : undefined;
    });
    expect(sent.external_id).toBe(copy.id);
    await alice.sendReceipt(copy.id, 'delivery');
    await until('delivered', async () =>
      (await t.db.query(`SELECT status FROM messages WHERE id = $1`, [res.body.id]))[0].status === 'delivered' ? true : undefined,
    );
    await alice.sendReceipt(copy.id, 'read');
    await until('read', async () =>
      (await t.db.query(`SELECT status FROM messages WHERE id = $1`, [res.body.id]))[0].status === 'read' ? true : undefined,
    );
  });

  it('a restarted wa-hub logs in again from the stored creds, without a QR', async () => {
    await t.close(); // graceful: sockets ended, leases released
    expect(await t.db.query(`SELECT 1`).catch(() => null)).toBeNull(); // the old app's pool is closed
    const relogin = wa.nextReady(30_000); // the fake's next successful login
    t = await boot();
    await relogin;
    const [row] = await t.db.query(`SELECT lease_owner IS NOT NULL AS leased FROM baileys_sessions WHERE session_id = $1`, [sessionId]);
    expect(row.leased).toBe(true);
    await status('connected');
    const [events] = await t.db.query(
      `SELECT count(*) FILTER (WHERE to_status = 'qr')::int AS qrs FROM session_events WHERE session_id = $1 AND occurred_at > now() - interval '1 minute' AND event = 'connection.qr'`,
      [sessionId],
    );
    // Exactly the one QR of the first login: the restart needed none.
    expect(events.qrs).toBe(1);
  }, 60_000);

  it('logout unlinks the device at WhatsApp and wipes its login: logged_out', async () => {
    const unlinked = new Promise((resolve) => wa.once('logout', resolve));
    const res = await http().post(`/v1/sessions/${sessionId}/logout`).set(ADMIN);
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('logged_out');
    await unlinked;
    const [row] = await t.db.query(`SELECT creds, wanted FROM baileys_sessions WHERE session_id = $1`, [sessionId]);
    expect(row).toEqual({ creds: null, wanted: false });
    const [{ n }] = await t.db.query(`SELECT count(*)::int AS n FROM baileys_keys WHERE session_id = $1`, [sessionId]);
    expect(n).toBe(0);
  });

  it('other providers cannot be created (422); an unknown session is 404', async () => {
    expect((await http().post('/v1/sessions').set(ADMIN).send({ provider: 'meta' })).status).toBe(422);
    expect((await http().post('/v1/sessions/00000000-0000-0000-0000-000000000000/start').set(ADMIN)).status).toBe(404);
  });

  it('a late event of a deleted Baileys session does not bring the session back; a wwebjs event still creates its own', async () => {
    const deleted = await http().delete(`/v1/sessions/${sessionId}`).set(ADMIN);
    expect(deleted.status).toBeLessThan(300);
    expect(await t.db.query(`SELECT id FROM sessions WHERE id = $1`, [sessionId])).toEqual([]);
    const lateEvent = (provider: 'baileys' | 'wwebjs', id: string): InboundEvent[] => [
      {
        kind: 'session',
        session: { provider, externalId: id },
        change: { event: 'connection.update', status: 'connecting', timestamp: new Date() },
      },
    ];
    const ingest = t.app.get(IngestService);
    for (const provider of ['baileys', 'wwebjs'] as const)
      await ingest.ingest(
        provider,
        { normalize: () => lateEvent(provider, 'shop') },
        {
          rawBody: Buffer.from(`{"late":"${provider}"}`),
          body: { late: provider },
          contentType: 'application/json',
        },
      );
    await until('the wwebjs session', async () =>
      (await t.db.query(`SELECT 1 FROM sessions WHERE provider = 'wwebjs' AND external_id = 'shop'`)).length ? true : undefined,
    );
    expect(await t.db.query(`SELECT id FROM sessions WHERE provider = 'baileys' AND external_id = 'shop'`)).toEqual([]);
  });
});
