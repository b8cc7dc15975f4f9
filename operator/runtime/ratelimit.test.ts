import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from './clock.js';
import {
  defaultControllerRateLimiter,
  ExponentialFailureRateLimiter,
  MaxOfRateLimiter,
  TokenBucketRateLimiter,
} from './ratelimit.js';

describe('ExponentialFailureRateLimiter', () => {
  it('doubles from 5 ms per failure of a key and caps at 1000 s', () => {
    const limiter = new ExponentialFailureRateLimiter();
    const delays = Array.from({ length: 22 }, () => limiter.when('a'));
    assert.deepEqual(delays.slice(0, 6), [5, 10, 20, 40, 80, 160]);
    assert.equal(delays[17], 5 * 2 ** 17); // 655.36 s, still under the cap
    assert.deepEqual(delays.slice(18), [1_000_000, 1_000_000, 1_000_000, 1_000_000]);
    assert.equal(limiter.retries('a'), 22);
  });

  it('stays at the cap after very many failures (no overflow to NaN or 0)', () => {
    const limiter = new ExponentialFailureRateLimiter(5, 1_000_000);
    for (let i = 0; i < 2000; i++) limiter.when('a');
    assert.equal(limiter.when('a'), 1_000_000);
  });

  it('keeps keys apart, and forget resets one key', () => {
    const limiter = new ExponentialFailureRateLimiter(5, 1_000_000);
    limiter.when('a');
    limiter.when('a');
    assert.equal(limiter.when('b'), 5);
    limiter.forget('a');
    assert.equal(limiter.retries('a'), 0);
    assert.equal(limiter.when('a'), 5);
    assert.equal(limiter.when('b'), 10);
  });
});

describe('TokenBucketRateLimiter', () => {
  it('lets a burst through at once, then spaces callers 1000/qps ms apart', () => {
    const clock = new FakeClock(0);
    const bucket = new TokenBucketRateLimiter(10, 100, clock);
    const delays = Array.from({ length: 103 }, (_, i) => bucket.when(`k${i}`));
    assert.ok(delays.slice(0, 100).every((d) => d === 0));
    assert.deepEqual(delays.slice(100), [100, 200, 300]);
  });

  it('refills at qps over time, never beyond the burst', () => {
    const clock = new FakeClock(0);
    const bucket = new TokenBucketRateLimiter(10, 5, clock);
    for (let i = 0; i < 5; i++) bucket.when('k');
    clock.advance(250); // 2.5 tokens
    assert.deepEqual([bucket.when('k'), bucket.when('k'), bucket.when('k')], [0, 0, 50]);
    clock.advance(3_600_000);
    const delays = Array.from({ length: 6 }, () => bucket.when('k'));
    assert.deepEqual(delays, [0, 0, 0, 0, 0, 100]);
  });

  it('does not count retries and has nothing to forget', () => {
    const bucket = new TokenBucketRateLimiter(10, 100, new FakeClock(0));
    bucket.when('a');
    bucket.forget('a');
    assert.equal(bucket.retries('a'), 0);
  });
});

describe('MaxOfRateLimiter', () => {
  it('waits the longest of its limiters, records the attempt in all of them and forgets in all', () => {
    const a = new ExponentialFailureRateLimiter(5, 1000);
    const b = new ExponentialFailureRateLimiter(1, 1000);
    const max = new MaxOfRateLimiter(a, b);
    assert.equal(max.when('k'), 5);
    assert.equal(max.when('k'), 10);
    assert.equal(b.retries('k'), 2);
    max.forget('k');
    assert.equal(a.retries('k'), 0);
    assert.equal(b.retries('k'), 0);
  });
});

describe('defaultControllerRateLimiter', () => {
  it('is per-key backoff from 5 ms under a 10 qps bucket with a burst of 100', () => {
    const clock = new FakeClock(0);
    const limiter = defaultControllerRateLimiter(clock);
    const first = Array.from({ length: 100 }, (_, i) => limiter.when(`k${i}`));
    assert.ok(first.every((d) => d === 5));
    assert.equal(limiter.when('k100'), 100); // bucket empty: 100 ms beats the 5 ms backoff
    assert.equal(limiter.when('k0'), 200); // k0's second failure wants 10 ms; the bucket says 200
    limiter.forget('k0');
    assert.equal(limiter.retries('k0'), 0);
  });
});
