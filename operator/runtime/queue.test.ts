import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { FakeClock, settle, sleep } from './clock.js';
import { WorkQueue, type QueueMetrics } from './queue.js';
import {
  defaultControllerRateLimiter,
  ExponentialFailureRateLimiter,
  type RateLimiter,
} from './ratelimit.js';

const newQueue = (o: { clock?: FakeClock; rateLimiter?: RateLimiter; metrics?: QueueMetrics } = {}) => {
  const clock = o.clock ?? new FakeClock(0);
  return { clock, q: new WorkQueue({ name: 'test', ...o, clock }) };
};

/** Takes every key that is ready now. */
async function drain(q: WorkQueue): Promise<string[]> {
  const keys: string[] = [];
  while (q.len() > 0) keys.push((await q.get())!);
  return keys;
}

/** Follows a promise without awaiting it. */
function track<T>(p: Promise<T>): { settled: boolean; value: T | undefined } {
  const state = { settled: false, value: undefined as T | undefined };
  void p.then((v) => {
    state.settled = true;
    state.value = v;
  });
  return state;
}

class RecordingMetrics implements QueueMetrics {
  depths: number[] = [];
  adds = 0;
  retries = 0;
  queueDurations: number[] = [];
  workDurations: number[] = [];
  unfinished: [number, number][] = [];
  depth(n: number) {
    this.depths.push(n);
  }
  add() {
    this.adds++;
  }
  retry() {
    this.retries++;
  }
  queueDuration(s: number) {
    this.queueDurations.push(s);
  }
  workDuration(s: number) {
    this.workDurations.push(s);
  }
  unfinishedWork(unfinished: number, longest: number) {
    this.unfinished.push([unfinished, longest]);
  }
}

describe('WorkQueue: dirty and processing sets', () => {
  it('queues a key once however often it is added before it is taken, in first-add order', async () => {
    const { q } = newQueue();
    for (const k of ['a', 'b', 'a', 'a', 'c', 'b']) q.add(k);
    assert.equal(q.len(), 3);
    assert.deepEqual(await drain(q), ['a', 'b', 'c']);
  });

  it('re-queues a key added during processing exactly once, when it is done, not before', async () => {
    const { q } = newQueue();
    q.add('a');
    assert.equal(await q.get(), 'a');
    q.add('a');
    q.add('a');
    q.add('a');
    assert.equal(q.len(), 0, 'not handed out while a worker holds it');
    const second = track(q.get());
    await settle();
    assert.equal(second.settled, false);
    q.done('a');
    await settle();
    assert.deepEqual(second, { settled: true, value: 'a' });
    q.done('a');
    assert.equal(q.len(), 0, 'one follow-up, no more');
  });

  it('does not re-queue a key that was not added during processing', async () => {
    const { q } = newQueue();
    q.add('a');
    await q.get();
    q.done('a');
    assert.equal(q.len(), 0);
    assert.equal(q.inFlight(), 0);
  });

  it('serves waiting workers in the order they asked', async () => {
    const { q } = newQueue();
    const w1 = q.get();
    const w2 = q.get();
    q.add('a');
    q.add('b');
    assert.deepEqual(await Promise.all([w1, w2]), ['a', 'b']);
  });

  it('matches a model of the dirty and processing sets for any sequence of add, get and done', async () => {
    const key = fc.constantFrom('a', 'b', 'c');
    const op = fc.oneof(
      fc.record({ op: fc.constant('add' as const), key }),
      fc.record({ op: fc.constant('get' as const) }),
      fc.record({ op: fc.constant('done' as const), key }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 60 }), async (ops) => {
        const { q } = newQueue();
        const held = new Set<string>();
        const dirty: string[] = []; // added since last taken, in order of first add
        for (const o of ops) {
          if (o.op === 'add') {
            q.add(o.key);
            if (!dirty.includes(o.key)) dirty.push(o.key);
          } else if (o.op === 'get') {
            if (q.len() === 0) continue;
            const k = (await q.get())!;
            assert.ok(!held.has(k), `${k} handed out while held`);
            assert.ok(dirty.includes(k), `${k} handed out without an add`);
            dirty.splice(dirty.indexOf(k), 1);
            held.add(k);
          } else if (held.has(o.key)) {
            q.done(o.key);
            held.delete(o.key);
          }
          assert.equal(q.len(), dirty.filter((k) => !held.has(k)).length);
          assert.equal(q.inFlight(), held.size);
        }
      }),
    );
  });
});

