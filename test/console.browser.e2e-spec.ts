import jsQR from 'jsqr';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { PNG } from 'pngjs';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeWhatsApp, type FakePeer, type FakeWhatsApp } from './fakes/whatsapp-web';
import { ROOT } from './helpers/build';
import { loadFixture } from './helpers/fixtures';
import { postMeta } from './helpers/http';
import { createTestApp, TEST_ENV, type TestApp } from './helpers/test-app';
import { until } from './helpers/until';

const ADMIN = { 'X-API-Key': TEST_ENV.ADMIN_API_KEY };
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** A host name that is not localhost, so the pages run as they would behind a real name over plain HTTP. */
const HOST = 'wahub.test';
const SHOTS = join(ROOT, 'test-artifacts', 'console');
const CONSOLE_SRC = join(ROOT, 'console');
const CONSOLE_DIST = join(ROOT, 'dist', 'console');

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** Builds console/ into dist/console (as `npm run build` does) unless the build is newer than every source. */
async function buildConsole(): Promise<void> {
  const index = join(CONSOLE_DIST, 'index.html');
  if (existsSync(index) && statSync(index).mtimeMs > newest(CONSOLE_SRC)) return;
  const { build } = await import('vite');
  await build({ configFile: join(CONSOLE_SRC, 'vite.config.mts'), logLevel: 'error' });
}

/** A Meta text webhook from Sheena Nelson (fixture meta/inbound/text.json) with its own id, text and time. */
function metaText(id: string, text: string): unknown {
  const body = structuredClone(loadFixture<any>('meta/inbound/text.json'));
  const m = body.entry[0].changes[0].value.messages[0];
  m.id = id;
  m.text.body = text;
  m.timestamp = String(Math.floor(Date.now() / 1000));
  return body;
}

/**
 * The web console (issue 12), in Debian's Chromium driven by playwright-core, against the real AppModule on
 * PostgreSQL (or PGlite) and the real Baileys client talking to the fake WhatsApp Web server. Pages are loaded from
 * `http://wahub.test:<port>` (mapped to 127.0.0.1 by Chromium's resolver): plain HTTP from a host that is not
 * localhost, where helmet's old `upgrade-insecure-requests` blanked /docs. Screenshots: test-artifacts/console/.
 */
