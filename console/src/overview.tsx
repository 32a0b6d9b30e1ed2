import { useEffect, useState } from 'preact/hooks';
import { api, type Message, type Page, type Session, type SessionPage } from './api';
import { errorText, light, preview, when } from './format';
import { useLoad } from './hooks';
import { useLive } from './live';

/** Seed s2's page done properly: sessions with lights and the live QR, a test message, the last 10 messages. */
export function OverviewPage() {
  const sessions = useLoad(() => api<SessionPage>('/v1/sessions', { query: { limit: 200 } }), []);
  const [selected, setSelected] = useState<string | null>(null);
  useLive(['session.'], () => sessions.reload());
  const list = sessions.data?.data ?? [];
  const current = selected ?? list[0]?.id ?? null;
  return (
    <div class="grid overview">
      <section class="card sessions" aria-labelledby="sessions-h">
        <div class="card-head">
          <h2 id="sessions-h">Sessions</h2>
          {sessions.data && (
            <span class="muted small">
              {sessions.data.summary.connected} connected · {sessions.data.summary.needsQR} waiting for QR · {sessions.data.summary.total}{' '}
              total
            </span>
          )}
        </div>
        {sessions.error && <p class="error">{sessions.error}</p>}
        {sessions.data && list.length === 0 && (
          <p class="muted">No sessions yet. Create a Baileys session below, or point a provider's webhook here.</p>
        )}
        <ul class="session-list">
          {list.map((s) => {
            const l = light(s.status);
            return (
              <li key={s.id}>
                <button
                  type="button"
                  class={`session-row${s.id === current ? ' selected' : ''}`}
                  data-session={s.externalId}
                  data-status={s.status}
                  onClick={() => setSelected(s.id)}
                >
                  <span class={`dot dot-${l.tone}`} aria-hidden="true" />
                  <span class="session-name">
                    <strong>{s.externalId}</strong>
                    <span class="muted small">
                      {s.provider}
                      {s.displayNumber ? ` · +${s.displayNumber}` : ''}
                    </span>
                  </span>
                  <span class={`badge badge-${l.tone}`}>{l.label}</span>
                </button>
              </li>
            );
          })}
        </ul>
        <CreateSession onCreated={(s) => (setSelected(s.id), sessions.reload())} />
      </section>
      {current ? <SessionPanel id={current} onChanged={sessions.reload} /> : <section class="card muted">Select a session.</section>}
      <TestMessage sessions={list} defaultSession={current} />
      <Monitor />
    </div>
  );
}

