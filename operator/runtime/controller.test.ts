import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { FakeClock, settle } from './clock.js';
import {
  Controller,
  controllerOwnerKey,
  objectKey,
  parseKey,
  type ControllerMetrics,
  type KubeObject,
  type Reconcile,
  type ReconcileResult,
  type ReconcileContext,
  type ReconcileResultLabel,
  type WatchEvent,
  type WatchSource,
} from './controller.js';
import { RequeueError, TerminalError } from './errors.js';
import { generationChanged } from './predicates.js';
import { ExponentialFailureRateLimiter } from './ratelimit.js';

// ---------------------------------------------------------------- fixtures

class FakeSource<T> implements WatchSource<T> {
  private readonly handlers = new Set<(e: WatchEvent<T>) => void>();
  onEvent(handler: (e: WatchEvent<T>) => void): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }
  emit(event: WatchEvent<T>): void {
    for (const h of this.handlers) h(event);
  }
  get subscribers(): number {
    return this.handlers.size;
  }
}

class RecordingMetrics implements ControllerMetrics {
  results: ReconcileResultLabel[] = [];
  errors = 0;
  terminal = 0;
  panicCount = 0;
  times: number[] = [];
  active: number[] = [];
  max: number | undefined;
  reconcileTotal(_c: string, result: ReconcileResultLabel) {
    this.results.push(result);
  }
  reconcileErrors() {
    this.errors++;
  }
  terminalReconcileErrors() {
    this.terminal++;
  }
  reconcileTime(_c: string, seconds: number) {
    this.times.push(seconds);
  }
  panics() {
    this.panicCount++;
  }
  activeWorkers(_c: string, n: number) {
    this.active.push(n);
  }
  maxConcurrentReconciles(_c: string, n: number) {
    this.max = n;
  }
}

const obj = (o: {
  name: string;
  namespace?: string;
  generation?: number;
  ownerReferences?: NonNullable<KubeObject['metadata']>['ownerReferences'];
}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: {
    name: o.name,
    ...(o.namespace ? { namespace: o.namespace } : {}),
    generation: o.generation ?? 1,
    ...(o.ownerReferences ? { ownerReferences: o.ownerReferences } : {}),
  },
});

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

interface Call {
  key: string;
  at: number;
  ctx: ReconcileContext;
}

function setup(
  /** May throw or return synchronously: the wrapper below turns that into the async Reconcile. */
  reconcile: (
    key: string,
    ctx: ReconcileContext,
    n: number,
  ) => ReturnType<Reconcile> | ReconcileResult | void,
  o: { workers?: number; reconcileTimeoutMs?: number } = {},
) {
  const clock = new FakeClock(0);
  const metrics = new RecordingMetrics();
  const lines: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'debug' },
    { write: (s: string) => lines.push(JSON.parse(s) as Record<string, unknown>) },
  );
  const calls: Call[] = [];
  const controller = new Controller({
    name: 'widget',
    clock,
    metrics,
    logger,
    rateLimiter: new ExponentialFailureRateLimiter(5, 1_000_000),
    ...o,
    reconcile: async (key, ctx) => {
      calls.push({ key, at: clock.now(), ctx });
      return await reconcile(key, ctx, calls.length);
    },
  });
  const errorLines = () => lines.filter((l) => l.level === 50);
  return { controller, clock, metrics, lines, errorLines, calls };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

// ---------------------------------------------------------------- keys

describe('keys', () => {
  it('are namespace/name, or the name alone for cluster-scoped objects, and split back', () => {
    assert.equal(objectKey(obj({ name: 'a', namespace: 'shop' })), 'shop/a');
    assert.equal(objectKey(obj({ name: 'default' })), 'default');
    assert.deepEqual(parseKey('shop/a'), { namespace: 'shop', name: 'a' });
    assert.deepEqual(parseKey('default'), { namespace: undefined, name: 'default' });
  });
});

// ---------------------------------------------------------------- results and errors