describe('web console (e2e, Chromium)', () => {
  let t: TestApp;
  let wa: FakeWhatsApp;
  let browser: Browser;
  let base: string;
  let alice: FakePeer;
  let sessionId: string;
  let desktop: BrowserContext;
  let page: Page;
  /** Content-Security-Policy violations Chromium reports on any page: there must be none. */
  const violations: string[] = [];
  const http = () => request(t.app.getHttpServer());

  const watch = (p: Page) => {
    p.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(`${p.url()}: ${m.text()}`);
    });
    p.on('pageerror', (e) => violations.push(`${p.url()}: page error ${e.message}`));
  };
  const shot = (p: Page, name: string, fullPage = true) => p.screenshot({ path: join(SHOTS, `${name}.png`), fullPage });
  /** Decodes the QR image the page shows (a screenshot of the element, as a phone camera would see it). */
  const onScreenQr = async (): Promise<string | undefined> => {
    const image = PNG.sync.read(await page.getByTestId('qr').screenshot({ timeout: 2000 }));
    return jsQR(new Uint8ClampedArray(image.data), image.width, image.height)?.data;
  };
  const signIn = async (p: Page, key = TEST_ENV.ADMIN_API_KEY) => {
    await p.getByLabel('API key').fill(key);
    await p.getByRole('button', { name: 'Sign in' }).click();
  };

  beforeAll(async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(
        `Chromium is not installed at ${CHROMIUM}: the console's browser test needs it. Install it with ` +
          '`apt-get install -y chromium` (.ci/run does) or point CHROMIUM_PATH at a Chromium binary.',
      );
    mkdirSync(SHOTS, { recursive: true });
    await buildConsole();
    wa = await startFakeWhatsApp();
    t = await createTestApp({ BAILEYS_WA_WS_URL: wa.url });
    await t.reset();
    await t.app.listen(0, '127.0.0.1');
    base = `http://${HOST}:${(t.app.getHttpServer().address() as AddressInfo).port}`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      // playwright-core gives each launch a fresh temporary profile (--user-data-dir).
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--disable-quic',
        '--no-first-run',
        '--no-proxy-server',
        `--host-resolver-rules=MAP ${HOST} 127.0.0.1`,
      ],
    });
    desktop = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    desktop.setDefaultTimeout(15_000);
    page = await desktop.newPage();
    watch(page);
  }, 90_000);

  // A failed step leaves a picture of what the page showed.
  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail' && page && !page.isClosed())
      await shot(page, `failed-${ctx.task.name.slice(0, 40).replace(/\W+/g, '-')}`).catch(() => undefined);
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await wa?.close();
  });

  describe('over plain HTTP', () => {
    it('GET / answers the built console under the strict CSP: no inline script or style, nothing upgraded', async () => {
      const res = await http().get('/').set('Host', `${HOST}:80`);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      const csp = res.headers['content-security-policy'] as string;
      const directives = Object.fromEntries(
        csp.split(';').map((d) => {
          const [name, ...values] = d.trim().split(/\s+/);
          return [name, values.join(' ')];
        }),
      );
      expect(directives).toMatchObject({
        'default-src': "'self'",
        'script-src': "'self'",
        'script-src-attr': "'none'",
        'style-src': "'self'",
        'img-src': "'self' data: blob:",
        'connect-src': "'self'",
        'frame-ancestors': "'none'",
        'object-src': "'none'",
      });
      expect(csp).not.toMatch(/upgrade-insecure-requests|unsafe-inline|unsafe-eval/);
      expect(res.headers['x-frame-options']).toBe('DENY');
      const html = res.text;
      const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
      expect(scripts.length).toBeGreaterThan(0);
      for (const [, attrs, body] of scripts) {
        expect(attrs).toMatch(/\bsrc="\/assets\/[\w.-]+\.js"/);
        expect(body.trim()).toBe('');
      }
      expect(html).not.toMatch(/<style\b|\sstyle=|\son[a-z]+=/i);
      expect(res.headers['cache-control']).toBe('no-cache');
    });

    it('serves the client-side routes and hashed assets (immutable, gzip, 304 on the ETag); unknown paths stay 404 JSON', async () => {
      const index = await http().get('/');
      for (const path of ['/inbox', '/stats', '/developer']) {
        const res = await http().get(path);
        expect(res.status, path).toBe(200);
        expect(res.text).toBe(index.text);
      }
      const js = index.text.match(/src="(\/assets\/[\w.-]+\.js)"/)![1];
      const asset = await http().get(js).set('Accept-Encoding', 'gzip');
      expect(asset.status).toBe(200);
      expect(asset.headers['content-type']).toMatch(/^text\/javascript/);
      expect(asset.headers['content-encoding']).toBe('gzip');
      expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      const again = await http().get(js).set('If-None-Match', asset.headers.etag);
      expect(again.status).toBe(304);
      expect((await http().get('/favicon.svg')).headers['content-type']).toBe('image/svg+xml');

      for (const path of ['/v1/nope', '/v1', '/nope', '/inbox/x', '/assets/nope.js', '/assets/..%2fpackage.json', '/index.html']) {
        const res = await http().get(path).set(ADMIN);
        expect(res.status, path).toBe(404);
        expect(res.headers['content-type'], path).toMatch(/^application\/json/);
        expect(res.body.error.code, path).toBe('NOT_FOUND');
      }
      // The console is beside the API, not in front of it.
      expect((await http().get('/health')).status).toBe(200);
      expect((await http().get('/v1/sessions')).status).toBe(401);
      expect((await http().get('/api/whatsapp/status').set(ADMIN)).headers['content-type']).toMatch(/^application\/json/);
    });

    it('/docs keeps its own CSP (inline styles for the Swagger UI) without upgrade-insecure-requests; API answers get the strict one', async () => {
      const docs = await http().get('/docs/').set('Host', `${HOST}:80`);
      expect(docs.status).toBe(200);
      const csp = docs.headers['content-security-policy'] as string;
      expect(csp).not.toMatch(/upgrade-insecure-requests/);
      expect(csp).toMatch(/style-src 'self' 'unsafe-inline'/);
      expect(csp).toMatch(/img-src 'self' data: blob:/);
      expect(csp).toMatch(/script-src 'self';/);
      const api = await http().get('/v1/sessions').set(ADMIN);
      expect(api.headers['content-security-policy']).toMatch(/script-src 'self';/);
      expect(api.headers['content-security-policy']).not.toMatch(/upgrade-insecure-requests|unsafe-inline/);
    });
  });

  describe('in Chromium', () => {
    it('signs in with an API key kept in sessionStorage, never in the URL; a wrong key is refused', async () => {
      const sockets: string[] = [];
      page.on('websocket', (ws) => sockets.push(ws.url()));
      await page.goto(`${base}/`);
      await page.getByRole('heading', { name: 'Sign in' }).waitFor();
      await shot(page, '01-sign-in');
      await signIn(page, 'not-a-key-0123456789');
      await page.getByRole('alert').getByText('unknown, revoked or expired').waitFor();
      await signIn(page);
      await page.getByRole('heading', { name: 'Sessions' }).waitFor();
      await page.getByTestId('live-state').getByText('Live').waitFor();
      // Socket.IO upgrades to a WebSocket on the page's own origin: connect-src 'self' allows ws: there.
      await until('the WebSocket upgrade', async () => (sockets.some((u) => u.startsWith(`ws://${HOST}:`)) ? true : undefined));
      expect(await page.evaluate("sessionStorage.getItem('wa-hub.apiKey')")).toBe(TEST_ENV.ADMIN_API_KEY);
      expect(await page.evaluate('localStorage.length + document.cookie.length')).toBe(0);
      expect(page.url()).toBe(`${base}/`);
    });

    it('creates a Baileys session; the QR on screen is scanned by the phone and the light turns to connected', async () => {
      await page.getByLabel('New Baileys session').fill('shop');
      await page.getByRole('button', { name: 'Create' }).click();
      const qr = page.getByTestId('qr');
      await qr.waitFor();
      await page.getByTestId('session-status').getByText('Waiting for QR').waitFor();
      await shot(page, '02-session-qr');
      sessionId = (await http().get('/v1/sessions?provider=baileys').set(ADMIN)).body.data[0].id;
      const api = (await http().get(`/v1/sessions/${sessionId}`).set(ADMIN)).body;
      // What the screen shows is a QR of the session's live login code.
      const first = await onScreenQr();
      expect(first).toBe(api.qr);
      // Stop and Start: the light goes out, then a new login code is drawn in place of the old one.
      await page.getByRole('button', { name: 'Stop', exact: true }).click();
      await page.getByTestId('session-status').getByText('Disconnected').waitFor();
      expect(await qr.count()).toBe(0);
      await page.getByRole('button', { name: 'Start', exact: true }).click();
      await page.getByTestId('session-status').getByText('Waiting for QR').waitFor();
      const second = await until('a new QR on screen', async () => {
        const code = await onScreenQr().catch(() => undefined);
        return code && code !== first ? code : undefined;
      });
      expect(second).toBe((await http().get(`/v1/sessions/${sessionId}`).set(ADMIN)).body.qr);
      await wa.phone.scanQr(second);
      // Pushed by Socket.IO: no reload, no polling.
      await page.getByTestId('session-status').getByText('Connected').waitFor();
      await page.locator('[data-session="shop"][data-status="connected"]').waitFor();
      expect(await qr.count()).toBe(0);
      await page.getByText(`+${wa.account.pn}`).first().waitFor();
      await shot(page, '03-session-connected');
    });

    it('new inbound messages (a Baileys contact, a signed Meta webhook) appear in the live monitor without a reload', async () => {
      await page.evaluate('window.__sameDocument = true');
      alice = wa.addPeer({ pn: '16505552222', lid: '200000000000002', name: 'Alice' });
      await alice.sendText('hello from alice', { id: 'CONSOLE-IN-1' });
      const monitor = page.getByTestId('monitor');
      await monitor.getByText('hello from alice').waitFor();
      await monitor.getByText('Alice').first().waitFor();
      const res = await postMeta(t.app, metaText('wamid.console-1', 'Does it come in teal?'));
      expect(res.status).toBe(200);
      await monitor.getByText('Does it come in teal?').waitFor();
      await monitor.getByText('Sheena Nelson').waitFor();
      expect(await page.evaluate('window.__sameDocument')).toBe(true);
      await shot(page, '04-monitor');
    });

    it('sends a test message through the session: the contact receives it and the monitor shows it', async () => {
      const form = page.getByRole('form', { name: 'Send a test message' });
      await form.getByLabel('Session').selectOption(sessionId);
      await form.getByLabel('To').fill('+1 650 555 2222');
      await form.getByLabel('Message').fill('hi alice, from the console');
      await form.getByRole('button', { name: 'Send' }).click();
      await page
        .getByRole('status')
        .getByText(/Queued message \d+ to 16505552222/)
        .waitFor();
      const copy = await alice.nextMessage();
      expect(copy.message.conversation ?? copy.message.extendedTextMessage?.text).toBe('hi alice, from the console');
      await page.getByTestId('monitor').getByText('hi alice, from the console').waitFor();
      await shot(page, '05-sent');
    });

    it('inbox: search finds a message, its detail shows the raw provider payload; unread counts and mark read', async () => {
      await page.getByRole('navigation').getByRole('link', { name: 'Inbox' }).click();
      expect(page.url()).toBe(`${base}/inbox`);
      const conversations = page.getByTestId('conversations');
      const sheena = conversations.getByRole('button', { name: /Sheena Nelson/ });
      await sheena.getByLabel('1 unread').waitFor();
      await page.getByRole('searchbox').fill('TEAL');
      await page.getByRole('search').getByRole('button', { name: 'Search' }).click();
      await page.getByTestId('result-count').getByText('1 found').waitFor();
      await page.getByTestId('results').getByText('Does it come in teal?').click();
      await page.getByTestId('raw').getByText('"wamid.console-1"').waitFor();
      await shot(page, '06-search-detail');
      // Filters: the same search limited to another type finds nothing.
      await page.getByLabel('Type').selectOption('image');
      await page.getByRole('search').getByRole('button', { name: 'Search' }).click();
      await page.getByText('No message matches.').waitFor();

      await page.getByRole('button', { name: 'Clear' }).click();
      await sheena.click();
      await page.getByTestId('thread').getByText('Does it come in teal?').waitFor();
      await page.getByRole('button', { name: 'Mark read' }).click();
      await page.getByText('1 marked read').waitFor();
      await sheena.getByText('Does it come in teal?').waitFor();
      // The list reloads after the answer: wait for the badge to go (it fails the test if it never does).
      await sheena.getByLabel(/unread/).waitFor({ state: 'detached' });
      expect(await sheena.getByLabel(/unread/).count()).toBe(0);
      const [conv] = await t.db.query(`SELECT unread_count FROM conversations WHERE chat_id = '16505551234'`);
      expect(Number(conv.unread_count)).toBe(0);
      // A message arriving now lands in the open inbox too.
      await postMeta(t.app, metaText('wamid.console-2', 'and in navy?'));
      await sheena.getByLabel('1 unread').waitFor();
      await page.getByTestId('thread').getByText('and in navy?').waitFor();
      await shot(page, '07-thread');
    });

    it("stats: today's and the window's totals and a per-day chart", async () => {
      await page.getByRole('navigation').getByRole('link', { name: 'Stats' }).click();
      const today = page.getByTestId('totals-today');
      await today.getByText('4', { exact: true }).waitFor();
      await today.getByText('3 in · 1 out', { exact: false }).waitFor();
      await page.getByTestId('totals-window').getByText('4', { exact: true }).waitFor();
      expect(await page.getByTestId('day-chart').locator('rect.bar-in').count()).toBeGreaterThanOrEqual(7);
      await shot(page, '08-stats');
      await page.getByRole('navigation').getByRole('link', { name: 'API' }).click();
      await page.getByTestId('base-url').getByText(base).waitFor();
      await shot(page, '09-api-info');
    });

    it('/docs renders the Swagger UI with its operations from a non-localhost host over plain HTTP', async () => {
      const docs = await desktop.newPage();
      watch(docs);
      await docs.goto(`${base}/docs`);
      await docs.locator('.opblock').first().waitFor();
      expect(await docs.locator('.opblock').count()).toBeGreaterThan(20);
      await docs.getByText('/v1/messages').first().waitFor();
      await shot(docs, '10-docs', false);
      await docs.close();
    });

    it('works at a phone width (390×844): nothing overflows sideways, the nav reaches every page', async () => {
      const phone = await browser.newContext({
        viewport: { width: 390, height: 844 },
        isMobile: true,
        hasTouch: true,
        deviceScaleFactor: 2,
      });
      phone.setDefaultTimeout(15_000);
      const p = await phone.newPage();
      watch(p);
      await p.goto(`${base}/`);
      await signIn(p);
      await p.locator('[data-session="shop"][data-status="connected"]').waitFor();
      const overflow = () => p.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth');
      expect(await overflow()).toBeLessThanOrEqual(0);
      await shot(p, '11-phone-overview');
      const nav = p.getByRole('navigation');
      for (const label of ['Inbox', 'Stats', 'API']) expect(await nav.getByRole('link', { name: label }).isVisible()).toBe(true);
      await nav.getByRole('link', { name: 'Inbox' }).click();
      // The filters beyond the search box fold away on a phone, one tap away.
      await p.getByRole('searchbox').waitFor();
      expect(await p.getByLabel('Type').isVisible()).toBe(false);
      await p.getByRole('button', { name: 'Filters' }).click();
      await p.getByLabel('Type').waitFor();
      await p
        .getByTestId('conversations')
        .getByRole('button', { name: /Sheena Nelson/ })
        .click();
      // One pane at a time on a phone: the thread replaces the list, with a way back.
      await p.getByTestId('thread').getByText('and in navy?').waitFor();
      expect(await p.getByTestId('conversations').isVisible()).toBe(false);
      expect(await overflow()).toBeLessThanOrEqual(0);
      await shot(p, '12-phone-thread');
      await p.getByRole('button', { name: 'Back to the list' }).click();
      await p.getByTestId('conversations').waitFor();
      await nav.getByRole('link', { name: 'Stats' }).click();
      await p.getByTestId('totals-today').waitFor();
      expect(await overflow()).toBeLessThanOrEqual(0);
      await shot(p, '13-phone-stats');
      await phone.close();
    });

    it('Chromium enforces the CSP: an injected inline script does not run, and the watcher sees the report', async () => {
      const before = violations.length;
      const ran = await page.evaluate(
        "(() => { const s = document.createElement('script'); s.textContent = 'window.__inlineRan = true'; document.body.appendChild(s); return window.__inlineRan === true; })()",
      );
      expect(ran).toBe(false);
      await until('the CSP violation report', async () => (violations.length > before ? true : undefined));
      expect(violations.slice(before).join('\n')).toMatch(/script-src 'self'/);
      violations.splice(before);
    });

    it('no page reported a Content-Security-Policy violation or a script error', async () => {
      expect(violations).toEqual([]);
    });
  });
});
