/**
 * Rate limiters for the work queue, after client-go's `workqueue` package: how long a key waits
 * before its next attempt.
 */
import { systemClock, type Clock } from './clock.js';

export interface RateLimiter {
  /** Milliseconds to wait before `key` is processed again; records an attempt. */
  when(key: string): number;
  /** Forgets `key`'s failures (it succeeded, or it is gone). */
  forget(key: string): void;
  /** How many times `key` has been limited since it was last forgotten. */
  retries(key: string): number;
}

/** Per-key exponential backoff: `baseMs * 2^failures`, capped at `maxMs` (client-go's ItemExponentialFailureRateLimiter). */
export class ExponentialFailureRateLimiter implements RateLimiter {
  private readonly failures = new Map<string, number>();

  constructor(
    private readonly baseMs = 5,
    private readonly maxMs = 1_000_000,
  ) {}

  when(key: string): number {
    const exp = this.failures.get(key) ?? 0;
    this.failures.set(key, exp + 1);
    const backoff = this.baseMs * 2 ** exp; // Infinity once exp is large: the cap still applies
    return Math.min(backoff, this.maxMs);
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  retries(key: string): number {
    return this.failures.get(key) ?? 0;
  }
}

/**
 * One token bucket for all keys: `burst` attempts at once, then `qps` per second (client-go's
 * BucketRateLimiter over golang.org/x/time/rate). Each call reserves a token, so the tokens may go
 * negative and successive callers are spaced `1000 / qps` ms apart.
 */
export class TokenBucketRateLimiter implements RateLimiter {
  private tokens: number;
  private last: number;

  constructor(
    private readonly qps = 10,
    private readonly burst = 100,
    private readonly clock: Clock = systemClock,
  ) {
    if (!(qps > 0) || !(burst >= 1)) throw new RangeError(`token bucket needs qps > 0 and burst >= 1`);
    this.tokens = burst;
    this.last = clock.now();
  }

  when(_key: string): number {
    const now = this.clock.now();
    const elapsed = Math.max(0, now - this.last);
    this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.qps) / 1000) - 1;
    this.last = Math.max(this.last, now);
    return this.tokens >= 0 ? 0 : (-this.tokens * 1000) / this.qps;
  }

  forget(_key: string): void {}

  retries(_key: string): number {
    return 0;
  }
}

/** The longest wait any of the limiters asks for (every limiter records the attempt). */
export class MaxOfRateLimiter implements RateLimiter {
  private readonly limiters: RateLimiter[];

  constructor(...limiters: RateLimiter[]) {
    if (limiters.length === 0) throw new RangeError('MaxOfRateLimiter needs at least one limiter');
    this.limiters = limiters;
  }

  when(key: string): number {
    return Math.max(...this.limiters.map((l) => l.when(key)));
  }

  forget(key: string): void {
    for (const l of this.limiters) l.forget(key);
  }

  retries(key: string): number {
    return Math.max(...this.limiters.map((l) => l.retries(key)));
  }
}

/** client-go's DefaultControllerRateLimiter: per key 5 ms → 1000 s, overall 10 qps with a burst of 100. */
export function defaultControllerRateLimiter(clock: Clock = systemClock): RateLimiter {
  return new MaxOfRateLimiter(
    new ExponentialFailureRateLimiter(5, 1_000_000),
    new TokenBucketRateLimiter(10, 100, clock),
  );
}
