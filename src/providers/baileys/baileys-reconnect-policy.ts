import type { SessionStatus } from '../../domain/session-status';

/** What the engine knows of a connection when Baileys closes it. */
export interface CloseContext {
  /** `lastDisconnect.error.output.statusCode`; undefined for a network error without one. */
  code: number | undefined;
  /** The connection reached `open` since the session was (re)started. */
  wasOpen: boolean;
  /** The previous close was the 515 that follows pairing, and the session has not been open since. */
  afterPairingRestart: boolean;
  /** The creds hold a linked account (`creds.me`): the device is registered at WhatsApp. */
  registered: boolean;
  /** Consecutive backoff reconnects so far (0 for the first). */
  attempt: number;
  /** The close's error message (rc14 reports both an exhausted QR and a refused connection as 408). */
  message?: string;
}

/**
 * What to do about a close (test/fakes/whatsapp-web/README.md "Disconnect codes"; Baileys never reconnects on its
 * own, each makeWASocket() is one attempt):
 * - `reconnect`: at once, after pending creds writes (515 restart required: a restart with unsaved creds gets the
 *   half-registered device revoked);
 * - `backoff`: reconnect after `delayMs` (408, 428, 500, 503, 405 and network errors), holding the lease;
 * - `new-qr`: the pairing failed (401 straight after the 515 that follows pairing; Evolution API #2498 deletes
 *   users' instances on exactly this): wipe the half-registered creds, reconnect at once for a new QR;
 * - `logged-out`: 401 of a registered device (removed from the phone, or logged out): wipe the auth state;
 * - `stop`: 440 (connection replaced: another holder of the creds; do not fight back), 403 and 411 (status
 *   `error` with the reason), an exhausted QR on an unregistered device (waits for the user to start again).
 */
export type CloseDecision =
  | { action: 'reconnect'; status: SessionStatus; message: string }
  | { action: 'backoff'; delayMs: number; status: SessionStatus; message: string }
  | { action: 'new-qr'; status: SessionStatus; message: string }
  | { action: 'logged-out'; status: SessionStatus; message: string }
  | { action: 'stop'; status: SessionStatus; message: string };

/** First backoff delay and the cap, in ms (1 s up to 5 min). */
export const BACKOFF_BASE_MS = 1_000;
export const BACKOFF_MAX_MS = 300_000;

/**
 * Exponential backoff with jitter: `min(cap, base × 2^attempt)`, then a random point in its upper half, so
 * sessions that dropped together do not reconnect together.
 * @param random a number in [0, 1) (Math.random in production, fixed in tests).
 */
export function backoffDelay(attempt: number, random: number, maxMs = BACKOFF_MAX_MS): number {
  const ceiling = Math.min(maxMs, BACKOFF_BASE_MS * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + (ceiling / 2) * random);
}

/** The reconnect policy; pure. @param random in [0, 1), for the backoff jitter. */
export function decideOnClose(c: CloseContext, random: number, maxBackoffMs = BACKOFF_MAX_MS): CloseDecision {
  const backoff = (message: string): CloseDecision => ({
    action: 'backoff',
    delayMs: backoffDelay(c.attempt, random, maxBackoffMs),
    status: 'disconnected',
    message,
  });
  switch (c.code) {
    case 515:
      return { action: 'reconnect', status: 'connecting', message: 'Restart required (after pairing or by the server): reconnecting' };
    case 401:
      if (c.afterPairingRestart && !c.wasOpen)
        return {
          action: 'new-qr',
          status: 'connecting',
          message: 'Pairing failed (401 right after the pairing restart): a new QR follows',
        };
      if (c.registered || c.wasOpen)
        return { action: 'logged-out', status: 'logged_out', message: 'Logged out: the device was removed at WhatsApp; link it again' };
      return { action: 'new-qr', status: 'connecting', message: 'Login refused (401) before the device was linked: a new QR follows' };
    case 440:
      return {
        action: 'stop',
        status: 'disconnected',
        message: 'Connection replaced: the session was opened elsewhere; start it again to take it back',
      };
    case 403:
      return { action: 'stop', status: 'error', message: 'WhatsApp refused the connection (403 forbidden): the number may be banned' };
    case 411:
      return { action: 'stop', status: 'error', message: 'Multi-device mismatch (411): link the device again' };
    case 408:
      // "QR refs attempts ended" (lib/Socket/socket.js): nobody scanned; a refused connection is a 408 too, retried.
      if (!c.registered && /QR refs/i.test(c.message ?? ''))
        return { action: 'stop', status: 'disconnected', message: 'QR code expired (no scan): start the session again for a new QR' };
      return backoff('Connection lost (408): reconnecting with backoff');
    default:
      return backoff(`Connection closed (${c.code ?? 'network error'}): reconnecting with backoff`);
  }
}
