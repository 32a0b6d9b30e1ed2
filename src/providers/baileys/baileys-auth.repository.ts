import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import {
  BufferJSON,
  initAuthCreds,
  proto,
  type AuthenticationCreds,
  type AuthenticationState,
  type SignalDataSet,
  type SignalDataTypeMap,
  type SignalKeyStore,
} from '@whiskeysockets/baileys';
import { DataSource, type EntityManager } from 'typeorm';
import { GroupCommitter } from '../../common/group-committer';
import type { Fence } from './baileys-lease.repository';

export type { Fence } from './baileys-lease.repository';

/**
 * A write of a session's auth state was refused because `fence` no longer holds its lease (another process took the
 * session over, the lease was released, or it expired): nothing of that write was stored. End the socket, drop any
 * cache around the key store, and do not retry with the same fence.
 */
export class LeaseLostError extends Error {
  constructor(
    readonly sessionId: string,
    readonly fence: Fence,
  ) {
    super(`Baileys session ${sessionId}: lease lost (owner ${fence.owner}, token ${fence.token}); nothing was written`);
    this.name = 'LeaseLostError';
  }
}

/** What {@link BaileysAuthRepository.loadState} gives a Baileys socket. */
export interface LoadedAuthState {
  /** Pass as `makeWASocket({ auth })` (usually with `keys` wrapped in `makeCacheableSignalKeyStore`). */
  state: AuthenticationState;
  /**
   * Stores the current `state.creds` (call on every `creds.update`, after Baileys applied it). Calls for one session
   * run one after the other; each resolves once its write committed.
   * @throws LeaseLostError when the fence no longer holds the lease (nothing written); the database's error.
   */
  saveCreds: () => Promise<void>;
}

/** `SELECT creds::text` row (jsonb as text: node-postgres would parse it without BufferJSON's reviver). */
interface CredsRow {
  creds: string | null;
}

/** One `keys.set()` call, serialised: per type (sorted), the ids (sorted) to upsert with their values, and to delete. */
interface KeyWrite {
  sessionId: string;
  fence: Fence;
  batches: { type: string; putIds: string[]; putValues: string[]; deleteIds: string[] }[];
}

/** A `keys.set()` call with more keys than this commits in its own transaction (see `set`). */
const KEY_WRITE_GROUP_MAX_ROWS = 64;
/** Most `keys.set()` calls committed together (one transaction). */
const KEY_WRITE_BATCH = 256;
/**
 * Group commits in flight at once (each on its own connection; PGlite's one connection serialises them), so a batch
 * that waits on a takeover's row lock does not hold every other session's writes back.
 */
const KEY_WRITE_FLUSHERS = 2;

/** `SELECT id, value::text` row of baileys_keys. */
interface KeyRow {
  id: string;
  value: string;
}

type KeyType = keyof SignalDataTypeMap;

const serialize = (value: unknown): string => JSON.stringify(value, BufferJSON.replacer);
const deserialize = <T>(text: string): T => JSON.parse(text, BufferJSON.reviver) as T;

/**
 * Baileys (rc14) auth state in PostgreSQL: `baileys_sessions.creds` and `baileys_keys` (see migration
 * 1764374400000-BaileysSessions), the database-backed equivalent of Baileys' `useMultiFileAuthState`. Values are
 * stored in BufferJSON form (Buffers as `{"type":"Buffer","data":"<base64>"}`) and revived on read.
 *
 * Every write of a running session is fenced: it commits only while the {@link Fence} from
 * BaileysLeaseRepository.acquire still holds the lease (owner, token, `lease_until > now()`, checked under a row lock
 * that a takeover must wait for), otherwise it throws {@link LeaseLostError} and writes nothing. Reads are not fenced.
 * Transactions use the DataSource's own query runners (one connection each; PGlite has only one).
 */
@Injectable()
export class BaileysAuthRepository {
  /** Per session: the tail of its saveCreds chain (never rejects). */
  private readonly credsChains = new Map<string, Promise<void>>();