describe('Controller: results', () => {
  it('forgets the backoff after a success, with a fresh reconcileID and a child logger per reconcile', async () => {
    const t = setup((_k, _ctx, n) => {
      if (n === 1) throw new Error('transient');
    });
    t.controller.enqueue('shop/a');
    t.controller.start();
    await t.clock.advanceAsync(5);
    assert.equal(t.calls.length, 2);
    assert.equal(t.controller.queue.numRequeues('shop/a'), 0);
    assert.deepEqual(t.metrics.results, ['error', 'success']);

    const [first, second] = t.calls.map((c) => c.ctx);
    assert.match(first!.reconcileID, UUID);
    assert.notEqual(first!.reconcileID, second!.reconcileID);
    assert.equal(second!.namespace, 'shop');
    assert.equal(second!.name, 'a');
    second!.log.info('hello');
    assert.deepEqual(
      (({ controller, namespace, name, reconcileID }) => ({ controller, namespace, name, reconcileID }))(
        t.lines.at(-1)!,
      ),
      { controller: 'widget', namespace: 'shop', name: 'a', reconcileID: second!.reconcileID },
    );
  });

  it('retries a failing key with per-key backoff 5, 10, 20, 40 ms and logs each failure once with its reconcileID', async () => {
    const t = setup(() => {
      throw new Error('boom');
    });
    t.controller.enqueue('shop/a');
    t.controller.start();
    await t.clock.advanceAsync(75);
    assert.deepEqual(
      t.calls.map((c) => c.at),
      [0, 5, 15, 35, 75],
    );
    assert.equal(t.metrics.errors, 5);
    assert.equal(t.metrics.panicCount, 0);
    assert.deepEqual(
      t.errorLines().map((l) => l.reconcileID),
      t.calls.map((c) => c.ctx.reconcileID),
    );
    assert.equal((t.errorLines()[0]!.err as { message: string }).message, 'boom');
  });

  it('does not retry a TerminalError, even wrapped as a cause, and forgets the backoff', async () => {
    const t = setup((key, _ctx, n) => {
      if (n === 1) throw new Error('transient'); // builds up a backoff first
      if (key === 'shop/a') throw new TerminalError('spec.targetRef names no Service');
      throw new Error('apply failed', { cause: new TerminalError('invalid') });
    });
    t.controller.enqueue('shop/a');
    t.controller.start();
    await t.clock.advanceAsync(5);
    t.controller.enqueue('shop/b');
    await t.clock.advanceAsync(600_000);
    assert.deepEqual(
      t.calls.map((c) => c.key),
      ['shop/a', 'shop/a', 'shop/b'],
    );
    assert.equal(t.controller.queue.numRequeues('shop/a'), 0);
    assert.equal(t.controller.queue.parkedCount(), 0);
    assert.equal(t.metrics.terminal, 2);
    assert.deepEqual(t.metrics.results, ['error', 'error', 'error']);
    assert.equal(t.errorLines().length, 3);
  });

  it('honours requeueAfter: forgets the backoff and comes back after exactly that long', async () => {
    const t = setup((_k, _ctx, n) => {
      if (n === 1) throw new Error('transient');
      return { requeueAfter: 30_000 };
    });
    t.controller.enqueue('a');
    t.controller.start();
    await t.clock.advanceAsync(5 + 30_000 + 30_000);
    assert.deepEqual(
      t.calls.map((c) => c.at),
      [0, 5, 30_005, 60_005],
    );
    assert.equal(t.controller.queue.numRequeues('a'), 0);
    assert.deepEqual(t.metrics.results.slice(1), ['requeue_after', 'requeue_after', 'requeue_after']);
  });

  it('treats RequeueError as a requeueAfter, not as an error', async () => {
    const t = setup((_k, _ctx, n) => {
      if (n === 1) throw new RequeueError(2000, 'waiting for the CA Secret');
    });
    t.controller.enqueue('a');
    t.controller.start();
    await t.clock.advanceAsync(2000);
    assert.deepEqual(
      t.calls.map((c) => c.at),
      [0, 2000],
    );
    assert.equal(t.metrics.errors, 0);
    assert.equal(t.errorLines().length, 0);
    assert.deepEqual(t.metrics.results, ['requeue_after', 'success']);
  });

  it('requeue: true goes through the rate limiter', async () => {
    const t = setup((_k, _ctx, n) => (n < 3 ? { requeue: true } : undefined));
    t.controller.enqueue('a');
    t.controller.start();
    await t.clock.advanceAsync(100);
    assert.deepEqual(
      t.calls.map((c) => c.at),
      [0, 5, 15],
    );
    assert.deepEqual(t.metrics.results, ['requeue', 'requeue', 'success']);
  });

  it('counts bugs as panics (engine errors, non-Error throws) and retries them with backoff', async () => {
    const throws: unknown[] = [
      new TypeError("Cannot read properties of undefined (reading 'spec')"),
      'a string',
      new TypeError('fetch failed', { cause: new Error('ECONNREFUSED') }), // network failure: not a bug
      new RangeError('Maximum call stack size exceeded'),
    ];
    const t = setup((_k, _ctx, n) => {
      if (n <= throws.length) throw throws[n - 1];
    });
    t.controller.enqueue('a');
    t.controller.start();
    await t.clock.advanceAsync(1000);
    assert.equal(t.calls.length, 5);
    assert.equal(t.metrics.panicCount, 3);
    assert.equal(t.metrics.errors, 4);
    assert.deepEqual(
      t.errorLines().map((l) => l.panic === true),
      [true, true, false, true],
    );
  });

  it('aborts ctx.signal when the reconcile times out, and waits for the reconcile to settle', async () => {
    const seen: { reason?: unknown } = {};
    const reason = (): unknown => seen.reason; // read afresh: the assertion below must not narrow it
    const t = setup(
      (_k, ctx) =>
        new Promise((_resolve, reject) =>
          ctx.signal.addEventListener('abort', () => {
            seen.reason = ctx.signal.reason;
            reject(ctx.signal.reason as Error);
          }),
        ),
      { reconcileTimeoutMs: 1000 },
    );
    t.controller.enqueue('a');
    t.controller.start();
    await t.clock.advanceAsync(999);
    assert.equal(reason(), undefined, 'not before the timeout');
    await t.clock.advanceAsync(1);
    assert.equal((reason() as DOMException).name, 'TimeoutError');
    assert.deepEqual(t.metrics.results, ['error']);
  });
});

