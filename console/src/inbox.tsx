import { useState } from 'preact/hooks';
import { api, MESSAGE_TYPES, type Conversation, type Message, type Page, type SessionPage } from './api';
import { dayStart, errorText, fullTime, preview, when } from './format';
import { useLoad } from './hooks';
import { useLive } from './live';

interface Filters {
  q: string;
  sessionId: string;
  type: string;
  phone: string;
  direction: string;
  from: string;
  to: string;
}

const EMPTY: Filters = { q: '', sessionId: '', type: '', phone: '', direction: '', from: '', to: '' };

/** Seed s3's admin panel: conversations with unread counts, threads, search and filters, message detail, mark read. */
export function InboxPage() {
  const [draft, setDraft] = useState<Filters>(EMPTY);
  const [filters, setFilters] = useState<Filters>(EMPTY);
  const [conversation, setConversation] = useState<Conversation | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  // On a phone the filters beyond the search box fold away (styles.css `.filters:not(.more) .adv`).
  const [more, setMore] = useState(false);
  const sessions = useLoad(() => api<SessionPage>('/v1/sessions', { query: { limit: 200 } }), []);
  const searching = Object.entries(filters).some(([k, v]) => k !== 'sessionId' && v !== '');
  const conversations = useLoad(
    () => api<Page<Conversation>>('/v1/conversations', { query: { limit: 100, sessionId: filters.sessionId || undefined } }),
    [filters.sessionId],
  );
  const results = useLoad(
    () =>
      searching
        ? api<Page<Message>>('/v1/messages', {
            query: {
              limit: 100,
              q: filters.q.trim() || undefined,
              sessionId: filters.sessionId || undefined,
              type: filters.type || undefined,
              phone: filters.phone.trim() || undefined,
              direction: filters.direction || undefined,
              from: filters.from ? dayStart(filters.from) : undefined,
              to: filters.to ? dayStart(filters.to, 1) : undefined,
            },
          })
        : Promise.resolve(undefined),
    [JSON.stringify(filters)],
  );
  useLive(['message.'], () => {
    conversations.reload();
    if (searching) results.reload();
  });
  const set = (k: keyof Filters) => (e: { currentTarget: { value: string } }) => setDraft({ ...draft, [k]: e.currentTarget.value });
  const apply = (e: Event) => {
    e.preventDefault();
    setFilters(draft);
    setConversation(null);
    setMessage(null);
  };
  const clear = () => {
    setDraft(EMPTY);
    setFilters(EMPTY);
  };
  const detailOpen = conversation !== null || message !== null;
  return (
    <div class="inbox">
      <form class={`card filters${more ? ' more' : ''}`} onSubmit={apply} role="search" aria-label="Search messages">
        <label class="grow-2">
          Search
          <input name="q" type="search" value={draft.q} onInput={set('q')} placeholder="Text or caption (accents ignored)" />
        </label>
        <label class="adv">
          Session
          <select name="sessionId" value={draft.sessionId} onChange={set('sessionId')}>
            <option value="">All sessions</option>
            {sessions.data?.data.map((s) => (
              <option key={s.id} value={s.id}>
                {s.externalId} ({s.provider})
              </option>
            ))}
          </select>
        </label>
        <label class="adv">
          Type
          <select name="type" value={draft.type} onChange={set('type')}>
            <option value="">Any type</option>
            {MESSAGE_TYPES.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </label>
        <label class="adv">
          Sender / contact
          <input name="phone" type="tel" value={draft.phone} onInput={set('phone')} placeholder="+1 650 555 1234" />
        </label>
        <label class="adv">
          Direction
          <select name="direction" value={draft.direction} onChange={set('direction')}>
            <option value="">In and out</option>
            <option value="in">Received</option>
            <option value="out">Sent</option>
          </select>
        </label>
        <label class="adv">
          From
          <input name="from" type="date" value={draft.from} onInput={set('from')} />
        </label>
        <label class="adv">
          To
          <input name="to" type="date" value={draft.to} onInput={set('to')} />
        </label>
        <div class="filter-buttons">
          <button type="button" class="ghost filters-toggle" aria-expanded={more} onClick={() => setMore(!more)}>
            {more ? 'Fewer filters' : 'Filters'}
          </button>
          <button class="primary" type="submit">
            Search
          </button>
          <button type="button" class="ghost" onClick={clear}>
            Clear
          </button>
        </div>
      </form>
      <div class={`inbox-body${detailOpen ? ' detail-open' : ''}`}>
        <section class="card list-pane" aria-label={searching ? 'Search results' : 'Conversations'}>
          {searching ? (
            <>
              <div class="card-head">
                <h2>Results</h2>
                {results.data && (
                  <span class="muted small" data-testid="result-count">
                    {results.data.total}
                    {results.data.totalExact ? '' : '+'} found
                  </span>
                )}
              </div>
              {results.error && <p class="error">{results.error}</p>}
              {results.data && results.data.data.length === 0 && <p class="muted">No message matches.</p>}
              <ul class="rows" data-testid="results">
                {results.data?.data.map((m) => (
                  <li key={m.id}>
                    <button
                      type="button"
                      class={`row${message === m.id ? ' selected' : ''}`}
                      onClick={() => (setConversation(null), setMore(false), setMessage(m.id))}
                    >
                      <span class="row-main">
                        <strong>
                          {m.direction === 'in' ? (m.senderName ?? m.sender ?? m.chatId) : `to ${m.contact?.name ?? m.chatId}`}
                        </strong>
                        <span class="row-text">{preview(m)}</span>
                      </span>
                      <span class="row-meta muted small">
                        {when(m.timestamp)}
                        <span class="tag">{m.type}</span>
                      </span>
                    </button>
                  </li>
                ))}
              </ul>
            </>
          ) : (
            <>
              <div class="card-head">
                <h2>Conversations</h2>
                {conversations.data && <span class="muted small">{conversations.data.total}</span>}
              </div>
              {conversations.error && <p class="error">{conversations.error}</p>}
              {conversations.data && conversations.data.data.length === 0 && <p class="muted">No conversations yet.</p>}
              <ul class="rows" data-testid="conversations">
                {conversations.data?.data.map((c) => (
                  <li key={c.id}>
                    <button
                      type="button"
                      class={`row${conversation?.id === c.id ? ' selected' : ''}`}
                      onClick={() => (setMessage(null), setMore(false), setConversation(c))}
                    >
                      <span class="row-main">
                        <strong>{c.subject ?? c.contact?.name ?? c.chatId}</strong>
                        <span class="row-text">
                          {c.lastMessageDirection === 'out' ? '↑ ' : ''}
                          {c.lastMessagePreview ?? ''}
                        </span>
                      </span>
                      <span class="row-meta muted small">
                        {when(c.lastMessageAt)}
                        {c.unreadCount > 0 && (
                          <span class="unread" aria-label={`${c.unreadCount} unread`}>
                            {c.unreadCount}
                          </span>
                        )}
                      </span>
                    </button>
                  </li>
                ))}
              </ul>
            </>
          )}
        </section>
        <section class="card detail-pane">
          {message ? (
            <MessageDetail id={message} onBack={() => setMessage(null)} />
          ) : conversation ? (
            <Thread conversation={conversation} onBack={() => setConversation(null)} onOpen={setMessage} onRead={conversations.reload} />
          ) : (
            <p class="muted">Pick a conversation or a search result.</p>
          )}
        </section>
      </div>
    </div>
  );
}

function Thread({
  conversation: c,
  onBack,
  onOpen,
  onRead,
}: {
  conversation: Conversation;
  onBack: () => void;
  onOpen: (id: string) => void;
  onRead: () => void;
}) {
  const thread = useLoad(() => api<Page<Message>>(`/v1/conversations/${c.id}/messages`, { query: { limit: 100 } }), [c.id]);
  const [error, setError] = useState<string | null>(null);
  const [read, setRead] = useState<string | null>(null);
  useLive(['message.'], (e) => {
    if (e.type === 'resync' || String(e.data.conversationId) === c.id) thread.reload();
  });
  const markRead = async () => {
    setError(null);
    try {
      const r = await api<{ markedRead: number }>(`/v1/conversations/${c.id}/read`, { method: 'POST' });
      setRead(`${r.markedRead} marked read`);
      thread.reload();
      onRead();
    } catch (e) {
      setError(errorText(e));
    }
  };
  // Newest first from the API; a thread reads oldest at the top.
  const rows = [...(thread.data?.data ?? [])].reverse();
  return (
    <div class="thread">
      <div class="card-head">
        <button type="button" class="ghost back" onClick={onBack} aria-label="Back to the list">
          ‹
        </button>
        <h2>{c.subject ?? c.contact?.name ?? c.chatId}</h2>
        <span class="muted small">+{c.chatId}</span>
        <button type="button" class="end" onClick={markRead}>
          Mark read
        </button>
      </div>
      {read && <p class="ok small">{read}</p>}
      {error && <p class="error">{error}</p>}
      {thread.error && <p class="error">{thread.error}</p>}
      <ol class="bubbles" data-testid="thread">
        {rows.map((m) => (
          <li key={m.id} class={`bubble bubble-${m.direction}`}>
            <button type="button" class="bubble-btn" onClick={() => onOpen(m.id)} title="Details and raw payload">
              {c.isGroup && m.direction === 'in' && <span class="bubble-who">{m.senderName ?? m.sender}</span>}
              <span class="bubble-text">{preview(m)}</span>
              <span class="bubble-meta">
                {when(m.timestamp)} · {m.status}
              </span>
            </button>
          </li>
        ))}
      </ol>
    </div>
  );
}

function MessageDetail({ id, onBack }: { id: string; onBack: () => void }) {
  const m = useLoad(() => api<Message>(`/v1/messages/${id}`), [id]);
  const d = m.data;
  return (
    <div class="message-detail">
      <div class="card-head">
        <button type="button" class="ghost back" onClick={onBack} aria-label="Back">
          ‹
        </button>
        <h2>Message {id}</h2>
      </div>
      {m.error && <p class="error">{m.error}</p>}
      {d && (
        <>
          <dl class="facts">
            <dt>Direction</dt>
            <dd>{d.direction === 'in' ? 'received' : 'sent'}</dd>
            <dt>From</dt>
            <dd>{d.direction === 'in' ? `${d.senderName ?? ''} +${d.sender ?? d.chatId}` : 'this session'}</dd>
            <dt>Chat</dt>
            <dd>+{d.chatId}</dd>
            <dt>Type</dt>
            <dd>{d.type}</dd>
            <dt>Text</dt>
            <dd class="pre">{d.text ?? d.caption ?? '–'}</dd>
            <dt>Status</dt>
            <dd>
              {d.status} {d.statusAt ? `(${fullTime(d.statusAt)})` : ''}
            </dd>
            {d.error && (
              <>
                <dt>Error</dt>
                <dd class="error">{[d.error.code, d.error.title, d.error.detail].filter(Boolean).join(' · ')}</dd>
              </>
            )}
            <dt>Time</dt>
            <dd>{fullTime(d.timestamp)}</dd>
            <dt>Provider</dt>
            <dd>
              {d.provider} <span class="mono small">{d.externalId}</span>
            </dd>
            <dt>Read</dt>
            <dd>{d.readAt ? fullTime(d.readAt) : '–'}</dd>
          </dl>
          <h3>Raw provider payload</h3>
          <pre class="raw" data-testid="raw">
            {JSON.stringify(d.raw, null, 2)}
          </pre>
        </>
      )}
    </div>
  );
}
