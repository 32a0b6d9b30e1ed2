/**
 * Client-side helpers for tests that run the real Baileys socket against the fake: an in-memory auth state with
 * the same semantics a database-backed one must have, a quiet logger, and an event waiter.
 */
import {
  BufferJSON,
  initAuthCreds,
  proto,
  type AuthenticationCreds,
  type AuthenticationState,
  type BaileysEventEmitter,
  type BaileysEventMap,
  type SignalDataSet,
  type SignalDataTypeMap,
  type SignalKeyStore,
} from '@whiskeysockets/baileys';
import pino from 'pino';
import { withTimeout } from './waiting';

/** Baileys' logger, silenced (set `BAILEYS_LOG=debug` to see it). */
export const silentLogger = pino({ level: process.env.BAILEYS_LOG ?? 'silent' });

const serialize = (value: unknown): string => JSON.stringify(value, BufferJSON.replacer);
const deserialize = <T>(text: string): T => JSON.parse(text, BufferJSON.reviver) as T;

export interface MemoryAuthState {
  /**
   * The state a (re)started process would load: creds revived from the last save, the shared key store. Pass it to
   * `makeWASocket({ auth })` and save on every `creds.update` with {@link saveCreds}.
   */
  load(): AuthenticationState;
  /** Persists the creds (BufferJSON, as a JSON column would hold them). */
  saveCreds(creds: AuthenticationCreds): void;
  /** The Signal key store: a Map of `type/id` → BufferJSON text. */
  keys: SignalKeyStore;
  /** Stored key rows per type (`{ 'pre-key': 811, session: 2, … }`). */
  keyCounts(): Record<string, number>;
  /** The last saved creds, revived. */
  savedCreds(): AuthenticationCreds;
  /** Number of `keys.set()` calls so far. */
  readonly setCalls: number;
}

/**
 * Creds from `initAuthCreds()` plus a Map-backed `SignalKeyStore`. Values round-trip through `BufferJSON` text, so
 * serialisation bugs show up here as they would with a JSON/jsonb column.
 *
 * Semantics a real store must keep (Baileys rc14): `set(data)` applies every type's puts and deletes (`null` =
 * delete) as one unit (Baileys' `addTransactionCapability` commits a whole transaction through a single `set()`);
 * `get()` returns only the ids it has; `app-state-sync-key` values are rebuilt as `proto` objects.
 */
export function makeMemoryAuthState(): MemoryAuthState {
  let credsText = serialize(initAuthCreds());
  const rows = new Map<string, string>();
  let setCalls = 0;

  const keys: SignalKeyStore = {
    get<T extends keyof SignalDataTypeMap>(type: T, ids: string[]) {
      const out: { [id: string]: SignalDataTypeMap[T] } = {};
      for (const id of ids) {
        const text = rows.get(`${type}/${id}`);
        if (text === undefined) continue;
        const value = deserialize<unknown>(text);
        // Stored as plain JSON; Baileys expects the protobuf class back for app-state keys.
        out[id] = (
          type === 'app-state-sync-key' ? proto.Message.AppStateSyncKeyData.fromObject(value as Record<string, unknown>) : value
        ) as SignalDataTypeMap[T];
      }
      return out;
    },
    set(data: SignalDataSet) {
      setCalls++;
      // Build the whole batch first, then apply it: nothing half-written if serialisation throws.
      const puts: [string, string][] = [];
      const deletes: string[] = [];
      for (const [type, entries] of Object.entries(data)) {
        for (const [id, value] of Object.entries(entries ?? {})) {
          if (value === null || value === undefined) deletes.push(`${type}/${id}`);
          else puts.push([`${type}/${id}`, serialize(value)]);
        }
      }
      for (const [key, text] of puts) rows.set(key, text);
      for (const key of deletes) rows.delete(key);
    },
  };

  return {
    load: () => ({ creds: deserialize<AuthenticationCreds>(credsText), keys }),
    saveCreds: (creds) => {
      credsText = serialize(creds);
    },
    keys,
    keyCounts: () => {
      const counts: Record<string, number> = {};
      for (const key of rows.keys()) {
        const type = key.slice(0, key.indexOf('/'));
        counts[type] = (counts[type] ?? 0) + 1;
      }
      return counts;
    },
    savedCreds: () => deserialize<AuthenticationCreds>(credsText),
    get setCalls() {
      return setCalls;
    },
  };
}

/**
 * Resolves with the first `event` payload emitted *after this call* for which `predicate` holds; rejects after
 * `timeoutMs` with the event name and how many payloads were seen. Register it before the action that causes the
 * event.
 *
 *   const open = waitFor(sock.ev, 'connection.update', (u) => u.connection === 'open', 5_000);
 */
export function waitFor<E extends keyof BaileysEventMap>(
  emitter: BaileysEventEmitter,
  event: E,
  predicate: (payload: BaileysEventMap[E]) => boolean = () => true,
  timeoutMs = 10_000,
): Promise<BaileysEventMap[E]> {
  let seen = 0;
  let listener: ((payload: BaileysEventMap[E]) => void) | undefined;
  const promise = new Promise<BaileysEventMap[E]>((resolve) => {
    listener = (payload) => {
      seen++;
      if (predicate(payload)) resolve(payload);
    };
    emitter.on(event, listener);
  });
  return withTimeout(promise, timeoutMs, `Baileys event '${event}' matching the predicate`)
    .catch((err: unknown) => {
      throw new Error(`${err instanceof Error ? err.message : String(err)} (${seen} '${event}' events seen)`);
    })
    .finally(() => {
      if (listener) emitter.off(event, listener);
    });
}