  /**
   * Group commit of `keys.set()` calls across sessions: the calls that arrive while a commit runs are applied
   * together by the next one, in one transaction (see {@link applyKeyWrites}). Each call still resolves only once
   * its writes committed, with `undefined`, or with the error that refused it.
   */
  private readonly keyWrites = new GroupCommitter<KeyWrite, Error | undefined>(
    (jobs) => this.applyKeyWrites(jobs),
    KEY_WRITE_BATCH,
    KEY_WRITE_FLUSHERS,
  );

  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * Loads a session's auth state for a socket that holds `fence`.
   * @returns `state.creds`: the stored creds, revived, or fresh `initAuthCreds()` when none are stored (new or logged
   *   out session; nothing is written until `saveCreds`); `state.keys`: the fenced Signal key store; `saveCreds`.
   * @throws the database's error.
   */
  async loadState(sessionId: string, fence: Fence): Promise<LoadedAuthState> {
    const rows = (await this.db.query(`SELECT creds::text AS creds FROM baileys_sessions WHERE session_id = $1`, [
      sessionId,
    ])) as CredsRow[];
    const text = rows[0]?.creds;
    const creds: AuthenticationCreds = text ? deserialize<AuthenticationCreds>(text) : initAuthCreds();
    const state: AuthenticationState = { creds, keys: this.keyStore(sessionId, fence) };
    const saveCreds = () => this.chainCreds(sessionId, () => this.writeCreds(sessionId, fence, state.creds));
    return { state, saveCreds };
  }

  /**
   * Logout: deletes the session's creds (set to NULL) and all its keys, in one transaction. Not fenced (an operator
   * may wipe a session another process runs; that process's next write then fails on the lease or finds no creds).
   * The `baileys_sessions` row, its lease and `wanted` stay.
   */
  async wipe(sessionId: string): Promise<void> {
    await this.db.transaction(async (m) => {
      await m.query(`DELETE FROM baileys_keys WHERE session_id = $1`, [sessionId]);
      await m.query(`UPDATE baileys_sessions SET creds = NULL, updated_at = now() WHERE session_id = $1`, [sessionId]);
    });
  }

  /** @returns whether creds are stored for the session (it has been linked and not wiped since). */
  async hasCreds(sessionId: string): Promise<boolean> {
    const rows = (await this.db.query(`SELECT creds IS NOT NULL AS has FROM baileys_sessions WHERE session_id = $1`, [sessionId])) as {
      has: boolean;
    }[];
    return rows[0]?.has === true;
  }

