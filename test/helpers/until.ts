/**
 * Polls `probe` every 50 ms until it returns a value other than undefined, for conditions with no event to wait on
 * (a row written by a background connection).
 * @throws Error naming `what` after `timeoutMs`.
 */
export async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Waits until at least `needMs` are left in the current fixed window of `windowMs` (windows start at multiples of
 * `windowMs` since the epoch, as the rate-limit and failed-authentication counters' do: src/auth/shared-counters.ts),
 * so that a test counting requests against a per-minute limit cannot straddle two windows: the count would start
 * again in the second one, and the request that should be refused would pass.
 */
export function windowLeft(needMs: number, windowMs = 60_000): Promise<true> {
  return until(
    `${needMs} ms left in the current ${windowMs} ms window`,
    async () => (windowMs - (Date.now() % windowMs) >= needMs ? true : undefined),
    needMs + 5_000,
  );
}
