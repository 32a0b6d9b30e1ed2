import { ChildProcess, fork } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BaileysAuthRepository, LeaseLostError } from '../src/providers/baileys/baileys-auth.repository';
import { startFakeWhatsApp, type FakeWhatsApp } from './fakes/whatsapp-web';
import { sharedWaHubBuild } from './helpers/build';
import { createTestApp, TEST_ENV, type TestApp } from './helpers/test-app';
import { until } from './helpers/until';
import { freePort } from './helpers/child-process';

/**
 * Two real wa-hub processes on one PostgreSQL, the one holding a linked Baileys session killed with SIGKILL
 * (nothing released, no shutdown hook): the other takes the lease once it expires (`BAILEYS_LEASE_SECONDS`),
 * logs in from the stored creds without a QR and receives the session's messages; the dead holder's fencing
 * token no longer writes. Only WhatsApp is faked (test/fakes/whatsapp-web). PostgreSQL only: the embedded
 * PGlite database belongs to one process.
 */
describe.skipIf(!process.env.DATABASE_URL)('Baileys lease takeover after kill -9 (e2e, two processes)', () => {
  let wa: FakeWhatsApp;
  let t: TestApp;
  let main: string;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    main = await sharedWaHubBuild();
    wa = await startFakeWhatsApp();
    // The in-process app applies the migrations and resets the schema; it runs no Baileys sessions itself.
    t = await createTestApp({ BAILEYS_WORKER: 'false' });
    await t.reset();
  }, 180_000);
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await t?.close();
    await wa?.close();
  });

  /** Forks a compiled wa-hub on the test's schema; resolves with its base URL once /health answers. */
  const start = async (): Promise<{ child: ChildProcess; url: string }> => {
    const port = await freePort();
    const env = {
      ...process.env,
      PORT: String(port),
      LOG_LEVEL: 'error',
      DB_SCHEMA: process.env.DB_SCHEMA!,
      BAILEYS_WA_WS_URL: wa.url,
      BAILEYS_LEASE_SECONDS: '3',
      BAILEYS_WORKER: 'true',
    };
    const child = fork(main, [], { env, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    children.push(child);
    const url = `http://127.0.0.1:${port}`;
    const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`wa-hub exited with ${code}`))));
    exited.catch(() => undefined);
    await Promise.race([
      until('the child answers /health', async () => ((await fetch(`${url}/health`).catch(() => null))?.ok ? true : undefined), 60_000),
      exited,
    ]);
    return { child, url };
  };
  const api = async (url: string, path: string, init: RequestInit = {}) => {
    const res = await fetch(`${url}${path}`, {
      ...init,
      headers: { 'content-type': 'application/json', 'x-api-key': TEST_ENV.ADMIN_API_KEY, ...init.headers },
    });
    return (await res.json()) as any;
  };
  const lease = async (id: string) =>
    (await t.db.query(`SELECT lease_owner, lease_token::text AS token FROM baileys_sessions WHERE session_id = $1`, [id]))[0] as {
      lease_owner: string | null;
      token: string;
    };

  it('the survivor takes the session within the lease time, logs in without a QR; the killed holder is fenced off', async () => {
    const a = await start();
    const created = await api(a.url, '/v1/sessions', { method: 'POST', body: JSON.stringify({ provider: 'baileys', name: 'kill9' }) });
    const id = created.id as string;
    const qr = await until('a QR from process A', async () => (await api(a.url, `/v1/sessions/${id}`)).qr ?? undefined);
    await wa.phone.scanQr(qr);
    await until('connected on A', async () => ((await api(a.url, `/v1/sessions/${id}`)).status === 'connected' ? true : undefined));
    const held = await lease(id);
    expect(held.lease_owner).toBeTruthy();

    const b = await start();
    // B is up while A holds a live lease: A keeps the session.
    expect((await lease(id)).lease_owner).toBe(held.lease_owner);

    const reconnected = wa.nextReady(30_000);
    const killed = new Promise((r) => a.child.once('exit', r));
    a.child.kill('SIGKILL');
    await killed;
    await reconnected; // B logged in with the stored creds: no new QR was scanned
    const taken = await until('B holds the lease', async () => {
      const l = await lease(id);
      return l.lease_owner && l.lease_owner !== held.lease_owner ? l : undefined;
    });
    expect(BigInt(taken.token)).toBeGreaterThan(BigInt(held.token));
    await until('connected on B', async () => ((await api(b.url, `/v1/sessions/${id}`)).status === 'connected' ? true : undefined));
    expect((await api(b.url, `/v1/sessions/${id}`)).qr ?? null).toBeNull();

    // B receives the session's messages.
    const bob = wa.addPeer({ pn: '16505553333', lid: '200000000000003', name: 'Bob' });
    await bob.sendText('after the takeover', { id: 'TAKEOVER-1' });
    const row = await until('the message stored by B', async () => {
      const rows = await t.db.query(`SELECT text FROM messages WHERE external_id = 'TAKEOVER-1'`);
      return rows[0];
    });
    expect(row.text).toBe('after the takeover');

    // A late write under the dead holder's fence is refused.
    const stale = await t.app.get(BaileysAuthRepository).loadState(id, { owner: held.lease_owner!, token: held.token });
    await expect(stale.saveCreds()).rejects.toBeInstanceOf(LeaseLostError);
  }, 120_000);
});