// ---------------------------------------------------------------- watches

describe('Controller: watches', () => {
  it('for() enqueues the object key; events before start() wait in the queue', async () => {
    const t = setup(async () => {});
    const source = new FakeSource<KubeObject>();
    t.controller.for(source);
    source.emit({ type: 'add', object: obj({ name: 'a', namespace: 'shop' }) });
    source.emit({ type: 'add', object: obj({ name: 'default' }) });
    await settle();
    assert.equal(t.calls.length, 0);
    assert.equal(t.controller.queue.len(), 2);
    t.controller.start();
    await settle();
    assert.deepEqual(
      t.calls.map((c) => c.key),
      ['shop/a', 'default'],
    );
  });

  it('predicates filter events: generationChanged drops status-only updates', () => {
    const t = setup(async () => {});
    const source = new FakeSource<KubeObject>();
    t.controller.for(source, generationChanged);
    const v1 = obj({ name: 'a', namespace: 'shop', generation: 1 });
    const v2 = obj({ name: 'a', namespace: 'shop', generation: 2 });
    source.emit({ type: 'update', object: v1, old: v1 });
    assert.equal(t.controller.queue.len(), 0);
    source.emit({ type: 'update', object: v2, old: v1 });
    assert.equal(t.controller.queue.len(), 1);
  });

  it('owns() maps a child to its controller owner of that group and kind, and to nothing else', async () => {
    const t = setup(async () => {});
    const source = new FakeSource<KubeObject>();
    const owner = { apiVersion: 'mesh.meshwright.io/v1alpha1', kind: 'ServicePolicy' };
    t.controller.owns(source, owner);
    const ref = (o: { apiVersion?: string; kind?: string; name: string; controller?: boolean }) => ({
      apiVersion: o.apiVersion ?? 'mesh.meshwright.io/v1alpha1',
      kind: o.kind ?? 'ServicePolicy',
      name: o.name,
      uid: `uid-${o.name}`,
      ...(o.controller !== undefined ? { controller: o.controller } : {}),
    });
    const child = (name: string, refs: ReturnType<typeof ref>[]) =>
      obj({ name, namespace: 'shop', ownerReferences: refs });

    source.emit({
      type: 'add',
      object: child('c1', [ref({ name: 'plain' }), ref({ name: 'p1', controller: true })]),
    });
    source.emit({
      type: 'add',
      object: child('c2', [ref({ name: 'p2', kind: 'TrafficSplit', controller: true })]),
    });
    source.emit({
      type: 'add',
      object: child('c3', [ref({ name: 'p3', apiVersion: 'other.io/v1alpha1', controller: true })]),
    });
    source.emit({ type: 'add', object: child('c4', [ref({ name: 'p4' })]) }); // not a controller ref
    source.emit({
      type: 'add',
      object: child('c5', [ref({ name: 'p5', apiVersion: 'mesh.meshwright.io/v1', controller: true })]),
    });
    source.emit({ type: 'add', object: obj({ name: 'c6', namespace: 'shop' }) });
    assert.deepEqual(t.controller.queue.len(), 2);
    t.controller.start();
    await settle();
    assert.deepEqual(
      t.calls.map((c) => c.key),
      ['shop/p1', 'shop/p5'],
    );
  });

  it('owns() enqueues both the old and the new owner when a child changes hands', () => {
    const t = setup(async () => {});
    const source = new FakeSource<KubeObject>();
    t.controller.owns(source, { apiVersion: 'mesh.meshwright.io/v1alpha1', kind: 'TrafficSplit' });
    const child = (owner: string) =>
      obj({
        name: 'c',
        namespace: 'shop',
        ownerReferences: [
          {
            apiVersion: 'mesh.meshwright.io/v1alpha1',
            kind: 'TrafficSplit',
            name: owner,
            uid: owner,
            controller: true,
          },
        ],
      });
    source.emit({ type: 'update', object: child('new'), old: child('old') });
    assert.equal(t.controller.queue.len(), 2);
  });

  it('owns() of a cluster-scoped owner gives the bare name as key', () => {
    const child = obj({
      name: 'istiod',
      namespace: 'meshwright-system',
      ownerReferences: [
        {
          apiVersion: 'mesh.meshwright.io/v1alpha1',
          kind: 'MeshInstallation',
          name: 'default',
          uid: 'u',
          controller: true,
        },
      ],
    });
    const owner = { apiVersion: 'mesh.meshwright.io/v1alpha1', kind: 'MeshInstallation' };
    assert.equal(controllerOwnerKey(child, { ...owner, clusterScoped: true }), 'default');
    assert.equal(controllerOwnerKey(child, owner), 'meshwright-system/default');
  });

  it('watches() enqueues what the map returns, for the old and the new object, deduplicated', async () => {
    const t = setup(async () => {});
    const source = new FakeSource<KubeObject>();
    // A Service change → the policies that target it (here: named after the Service's labels).
    t.controller.watches(source, (svc) => Object.values(svc.metadata?.labels ?? {}).map((p) => `shop/${p}`));
    const svc = (labels: Record<string, string>): KubeObject => ({
      metadata: { name: 'checkout', namespace: 'shop', labels },
    });
    source.emit({ type: 'update', object: svc({ a: 'p1', b: 'p2' }), old: svc({ a: 'p1', c: 'p0' }) });
    t.controller.start();
    await settle();
    assert.deepEqual(t.calls.map((c) => c.key).sort(), ['shop/p0', 'shop/p1', 'shop/p2']);
  });

  it('never lets an event handler throw: a throwing map or predicate is logged and the event dropped', () => {
    const t = setup(async () => {});
    const source = new FakeSource<KubeObject>();
    t.controller.watches(source, () => {
      throw new Error('map bug');
    });
    t.controller.for(source, () => {
      throw new Error('predicate bug');
    });
    assert.doesNotThrow(() => source.emit({ type: 'add', object: obj({ name: 'a' }) }));
    assert.doesNotThrow(() => source.emit({ type: 'delete', object: null as unknown as KubeObject }));
    assert.equal(t.controller.queue.len(), 0);
    assert.equal(t.errorLines().length, 4);
  });
});

