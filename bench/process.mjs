// Shared by the benchmarks: start a server process and wait until it answers.
import { fork } from 'node:child_process';

/**
 * Forks `script` with `env` over this process's environment and resolves once GET http://127.0.0.1:{env.PORT}{probe}
 * answers below 500. Rejects if the process exits first.
 */
export function start(script, env, probe = '/health') {
  return new Promise((resolve, reject) => {
    const child = fork(script, [], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    const timer = setInterval(async () => {
      try {
        if ((await fetch(`http://127.0.0.1:${env.PORT}${probe}`)).status < 500) { clearInterval(timer); resolve(child); }
      } catch { /* not up yet */ }
    }, 200);
    child.on('exit', (code) => { clearInterval(timer); reject(new Error(`${script} exited with ${code}`)); });
  });
}

/** SIGTERM, resolved when the process has exited (the app drains its in-flight work first). */
export const stop = (child) => new Promise((r) => { child.once('exit', r); child.kill('SIGTERM'); });
