import { ChildProcess, fork } from 'node:child_process';
import { createServer } from 'node:net';

/** A TCP port on 127.0.0.1 that was free a moment ago (for a child wa-hub process's PORT). */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/**
 * Forks the compiled wa-hub `main` (test/helpers/build.ts) with `env` over this process's environment (without
 * DATABASE_URL when `env` has none: the embedded database) and resolves once `GET /health` on `port` answers below 500.
 * @param stdout `inherit` to see the child's log lines, else they are dropped (stderr is always inherited).
 * @throws Error (rejects) when the child exits before it answers.
 */
export function forkWaHub(
  main: string,
  port: number,
  env: Record<string, string>,
  stdout: 'ignore' | 'inherit' = 'ignore',
): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const childEnv: Record<string, string | undefined> = { ...process.env, ...env, PORT: String(port) };
    if (!env.DATABASE_URL && !process.env.DATABASE_URL) delete childEnv.DATABASE_URL;
    const c = fork(main, [], { env: childEnv, stdio: ['ignore', stdout, 'inherit', 'ipc'] });
    const timer = setInterval(async () => {
      try {
        if ((await fetch(`http://127.0.0.1:${port}/health`)).status < 500) {
          clearInterval(timer);
          resolve(c);
        }
      } catch {
        /* not up yet */
      }
    }, 100);
    c.once('exit', (code) => {
      clearInterval(timer);
      reject(new Error(`wa-hub exited with ${code}`));
    });
  });
}
