/**
 * Time as the code that paces or schedules work sees it, so that tests can drive it: production uses
 * {@link systemClock}, unit tests a fake clock they advance by hand. Injected with the {@link CLOCK} token
 * (provided globally by ClockModule).
 */
export interface Clock {
  /** Current time, ms since the Unix epoch (as `Date.now()`). */
  now(): number;
  /** Resolves once `ms` milliseconds have passed on this clock (at once for `ms <= 0`); never rejects. */
  sleep(ms: number): Promise<void>;
}

/** DI token of the application's {@link Clock}: `@Inject(CLOCK) clock: Clock`. */
export const CLOCK = Symbol('CLOCK');

/** Real time: `Date.now()` and `setTimeout`. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms))),
};