// ---------------------------------------------------------------- concurrency and shutdown

describe('Controller: workers', () => {
  it('runs two different keys at once on two workers, never the same key twice, and coalesces events', async () => {
    const gates = new Map<string, ReturnType<typeof deferred>[]>();
    const running = new Set<string>();
    let overlap = false;
    let maxRunning = 0;
    const t = setup(
      async (key) => {
        if (running.has(key)) overlap = true;
        running.add(key);
        maxRunning = Math.max(maxRunning, running.size);
        const gate = deferred();
        gates.set(key, [...(gates.get(key) ?? []), gate]);
        await gate.promise;
        running.delete(key);
      },
      { workers: 2 },
    );
    t.controller.start();
    t.controller.enqueue('a');
    t.controller.enqueue('b');
    await settle();
    assert.deepEqual([...running].sort(), ['a', 'b']);
    t.controller.enqueue('a');
    t.controller.enqueue('a');
    await settle();
    assert.equal(gates.get('a')!.length, 1, 'a is not started again while it runs');
    gates.get('a')![0]!.resolve();
    await settle();
    assert.equal(gates.get('a')!.length, 2, 'exactly one follow-up run for the two events');
    gates.get('a')![1]!.resolve();
    gates.get('b')![0]!.resolve();
    await settle();
    assert.equal(overlap, false);
    assert.equal(maxRunning, 2);
    assert.deepEqual(
      t.calls.map((c) => c.key),
      ['a', 'b', 'a'],
    );
    assert.equal(t.metrics.max, 2);
    assert.equal(t.metrics.active.at(-1), 0);
  });

  it('stop() unsubscribes, takes no new work and finishes the reconciles in flight', async () => {
    const gate = deferred();
    let finished = false;
    const t = setup(async (key) => {
      if (key === 'a') {
        await gate.promise;
        finished = true;
      }
    });
    const source = new FakeSource<KubeObject>();
    t.controller.for(source);
    t.controller.start();
    t.controller.enqueue('a');
    await settle();
    t.controller.enqueue('b'); // queued behind a, never started
    let stopped = false;
    const stopping = t.controller.stop(30_000).then(() => (stopped = true));
    await settle();
    assert.equal(source.subscribers, 0);
    assert.equal(stopped, false);
    gate.resolve();
    await stopping;
    assert.equal(finished, true);
    assert.deepEqual(
      t.calls.map((c) => c.key),
      ['a'],
    );
    t.controller.enqueue('c');
    await settle();
    assert.equal(t.calls.length, 1);
  });

  it('stop() gives up after the drain timeout and aborts the reconciles still running', async () => {
    let aborted = false;
    const t = setup((_k, ctx) => {
      ctx.signal.addEventListener('abort', () => (aborted = true));
      return new Promise(() => {}); // ignores the signal and never settles
    });
    t.controller.start();
    t.controller.enqueue('a');
    await settle();
    let stopped = false;
    void t.controller.stop(5000).then(() => (stopped = true));
    await t.clock.advanceAsync(4999);
    assert.deepEqual([stopped, aborted], [false, false]);
    await t.clock.advanceAsync(1);
    assert.deepEqual([stopped, aborted], [true, true]);
  });
});
