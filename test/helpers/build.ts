import { execFileSync } from 'node:child_process';
import { cpSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const ROOT = resolve(__dirname, '../..');

/**
 * Compiles wa-hub with tsc into `outDir` (as `nest build` does, with the assets nest-cli.json copies: the
 * PL/pgSQL sources) for tests that run it as a separate process.
 * @returns the path of the compiled entry point (`<outDir>/src/main.js`).
 */
export function compileWaHub(outDir: string): string {
  execFileSync(
    process.execPath,
    [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', outDir],
    { cwd: ROOT, stdio: 'inherit' },
  );
  cpSync(join(ROOT, 'src/database/sql'), join(outDir, 'src/database/sql'), { recursive: true });
  return join(outDir, 'src/main.js');
}