describe('WorkQueue: workers', () => {
  it('never gives one key to two of 4 workers, runs different keys in parallel, and loses no event', async () => {
    const clock = new FakeClock(0);
    const { q } = newQueue({ clock });
    const running = new Set<string>();
    const lastAdded = new Map<string, number>();
    const lastStarted = new Map<string, number>();
    let maxParallel = 0;
    let overlaps = 0;
    const worker = async (): Promise<void> => {
      for (;;) {
        const k = await q.get();
        if (k === undefined) return;
        if (running.has(k)) overlaps++;
        running.add(k);
        lastStarted.set(k, clock.now());
        maxParallel = Math.max(maxParallel, running.size);
        await sleep(clock, 7);
        running.delete(k);
        q.done(k);
      }
    };
    const workers = Array.from({ length: 4 }, () => worker());
    const keys = ['a', 'b', 'c', 'd', 'e'];
    for (let t = 0; t < 300; t++) {
      const k = keys[(t * 7 + (t >> 3)) % keys.length]!;
      q.add(k);
      lastAdded.set(k, clock.now());
      await clock.advanceAsync(1);
    }
    await clock.advanceAsync(100);
    q.shutDown();
    await Promise.all(workers);

    assert.equal(overlaps, 0);
    assert.equal(maxParallel, 4);
    for (const k of keys) assert.ok(lastStarted.get(k)! >= lastAdded.get(k)!, `${k}: last add was processed`);
  });
});

describe('WorkQueue: delays', () => {
  it('adds parked keys when they fall due, in due order, with a single timer', async () => {
    const { q, clock } = newQueue();
    q.addAfter('c', 30);
    q.addAfter('a', 10);
    q.addAfter('b', 20);
    assert.equal(clock.pending(), 1);
    clock.advance(9);
    assert.equal(q.len(), 0);
    clock.advance(1);
    assert.deepEqual(await drain(q), ['a']);
    clock.advance(20);
    assert.deepEqual(await drain(q), ['b', 'c']);
    assert.equal(clock.pending(), 0);
  });

  it('keeps the earlier time when a parked key is parked again', async () => {
    const { q, clock } = newQueue();
    q.addAfter('a', 100);
    q.addAfter('a', 10); // earlier wins
    q.addAfter('b', 10);
    q.addAfter('b', 100); // later is ignored
    assert.equal(q.parkedCount(), 2);
    clock.advance(10);
    assert.deepEqual(await drain(q), ['a', 'b']);
    clock.advance(200);
    assert.equal(q.len(), 0, 'nothing left parked');
  });

  it('adds at once when the delay is not positive', () => {
    const { q, clock } = newQueue();
    q.addAfter('a', 0);
    q.addAfter('b', -5);
    assert.equal(q.len(), 2);
    assert.equal(clock.pending(), 0);
  });

  it('deduplicates a parked key that falls due while it is queued or processing', async () => {
    const { q, clock } = newQueue();
    q.add('a');
    q.addAfter('a', 5);
    clock.advance(5);
    assert.equal(q.len(), 1);
    await q.get();
    q.addAfter('a', 5);
    clock.advance(5);
    assert.equal(q.len(), 0, 'dirty while processing');
    q.done('a');
    assert.equal(q.len(), 1);
  });
});

