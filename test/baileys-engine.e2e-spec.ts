import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BaileysAuthRepository, LeaseLostError } from '../src/providers/baileys/baileys-auth.repository';
import { BaileysEngine } from '../src/providers/baileys/baileys-engine';
import { startFakeWhatsApp, type FakeWhatsApp } from './fakes/whatsapp-web';
import { createTestApp, TEST_ENV, type TestApp } from './helpers/test-app';
import { until } from './helpers/until';

const ADMIN = { 'X-API-Key': TEST_ENV.ADMIN_API_KEY };

/** Creates a Baileys session through the API and links it by QR; resolves when it is connected. */
async function linkedSession(t: TestApp, wa: FakeWhatsApp, name: string): Promise<string> {
  const http = () => request(t.app.getHttpServer());
  const created = await http().post('/v1/sessions').set(ADMIN).send({ provider: 'baileys', name });
  expect(created.status).toBe(201);
  const id = created.body.id as string;
  const qr = await until('a QR', async () => (await http().get(`/v1/sessions/${id}`).set(ADMIN)).body.qr ?? undefined);
  await wa.phone.scanQr(qr);
  await until('connected', async () =>
    (await http().get(`/v1/sessions/${id}`).set(ADMIN)).body.status === 'connected' ? true : undefined,
  );
  return id;
}

describe('Baileys engine: pairing code and the disconnect-code matrix (e2e, fake WhatsApp Web)', () => {
  let wa: FakeWhatsApp;
  let t: TestApp;
  const http = () => request(t.app.getHttpServer());
  const get = async (id: string) => (await http().get(`/v1/sessions/${id}`).set(ADMIN)).body;
  const statusOf = (id: string, want: string, timeoutMs?: number) =>
    until(`status ${want}`, async () => ((await get(id)).status === want ? true : undefined), timeoutMs);

  beforeAll(async () => {
    wa = await startFakeWhatsApp();
    t = await createTestApp({ BAILEYS_WA_WS_URL: wa.url, BAILEYS_MAX_BACKOFF_SECONDS: '2' });
    await t.reset();
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    await wa?.close();
  });

  it('pairing code: POST /v1/sessions/:id/pairing-code → the 8-character code the phone types → connected', async () => {
    const created = await http().post('/v1/sessions').set(ADMIN).send({ provider: 'baileys', name: 'by-code' });
    const id = created.body.id as string;
    await until('waiting for a login', async () => ((await get(id)).qr ? true : undefined));
    const res = await http()
      .post(`/v1/sessions/${id}/pairing-code`)
      .set(ADMIN)
      .send({ phoneNumber: `+${wa.account.pn}` });
    expect(res.status).toBe(200);
    expect(res.body.code).toMatch(/^[A-Z0-9]{8}$/);
    await wa.phone.enterPairingCode(res.body.code);
    await statusOf(id, 'connected');
    // Once linked there is no login to pair: 409 in our error shape.
    const again = await http()
      .post(`/v1/sessions/${id}/pairing-code`)
      .set(ADMIN)
      .send({ phoneNumber: `+${wa.account.pn}` });
    expect(again.status).toBe(409);
    expect((await http().post(`/v1/sessions/${id}/stop`).set(ADMIN)).body.status).toBe('disconnected');
  });

  it('515, 428, 500 and 503 reconnect by themselves; 440 stops (replaced); 403 and 411 stop with error; start resumes without a QR; 401 logs out', async () => {
    const id = await linkedSession(t, wa, 'matrix');
    for (const code of [515, 428, 500, 503] as const) {
      const back = wa.nextReady(20_000);
      await wa.disconnect(code);
      await back; // logged in again, from the stored creds
      await statusOf(id, 'connected');
    }
    for (const [code, status] of [
      [440, 'disconnected'],
      [403, 'error'],
      [411, 'error'],
    ] as const) {
      await wa.disconnect(code);
      await statusOf(id, status);
      const [row] = await t.db.query(`SELECT wanted, creds IS NOT NULL AS has_creds FROM baileys_sessions WHERE session_id = $1`, [id]);
      expect(row).toEqual({ wanted: false, has_creds: true }); // stopped, login kept
      const back = wa.nextReady(20_000);
      expect((await http().post(`/v1/sessions/${id}/start`).set(ADMIN)).status).toBe(200);
      await back;
      await statusOf(id, 'connected');
    }
    const history = await http().get(`/v1/sessions/${id}/events?limit=100`).set(ADMIN);
    expect(history.body.data.some((e: { message: string | null }) => /replaced/i.test(e.message ?? ''))).toBe(true);
    await wa.disconnect('device-removed'); // 401: unlinked from the phone
    await statusOf(id, 'logged_out');
    const [row] = await t.db.query(`SELECT wanted, creds FROM baileys_sessions WHERE session_id = $1`, [id]);
    expect(row).toEqual({ wanted: false, creds: null });
  }, 120_000);
});

/** Two wa-hub apps on one PostgreSQL database: the lease moves when its holder dies. (PGlite is one process's.) */
describe.runIf(process.env.DATABASE_URL)('Baileys lease takeover between two processes (e2e, PostgreSQL)', () => {
  let wa: FakeWhatsApp;
  let a: TestApp;
  let b: TestApp;
  let env: Record<string, string>;

  beforeAll(async () => {
    wa = await startFakeWhatsApp();
    env = { BAILEYS_WA_WS_URL: wa.url, BAILEYS_LEASE_SECONDS: '3' };
    a = await createTestApp(env);
    await a.reset();
  }, 60_000);
  afterAll(async () => {
    await b?.close();
    await a?.close().catch(() => undefined);
    await wa?.close();
  });

  it('the holder dies without releasing: the other process takes the session within the lease time; the dead one cannot write', async () => {
    const id = await linkedSession(a, wa, 'takeover');
    // B starts once A holds the session: a B already running could claim it with its own tick (every second)
    // between the session's creation (wanted, no lease yet) and A's claim right after.
    b = await createTestApp(env);
    const engineA = a.app.get(BaileysEngine);
    const [{ lease_owner: ownerA, lease_token: tokenA }] = await a.db.query(
      `SELECT lease_owner, lease_token::text FROM baileys_sessions WHERE session_id = $1`,
      [id],
    );
    expect(ownerA).toBe(engineA.owner);
    // "kill -9": A's timers and socket stop, nothing is released.
    clearInterval((engineA as unknown as { timer: NodeJS.Timeout }).timer);
    const back = wa.nextReady(20_000);
    await engineA.connection(id)!.end();
    await back; // B logged in with the stored creds
    const [row] = await b.db.query(`SELECT lease_owner, lease_token::text FROM baileys_sessions WHERE session_id = $1`, [id]);
    expect(row.lease_owner).toBe(b.app.get(BaileysEngine).owner);
    expect(BigInt(row.lease_token)).toBeGreaterThan(BigInt(tokenA));
    // A late write of the old holder is refused by the fence.
    const stale = await a.app.get(BaileysAuthRepository).loadState(id, { owner: ownerA, token: tokenA });
    await expect(stale.saveCreds()).rejects.toBeInstanceOf(LeaseLostError);
  }, 60_000);
});
