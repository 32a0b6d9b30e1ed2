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
