import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AdvisoryLocks } from '../src/database/advisory-locks';
import { MEDIA_RETENTION_LOCK } from '../src/media/media.worker';
import { postMeta } from './helpers/http';
import { until } from './helpers/until';
import { createMediaAppWithGraph, FakeGraph, jpeg, type MediaTestApp, metaMedia, settled } from './media-kit';

/**
 * Media retention runs under its advisory lock like the other housekeeping: while another connection (another
 * process) holds it, this process skips the pass and expires nothing; once released, the next pass does.
 * PostgreSQL only: on the embedded database there is one process and no lock.
 */
describe.skipIf(!process.env.DATABASE_URL)('media retention under the advisory lock (e2e)', () => {
  let t: MediaTestApp;
  let graph: FakeGraph;
  let other: Client;

  beforeAll(async () => {
    ({ t, graph } = await createMediaAppWithGraph({
      MEDIA_ALLOW_HTTP: 'true',
      MEDIA_ALLOW_PRIVATE: 'true',
      MEDIA_RETENTION_DAYS: '30',
    }));
    await t.reset();
    other = new Client({ connectionString: process.env.DATABASE_URL });
    await other.connect();
  });
  afterAll(async () => {
    await other?.end();
    await t?.close();
    await graph?.stop();
  });

  it('skips while another holder has the lock, expires once it is released', async () => {
    graph.files.set('m-lock', { bytes: jpeg(1000), mime: 'image/jpeg' });
    const { body, wamid } = metaMedia('image', 'm-lock', 'lock');
    expect((await postMeta(t.app, body)).status).toBe(200);
    await settled(t.db, wamid);

    const locks = t.app.get(AdvisoryLocks);
    const outcomes: boolean[] = [];
    const real = locks.runExclusive.bind(locks);
    const spy = vi.spyOn(locks, 'runExclusive').mockImplementation(async (name, fn) => {
      const ran = await real(name, fn);
      if (name === MEDIA_RETENTION_LOCK) outcomes.push(ran);
      return ran;
    });
    await other.query(`SELECT pg_advisory_lock(hashtext($1))`, [MEDIA_RETENTION_LOCK]);
    t.clock.offset = 31 * 86_400_000;
    await until('a retention pass that found the lock held', async () => (outcomes.includes(false) ? true : undefined));
    expect(outcomes).not.toContain(true);
    expect((await t.db.query(`SELECT state FROM media`))[0].state).toBe('stored');

    await other.query(`SELECT pg_advisory_unlock(hashtext($1))`, [MEDIA_RETENTION_LOCK]);
    t.clock.offset = 31 * 86_400_000 + 120_000; // the next once-a-minute pass
    await settled(t.db, wamid, 'deleted');
    expect(outcomes).toContain(true);
    spy.mockRestore();
  });
});
