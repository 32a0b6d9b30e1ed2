// Display helpers.

/** "14:03:12" today, "3 Jun 14:03" otherwise (the browser's time zone). */
export function when(iso: string | null | undefined): string {
  if (!iso) return '–';
  const d = new Date(iso);
  const now = new Date();
  const sameDay = d.toDateString() === now.toDateString();
  return sameDay
    ? d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' })
    : d.toLocaleString(undefined, { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
}

export function fullTime(iso: string | null | undefined): string {
  return iso ? new Date(iso).toLocaleString() : '–';
}

/** The status light of a session: connected, waiting for a QR scan, on its way, or down. */
export function light(status: string): { tone: 'ok' | 'wait' | 'busy' | 'down'; label: string } {
  switch (status) {
    case 'connected':
      return { tone: 'ok', label: 'Connected' };
    case 'qr':
      return { tone: 'wait', label: 'Waiting for QR' };
    case 'connecting':
    case 'loading':
    case 'authenticated':
      return { tone: 'busy', label: status === 'authenticated' ? 'Authenticated' : 'Connecting' };
    case 'logged_out':
      return { tone: 'down', label: 'Logged out' };
    case 'auth_failure':
    case 'error':
      return { tone: 'down', label: 'Error' };
    default:
      return { tone: 'down', label: 'Disconnected' };
  }
}

/** What a message says, for lists: its text, caption, or its type in brackets. */
export function preview(m: { text: string | null; caption: string | null; type: string }): string {
  return m.text ?? m.caption ?? `[${m.type}]`;
}

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Start of the local day `yyyy-mm-dd` (+ `days`) as an ISO instant, for the API's `from`/`to`. */
export function dayStart(date: string, days = 0): string {
  const [y, m, d] = date.split('-').map(Number);
  return new Date(y, m - 1, d + days).toISOString();
}
