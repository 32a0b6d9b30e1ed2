import type { INestApplication } from '@nestjs/common';
import { AutoRepliesService } from '../../src/auto-replies/auto-replies.service';
import { OutboxWorker } from '../../src/sending/outbox.worker';
import { waitFor } from './fake-provider';

/**
 * The background work of a test app a test can wait for, instead of sleeping before it asserts that nothing
 * (more) was sent: auto-replies (run after a webhook's answer) and the outbox worker's drains. `idle()` resolves
 * once every auto-reply started so far has finished and the worker has, after the call, claimed again and found
 * nothing due with no call in flight: whatever the test did before could have sent has had its chance.
 * Watches the app's own instances (wrapping their methods); nothing in the app changes.
 */
export function watchBackground(app: INestApplication): { idle(timeoutMs?: number): Promise<void> } {
  const worker = app.get(OutboxWorker, { strict: false }) as unknown as {
    claim(limit: number): Promise<unknown[]>;
    inFlight: Set<Promise<void>>;
    kick(): void;
  };
  const replies = app.get(AutoRepliesService, { strict: false });
  // Private members of the app: fail loudly, not wait wrongly, when a refactor renames them.
  if (typeof worker.claim !== 'function' || !(worker.inFlight instanceof Set) || typeof replies.answer !== 'function') {
    throw new Error('watchBackground: OutboxWorker.claim/inFlight or AutoRepliesService.answer changed; update test/helpers/background.ts');
  }
  let claimsStarted = 0;
  /** Sequence number (by start) of the latest claim that came back empty. */
  let lastEmptyClaim = 0;
  const claim = worker.claim.bind(worker);
  worker.claim = async (limit: number) => {
    const seq = ++claimsStarted;
    const jobs = await claim(limit);
    if (jobs.length === 0) lastEmptyClaim = Math.max(lastEmptyClaim, seq);
    return jobs;
  };
  const answering = new Set<Promise<void>>();
  const answer = replies.answer.bind(replies);
  replies.answer = (ids: string[]) => {
    const p = answer(ids).finally(() => answering.delete(p));
    answering.add(p);
    return p;
  };
  return {
    async idle(timeoutMs = 8000) {
      const until = Date.now() + timeoutMs;
      while (answering.size) await Promise.allSettled([...answering]);
      const mark = claimsStarted;
      worker.kick(); // no need to wait for the next poll
      await waitFor(
        async () => answering.size === 0 && lastEmptyClaim > mark && worker.inFlight.size === 0,
        Math.max(0, until - Date.now()),
      );
    },
  };
}
