/**
 * Canonical session statuses, as `/v1` reports them (seed s4's names live only in src/compat/):
 * - `connecting`: starting or reconnecting; `loading`: the client is syncing (wwebjs loading screen);
 * - `qr`: waiting for a QR scan (a live QR is on the session); `authenticated`: scanned, not yet ready;
 * - `connected`: ready to send and receive; `disconnected`: the connection is down (it may come back);
 * - `logged_out`: the device was unlinked at WhatsApp (a new login is needed); `auth_failure`: the login was
 *   refused; `error`: stopped with a reason (e.g. the provider refused our sending credentials);
 * - `unknown`: nothing reported yet (a session created before its first event).
 */
export const SESSION_STATUSES = [
  'connecting',
  'loading',
  'qr',
  'authenticated',
  'connected',
  'disconnected',
  'logged_out',
  'auth_failure',
  'error',
  'unknown',
] as const;
export type SessionStatus = (typeof SESSION_STATUSES)[number];

/** Statuses counted as "loading" by the session flags (seed s4 `isLoading`). */
export const LOADING_STATUSES: readonly SessionStatus[] = ['connecting', 'loading'];
/** Statuses counted as "error" by the session flags (seed s4 `hasError`). */
export const ERROR_STATUSES: readonly SessionStatus[] = ['auth_failure', 'error'];
/** Statuses counted as "disconnected" by the session flags (seed s4 `session_not_connected`). */
export const DISCONNECTED_STATUSES: readonly SessionStatus[] = ['disconnected', 'logged_out'];
