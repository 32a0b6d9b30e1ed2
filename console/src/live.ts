// Live events over the Socket.IO gateway (src/events/events.gateway.ts): the key in the handshake `auth`, never in
// the URL. Pages subscribe by event type prefix; after a reconnect they are told to refetch (`resync`), since the
// events missed while offline are not replayed to the console.
import { useEffect, useRef, useState } from 'preact/hooks';
import { io, type Socket } from 'socket.io-client';
import type { LiveEvent } from './api';

export type LiveState = 'connecting' | 'live' | 'offline';

type Listener = (e: LiveEvent) => void;

const listeners = new Set<{ prefixes: string[]; fn: Listener }>();
const stateListeners = new Set<(s: LiveState) => void>();
let socket: Socket | null = null;
let state: LiveState = 'offline';

function setState(s: LiveState): void {
  state = s;
  for (const fn of stateListeners) fn(s);
}

function dispatch(e: LiveEvent): void {
  for (const l of listeners) if (l.prefixes.some((p) => e.type.startsWith(p))) l.fn(e);
}

/** Opens the socket for `apiKey` (closing any previous one). */
export function connectLive(apiKey: string): void {
  disconnectLive();
  setState('connecting');
  // Default transports: long-polling first, then the upgrade to a WebSocket (works behind proxies that block one).
  const s = io({ path: '/socket.io', auth: { apiKey } });
  socket = s;
  let first = true;
  s.on('ready', () => {
    setState('live');
    // The first subscription starts at "now"; after a reconnect what happened meanwhile is refetched.
    if (!first) dispatch({ id: '0', type: 'resync', occurredAt: new Date().toISOString(), sessionId: null, data: {} });
    first = false;
  });
  s.on('disconnect', () => setState('offline'));
  s.on('connect_error', () => setState('offline'));
  s.onAny((type: string, payload: unknown) => {
    if (type.includes('.') && payload && typeof payload === 'object') dispatch(payload as LiveEvent);
  });
}

export function disconnectLive(): void {
  socket?.close();
  socket = null;
  setState('offline');
}

/**
 * Calls `fn` for every live event whose type starts with one of `prefixes` (e.g. `message.`, `session.`), and
 * for `resync` after a reconnect.
 */
export function useLive(prefixes: string[], fn: Listener): void {
  const ref = useRef(fn);
  ref.current = fn;
  const key = prefixes.join(',');
  useEffect(() => {
    const l = { prefixes: [...key.split(','), 'resync'], fn: (e: LiveEvent) => ref.current(e) };
    listeners.add(l);
    return () => void listeners.delete(l);
  }, [key]);
}

export function useLiveState(): LiveState {
  const [s, set] = useState(state);
  useEffect(() => {
    stateListeners.add(set);
    set(state);
    return () => void stateListeners.delete(set);
  }, []);
  return s;
}
