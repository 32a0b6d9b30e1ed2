// Shared by the benchmarks: the repository root, the database, and starting a server process.
import { fork } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** PostgreSQL the benchmarks run on: DATABASE_URL, default the local `test` database. */
export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
/** DATABASE_URL without its credentials, for printing. */
export const databaseLabel = DATABASE_URL.replace(/\/\/[^@]*@/, '//');

/**
 * Forks `script` with `env` over this process's environment and resolves once GET http://127.0.0.1:{env.PORT}{probe}
 * answers below 500. Rejects if the process exits first.
 */
export function start(script, env, probe = '/health') {
  return new Promise((resolve, reject) => {
    const child = fork(script, [], {
      execArgv: process.env.BENCH_CPU_PROF && script.includes('dist') ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [],
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    const timer = setInterval(async () => {
      try {
        if ((await fetch(`http://127.0.0.1:${env.PORT}${probe}`)).status < 500) {
          clearInterval(timer);
          resolve(child);
        }
      } catch {
        /* not up yet */
      }
    }, 200);
    child.on('exit', (code) => {
      clearInterval(timer);
      reject(new Error(`${script} exited with ${code}`));
    });
  });
}

/** SIGTERM, resolved when the process has exited (the app drains its in-flight work first). */
export const stop = (child) =>
  new Promise((r) => {
    child.once('exit', r);
    child.kill('SIGTERM');
  });

/**
 * Starts the built wa-hub (`npm run build` first) on DATABASE_URL in `schema`, at warn level, listening on `port`
 * with `adminKey`; `env` adds or overrides variables. Resolves once /health answers.
 */
export const startWaHub = ({ schema, port, adminKey, env = {} }) =>
  start(join(root, 'dist/src/main.js'), {
    DATABASE_URL,
    DB_SCHEMA: schema,
    ADMIN_API_KEY: adminKey,
    PORT: port,
    LOG_LEVEL: 'warn',
    ...env,
  });
