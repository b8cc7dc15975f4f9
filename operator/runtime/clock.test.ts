import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock, settle, sleep } from './clock.js';

describe('FakeClock', () => {
  it('fires due timers in order of due time, ties in the order they were set, each at its own time', () => {
    const clock = new FakeClock(1000);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push(`c@${clock.now()}`), 30);
    clock.setTimeout(() => fired.push(`a@${clock.now()}`), 10);
    clock.setTimeout(() => fired.push(`b@${clock.now()}`), 10);
    clock.setTimeout(() => fired.push(`late@${clock.now()}`), 31);
    clock.advance(30);
    assert.deepEqual(fired, ['a@1010', 'b@1010', 'c@1030']);
    assert.equal(clock.now(), 1030);
    assert.equal(clock.pending(), 1);
  });

  it('fires timers set by timers when they fall due within the same advance', () => {
    const clock = new FakeClock(0);
    const fired: number[] = [];
    clock.setTimeout(() => {
      fired.push(clock.now());
      clock.setTimeout(() => fired.push(clock.now()), 5);
      clock.setTimeout(() => fired.push(clock.now()), 50);
    }, 10);
    clock.advance(20);
    assert.deepEqual(fired, [10, 15]);
    assert.equal(clock.pending(), 1);
  });

  it('does not fire cleared timers', () => {
    const clock = new FakeClock(0);
    let fired = false;
    const handle = clock.setTimeout(() => (fired = true), 10);
    clock.clearTimeout(handle);
    clock.advance(100);
    assert.equal(fired, false);
    assert.equal(clock.pending(), 0);
  });

  it('advanceAsync lets promise callbacks run after each timer, so their timers land at the right time', async () => {
    const clock = new FakeClock(0);
    const times: number[] = [];
    const loop = async (): Promise<void> => {
      for (let i = 0; i < 3; i++) {
        await sleep(clock, 10);
        await Promise.resolve(); // an async step between timers
        times.push(clock.now());
      }
    };
    const done = loop();
    await clock.advanceAsync(100);
    await done;
    assert.deepEqual(times, [10, 20, 30]);
  });

  it('withOffset shows a skewed wall clock that shares the timers', () => {
    const clock = new FakeClock(1_000_000);
    const ahead = clock.withOffset(3_600_000);
    let firedAt = 0;
    ahead.setTimeout(() => (firedAt = ahead.now()), 10);
    clock.advance(10);
    assert.equal(firedAt, 1_000_010 + 3_600_000);
  });
});

describe('sleep', () => {
  it('resolves early when the signal aborts, and clears its timer', async () => {
    const clock = new FakeClock(0);
    const abort = new AbortController();
    let resolved = false;
    const p = sleep(clock, 1000, abort.signal).then(() => (resolved = true));
    await settle();
    assert.equal(resolved, false);
    abort.abort();
    await p;
    assert.equal(clock.pending(), 0);
  });
});