  /** The fenced `SignalKeyStore` of one session. */
  private keyStore(sessionId: string, fence: Fence): SignalKeyStore {
    return {
      /** One query for all `ids`; only the ids that exist are in the answer. */
      get: async <T extends KeyType>(type: T, ids: string[]): Promise<{ [id: string]: SignalDataTypeMap[T] }> => {
        const out: { [id: string]: SignalDataTypeMap[T] } = {};
        if (ids.length === 0) return out;
        const rows = (await this.db.query(
          `SELECT id, value::text AS value FROM baileys_keys WHERE session_id = $1 AND type = $2 AND id = ANY($3::text[])`,
          [sessionId, type, ids],
        )) as KeyRow[];
        for (const row of rows) {
          const value = deserialize<unknown>(row.value);
          // Stored as plain JSON; Baileys expects the protobuf class back for app-state sync keys.
          out[row.id] = (
            type === 'app-state-sync-key' ? proto.Message.AppStateSyncKeyData.fromObject(value as Record<string, unknown>) : value
          ) as SignalDataTypeMap[T];
        }
        return out;
      },
      /**
       * Applies every type's puts and deletes (`null`/`undefined` value = delete) in ONE fenced transaction: all of
       * it or nothing. Types and ids are applied in sorted order, so concurrent calls lock rows in the same order.
       */
      set: async (data: SignalDataSet): Promise<void> => {
        // Serialised before the transaction: a value that cannot be serialised writes nothing and holds no connection.
        const batches: { type: string; putIds: string[]; putValues: string[]; deleteIds: string[] }[] = [];
        for (const type of Object.keys(data).sort()) {
          const entries = (data[type as KeyType] ?? {}) as Record<string, unknown>;
          const batch = { type, putIds: [] as string[], putValues: [] as string[], deleteIds: [] as string[] };
          for (const id of Object.keys(entries).sort()) {
            const value = entries[id];
            if (value === null || value === undefined) batch.deleteIds.push(id);
            else {
              batch.putIds.push(id);
              batch.putValues.push(serialize(value));
            }
          }
          if (batch.putIds.length || batch.deleteIds.length) batches.push(batch);
        }
        if (batches.length === 0) return;
        const job: KeyWrite = { sessionId, fence, batches };
        const rows = batches.reduce((n, b) => n + b.putIds.length + b.deleteIds.length, 0);
        // Large writes (a prekey upload: 812 keys at the first login) commit alone, as before: in a group they would
        // hold the other sessions' rows locked (FOR SHARE) for as long as the big insert takes.
        const failure = rows > KEY_WRITE_GROUP_MAX_ROWS ? (await this.applyKeyWrites([job]))[0] : await this.keyWrites.submit(job);
        if (failure) throw failure;
      },
      /** Deletes every key of the session (fenced, one transaction). */
      clear: async (): Promise<void> => {
        await this.db.transaction(async (m) => {
          await this.checkFence(m, sessionId, fence);
          await m.query(`DELETE FROM baileys_keys WHERE session_id = $1`, [sessionId]);
        });
      },
    };
  }

