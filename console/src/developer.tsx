/** Seed s2's "API Information": where the API is, how to authenticate, where live events come from. */
export function DeveloperPage() {
  const base = location.origin;
  return (
    <div class="grid developer">
      <section class="card">
        <h2>API information</h2>
        <dl class="facts">
          <dt>Base URL</dt>
          <dd class="mono" data-testid="base-url">
            {base}
          </dd>
          <dt>Reference</dt>
          <dd>
            <a href="/docs">/docs</a> (Swagger UI) · <a href="/docs-json">/docs-json</a> (OpenAPI 3)
          </dd>
          <dt>Health</dt>
          <dd>
            <a href="/health">/health</a>
          </dd>
        </dl>
      </section>
      <section class="card">
        <h2>Authenticate</h2>
        <p>
          Every <code>/v1</code> route takes an API key in a header, never in the URL: <code>X-API-Key: &lt;key&gt;</code> or{' '}
          <code>Authorization: Bearer &lt;key&gt;</code>. Keys have scopes <code>read</code>, <code>send</code> and <code>admin</code>; an
          admin creates more with <code>POST /v1/api-keys</code>.
        </p>
        <pre class="code">{`curl -H "X-API-Key: $WAHUB_KEY" ${base}/v1/messages?limit=10

curl -X POST -H "X-API-Key: $WAHUB_KEY" -H "Content-Type: application/json" \\
  -d '{"to":"+16505551234","type":"text","text":{"body":"Hello"}}' \\
  ${base}/v1/messages`}</pre>
      </section>
      <section class="card">
        <h2>Live events</h2>
        <p>
          Socket.IO at <code>/socket.io</code> with the key in the handshake; each event under its type (<code>message.received</code>,{' '}
          <code>session.status</code>, <code>session.qr</code>, …) plus <code>qr</code>, <code>status</code> and <code>message</code>.
        </p>
        <pre class="code">{`const socket = io('${base}', { path: '/socket.io', auth: { apiKey } });
socket.on('message.received', (e) => console.log(e.data));`}</pre>
        <p>
          Server-Sent Events: <code>GET /v1/events/stream</code> with the key header; reconnect with <code>Last-Event-ID</code> to miss
          nothing. The log itself pages at <code>GET /v1/events?after=</code>.
        </p>
      </section>
    </div>
  );
}
