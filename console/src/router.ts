// Client-side routes: each is also listed on the server (src/console/console.controller.ts CONSOLE_ROUTES), so a
// reload or a shared link lands on the same page.
import { useEffect, useState } from 'preact/hooks';

export const ROUTES = [
  { path: '/', label: 'Overview' },
  { path: '/inbox', label: 'Inbox' },
  { path: '/stats', label: 'Stats' },
  { path: '/developer', label: 'API' },
] as const;

const listeners = new Set<() => void>();
window.addEventListener('popstate', () => listeners.forEach((fn) => fn()));

export function navigate(path: string): void {
  if (path === location.pathname + location.search) return;
  history.pushState(null, '', path);
  listeners.forEach((fn) => fn());
  window.scrollTo(0, 0);
}

export function usePath(): string {
  const [path, set] = useState(location.pathname);
  useEffect(() => {
    const fn = () => set(location.pathname);
    listeners.add(fn);
    return () => void listeners.delete(fn);
  }, []);
  return path;
}
