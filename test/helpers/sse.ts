import { request as httpRequest, type IncomingMessage } from 'node:http';

/** One parsed Server-Sent Event of wa-hub's stream (`id:`, `event:`, `data:` with the event's JSON). */
export interface SseEvent {
  id: string;
  event: string;
  data: { id: string; type: string; sessionId: string | null; data: Record<string, unknown> };
}

/**
 * A minimal Server-Sent Events client for `GET /v1/events/stream`: collects parsed events; resolves on the first
 * bytes of the body (or a non-200 status); `close()` ends the connection.
 */
export function openStream(
  port: number,
  path: string,
  headers: Record<string, string>,
): Promise<{ events: SseEvent[]; status: number; close: () => void }> {
  return new Promise((resolve, reject) => {
    const events: SseEvent[] = [];
    const req = httpRequest(
      { host: '127.0.0.1', port, path, headers: { accept: 'text/event-stream', ...headers } },
      (res: IncomingMessage) => {
        let buffer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffer += chunk;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const fields = Object.fromEntries(
              block
                .split('\n')
                .filter((l) => l && !l.startsWith(':'))
                .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]),
            );
            if (fields.data) events.push({ id: fields.id, event: fields.event, data: JSON.parse(fields.data) });
          }
        });
        res.once('data', () => resolve({ events, status: res.statusCode ?? 0, close: () => req.destroy() }));
        if (res.statusCode !== 200) resolve({ events, status: res.statusCode ?? 0, close: () => req.destroy() });
      },
    );
    req.on('error', (e) => (e.message.includes('socket hang up') ? undefined : reject(e)));
    req.end();
  });
}
