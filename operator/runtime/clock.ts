/**
 * Time, behind an interface. Everything in the runtime that waits or measures (the work queue's
 * delays, rate limiters, reconcile timeouts, leader election) takes a `Clock`, so tests drive time
 * with `FakeClock` instead of sleeping.
 */

export interface Clock {
  /** Milliseconds since the epoch (wall clock). */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Node clamps longer delays to 1 ms (with a warning); callers re-check the time when a timer fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, Math.min(Math.max(0, ms), MAX_TIMER_MS)),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

interface FakeTimer {
  id: number;
  at: number;
  fn: () => void;
}

/**
 * A clock that only moves when told to. Timers fire in order of due time (ties in the order they
 * were set), each with `now()` equal to its due time.
 */
export class FakeClock implements Clock {
  private t: number;
  private nextId = 1;
  private readonly timers = new Map<number, FakeTimer>();

  constructor(start = Date.UTC(2025, 0, 1)) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.set(id, { id, at: this.t + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    if (typeof handle === 'number') this.timers.delete(handle);
  }

  /** Number of timers set and not yet fired or cleared. */
  pending(): number {
    return this.timers.size;
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way (including ones they set). */
  advance(ms: number): void {
    const target = this.t + ms;
    for (let timer = this.due(target); timer; timer = this.due(target)) this.fire(timer);
    this.t = target;
  }

  /**
   * Like `advance`, but lets promise callbacks run after each timer, so work that a timer starts
   * asynchronously (a store call, then a new timer) happens at the right fake time.
   */
  async advanceAsync(ms: number): Promise<void> {
    const target = this.t + ms;
    await settle();
    for (let timer = this.due(target); timer; timer = this.due(target)) {
      this.fire(timer);
      await settle();
    }
    this.t = target;
    await settle();
  }

  /**
   * A view of this clock whose wall time is `offsetMs` away (a machine with a skewed clock). Its
   * timers are this clock's timers, so both move together.
   */
  withOffset(offsetMs: number): Clock {
    return {
      now: () => this.now() + offsetMs,
      setTimeout: (fn, ms) => this.setTimeout(fn, ms),
      clearTimeout: (handle) => this.clearTimeout(handle),
    };
  }

  private due(limit: number): FakeTimer | undefined {
    let first: FakeTimer | undefined;
    for (const timer of this.timers.values()) {
      if (timer.at <= limit && (!first || timer.at < first.at)) first = timer; // Map order breaks ties
    }
    return first;
  }

  private fire(timer: FakeTimer): void {
    this.timers.delete(timer.id);
    this.t = Math.max(this.t, timer.at);
    timer.fn();
  }
}

/**
 * Resolves once every promise callback queued so far (and every one those queue) has run: the
 * microtask queue always drains before the next macrotask. For tests that drive async code with a
 * `FakeClock`; it is not a sleep and does not depend on real time.
 */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Resolves after `ms` on `clock`, or as soon as `signal` aborts (never rejects). */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => {
      clock.clearTimeout(handle);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const handle = clock.setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
