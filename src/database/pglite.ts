import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as pg from 'pg';

/**
 * The embedded default database: PostgreSQL compiled to WASM (PGlite), in-process, behind a real `pg.Pool`
 * of size 1 through PGlite's own node-postgres adapter (see ../shared/STACK.md, pitfall 4). For `npm start` and
 * tests on a machine without a server, never for production.
 */
export interface EmbeddedDriver {
  /** A stand-in for the `pg` module whose `Pool` talks to PGlite; pass it as TypeORM's `driver` option. */
  driver: typeof pg;
}

/** Raised when another live process holds the data directory. */
export class DataDirLockedError extends Error {}

/** Locks this process holds, by socket path: a second app in the same process on the same directory takes over. */
const heldByUs = new Map<string, Server>();

/** Where the lock socket of `dataDir` lives: in it, or (paths over the 107-byte socket limit) in the temp directory. */
function lockSocketPath(dataDir: string): string {
  const inDir = join(resolve(dataDir), 'wa-hub.lock.sock');
  if (Buffer.byteLength(inDir) < 100) return inDir;
  return join(tmpdir(), `wa-hub-${createHash('sha256').update(resolve(dataDir)).digest('hex').slice(0, 16)}.sock`);
}

/**
 * Takes an exclusive lock on `dataDir` (PGlite does not lock it, and two processes on one directory lose writes):
 * a Unix socket the holder listens on. The kernel closes it when the holder dies in any way (kill -9, crash, a
 * zombie has no descriptors left), so a socket nobody answers on is stale and taken over at once; a PID file could
 * not tell a dead holder from a reused PID.
 * @returns a function that releases the lock.
 * @throws DataDirLockedError when a live process holds it.
 */
export async function lockDataDir(dataDir: string): Promise<() => void> {
  mkdirSync(dataDir, { recursive: true });
  rmSync(join(dataDir, 'wa-hub.lock'), { force: true }); // the PID file of earlier versions
  const path = lockSocketPath(dataDir);
  const ours = heldByUs.get(path);
  if (ours) await new Promise((r) => ours.close(r));
  for (let attempt = 0; attempt < 3; attempt++) {
    const server = createServer((socket) => socket.end(`${process.pid}\n`));
    const failed = await new Promise<NodeJS.ErrnoException | null>((done) => {
      server.once('error', (e) => done(e));
      server.listen(path, () => done(null));
    });
    if (!failed) {
      // Kept referenced until PGlite answers (its WASM start-up holds no handle of its own: an unreferenced lock
      // would let the process exit mid-boot); then unreferenced, so the lock never keeps a process alive.
      heldByUs.set(path, server);
      return Object.assign(
        () => {
          if (heldByUs.get(path) === server) heldByUs.delete(path);
          server.close();
        },
        { server },
      );
    }
    if (failed.code !== 'EADDRINUSE') throw failed;
    const holder = await new Promise<string | null>((done) => {
      const probe = connect(path);
      let answer = '';
      probe.on('data', (d: Buffer) => (answer += d.toString()));
      probe.on('end', () => done(answer.trim() || '?'));
      probe.on('error', () => done(null)); // ECONNREFUSED: nobody listens, the holder is gone
    });
    if (holder !== null) {
      throw new DataDirLockedError(
        `The embedded database in ${resolve(dataDir)} is in use by process ${holder}. Stop it, or set DATA_DIR or DATABASE_URL.`,
      );
    }
    rmSync(path, { force: true }); // stale
  }
  throw new DataDirLockedError(`Could not lock ${resolve(dataDir)}`);
}

/**
 * Builds a `pg`-compatible driver backed by one PGlite instance at `dataDir` (`memory://` for in-memory).
 * The pool's `end()` also closes PGlite, otherwise the WASM instance keeps the process alive.
 */
export function createEmbeddedDriver(dataDir: string): EmbeddedDriver {
  // Loaded lazily: PGlite is only needed when DATABASE_URL is unset.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { PGlite } = require('@electric-sql/pglite') as typeof import('@electric-sql/pglite');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { createPgConfig } = require('@electric-sql/pglite/node-postgres') as typeof import('@electric-sql/pglite/node-postgres');
  const inMemory = dataDir.startsWith('memory://');
  // Taken before the first connection is handed out; a held directory fails that connection (and the boot).
  const locked: Promise<() => void> = inMemory ? Promise.resolve(() => undefined) : lockDataDir(dataDir);
  locked.catch(() => undefined); // reported by connect()
  const unrefLock = () =>
    void locked.then(
      (release) => (release as { server?: Server }).server?.unref(),
      () => undefined,
    );
  if (!inMemory && !existsSync(dataDir)) mkdirSync(dataDir, { recursive: true });
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { pg_trgm } = require('@electric-sql/pglite/contrib/pg_trgm') as typeof import('@electric-sql/pglite/contrib/pg_trgm');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { unaccent } = require('@electric-sql/pglite/contrib/unaccent') as typeof import('@electric-sql/pglite/contrib/unaccent');
  const pglite = new PGlite(inMemory ? dataDir : resolve(dataDir, 'pgdata'), { extensions: { pg_trgm, unaccent } });
  const pgliteConfig = createPgConfig(pglite);

  class EmbeddedPool extends pg.Pool {
    constructor(options: pg.PoolConfig) {
      super({ ...options, ...pgliteConfig, max: 1 } as pg.PoolConfig);
    }

    override connect(): Promise<pg.PoolClient>;
    override connect(
      callback: (err: Error | undefined, client: pg.PoolClient | undefined, done: (release?: unknown) => void) => void,
    ): void;
    override connect(
      callback?: (err: Error | undefined, client: pg.PoolClient | undefined, done: (release?: unknown) => void) => void,
    ): Promise<pg.PoolClient> | void {
      if (!callback) return locked.then(() => super.connect()).finally(unrefLock);
      locked.then(
        () =>
          super.connect((err, client, done) => {
            unrefLock();
            callback(err, client, done);
          }),
        (e: Error) => callback(e, undefined, () => undefined),
      );
    }

    override end(): Promise<void>;
    override end(callback: () => void): void;
    override end(callback?: () => void): Promise<void> | void {
      const done = super.end().then(async () => {
        await pglite.close();
        (await locked.catch(() => () => undefined))();
      });
      if (callback) {
        void done.then(callback);
        return;
      }
      return done;
    }
  }

  return { driver: { ...pg, Pool: EmbeddedPool } as unknown as typeof pg };
}
