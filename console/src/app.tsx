import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, storedKey, storeKey, whenUnauthorized } from './api';
import { errorText } from './format';
import { connectLive, disconnectLive, useLiveState } from './live';
import { DeveloperPage } from './developer';
import { InboxPage } from './inbox';
import { OverviewPage } from './overview';
import { navigate, ROUTES, usePath } from './router';
import { StatsPage } from './stats';

export function App() {
  const [key, setKey] = useState<string | null>(storedKey());
  useEffect(() => {
    whenUnauthorized(() => signOut());
    if (key) connectLive(key);
    return () => disconnectLive();
  }, [key]);
  const signOut = () => {
    storeKey(null);
    disconnectLive();
    setKey(null);
  };
  if (!key)
    return (
      <SignIn
        onSignedIn={(k) => {
          storeKey(k);
          setKey(k);
        }}
      />
    );
  return <Shell onSignOut={signOut} />;
}

function SignIn({ onSignedIn }: { onSignedIn: (key: string) => void }) {
  const [value, setValue] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const k = value.trim();
    if (!k) return;
    setBusy(true);
    setError(null);
    try {
      // Any read route tells whether the key works; it is kept only once it does.
      await api('/v1/sessions', { query: { limit: 1 }, key: k });
      onSignedIn(k);
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? 'That API key is unknown, revoked or expired.' : errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="signin">
      <form class="card signin-card" onSubmit={submit}>
        <div class="brand brand-large">
          <span class="logo" aria-hidden="true" />
          wa-hub
        </div>
        <h1>Sign in</h1>
        <p class="muted">Use a wa-hub API key. It stays in this tab only (sessionStorage) and is sent as the X-API-Key header.</p>
        <label>
          API key
          <input
            name="apiKey"
            type="password"
            autocomplete="off"
            value={value}
            onInput={(e) => setValue(e.currentTarget.value)}
            placeholder="Your API key"
            required
          />
        </label>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button class="primary" type="submit" disabled={busy}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
        <p class="muted small">
          API reference: <a href="/docs">/docs</a>
        </p>
      </form>
    </main>
  );
}

function Shell({ onSignOut }: { onSignOut: () => void }) {
  const path = usePath();
  const live = useLiveState();
  const page = ROUTES.find((r) => r.path === path) ?? ROUTES[0];
  useEffect(() => {
    document.title = `${page.label} · wa-hub console`;
  }, [page]);
  return (
    <div class="shell">
      <header class="topbar">
        <a
          class="brand"
          href="/"
          onClick={(e) => {
            e.preventDefault();
            navigate('/');
          }}
        >
          <span class="logo" aria-hidden="true" />
          wa-hub
        </a>
        <nav class="nav" aria-label="Main">
          {ROUTES.map((r) => (
            <a
              key={r.path}
              href={r.path}
              class={r.path === page.path ? 'active' : undefined}
              aria-current={r.path === page.path ? 'page' : undefined}
              onClick={(e) => {
                e.preventDefault();
                navigate(r.path);
              }}
            >
              {r.label}
            </a>
          ))}
        </nav>
        <div class="topbar-end">
          <span class={`live live-${live}`} title="Live events (Socket.IO)" data-testid="live-state">
            {live === 'live' ? 'Live' : live === 'connecting' ? 'Connecting…' : 'Offline'}
          </span>
          <button class="ghost" type="button" onClick={onSignOut}>
            Sign out
          </button>
        </div>
      </header>
      <main class="content">
        {page.path === '/' && <OverviewPage />}
        {page.path === '/inbox' && <InboxPage />}
        {page.path === '/stats' && <StatsPage />}
        {page.path === '/developer' && <DeveloperPage />}
      </main>
    </div>
  );
}
