import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
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

/**
 * Takes an exclusive lock file in `dataDir` (PGlite does not lock it, and two processes on one directory lose
 * writes). A lock left by a dead process is taken over.
 * @returns a function that releases the lock.
 * @throws DataDirLockedError when a live process holds it.
 */
export function lockDataDir(dataDir: string): () => void {
  mkdirSync(dataDir, { recursive: true });
  const lockPath = join(dataDir, 'wa-hub.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockPath, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(lockPath, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number(readFileSync(lockPath, 'utf8').trim());
      if (pid && pid !== process.pid && isAlive(pid)) {
        throw new DataDirLockedError(
          `The embedded database in ${resolve(dataDir)} is in use by process ${pid}. Stop it, or set DATA_DIR or DATABASE_URL.`,
        );
      }
      rmSync(lockPath, { force: true }); // stale lock: its process is gone
    }
  }
  throw new DataDirLockedError(`Could not lock ${lockPath}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
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
  const release = inMemory ? () => undefined : lockDataDir(dataDir);
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

    override end(): Promise<void>;
    override end(callback: () => void): void;
    override end(callback?: () => void): Promise<void> | void {
      const done = super.end().then(async () => {
        await pglite.close();
        release();
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
