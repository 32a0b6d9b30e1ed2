import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export const ROOT = resolve(__dirname, '../..');
/** Where tests that run wa-hub as a separate process find it compiled (inside the repo, so node_modules resolve). */
export const TEST_BUILD = join(ROOT, 'node_modules', '.cache', 'wa-hub-test-build');

/**
 * Compiles wa-hub with tsc into `outDir` (as `nest build` does, with the assets nest-cli.json copies: the
 * PL/pgSQL sources) for tests that run it as a separate process.
 * @returns the path of the compiled entry point (`<outDir>/src/main.js`).
 */
export function compileWaHub(outDir: string): string {
  execFileSync(
    process.execPath,
    [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', outDir],
    {
      cwd: ROOT,
      stdio: 'inherit',
    },
  );
  cpSync(join(ROOT, 'src/database/sql'), join(outDir, 'src/database/sql'), { recursive: true });
  return join(outDir, 'src/main.js');
}

function newestSource(dir: string): number {
  let newest = 0;
  for (const name of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, name.name);
    newest = Math.max(newest, name.isDirectory() ? newestSource(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/**
 * The compiled wa-hub shared by every test that needs a separate process: compiled once (by whichever test file
 * asks first; the others wait on the lock) and again only when a source file is newer than the build.
 * @returns the compiled entry point. @throws Error when another compile holds the lock for over 3 minutes.
 */
export async function sharedWaHubBuild(): Promise<string> {
  const marker = join(TEST_BUILD, '.built');
  const lock = `${TEST_BUILD}.lock`;
  const fresh = () => {
    try {
      return statSync(marker).mtimeMs > Math.max(newestSource(join(ROOT, 'src')), newestSource(join(ROOT, 'migrations')));
    } catch {
      return false;
    }
  };
  const deadline = Date.now() + 180_000;
  for (;;) {
    if (fresh()) return join(TEST_BUILD, 'src/main.js');
    mkdirSync(dirname(lock), { recursive: true }); // node_modules/.cache does not exist in a fresh clone
    try {
      mkdirSync(lock); // atomic: one compiler at a time
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      // A lock older than the deadline is a crashed run's: take it over. (It may vanish meanwhile: then retry.)
      const since = (() => {
        try {
          return Date.now() - statSync(lock).mtimeMs;
        } catch {
          return 0;
        }
      })();
      if (since > 180_000) rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`another test run holds ${lock}`, { cause: e });
      await new Promise((r) => setTimeout(r, 200));
      continue;
    }
    try {
      if (!fresh()) {
        compileWaHub(TEST_BUILD);
        writeFileSync(marker, new Date().toISOString());
      }
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
}
