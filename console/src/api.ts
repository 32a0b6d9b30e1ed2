// The /v1 API as the console calls it: the key from sessionStorage (never a URL) in the X-API-Key header.

const KEY = 'wa-hub.apiKey';

export function storedKey(): string | null {
  return sessionStorage.getItem(KEY);
}

export function storeKey(key: string | null): void {
  if (key) sessionStorage.setItem(KEY, key);
  else sessionStorage.removeItem(KEY);
}

/** An error answer of the API: `{ error: { code, message, details }, requestId }`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let onUnauthorized: () => void = () => undefined;

/** Called when the API answers 401 (key revoked or expired): the console signs out. */
export function whenUnauthorized(fn: () => void): void {
  onUnauthorized = fn;
}

type Query = Record<string, string | number | boolean | undefined | null>;

export function withQuery(path: string, query?: Query): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

async function request(path: string, init: { method?: string; body?: unknown; key?: string } = {}): Promise<Response> {
  const key = init.key ?? storedKey();
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (key) headers['X-API-Key'] = key;
  if (init.body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, {
    method: init.method ?? 'GET',
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    credentials: 'omit',
    cache: 'no-store',
  });
  if (!res.ok) {
    let code = 'HTTP_' + res.status;
    let message = res.statusText || 'Request failed';
    try {
      const body = (await res.json()) as { error?: { code?: string; message?: string } };
      code = body.error?.code ?? code;
      message = body.error?.message ?? message;
    } catch {
      // not our error shape
    }
    if (res.status === 401 && init.key === undefined) onUnauthorized();
    throw new ApiError(res.status, code, message);
  }
  return res;
}

/** GET/POST/... a JSON route. @throws ApiError with the API's code and message. */
export async function api<T>(path: string, init: { method?: string; body?: unknown; query?: Query; key?: string } = {}): Promise<T> {
  const res = await request(withQuery(path, init.query), init);
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

/** A binary route (the QR PNG) as an object URL; the caller revokes it. */
export async function apiObjectUrl(path: string): Promise<string> {
  const res = await request(path);
  return URL.createObjectURL(await res.blob());
}

// Shapes of the responses the console reads (src/*/**.dto.ts).

export interface Page<T> {
  data: T[];
  total: number;
  totalExact: boolean;
  limit: number;
  offset: number;
  nextCursor: string | null;
}

export interface Session {
  id: string;
  provider: string;
  externalId: string;
  displayNumber: string | null;
  userId: string | null;
  status: string;
  message: string | null;
  qr: string | null;
  qrAt: string | null;
  lastEventAt: string | null;
  connectedAt: string | null;
  createdAt: string;
  isConnected: boolean;
  needsQR: boolean;
  isLoading: boolean;
  hasError: boolean;
  hasQR: boolean;
  qrImage?: string | null;
}

export interface SessionPage extends Page<Session> {
  summary: { connected: number; disconnected: number; loading: number; needsQR: number; hasQR: number; error: number; total: number };
}

export interface Message {
  id: string;
  provider: string;
  sessionId: string;
  conversationId: string;
  externalId: string | null;
  direction: 'in' | 'out';
  type: string;
  chatId: string;
  contact: { phone: string; name: string | null } | null;
  sender: string | null;
  senderName: string | null;
  text: string | null;
  caption: string | null;
  media: Record<string, unknown> | null;
  location: Record<string, unknown> | null;
  payload: Record<string, unknown> | null;
  status: string;
  statusAt: string | null;
  error: { code: string | null; title: string | null; detail: string | null } | null;
  timestamp: string;
  createdAt: string;
  readAt: string | null;
  raw?: unknown;
}

export interface Conversation {
  id: string;
  sessionId: string;
  provider: string;
  chatId: string;
  isGroup: boolean;
  subject: string | null;
  contact: { phone: string; name: string | null } | null;
  lastMessageAt: string | null;
  lastMessagePreview: string | null;
  lastMessageDirection: string | null;
  messageCount: number;
  unreadCount: number;
}

export interface Counts {
  total: number;
  incoming: number;
  outgoing: number;
  uniqueContacts: number;
}

export interface Stats {
  from: string;
  to: string;
  overall: Counts;
  window: Counts;
  perDay: { date: string; incoming: number; outgoing: number }[];
  byType: Record<string, number>;
  byProvider: Record<string, number>;
  bySession: { sessionId: string; provider: string; externalId: string; count: number }[];
  delivery: { byStatus: Record<string, number>; medianSecondsToDelivered: number | null; medianSecondsToRead: number | null };
}

/** One entry of the event log, as Socket.IO emits it (src/events/event.dto.ts). */
export interface LiveEvent {
  id: string;
  type: string;
  occurredAt: string;
  sessionId: string | null;
  data: Record<string, unknown>;
}

/** Message types the API knows (src/domain/message.ts MESSAGE_TYPES). */
export const MESSAGE_TYPES = [
  'text',
  'image',
  'video',
  'audio',
  'voice',
  'document',
  'sticker',
  'location',
  'contacts',
  'interactive',
  'button',
  'reaction',
  'order',
  'system',
  'unsupported',
  'unknown',
];
