import { describe, expect, it } from 'vitest';
import { YieldingCap } from './ingest-pressure';

describe('YieldingCap (deliveries giving way to the ingest)', () => {
  const busy = { elu: 0.9, acknowledged: 250 };

  it('halves per busy sample down to the floor, and doubles back per other sample up to the ceiling', () => {
    const cap = new YieldingCap(2, 128, 0.8, 1000);
    expect(cap.value).toBe(128);
    const seen: number[] = [];
    for (let i = 0; i < 8; i++) {
      expect(cap.update(busy)).toBe(false);
      seen.push(cap.value);
    }
    expect(seen).toEqual([64, 32, 16, 8, 4, 2, 2, 2]);
    const back: number[] = [];
    for (let i = 0; i < 7; i++) back.push(cap.update({ elu: 0.9, acknowledged: 0 }) ? cap.value : -1);
    expect(back).toEqual([4, 8, 16, 32, 64, 128, -1]);
  });

  it('is busy only with webhooks acknowledged at the minimum rate and the event loop at or above the threshold', () => {
    // 1,000 webhooks/s: 250 per 250 ms sample.
    const cap = new YieldingCap(1, 16, 0.8, 1000);
    cap.update({ elu: 0.79, acknowledged: 1000 });
    expect(cap.value).toBe(16);
    cap.update({ elu: 1, acknowledged: 0 });
    expect(cap.value).toBe(16);
    cap.update({ elu: 1, acknowledged: 249 });
    expect(cap.value).toBe(16);
    cap.update({ elu: 0.8, acknowledged: 250 });
    expect(cap.value).toBe(8);
  });

  it('threshold 1 never yields', () => {
    const cap = new YieldingCap(1, 16, 1, 1000);
    for (let i = 0; i < 5; i++) cap.update({ elu: 1, acknowledged: 1000 });
    expect(cap.value).toBe(16);
  });
});