describe('WorkQueue: rate limiting', () => {
  it('backs a failing key off 5, 10, 20, 40 ms and forget resets it', async () => {
    const { q, clock } = newQueue({ rateLimiter: new ExponentialFailureRateLimiter(5, 1_000_000) });
    const waited: number[] = [];
    for (let i = 0; i < 4; i++) {
      q.addRateLimited('a');
      const from = clock.now();
      while (q.len() === 0) clock.advance(1);
      waited.push(clock.now() - from);
      q.done((await q.get())!);
    }
    assert.deepEqual(waited, [5, 10, 20, 40]);
    assert.equal(q.numRequeues('a'), 4);
    q.forget('a');
    assert.equal(q.numRequeues('a'), 0);
    q.addRateLimited('a');
    clock.advance(5);
    assert.equal(q.len(), 1);
  });

  it('spaces keys 100 ms apart once the overall burst of 100 is used (default limiter)', async () => {
    const clock = new FakeClock(0);
    const { q } = newQueue({ clock, rateLimiter: defaultControllerRateLimiter(clock) });
    for (let i = 0; i < 104; i++) q.addRateLimited(`k${i}`);
    const readyAt = new Map<string, number>();
    for (let t = 0; t <= 500; t++) {
      for (const k of await drain(q)) readyAt.set(k, clock.now());
      clock.advance(1);
    }
    assert.equal(readyAt.size, 104);
    assert.ok([...Array(100).keys()].every((i) => readyAt.get(`k${i}`) === 5));
    assert.deepEqual(
      [100, 101, 102, 103].map((i) => readyAt.get(`k${i}`)),
      [100, 200, 300, 400],
    );
  });
});

describe('WorkQueue: shutdown', () => {
  it('answers idle gets with undefined, ignores new adds and drops parked keys', async () => {
    const { q, clock } = newQueue();
    const idle = q.get();
    q.addAfter('later', 1000);
    q.shutDown();
    assert.equal(await idle, undefined);
    assert.equal(q.shuttingDown, true);
    q.add('a');
    q.addAfter('b', 1);
    q.addRateLimited('c');
    assert.equal(q.len(), 0);
    assert.equal(clock.pending(), 0);
    assert.equal(await q.get(), undefined);
  });

  it('still hands out keys queued before the shutdown, then undefined', async () => {
    const { q } = newQueue();
    q.add('a');
    q.shutDown();
    assert.equal(await q.get(), 'a');
    assert.equal(await q.get(), undefined);
  });

  it('shutDownWithDrain resolves when the keys in flight are done', async () => {
    const { q } = newQueue();
    q.add('a');
    q.add('b');
    await q.get();
    await q.get();
    const drained = track(q.shutDownWithDrain(1000));
    q.done('a');
    await settle();
    assert.equal(drained.settled, false);
    q.done('b');
    await settle();
    assert.equal(drained.settled, true);
  });

  it('shutDownWithDrain gives up after its timeout', async () => {
    const { q, clock } = newQueue();
    q.add('a');
    await q.get();
    const drained = track(q.shutDownWithDrain(1000));
    clock.advance(999);
    await settle();
    assert.equal(drained.settled, false);
    clock.advance(1);
    await settle();
    assert.equal(drained.settled, true);
    assert.equal(q.inFlight(), 1);
  });

  it('shutDownWithDrain resolves at once when nothing is in flight', async () => {
    const { q, clock } = newQueue();
    await q.shutDownWithDrain(1000);
    assert.equal(clock.pending(), 0);
  });
});

describe('WorkQueue: metrics', () => {
  it('reports depth, adds, retries and the time keys wait and are worked on', async () => {
    const metrics = new RecordingMetrics();
    const { q, clock } = newQueue({ metrics });
    q.add('a');
    q.add('a'); // deduplicated: not an add
    q.add('b');
    assert.equal(metrics.adds, 2);
    assert.deepEqual(metrics.depths, [1, 2]);
    clock.advance(30);
    await q.get();
    assert.deepEqual(metrics.queueDurations, [0.03]);
    assert.equal(metrics.depths.at(-1), 1);
    clock.advance(20);
    q.done('a');
    assert.deepEqual(metrics.workDurations, [0.02]);
    q.addAfter('c', 10);
    q.addRateLimited('d');
    assert.equal(metrics.retries, 2);
  });

  it('reports unfinished work every 500 ms while keys are in flight, and zero when they are done', async () => {
    const metrics = new RecordingMetrics();
    const { q, clock } = newQueue({ metrics });
    q.add('a');
    await q.get();
    clock.advance(1000);
    assert.deepEqual(metrics.unfinished, [
      [0.5, 0.5],
      [1, 1],
    ]);
    q.done('a');
    assert.deepEqual(metrics.unfinished.at(-1), [0, 0]);
    assert.equal(clock.pending(), 0, 'no timer left behind');
  });
});
