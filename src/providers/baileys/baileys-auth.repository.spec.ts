/**
 * BaileysAuthRepository and BaileysLeaseRepository against a real database: PostgreSQL in the schema
 * `h6_baileys_test` (created and dropped here) when DATABASE_URL is set, an in-memory PGlite otherwise. Covers the
 * BufferJSON round trip of creds and every rc14 key type, atomic and fenced writes, serialised saveCreds, the lease
 * rules, Baileys' own cache/transaction wrappers around the store, and a real Baileys login against the fake
 * WhatsApp server whose creds survive in the database.
 */
import {
  addTransactionCapability,
  BufferJSON,
  Curve,
  DisconnectReason,
  INITIAL_PREKEY_COUNT,
  initAuthCreds,
  makeCacheableSignalKeyStore,
  makeWASocket,
  proto,
  type ConnectionState,
  type SignalDataSet,
  type SignalKeyStore,
  type WASocket,
} from '@whiskeysockets/baileys';
import { randomBytes, randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { BaileysSessions1764374400000 } from '../../../migrations/1764374400000-BaileysSessions';
import { silentLogger, startFakeWhatsApp, waitFor, type FakeWhatsApp } from '../../../test/fakes/whatsapp-web';
import { buildDataSourceOptions } from '../../database/data-source-options';
import { BaileysAuthRepository, LeaseLostError } from './baileys-auth.repository';
import { BaileysLeaseRepository, type Fence } from './baileys-lease.repository';

const DATABASE_URL = process.env.DATABASE_URL;
/** Our own schema on PostgreSQL; nothing else is touched. */
const SCHEMA = 'h6_baileys_test';

let ds: DataSource;
let auth: BaileysAuthRepository;
let leases: BaileysLeaseRepository;

async function adminQuery(sql: string): Promise<void> {
  const client = new Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  if (DATABASE_URL) {
    await adminQuery(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE; CREATE SCHEMA ${SCHEMA}`);
  }
  const options = buildDataSourceOptions({
    DATABASE_URL,
    DATA_DIR: 'memory://',
    DB_SCHEMA: DATABASE_URL ? SCHEMA : 'public',
    DB_POOL_SIZE: 2,
  });
  const listed = (options.migrations ?? []) as unknown[];
  const migrations = listed.includes(BaileysSessions1764374400000) ? listed : [...listed, BaileysSessions1764374400000];
  // logging off: the atomicity test makes PostgreSQL reject a statement on purpose.
  ds = new DataSource({ ...options, migrations, migrationsRun: true, logging: false } as typeof options);
  await ds.initialize();
  auth = new BaileysAuthRepository(ds);
  leases = new BaileysLeaseRepository(ds);
});

afterAll(async () => {
  await ds?.destroy();
  if (DATABASE_URL) await adminQuery(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
});

/** A `sessions` row plus its `baileys_sessions` row. */
async function newSession(): Promise<string> {
  const rows = (await ds.query(`INSERT INTO sessions (provider, external_id, status) VALUES ('baileys', $1, 'unknown') RETURNING id`, [
    `x-${randomUUID()}`,
  ])) as { id: string }[];
  const id = rows[0]!.id;
  await leases.ensure(id);
  return id;
}

/** A new session whose lease `owner` holds. */
async function leasedSession(owner = 'node-a', seconds = 60): Promise<{ sessionId: string; fence: Fence }> {
  const sessionId = await newSession();
  const fence = await leases.acquire(sessionId, owner, seconds);
  if (!fence) throw new Error('acquire failed');
  return { sessionId, fence };
}

/** Moves the lease's expiry into the past (instead of sleeping). */
async function expireLease(sessionId: string): Promise<void> {
  await ds.query(`UPDATE baileys_sessions SET lease_until = now() - interval '1 second' WHERE session_id = $1`, [sessionId]);
}

/** Stored keys of a session: `type/id` → value as jsonb text. */
async function storedKeys(sessionId: string): Promise<Record<string, string>> {
  const rows = (await ds.query(`SELECT type, id, value::text AS value FROM baileys_keys WHERE session_id = $1 ORDER BY type, id`, [
    sessionId,
  ])) as { type: string; id: string; value: string }[];
  return Object.fromEntries(rows.map((r) => [`${r.type}/${r.id}`, r.value]));
}

async function storedCredsText(sessionId: string): Promise<string | null> {
  const rows = (await ds.query(`SELECT creds::text AS creds FROM baileys_sessions WHERE session_id = $1`, [sessionId])) as {
    creds: string | null;
  }[];
  return rows[0]?.creds ?? null;
}

async function leaseRow(sessionId: string): Promise<{ lease_owner: string | null; lease_token: string; live: boolean }> {
  const rows = (await ds.query(
    `SELECT lease_owner, lease_token::text AS lease_token, coalesce(lease_until > now(), false) AS live FROM baileys_sessions WHERE session_id = $1`,
    [sessionId],
  )) as { lease_owner: string | null; lease_token: string; live: boolean }[];
  return rows[0]!;
}

const buf = (n: number) => randomBytes(n);

/** One value of every key type rc14 stores (shapes from Baileys' SignalDataTypeMap). */
function sampleOfEveryType() {
  const pair = Curve.generateKeyPair();
  return {
    'pre-key': { '1': { public: Buffer.from(pair.public), private: Buffer.from(pair.private) } },
    session: { '15550002222.0': buf(120) },
    'sender-key': { '120363000000000001@g.us::15550002222::0': buf(90) },
    'sender-key-memory': { '120363000000000001@g.us': { '15550002222:0@s.whatsapp.net': true, '15550003333:2@s.whatsapp.net': false } },
    'app-state-sync-key': {
      AAAAAEm8: proto.Message.AppStateSyncKeyData.fromObject({
        keyData: buf(32),
        fingerprint: { rawId: 7, currentIndex: 1, deviceIndexes: [0, 1] },
        timestamp: 1_700_000_000_000,
      }),
    },
    'app-state-sync-version': {
      regular_high: { version: 12, hash: buf(128), indexValueMap: { 'aW5kZXg=': { valueMac: buf(32) } } },
    },
    'lid-mapping': { '15550002222': '200000000000002', '200000000000002_reverse': '15550002222' },
    'device-list': { '15550002222': ['0', '7'] },
    tctoken: { '15550002222@s.whatsapp.net': { token: buf(16), timestamp: '1700000000', senderTimestamp: 1_700_000_001 } },
    'identity-key': { '15550002222.0': buf(33) },
  } satisfies SignalDataSet;
}

describe('BaileysAuthRepository', () => {
  it('starts from initAuthCreds for a new session and round-trips creds through BufferJSON', async () => {
    const { sessionId, fence } = await leasedSession();
    expect(await auth.hasCreds(sessionId)).toBe(false);
    const { state, saveCreds } = await auth.loadState(sessionId, fence);
    expect(state.creds.registered).toBe(false);
    expect(state.creds.nextPreKeyId).toBe(1);
    state.creds.me = { id: '15550001111:7@s.whatsapp.net', lid: '200000000000001:7@lid', name: 'Owner' };
    state.creds.routingInfo = buf(12);
    state.creds.processedHistoryMessages = [{ key: { id: 'H1', remoteJid: 'x@s.whatsapp.net' }, messageTimestamp: 5 }];
    await saveCreds();
    expect(await auth.hasCreds(sessionId)).toBe(true);

    const again = await auth.loadState(sessionId, fence);
    expect(again.state.creds).toEqual(state.creds);
    expect(Buffer.isBuffer(again.state.creds.noiseKey.private)).toBe(true);
    expect(Buffer.isBuffer(again.state.creds.signedIdentityKey.public)).toBe(true);
    expect(Buffer.isBuffer(again.state.creds.signedPreKey.signature)).toBe(true);
    expect(Buffer.isBuffer(again.state.creds.routingInfo)).toBe(true);
    expect(Buffer.from(again.state.creds.noiseKey.private).equals(Buffer.from(state.creds.noiseKey.private))).toBe(true);
    // Stored in BufferJSON form, queryable as jsonb.
    expect(JSON.parse((await storedCredsText(sessionId))!).noiseKey.private.type).toBe('Buffer');
  });

  it('round-trips every rc14 key type (Buffers as Buffers, app-state-sync-key as proto) with one query per get', async () => {
    const { sessionId, fence } = await leasedSession();
    const { state } = await auth.loadState(sessionId, fence);
    const data = sampleOfEveryType();
    await state.keys.set(data);

    for (const [type, entries] of Object.entries(data)) {
      const ids = Object.keys(entries);
      const spy = vi.spyOn(ds, 'query');
      const got = await state.keys.get(type as keyof typeof data, [...ids, 'missing-id']);
      expect(spy).toHaveBeenCalledTimes(1);
      spy.mockRestore();
      expect(Object.keys(got).sort()).toEqual([...ids].sort()); // only ids that exist
      for (const id of ids) {
        const expected = (entries as Record<string, unknown>)[id];
        if (type === 'app-state-sync-key') {
          expect(got[id]).toBeInstanceOf(proto.Message.AppStateSyncKeyData);
          const key = got[id] as proto.Message.AppStateSyncKeyData;
          const want = expected as proto.Message.AppStateSyncKeyData;
          expect(Buffer.from(key.keyData!).equals(Buffer.from(want.keyData!))).toBe(true);
          expect(key.fingerprint?.rawId).toBe(7);
          expect(key.fingerprint?.deviceIndexes).toEqual([0, 1]);
          expect(Number(key.timestamp)).toBe(1_700_000_000_000);
        } else {
          expect(got[id]).toEqual(expected);
        }
      }
    }
    const session = await state.keys.get('session', ['15550002222.0']);
    expect(Buffer.isBuffer(session['15550002222.0'])).toBe(true);
    const preKey = (await state.keys.get('pre-key', ['1']))['1']!;
    expect(Buffer.isBuffer(preKey.private)).toBe(true);
    const version = (await state.keys.get('app-state-sync-version', ['regular_high']))['regular_high']!;
    expect(Buffer.isBuffer(version.hash)).toBe(true);
    expect(Buffer.isBuffer(version.indexValueMap['aW5kZXg=']!.valueMac)).toBe(true);
    const token = (await state.keys.get('tctoken', ['15550002222@s.whatsapp.net']))['15550002222@s.whatsapp.net']!;
    expect(Buffer.isBuffer(token.token)).toBe(true);
    expect(await state.keys.get('session', [])).toEqual({});
    expect(Object.keys(await storedKeys(sessionId))).toHaveLength(11);
  });

  it('set() of several types is one transaction: a statement PostgreSQL rejects leaves nothing of the call written', async () => {
    const { sessionId, fence } = await leasedSession();
    const { state } = await auth.loadState(sessionId, fence);
    await state.keys.set({ 'sender-key': { keep: buf(10) }, 'pre-key': { '5': { public: buf(32), private: buf(32) } } });
    const before = await storedKeys(sessionId);

    // Applied in type order: pre-key (upsert, ok), sender-key (delete, ok), session (upsert of a value jsonb rejects:
    // a NUL character) → the whole call rolls back.
    const failing: SignalDataSet = {
      session: { 'a.0': buf(5), 'b.0': { bad: 'nul \u0000 here' } as unknown as Uint8Array },
      'pre-key': { '6': { public: buf(32), private: buf(32) }, '5': null },
      'sender-key': { keep: null },
    };
    const error = await Promise.resolve(state.keys.set(failing)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(LeaseLostError);
    expect(await storedKeys(sessionId)).toEqual(before);

    // The connection went back to the pool in a usable state.
    await state.keys.set({ session: { 'a.0': buf(5) } });
    expect(Object.keys(await storedKeys(sessionId))).toContain('session/a.0');
  });

  it('deletes keys whose value is null (or undefined), with puts in the same call; unknown ids are ignored', async () => {
    const { sessionId, fence } = await leasedSession();
    const { state } = await auth.loadState(sessionId, fence);
    await state.keys.set({ session: { a: buf(4), b: buf(4), c: buf(4) }, 'identity-key': { a: buf(33) } });
    await state.keys.set({
      session: { a: null, b: undefined as unknown as null, nope: null, d: buf(4) },
      'identity-key': { a: null },
    });
    expect(Object.keys(await storedKeys(sessionId))).toEqual(['session/c', 'session/d']);
    expect(Object.keys(await state.keys.get('session', ['a', 'b', 'c', 'd']))).toEqual(['c', 'd']);
    await state.keys.clear!();
    expect(await storedKeys(sessionId)).toEqual({});
  });

  it('a stale fence (another owner took over: token incremented) makes set() and saveCreds() throw LeaseLostError and write nothing', async () => {
    const { sessionId, fence: fenceA } = await leasedSession('node-a', 5);
    const a = await auth.loadState(sessionId, fenceA);
    await a.state.keys.set({ session: { s: buf(8) } });
    await a.saveCreds();
    const keysBefore = await storedKeys(sessionId);
    const credsBefore = await storedCredsText(sessionId);

    await expireLease(sessionId);
    const fenceB = await leases.acquire(sessionId, 'node-b', 5);
    expect(fenceB).not.toBeNull();
    expect(BigInt(fenceB!.token)).toBe(BigInt(fenceA.token) + 1n);

    await expect(
      a.state.keys.set({ session: { s: null, t: buf(8) }, 'pre-key': { '1': { public: buf(32), private: buf(32) } } }),
    ).rejects.toBeInstanceOf(LeaseLostError);
    a.state.creds.registered = true;
    a.state.creds.me = { id: 'stale@s.whatsapp.net' };
    await expect(a.saveCreds()).rejects.toBeInstanceOf(LeaseLostError);
    await expect(a.state.keys.clear!()).rejects.toBeInstanceOf(LeaseLostError);
    expect(await storedKeys(sessionId)).toEqual(keysBefore);
    expect(await storedCredsText(sessionId)).toBe(credsBefore);

    // The new holder writes.
    const b = await auth.loadState(sessionId, fenceB!);
    expect(b.state.creds.me).toBeUndefined();
    await b.state.keys.set({ session: { t: buf(8) } });
    await b.saveCreds();
    expect(Object.keys(await storedKeys(sessionId))).toEqual(['session/s', 'session/t']);
  });

  it('concurrent set() calls of several sessions commit together; a stale fence fails only its own calls; later calls win', async () => {
    const a = await leasedSession('node-a', 5);
    const b = await leasedSession('node-a', 60);
    const c = await leasedSession('node-a', 60);
    const stateA = (await auth.loadState(a.sessionId, a.fence)).state;
    const stateB = (await auth.loadState(b.sessionId, b.fence)).state;
    const stateC = (await auth.loadState(c.sessionId, c.fence)).state;
    await stateA.keys.set({ session: { s: buf(8) } });
    const keysA = await storedKeys(a.sessionId);
    await expireLease(a.sessionId);
    expect(await leases.acquire(a.sessionId, 'node-b', 5)).not.toBeNull();

    const last = buf(8);
    // Issued in one turn of the event loop: one group commit (or two: KEY_WRITE_FLUSHERS), in call order.
    const calls = [
      stateB.keys.set({ session: { x: buf(8), y: buf(8) } }),
      stateA.keys.set({ session: { t: buf(8) } }),
      stateC.keys.set({ 'pre-key': { '1': { public: buf(32), private: buf(32) } } }),
      stateB.keys.set({ session: { x: null, y: last } }),
    ].map((p) =>
      Promise.resolve(p).then(
        () => 'ok',
        (e: unknown) => e,
      ),
    );
    const [b1, a1, c1, b2] = await Promise.all(calls);
    expect([b1, c1, b2]).toEqual(['ok', 'ok', 'ok']);
    expect(a1).toBeInstanceOf(LeaseLostError);
    expect((a1 as LeaseLostError).sessionId).toBe(a.sessionId);
    expect(await storedKeys(a.sessionId)).toEqual(keysA);
    const storedB = await storedKeys(b.sessionId);
    expect(Object.keys(storedB)).toEqual(['session/y']);
    expect(Buffer.from((await stateB.keys.get('session', ['y'])).y).equals(last)).toBe(true);
    expect(Object.keys(await storedKeys(c.sessionId))).toEqual(['pre-key/1']);
  });

  it('a group commit PostgreSQL rejects is applied again one call at a time: only the call at fault fails', async () => {
    const { sessionId, fence } = await leasedSession();
    const other = await leasedSession();
    const { state } = await auth.loadState(sessionId, fence);
    const otherState = (await auth.loadState(other.sessionId, other.fence)).state;
    const [good, bad] = await Promise.all(
      [
        otherState.keys.set({ session: { ok: buf(8) } }),
        state.keys.set({ session: { bad: { nul: 'nul \u0000 here' } as unknown as Uint8Array } }),
      ].map((p) =>
        Promise.resolve(p).then(
          () => 'ok',
          (e: unknown) => e,
        ),
      ),
    );
    expect(good).toBe('ok');
    expect(bad).toBeInstanceOf(Error);
    expect(bad).not.toBeInstanceOf(LeaseLostError);
    expect(Object.keys(await storedKeys(other.sessionId))).toEqual(['session/ok']);
    expect(await storedKeys(sessionId)).toEqual({});
  });

  it.runIf(DATABASE_URL)(
    'a takeover in flight (uncommitted) makes set() and saveCreds() wait, then throw LeaseLostError (PostgreSQL)',
    async () => {
      const { sessionId, fence } = await leasedSession('node-a', 60);
      const { state, saveCreds } = await auth.loadState(sessionId, fence);
      const other = new Client({ connectionString: DATABASE_URL, options: `-c search_path=${SCHEMA},public` });
      await other.connect();
      try {
        await other.query('BEGIN');
        await other.query(
          `UPDATE baileys_sessions SET lease_owner = 'node-b', lease_token = lease_token + 1, lease_until = now() + interval '60 seconds' WHERE session_id = $1`,
          [sessionId],
        );
        let settled = false;
        const set = Promise.resolve(state.keys.set({ session: { s: buf(8) } })).finally(() => (settled = true));
        const save = saveCreds();
        set.catch(() => undefined);
        save.catch(() => undefined);
        await new Promise((r) => setTimeout(r, 200));
        expect(settled).toBe(false); // blocked on the row lock of the takeover
        await other.query('COMMIT');
        await expect(set).rejects.toBeInstanceOf(LeaseLostError);
        await expect(save).rejects.toBeInstanceOf(LeaseLostError);
        expect(await storedKeys(sessionId)).toEqual({});
        expect(await storedCredsText(sessionId)).toBeNull();
      } finally {
        await other.end();
      }
    },
  );

  it('an expired lease nobody took over refuses writes until renewed; wipe() and hasCreds()', async () => {
    const { sessionId, fence } = await leasedSession('node-a', 5);
    const { state, saveCreds } = await auth.loadState(sessionId, fence);
    await saveCreds();
    await expireLease(sessionId);
    await expect(state.keys.set({ session: { s: buf(8) } })).rejects.toBeInstanceOf(LeaseLostError);
    await expect(saveCreds()).rejects.toBeInstanceOf(LeaseLostError);
    expect(await leases.renew({ sessionId, ...fence }, 5)).toBe(true);
    await state.keys.set({ session: { s: buf(8) } });
    await saveCreds();

    expect(await auth.hasCreds(sessionId)).toBe(true);
    await auth.wipe(sessionId);
    expect(await auth.hasCreds(sessionId)).toBe(false);
    expect(await storedKeys(sessionId)).toEqual({});
    expect((await leaseRow(sessionId)).lease_owner).toBe('node-a'); // the lease is not touched
    const fresh = await auth.loadState(sessionId, fence);
    expect(fresh.state.creds.noiseKey.public).not.toEqual(state.creds.noiseKey.public); // new initAuthCreds()
  });

  it('concurrent saveCreds calls are serialised, in call order, and each resolves after its write committed', async () => {
    const { sessionId, fence } = await leasedSession();
    const { state, saveCreds } = await auth.loadState(sessionId, fence);
    const events: string[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    let writes = 0;
    const original = ds.query.bind(ds);
    const spy = vi.spyOn(ds, 'query').mockImplementation(async (sql: string, params?: Parameters<DataSource['query']>[1]) => {
      if (!sql.includes('SET creds')) return original(sql, params);
      const n = writes++;
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      try {
        return await original(sql, params);
      } finally {
        inFlight--;
        events.push(`committed:${n}`);
      }
    });
    try {
      const calls: Promise<void>[] = [];
      for (let i = 1; i <= 8; i++) {
        state.creds.accountSyncCounter = i;
        calls.push(
          saveCreds().then(async () => {
            events.push(`resolved:${i - 1}`);
          }),
        );
        if (i % 3 === 0) await Promise.resolve(); // interleave calls with the chain's progress
      }
      await Promise.all(calls);
    } finally {
      spy.mockRestore();
    }
    expect(maxInFlight).toBe(1);
    expect(writes).toBe(8);
    expect(events).toEqual(Array.from({ length: 8 }, (_, i) => [`committed:${i}`, `resolved:${i}`]).flat());
    expect(JSON.parse((await storedCredsText(sessionId))!).accountSyncCounter).toBe(8);
  });

  it('a failed saveCreds rejects only its own caller; the chain goes on', async () => {
    const { sessionId, fence } = await leasedSession();
    const { state, saveCreds } = await auth.loadState(sessionId, fence);
    const first = saveCreds();
    state.creds.accountSyncCounter = 41;
    const stale = await auth.loadState(sessionId, { owner: fence.owner, token: String(BigInt(fence.token) + 7n) });
    const failing = stale.saveCreds();
    state.creds.accountSyncCounter = 42;
    const last = saveCreds();
    await expect(first).resolves.toBeUndefined();
    await expect(failing).rejects.toBeInstanceOf(LeaseLostError);
    await expect(last).resolves.toBeUndefined();
    expect(JSON.parse((await storedCredsText(sessionId))!).accountSyncCounter).toBe(42);
  });

  it("Baileys' makeCacheableSignalKeyStore and addTransactionCapability around the store: one keys.transaction, one set() commit", async () => {
    const { sessionId, fence } = await leasedSession('node-a', 5);
    const { state } = await auth.loadState(sessionId, fence);
    const commits: SignalDataSet[] = [];
    const store: SignalKeyStore = {
      get: (type, ids) => state.keys.get(type, ids),
      set: async (data) => {
        commits.push(data);
        await state.keys.set(data);
      },
    };
    const keys = addTransactionCapability(makeCacheableSignalKeyStore(store, silentLogger), silentLogger, {
      maxCommitRetries: 1,
      delayBetweenTriesMs: 10,
    });
    const pk = (n: number) => ({ public: Buffer.alloc(32, n), private: Buffer.alloc(32, n + 1) });
    await keys.set({ 'pre-key': { '1': pk(1), '2': pk(2) } }); // outside a transaction: written directly
    expect(Object.keys(await storedKeys(sessionId))).toEqual(['pre-key/1', 'pre-key/2']);
    commits.length = 0;

    const result = await keys.transaction(async () => {
      const got = await keys.get('pre-key', ['1', '2', '3']);
      expect(Object.keys(got).sort()).toEqual(['1', '2']);
      await keys.set({ 'pre-key': { '1': null }, session: { '15550002222.0': buf(40) } });
      expect(Object.keys(await keys.get('session', ['15550002222.0']))).toEqual(['15550002222.0']); // from the tx cache
      expect(await keys.get('pre-key', ['1'])).toEqual({});
      await keys.set({ 'sender-key': { g: buf(20) }, 'lid-mapping': { '15550002222': '200000000000002' } });
      expect(Object.keys(await storedKeys(sessionId))).toEqual(['pre-key/1', 'pre-key/2']); // nothing written yet
      return 'done';
    }, 'test-tx');
    expect(result).toBe('done');
    expect(commits).toHaveLength(1);
    expect(Object.keys(commits[0]!).sort()).toEqual(['lid-mapping', 'pre-key', 'sender-key', 'session']);
    expect(Object.keys(await storedKeys(sessionId))).toEqual([
      'lid-mapping/15550002222',
      'pre-key/2',
      'sender-key/g',
      'session/15550002222.0',
    ]);
    expect(Buffer.isBuffer((await keys.get('session', ['15550002222.0']))['15550002222.0'])).toBe(true);

    // Lease lost: the transaction's single commit fails with LeaseLostError and nothing is written.
    await expireLease(sessionId);
    expect(await leases.acquire(sessionId, 'node-b', 5)).not.toBeNull();
    const before = await storedKeys(sessionId);
    await expect(
      keys.transaction(async () => {
        await keys.set({ session: { '15550002222.0': null, '15550003333.0': buf(40) }, 'sender-key': { g2: buf(20) } });
      }, 'test-tx'),
    ).rejects.toBeInstanceOf(LeaseLostError);
    expect(await storedKeys(sessionId)).toEqual(before);
  });
});

describe('BaileysLeaseRepository', () => {
  it('acquire: takes a free lease (new token), extends its own (same token), refuses a live lease of another owner', async () => {
    const sessionId = await newSession();
    const before = await leaseRow(sessionId);
    expect(before).toEqual({ lease_owner: null, lease_token: '0', live: false });
    const a = await leases.acquire(sessionId, 'node-a', 30);
    expect(a).toEqual({ owner: 'node-a', token: '1' });
    expect(await leases.acquire(sessionId, 'node-a', 30)).toEqual(a);
    expect(await leases.acquire(sessionId, 'node-b', 30)).toBeNull();
    expect(await leaseRow(sessionId)).toEqual({ lease_owner: 'node-a', lease_token: '1', live: true });
    expect(await leases.acquire(randomUUID(), 'node-a', 30)).toBeNull(); // no baileys_sessions row
  });

  it('takeover after expiry increments the token; the old fence can neither renew nor release', async () => {
    const sessionId = await newSession();
    const a = (await leases.acquire(sessionId, 'node-a', 1))!;
    expect(await leases.renew({ sessionId, ...a }, 1)).toBe(true);
    await expireLease(sessionId);
    const b = (await leases.acquire(sessionId, 'node-b', 30))!;
    expect(b.owner).toBe('node-b');
    expect(BigInt(b.token)).toBe(BigInt(a.token) + 1n);
    expect(await leases.renew({ sessionId, ...a }, 30)).toBe(false);
    expect(await leases.release(sessionId, a)).toBe(false);
    expect(await leaseRow(sessionId)).toMatchObject({ lease_owner: 'node-b', live: true });
    // A's own re-acquire now fails (B is live) and B's renew works.
    expect(await leases.acquire(sessionId, 'node-a', 30)).toBeNull();
    expect(await leases.renew({ sessionId, ...b }, 30)).toBe(true);
  });

  it('renew extends the lease by the database clock', async () => {
    const sessionId = await newSession();
    const a = (await leases.acquire(sessionId, 'node-a', 1))!;
    expect(await leases.renew({ sessionId, ...a }, 3600)).toBe(true);
    const rows = (await ds.query(
      `SELECT extract(epoch FROM lease_until - now())::float8 AS left FROM baileys_sessions WHERE session_id = $1`,
      [sessionId],
    )) as { left: number }[];
    expect(rows[0]!.left).toBeGreaterThan(3500);
    expect(rows[0]!.left).toBeLessThanOrEqual(3600);
  });

  it('release frees the lease; the next acquire, even by the same owner, gets a new token', async () => {
    const sessionId = await newSession();
    const a = (await leases.acquire(sessionId, 'node-a', 30))!;
    expect(await leases.release(sessionId, a)).toBe(true);
    expect(await leaseRow(sessionId)).toEqual({ lease_owner: null, lease_token: a.token, live: false });
    expect(await leases.renew({ sessionId, ...a }, 30)).toBe(false);
    const again = (await leases.acquire(sessionId, 'node-a', 30))!;
    expect(BigInt(again.token)).toBe(BigInt(a.token) + 1n);
    const b = (await leases.acquire(sessionId, 'node-b', 30)) ?? null;
    expect(b).toBeNull();
  });

  it('two owners racing for a free lease: exactly one wins', async () => {
    for (let round = 0; round < 5; round++) {
      const sessionId = await newSession();
      const results = await Promise.all([leases.acquire(sessionId, 'node-x', 30), leases.acquire(sessionId, 'node-y', 30)]);
      expect(results.filter((r) => r !== null)).toHaveLength(1);
      expect((await leaseRow(sessionId)).lease_token).toBe('1');
    }
  });

  it('wanted: stop → acquire refuses and claimable skips; start again → claimable; ensure keeps an existing row', async () => {
    const sessionId = await newSession();
    await leases.setWanted(sessionId, false);
    await leases.ensure(sessionId); // does not reset wanted
    expect(await leases.acquire(sessionId, 'node-a', 30)).toBeNull();
    expect(await leases.claimable('node-a', 10_000)).not.toContain(sessionId);
    await leases.setWanted(sessionId, true);
    expect(await leases.claimable('node-a', 10_000)).toContain(sessionId);
    const a = (await leases.acquire(sessionId, 'node-a', 30))!;
    expect(await leases.wantedAndOwnedBy('node-a')).toContain(sessionId);
    await leases.setWanted(sessionId, false);
    expect(await leases.wantedAndOwnedBy('node-a')).not.toContain(sessionId);
    expect(await leases.renew({ sessionId, ...a }, 30)).toBe(true); // renew is about the lease only
    expect(await leases.release(sessionId, a)).toBe(true);
  });

  it('claimable: free, expired and own leases of wanted sessions, not live leases of others; at most limit', async () => {
    const free = await newSession();
    const expired = await newSession();
    const mine = await newSession();
    const theirs = await newSession();
    await leases.acquire(expired, 'node-b', 30);
    await expireLease(expired);
    await leases.acquire(mine, 'node-c', 30);
    await leases.acquire(theirs, 'node-b', 30);

    const all = await leases.claimable('node-c', 10_000);
    expect(all).toEqual(expect.arrayContaining([free, expired, mine]));
    expect(all).not.toContain(theirs);
    expect(await leases.claimable('node-c', 2)).toHaveLength(2);
    expect(await leases.wantedAndOwnedBy('node-c')).toEqual([mine]);
    // Every listed session can really be acquired by the claimer.
    expect(await leases.acquire(expired, 'node-c', 30)).not.toBeNull();
    expect(await leases.acquire(free, 'node-c', 30)).not.toBeNull();
  });
});

describe('real Baileys client against the fake WhatsApp server, auth state in the database', () => {
  const T = 15_000;
  let wa: FakeWhatsApp;
  const sockets: WASocket[] = [];

  beforeAll(async () => {
    wa = await startFakeWhatsApp();
  });
  afterAll(async () => {
    for (const sock of sockets) await sock.end(undefined);
    await wa?.close();
  });

  /** A socket with a freshly loaded auth state; every creds.update is saved (Baileys applied it to state.creds). */
  async function connect(sessionId: string, fence: Fence) {
    const { state, saveCreds } = await auth.loadState(sessionId, fence);
    const sock = makeWASocket({
      waWebSocketUrl: wa.url,
      auth: { creds: state.creds, keys: makeCacheableSignalKeyStore(state.keys, silentLogger) },
      logger: silentLogger,
      shouldSyncHistoryMessage: () => false,
      markOnlineOnConnect: false,
      transactionOpts: { maxCommitRetries: 2, delayBetweenTriesMs: 100 },
    });
    sockets.push(sock);
    const saves: Promise<void>[] = [];
    sock.ev.on('creds.update', () => {
      saves.push(saveCreds());
    });
    const qrs: string[] = [];
    sock.ev.on('connection.update', (u) => {
      if (u.qr) qrs.push(u.qr);
    });
    const closed = waitFor(sock.ev, 'connection.update', (u) => u.connection === 'close', 60_000);
    closed.catch(() => undefined);
    return { sock, state, qrs, closed, saved: () => Promise.all(saves) };
  }

  async function opened(sock: WASocket): Promise<void> {
    const open = waitFor(sock.ev, 'connection.update', (u) => u.connection === 'open' || u.connection === 'close', T);
    const flushed = waitFor(sock.ev, 'connection.update', (u) => u.receivedPendingNotifications === true, T);
    const update = await open;
    if (update.connection !== 'open') throw new Error(`login failed: ${JSON.stringify(update.lastDisconnect?.error?.message)}`);
    await flushed;
  }

  const statusOf = (u: Partial<ConnectionState>) =>
    (u.lastDisconnect?.error as { output?: { statusCode?: number } } | undefined)?.output?.statusCode;

  async function preKeyCount(sessionId: string): Promise<number> {
    const rows = (await ds.query(`SELECT count(*)::int AS n FROM baileys_keys WHERE session_id = $1 AND type = 'pre-key'`, [
      sessionId,
    ])) as {
      n: number;
    }[];
    return rows[0]!.n;
  }

  it(
    'links by QR (515 restart from the database), then a new socket from a fresh loadState logs in without a QR',
    { timeout: 90_000 },
    async () => {
      const { sessionId, fence } = await leasedSession('node-e2e', 300);

      // 1. QR → the fake phone scans it → creds.update (me, account, ...) → 515.
      const first = await connect(sessionId, fence);
      const qr = await waitFor(first.sock.ev, 'connection.update', (u) => !!u.qr || u.connection === 'close', T);
      expect(qr.qr).toBeTruthy();
      const pair = await wa.phone.scanQr(qr.qr!);
      expect(pair.deviceSignatureValid).toBe(true);
      const restart = await first.closed;
      expect(statusOf(restart)).toBe(DisconnectReason.restartRequired);
      await first.saved(); // reconnect only once the paired creds are committed
      expect(await auth.hasCreds(sessionId)).toBe(true);

      // 2. Reconnect at once, with the creds as stored.
      const second = await connect(sessionId, fence);
      expect(second.state.creds.me?.id).toBe(wa.clientJid);
      await opened(second.sock);
      expect(second.qrs).toEqual([]);
      await vi.waitFor(async () => expect(await preKeyCount(sessionId)).toBe(INITIAL_PREKEY_COUNT), { timeout: T, interval: 50 });
      expect(wa.clientBundle().preKeys).toHaveLength(INITIAL_PREKEY_COUNT);
      await second.sock.end(undefined);
      await second.closed;
      await second.saved();

      // 3. A new socket (as after a process restart) from a fresh loadState: no QR, same identity, open.
      const stored = JSON.parse((await storedCredsText(sessionId))!, BufferJSON.reviver) as ReturnType<typeof initAuthCreds>;
      expect(stored.me?.id).toBe(wa.clientJid);
      expect(stored.me?.lid).toBe(wa.clientLid);
      const third = await connect(sessionId, fence);
      expect(Buffer.from(third.state.creds.noiseKey.public).equals(Buffer.from(first.state.creds.noiseKey.public))).toBe(true);
      expect(Buffer.isBuffer(third.state.creds.signedIdentityKey.private)).toBe(true);
      await opened(third.sock);
      expect(third.qrs).toEqual([]);
      expect(third.sock.user?.id).toBe(wa.clientJid);
      expect(wa.linked).toBe(true);
      await third.sock.end(undefined);
      await third.closed;
      await third.saved();
    },
  );
});
