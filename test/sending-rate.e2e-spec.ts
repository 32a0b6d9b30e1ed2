import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeProvider, waitFor } from './helpers/fake-provider';
import { loadFixture } from './helpers/fixtures';
import { postMeta } from './helpers/http';
import { createTestApp, TEST_ENV, TestApp } from './helpers/test-app';

/** Per-session pacing and the per-recipient gap, measured at the fake provider's side. */
describe('send rate limits (e2e)', () => {
  const meta = new FakeProvider();
  let t: TestApp;
  let session: string;
  beforeAll(async () => {
    const url = await meta.start();
    let n = 0;
    meta.reply = () => {
      const body = loadFixture<any>('meta/outbound/responses/send_success.json');
      body.messages[0].id = `wamid.rate.${++n}`;
      return { status: 200, body };
    };
    t = await createTestApp({
      META_ACCESS_TOKEN: 't',
      META_GRAPH_BASE_URL: url,
      SEND_RATE_PER_SECOND: '20',
      SEND_MIN_GAP_PER_RECIPIENT_MS: '400',
    });
    await t.reset();
    await postMeta(t.app, loadFixture('meta/inbound/text.json'));
    [{ id: session }] = await t.db.query(`SELECT id FROM sessions`);
  });
  afterAll(async () => {
    await t?.close();
    await meta.stop();
  });

  // Real time: only what holds whatever the machine's load. The exact schedule (slot spacing, late timers, the
  // recipient gap) is asserted on a fake clock in src/sending/send-pacer.spec.ts; here it is checked that the
  // configured limits reach the pacer. Arrival times at the fake provider differ from wa-hub's start times by the
  // HTTP latency, which varies: SLACK_MS allows for that, far below what an unpaced run would show (all 30 within
  // ~100 ms; the same recipient 50 ms apart at 20/s).
  const SLACK_MS = 250;

  it('30 queued messages at 20/s: none rejected, each sent once, any 21 calls span a second; one recipient kept apart', async () => {
    const post = (to: string, i: number) =>
      request(t.app.getHttpServer())
        .post('/v1/messages')
        .set('X-API-Key', TEST_ENV.ADMIN_API_KEY)
        .send({ sessionId: session, to, type: 'text', text: { body: `m${i}` } });
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => post(String(16505550100 + i), i)));
    expect(answers.map((a) => a.status)).toEqual(Array(30).fill(202));
    await waitFor(async () => meta.requests.length === 30, 20_000);
    expect(meta.requests.map((r) => r.body.text.body).sort()).toEqual(Array.from({ length: 30 }, (_, i) => `m${i}`).sort());
    const at = meta.requests.map((r) => r.at).sort((a, b) => a - b);
    // The hard cap: at most 20 starts in any 1,000 ms, so calls i and i + 20 start at least 1 s apart.
    for (let i = 0; i + 20 < at.length; i++) expect(at[i + 20] - at[i]).toBeGreaterThanOrEqual(1000 - SLACK_MS);

    meta.clear();
    await Promise.all([0, 1, 2].map((i) => post('16505559999', 100 + i)));
    await waitFor(async () => meta.requests.length === 3, 20_000);
    const same = meta.requests.map((r) => r.at).sort((a, b) => a - b);
    // wa-hub starts them >= 400 ms apart (SEND_MIN_GAP_PER_RECIPIENT_MS).
    expect(same[1] - same[0]).toBeGreaterThanOrEqual(400 - SLACK_MS);
    expect(same[2] - same[1]).toBeGreaterThanOrEqual(400 - SLACK_MS);
  });
});
