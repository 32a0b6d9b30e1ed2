// Shared by the benchmarks: the repository root, the database, and starting a server process.
import { fork } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
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

/** CPU seconds (user + system) process `pid` has used so far, from /proc (Linux). */
export function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * CPU seconds (user + system) so far of PostgreSQL's client backends (`postgres: <user> <db> <host>(<port>)`
 * processes, which do the statements' work and their WAL inserts; the checkpointer, WAL writer and autovacuum,
 * whose share swings from run to run, are left out; backends that ended meanwhile are not counted), from /proc.
 */
export function postgresCpuSeconds() {
  let total = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (!stat.startsWith(`${pid} (postgres)`)) continue;
      if (!/\(\d+\)/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8'))) continue; // a client backend names its peer's port
      const fields = stat.split(') ')[1].split(' ');
      total += (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      // ended while being read
    }
  }
  return total;
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