  /**
   * Applies `jobs` (keys.set() calls of any sessions, in arrival order) in ONE transaction: the fence of every job is
   * checked (the session rows locked FOR SHARE, in session order, as {@link checkFence} does for one); the jobs whose
   * fence no longer holds get LeaseLostError and nothing of theirs is written; the others' puts and deletes are
   * folded in job order (a later call's value of the same key wins, as if the calls had run one after another) and
   * written with one upsert and one delete, rows in (session, type, id) order.
   * If the transaction fails (a value PostgreSQL rejects, the database), the jobs are applied again one transaction
   * each, in order, so only the call at fault fails.
   * @returns per job: undefined (committed) or the error that refused it.
   */
  private async applyKeyWrites(jobs: KeyWrite[]): Promise<(Error | undefined)[]> {
    try {
      return await this.db.transaction(async (m) => {
        const fenceKey = (j: KeyWrite) => `${j.sessionId} ${j.fence.owner} ${j.fence.token}`;
        const distinct = [...new Map(jobs.map((j) => [fenceKey(j), j])).values()];
        const held = (await m.query(
          `SELECT s.session_id::text AS session_id, s.lease_owner AS owner, s.lease_token::text AS token
           FROM baileys_sessions s
           JOIN unnest($1::uuid[], $2::text[], $3::bigint[]) AS f(session_id, owner, token)
             ON s.session_id = f.session_id AND s.lease_owner = f.owner AND s.lease_token = f.token
           WHERE s.lease_until > now()
           ORDER BY s.session_id
           FOR SHARE OF s`,
          [distinct.map((j) => j.sessionId), distinct.map((j) => j.fence.owner), distinct.map((j) => j.fence.token)],
        )) as { session_id: string; owner: string; token: string }[];
        const holding = new Set(held.map((r) => `${r.session_id} ${r.owner} ${r.token}`));
        const results = jobs.map((j) => (holding.has(fenceKey(j)) ? undefined : new LeaseLostError(j.sessionId, j.fence)));
        const rows = new Map<string, { sessionId: string; type: string; id: string; value: string | null }>();
        jobs.forEach((j, i) => {
          if (results[i]) return;
          for (const b of j.batches) {
            b.putIds.forEach((id, k) =>
              rows.set(`${j.sessionId}\u0000${b.type}\u0000${id}`, { sessionId: j.sessionId, type: b.type, id, value: b.putValues[k] }),
            );
            for (const id of b.deleteIds)
              rows.set(`${j.sessionId}\u0000${b.type}\u0000${id}`, { sessionId: j.sessionId, type: b.type, id, value: null });
          }
        });
        const sorted = [...rows.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, r]) => r);
        const puts = sorted.filter((r) => r.value !== null);
        const deletes = sorted.filter((r) => r.value === null);
        if (puts.length) {
          await m.query(
            `INSERT INTO baileys_keys (session_id, type, id, value)
             SELECT u.session_id, u.type, u.id, u.value::jsonb
             FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS u(session_id, type, id, value, n)
             ORDER BY u.n
             ON CONFLICT (session_id, type, id) DO UPDATE SET value = EXCLUDED.value`,
            [puts.map((r) => r.sessionId), puts.map((r) => r.type), puts.map((r) => r.id), puts.map((r) => r.value)],
          );
        }
        if (deletes.length) {
          await m.query(
            `DELETE FROM baileys_keys k
             USING unnest($1::uuid[], $2::text[], $3::text[]) AS d(session_id, type, id)
             WHERE k.session_id = d.session_id AND k.type = d.type AND k.id = d.id`,
            [deletes.map((r) => r.sessionId), deletes.map((r) => r.type), deletes.map((r) => r.id)],
          );
        }
        return results;
      });
    } catch (e) {
      if (jobs.length === 1) return [e instanceof Error ? e : new Error(String(e))];
      const results: (Error | undefined)[] = [];
      for (const job of jobs) results.push((await this.applyKeyWrites([job]))[0]);
      return results;
    }
  }

  /**
   * Inside a transaction: locks the session row FOR SHARE if `fence` holds its lease, so a takeover (an UPDATE of
   * that row) waits until this transaction ended; a takeover that committed first makes the row not match.
   * @throws LeaseLostError otherwise (the caller's transaction rolls back).
   */
  private async checkFence(m: EntityManager, sessionId: string, fence: Fence): Promise<void> {
    const rows = (await m.query(
      `SELECT 1 AS ok FROM baileys_sessions
       WHERE session_id = $1 AND lease_owner = $2 AND lease_token = $3::bigint AND lease_until > now()
       FOR SHARE`,
      [sessionId, fence.owner, fence.token],
    )) as { ok: number }[];
    if (rows.length !== 1) throw new LeaseLostError(sessionId, fence);
  }

  /**
   * Writes `creds` (serialised now) if `fence` holds the lease, in one statement: the lease condition is re-checked
   * on the row version it updates, so it cannot be raced by a takeover.
   * @throws LeaseLostError when it does not (nothing written).
   */
  private async writeCreds(sessionId: string, fence: Fence, creds: AuthenticationCreds): Promise<void> {
    const rows = (await this.db.query(
      `WITH w AS (
         UPDATE baileys_sessions SET creds = $4::jsonb, updated_at = now()
         WHERE session_id = $1 AND lease_owner = $2 AND lease_token = $3::bigint AND lease_until > now()
         RETURNING 1)
       SELECT count(*)::int AS n FROM w`,
      [sessionId, fence.owner, fence.token, serialize(creds)],
    )) as { n: number }[];
    if (rows[0]?.n !== 1) throw new LeaseLostError(sessionId, fence);
  }

  /**
   * Runs `write` after every earlier creds write of the session (in this process) settled.
   * @returns `write`'s own outcome (a failed write rejects its caller only; the next one still runs).
   */
  private chainCreds(sessionId: string, write: () => Promise<void>): Promise<void> {
    const previous = this.credsChains.get(sessionId) ?? Promise.resolve();
    const run = previous.then(write);
    const tail = run.catch(() => undefined);
    this.credsChains.set(sessionId, tail);
    void tail.then(() => {
      if (this.credsChains.get(sessionId) === tail) this.credsChains.delete(sessionId);
    });
    return run;
  }
}