function CreateSession({ onCreated }: { onCreated: (s: Session) => void }) {
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const s = await api<Session>('/v1/sessions', {
        method: 'POST',
        body: { provider: 'baileys', ...(name.trim() ? { name: name.trim() } : {}) },
      });
      setName('');
      onCreated(s);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="inline-form" onSubmit={submit} aria-label="Create a Baileys session">
      <label class="grow">
        New Baileys session
        <input
          name="sessionName"
          value={name}
          onInput={(e) => setName(e.currentTarget.value)}
          placeholder="name, e.g. sales-team"
          pattern="[A-Za-z0-9_\-]{1,64}"
        />
      </label>
      <button class="primary" type="submit" disabled={busy}>
        Create
      </button>
      {error && (
        <p class="error full" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}

function SessionPanel({ id, onChanged }: { id: string; onChanged: () => void }) {
  const session = useLoad(() => api<Session>(`/v1/sessions/${id}`), [id]);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [phone, setPhone] = useState('');
  const [code, setCode] = useState<string | null>(null);
  // Every status change and every rotated QR of this session: fetch it again (qrImage is the live QR).
  useLive(['session.'], (e) => {
    if (e.type === 'resync' || e.sessionId === id) session.reload();
  });
  useEffect(() => setCode(null), [id]);
  const s = session.data;
  const act = async (action: 'start' | 'stop' | 'logout' | 'restart') => {
    if (action === 'logout' && !confirm('Log this session out? WhatsApp unlinks the device and a new QR scan is needed.')) return;
    setBusy(true);
    setError(null);
    try {
      await api(`/v1/sessions/${id}/${action}`, { method: 'POST' });
      session.reload();
      onChanged();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  const pair = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setCode(null);
    try {
      setCode((await api<{ code: string }>(`/v1/sessions/${id}/pairing-code`, { method: 'POST', body: { phoneNumber: phone } })).code);
    } catch (err) {
      setError(errorText(err));
    }
  };
  if (!s) return <section class="card">{session.error ? <p class="error">{session.error}</p> : <p class="muted">Loading…</p>}</section>;
  const l = light(s.status);
  const runsHere = s.provider === 'baileys';
  return (
    <section class="card session-panel" aria-labelledby="session-h" data-testid="session-panel">
      <div class="card-head">
        <h2 id="session-h">{s.externalId}</h2>
        <span class={`badge badge-${l.tone}`} data-testid="session-status">
          <span class={`dot dot-${l.tone}`} aria-hidden="true" /> {l.label}
        </span>
      </div>
      <dl class="facts">
        <dt>Provider</dt>
        <dd>{s.provider}</dd>
        <dt>Number</dt>
        <dd>{s.displayNumber ? `+${s.displayNumber}` : '–'}</dd>
        <dt>Status</dt>
        <dd>
          {s.status}
          {s.message ? ` — ${s.message}` : ''}
        </dd>
        <dt>Last event</dt>
        <dd>{when(s.lastEventAt)}</dd>
        <dt>Session id</dt>
        <dd class="mono small">{s.id}</dd>
      </dl>
      {s.status === 'qr' && s.qrImage && (
        <figure class="qr">
          <img src={s.qrImage} alt="WhatsApp login QR code" width={264} height={264} data-testid="qr" data-qr-at={s.qrAt ?? ''} />
          <figcaption class="muted small">
            On the phone: WhatsApp › Linked devices › Link a device, and scan. The code rotates; this one is from {when(s.qrAt)}.
          </figcaption>
        </figure>
      )}
      {runsHere && s.status === 'qr' && (
        <form class="inline-form" onSubmit={pair} aria-label="Pairing code">
          <label class="grow">
            Or link with a phone number
            <input
              name="phoneNumber"
              type="tel"
              value={phone}
              onInput={(e) => setPhone(e.currentTarget.value)}
              placeholder="+62 812 3456 7890"
              required
            />
          </label>
          <button type="submit">Get pairing code</button>
          {code && (
            <p class="pairing full">
              Pairing code:{' '}
              <strong class="mono" data-testid="pairing-code">
                {code}
              </strong>
            </p>
          )}
        </form>
      )}
      {runsHere ? (
        <div class="actions">
          <button type="button" onClick={() => act('start')} disabled={busy}>
            Start
          </button>
          <button type="button" onClick={() => act('stop')} disabled={busy}>
            Stop
          </button>
          <button type="button" onClick={() => act('restart')} disabled={busy}>
            Restart
          </button>
          <button type="button" class="danger" onClick={() => act('logout')} disabled={busy}>
            Log out
          </button>
        </div>
      ) : (
        <p class="muted small">This session's connection is run by {s.provider}; wa-hub receives its webhooks.</p>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}

function TestMessage({ sessions, defaultSession }: { sessions: Session[]; defaultSession: string | null }) {
  const [sessionId, setSessionId] = useState('');
  const [to, setTo] = useState('');
  const [text, setText] = useState('');
  const [result, setResult] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const chosen = sessionId || defaultSession || '';
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setResult(null);
    try {
      const m = await api<Message>('/v1/messages', {
        method: 'POST',
        body: { ...(chosen ? { sessionId: chosen } : {}), to, type: 'text', text: { body: text } },
      });
      setResult(`Queued message ${m.id} to ${m.chatId} (${m.status}).`);
      setText('');
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="card" aria-labelledby="send-h">
      <h2 id="send-h">Test message</h2>
      <form class="stack" onSubmit={submit} aria-label="Send a test message">
        <label>
          Session
          <select name="sessionId" value={chosen} onChange={(e) => setSessionId(e.currentTarget.value)}>
            {sessions.map((s) => (
              <option key={s.id} value={s.id}>
                {s.externalId} ({s.provider}, {light(s.status).label.toLowerCase()})
              </option>
            ))}
          </select>
        </label>
        <label>
          To
          <input name="to" type="tel" value={to} onInput={(e) => setTo(e.currentTarget.value)} placeholder="+1 650 555 1234" required />
        </label>
        <label>
          Message
          <textarea name="text" rows={3} value={text} onInput={(e) => setText(e.currentTarget.value)} maxLength={4096} required />
        </label>
        <button class="primary" type="submit" disabled={busy}>
          {busy ? 'Sending…' : 'Send'}
        </button>
        {result && (
          <p class="ok" role="status">
            {result}
          </p>
        )}
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
      </form>
    </section>
  );
}

/** The latest 10 messages, in and out, refreshed on every message event. */
function Monitor() {
  const latest = useLoad(() => api<Page<Message>>('/v1/messages', { query: { limit: 10 } }), []);
  useLive(['message.'], () => latest.reload());
  const rows = latest.data?.data ?? [];
  return (
    <section class="card monitor" aria-labelledby="monitor-h">
      <div class="card-head">
        <h2 id="monitor-h">Live messages</h2>
        <span class="muted small">latest 10</span>
      </div>
      {latest.error && <p class="error">{latest.error}</p>}
      {latest.data && rows.length === 0 && <p class="muted">Nothing yet: messages appear here as they arrive.</p>}
      <ol class="feed" data-testid="monitor">
        {rows.map((m) => (
          <li key={m.id} class={`feed-item dir-${m.direction}`}>
            <span class="arrow" title={m.direction === 'in' ? 'received' : 'sent'}>
              {m.direction === 'in' ? '↓' : '↑'}
            </span>
            <span class="feed-body">
              <span class="feed-who">
                {m.direction === 'in' ? (m.senderName ?? m.sender ?? m.chatId) : `to ${m.contact?.name ?? m.chatId}`}
                <span class="muted small"> +{m.direction === 'in' ? (m.sender ?? m.chatId) : m.chatId}</span>
              </span>
              <span class="feed-text">{preview(m)}</span>
            </span>
            <span class="feed-meta muted small">
              <time dateTime={m.timestamp}>{when(m.timestamp)}</time>
              <span>{m.status}</span>
            </span>
          </li>
        ))}
      </ol>
    </section>
  );
}
