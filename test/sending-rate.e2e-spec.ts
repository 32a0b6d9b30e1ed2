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
    t = await createTestApp({ META_ACCESS_TOKEN: 't', META_GRAPH_BASE_URL: url, SEND_RATE_PER_SECOND: '20', SEND_MIN_GAP_PER_RECIPIENT_MS: '400' });
    await t.reset();
    await postMeta(t.app, loadFixture('meta/inbound/text.json'));
    [{ id: session }] = await t.db.query(`SELECT id FROM sessions`);
  });
  afterAll(async () => {
    await t?.close();
    await meta.stop();
  });

  it('30 queued messages at 20/s: none rejected, never more than 20 in a second; one recipient at least 400 ms apart', async () => {
    const post = (to: string, i: number) => request(t.app.getHttpServer()).post('/v1/messages').set('X-API-Key', TEST_ENV.ADMIN_API_KEY).send({ sessionId: session, to, type: 'text', text: { body: `m${i}` } });
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => post(String(16505550100 + i), i)));
    expect(answers.map((a) => a.status)).toEqual(Array(30).fill(202));
    await waitFor(async () => meta.requests.length === 30, 10_000);
    const at = meta.requests.map((r) => r.at).sort((a, b) => a - b);
    // 29 intervals of 50 ms; the first call may arrive late by a connection set-up (unpaced, all 30 take ~100 ms).
    expect(at[29] - at[0]).toBeGreaterThanOrEqual(29 * 50 - 150);
    // No 1-second window holds more than the rate (one more for a window's two edges).
    const busiest = Math.max(...at.map((start) => at.filter((v) => v >= start && v < start + 1000).length));
    expect(busiest).toBeLessThanOrEqual(21);

    meta.clear();
    await Promise.all([0, 1, 2].map((i) => post('16505559999', 100 + i)));
    await waitFor(async () => meta.requests.length === 3, 10_000);
    const same = meta.requests.map((r) => r.at).sort((a, b) => a - b);
    // wa-hub starts them >= 400 ms apart; arrival here varies by a connection set-up (tens of ms), not by 350.
    expect(same[1] - same[0]).toBeGreaterThanOrEqual(370);
    expect(same[2] - same[1]).toBeGreaterThanOrEqual(370);
  });
});
