import { AsyncLocalStorage } from 'node:async_hooks';
import { addTransactionCapability, type SignalKeyStore } from '@whiskeysockets/baileys';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../test/fakes/whatsapp-web';
import { makeWithScopedStorage, ScopedStorage } from './baileys-async-context';

const tick = () => new Promise((r) => setImmediate(r));

describe('makeWithScopedStorage (Baileys per-socket AsyncLocalStorage)', () => {
  it("captures the storage Baileys' addTransactionCapability constructs, and restores AsyncLocalStorage", () => {
    const store: SignalKeyStore = { get: async () => ({}), set: async () => undefined };
    const { result, storages } = makeWithScopedStorage(() =>
      addTransactionCapability(store, silentLogger, { maxCommitRetries: 1, delayBetweenTriesMs: 1 }),
    );
    expect(typeof result.transaction).toBe('function');
    expect(storages).toHaveLength(1);
    expect(storages[0]).toBeInstanceOf(ScopedStorage);
    expect(new AsyncLocalStorage()).not.toBeInstanceOf(ScopedStorage);
  });

  it('a transaction sees its context in everything it awaits; the storage is disabled once no run is in flight', async () => {
    const seen: unknown[] = [];
    const { result: keys, storages } = makeWithScopedStorage(() =>
      addTransactionCapability(
        {
          get: async () => ({}),
          set: async (data) => {
            seen.push(data);
          },
        },
        silentLogger,
        { maxCommitRetries: 1, delayBetweenTriesMs: 1 },
      ),
    );
    const storage = storages[0]!;
    const inside: boolean[] = [];
    const a = keys.transaction(async () => {
      await tick();
      inside.push(keys.isInTransaction());
      await keys.set({ session: { a: Buffer.from('a') } });
      await tick();
      inside.push(keys.isInTransaction());
    }, 'a');
    const b = keys.transaction(async () => {
      await tick();
      await tick();
      inside.push(keys.isInTransaction());
      await keys.set({ session: { b: Buffer.from('b') } });
    }, 'b');
    expect(keys.isInTransaction()).toBe(false);
    await Promise.all([a, b]);
    expect(inside).toEqual([true, true, true]);
    expect(seen).toHaveLength(2); // one commit per transaction, nothing written directly
    expect((storage as unknown as { enabled: boolean }).enabled).toBe(false);
    expect(keys.isInTransaction()).toBe(false);

    storage.end();
    await keys.transaction(async () => {
      await keys.set({ session: { c: Buffer.from('c') } }); // ended: no context, written directly
    }, 'c');
    expect((storage as unknown as { enabled: boolean }).enabled).toBe(false);
    expect(seen).toHaveLength(3);
  });
});
