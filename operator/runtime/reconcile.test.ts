/**
 * The standard reconcile path against a recording fake `Kube` (no API server): a Widget kind whose
 * one child is a ConfigMap holding the widget's size.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { keyOf } from './cache.js';
import {
  KubeConflictError,
  RequestCounter,
  type Kube,
  type KubeObject,
  type ObjectRef,
  type ResourceType,
} from './client.js';
import { FakeClock } from './clock.js';
import type { Reconcile, ReconcileContext } from './controller.js';
import { isTerminalError } from './errors.js';
import { RecordingRecorder } from './events.js';
import { Informer } from './informer.js';
import { silentLogger } from './log.js';
import { controllerRef } from './ownership.js';
import {
  DESIRED_HASH_ANNOTATION,
  InvalidSpecError,
  isDeepSubset,
  isUpToDate,
  primaryChanged,
  replacingMergePatch,
  standardReconciler,
  withDesiredHash,
  type StandardKind,
} from './reconcile.js';

const Widgets: ResourceType = {
  apiVersion: 'test.meshwright.io/v1',
  kind: 'Widget',
  plural: 'widgets',
  namespaced: true,
};
const ConfigMaps: ResourceType = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  plural: 'configmaps',
  namespaced: true,
};

interface Widget extends KubeObject {
  spec: { size: number; color?: string };
  status?: { observedGeneration?: number; size?: number; children?: string[] };
}

interface Call {
  verb: string;
  ref: string;
  body?: unknown;
  opts?: unknown;
}

/** A `Kube` that records every call and answers with the object (a fresh resourceVersion). */
class RecordingKube implements Kube {
  readonly calls: Call[] = [];
  readonly requests = new RequestCounter();
  failApply: Error | undefined;
  failStatus: Error | undefined;
  private rv = 100;
  private next = (): string => String(++this.rv);
  private name = (r: {
    kind?: string;
    namespace?: string;
    name?: string;
    metadata?: KubeObject['metadata'];
  }) => `${r.kind}/${r.namespace ?? r.metadata?.namespace ?? ''}/${r.name ?? r.metadata?.name ?? ''}`;

  writes(): Call[] {
    return this.calls.filter((c) => c.verb !== 'get' && c.verb !== 'list');
  }
  get<T extends KubeObject>(ref: ObjectRef): Promise<T> {
    this.calls.push({ verb: 'get', ref: this.name(ref) });
    return Promise.reject(new Error('not in the fake'));
  }
  list<T extends KubeObject>(): Promise<{ items: T[]; resourceVersion: string }> {
    return Promise.resolve({ items: [], resourceVersion: '1' });
  }
  create<T extends KubeObject>(obj: T): Promise<T> {
    this.calls.push({ verb: 'create', ref: this.name(obj), body: obj });
    return Promise.resolve({ ...obj, metadata: { ...obj.metadata, resourceVersion: this.next() } });
  }
  replace<T extends KubeObject>(obj: T): Promise<T> {
    this.calls.push({ verb: 'replace', ref: this.name(obj), body: obj });
    return Promise.resolve(obj);
  }
  delete(ref: ObjectRef, opts?: unknown): Promise<boolean> {
    this.calls.push({ verb: 'delete', ref: this.name(ref), opts });
    return Promise.resolve(true);
  }
  apply<T extends KubeObject>(obj: T, opts?: unknown): Promise<T> {
    this.calls.push({ verb: 'apply', ref: this.name(obj), body: obj, opts });
    if (this.failApply) return Promise.reject(this.failApply);
    return Promise.resolve({ ...obj, metadata: { ...obj.metadata, resourceVersion: this.next() } });
  }
  mergePatch<T extends KubeObject>(ref: ObjectRef, patch: object): Promise<T> {
    this.calls.push({ verb: 'patch', ref: this.name(ref), body: patch });
    return Promise.resolve({ metadata: { resourceVersion: this.next() } } as T);
  }
  patchStatus<T extends KubeObject>(ref: ObjectRef, status: unknown, opts: unknown): Promise<T> {
    this.calls.push({ verb: 'status', ref: this.name(ref), body: status, opts });
    if (this.failStatus) return Promise.reject(this.failStatus);
    return Promise.resolve({ metadata: { resourceVersion: this.next() } } as T);
  }
  watch(): { done: Promise<void>; abort(): void } {
    return { done: Promise.resolve(), abort: () => undefined };
  }
}

const widget = (o: Partial<Widget['spec']> & { status?: Widget['status']; meta?: object } = {}): Widget => ({
  apiVersion: Widgets.apiVersion,
  kind: 'Widget',
  metadata: { name: 'w', namespace: 'ns', uid: 'uid-w', generation: 1, resourceVersion: '10', ...o.meta },
  spec: { size: o.size ?? 3, ...(o.color ? { color: o.color } : {}) },
  ...(o.status ? { status: o.status } : {}),
});

const ownerLabels = { 'app.kubernetes.io/managed-by': 'meshwright', 'meshwright.io/owner': 'w' };

function configMap(w: Widget): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: `${w.metadata!.name}-size`,
      namespace: 'ns',
      labels: { ...ownerLabels },
      ownerReferences: [controllerRef(w)],
    },
    data: { size: String(w.spec.size), ...(w.spec.color ? { color: w.spec.color } : {}) },
  };
}

/** The child as the API server would store it: hash annotation, server fields, defaults. */
const stored = (child: KubeObject, rv = '20'): KubeObject => {
  const applied = withDesiredHash(child);
  return {
    ...applied,
    metadata: {
      ...applied.metadata,
      uid: `uid-${child.metadata!.name}`,
      resourceVersion: rv,
      creationTimestamp: 'x',
    },
    immutable: false,
  };
};

const ctx = (): ReconcileContext => ({
  reconcileID: 'r',
  log: silentLogger(),
  signal: new AbortController().signal,
  namespace: 'ns',
  name: 'w',
});

let kube: RecordingKube;
let recorder: RecordingRecorder;
let widgets: Informer;
let configMaps: Informer;
let finalized: string[];
const clock = new FakeClock(Date.UTC(2025, 0, 1));

function kind(
  o: Partial<StandardKind<Widget, { children: number }>> = {},
): StandardKind<Widget, { children: number }> {
  return {
    name: 'widget',
    primary: Widgets,
    parse: (raw) => {
      const w = raw as Widget;
      if (typeof w.spec?.size !== 'number' || w.spec.size < 0)
        throw new InvalidSpecError('spec.size: must be ≥ 0');
      return w;
    },
    observe: (w) => ({ children: configMaps.list({ namespace: w.metadata!.namespace! }).length }),
    desired: (w) => (w.spec.size === 0 ? [] : [configMap(w)]),
    owned: [{ type: ConfigMaps, informer: configMaps }],
    status: (w, _obs, outcome) => ({
      status: {
        observedGeneration: w.metadata!.generation,
        size: w.spec.size,
        children: outcome.existing.map((r) => r.name),
      },
      events: [{ type: 'Normal', reason: 'Reconciled', note: `size ${w.spec.size}` }],
    }),
    ...o,
  };
}

const put = (inf: Informer, obj: KubeObject): void => void inf.store.put(keyOf(obj), obj);
/** One reconciler per kind object (its expectations live as long as it does), as in production. */
let reconcilers: Map<StandardKind<Widget, { children: number }>, Reconcile>;
let defaultKind: StandardKind<Widget, { children: number }>;
const run = (k = defaultKind) => {
  let r = reconcilers.get(k);
  if (!r) reconcilers.set(k, (r = standardReconciler({ kube, events: recorder, clock }, k, widgets)));
  return r('ns/w', ctx());
};
const verbs = () => kube.writes().map((c) => `${c.verb} ${c.ref}`);
/** The status the Widget kind computes for `w` with these children. */
const statusOf = (w: Widget, children: string[]) => ({ observedGeneration: 1, size: w.spec.size, children });

beforeEach(() => {
  kube = new RecordingKube();
  recorder = new RecordingRecorder();
  widgets = new Informer(kube, Widgets);
  configMaps = new Informer(kube, ConfigMaps);
  finalized = [];
  reconcilers = new Map();
  defaultKind = kind();
});

describe('standardReconciler', () => {
  it('does nothing for an object that is gone', async () => {
    await run();
    assert.deepEqual(kube.calls, []);
  });

  it('applies the child with the hash annotation, then writes the status, then emits the events', async () => {
    const w = widget();
    put(widgets, w);
    await run();
    assert.deepEqual(verbs(), ['apply ConfigMap/ns/w-size', 'status Widget/ns/w']);
    const [apply, status] = kube.writes();
    const body = apply!.body as KubeObject;
    assert.equal(body.metadata!.annotations![DESIRED_HASH_ANNOTATION]?.length, 16);
    assert.deepEqual(apply!.opts, { fieldManager: 'meshwright', force: true });
    assert.deepEqual(status!.body, statusOf(w, ['w-size']));
    assert.deepEqual(status!.opts, { resourceVersion: '10' });
    assert.deepEqual(
      recorder.events.map((e) => e.reason),
      ['Reconciled'],
    );
  });

  it('makes zero writes and emits no Event when the child and the status are current', async () => {
    const w = widget({ status: statusOf(widget(), ['w-size']) });
    put(widgets, w);
    put(configMaps, stored(configMap(w)));
    await run();
    assert.deepEqual(kube.writes(), []);
    assert.deepEqual(recorder.events, []);
  });

  it('repairs drift: a field we set changed in the cluster', async () => {
    const w = widget({ status: statusOf(widget(), ['w-size']) });
    put(widgets, w);
    const drifted = stored(configMap(w));
    put(configMaps, { ...drifted, data: { size: '99' } });
    await run();
    assert.deepEqual(verbs(), ['apply ConfigMap/ns/w-size']);
  });

  it('re-applies when a field we set before is no longer desired (the hash changed)', async () => {
    const w = widget({ status: statusOf(widget(), ['w-size']) });
    put(widgets, w);
    // the stored child still has `color`, from a spec that had one: a subset check alone passes
    put(configMaps, stored(configMap(widget({ color: 'red' }))));
    assert.ok(isDeepSubset(configMap(w).data, stored(configMap(widget({ color: 'red' }))).data));
    await run();
    assert.deepEqual(verbs(), ['apply ConfigMap/ns/w-size']);
    assert.deepEqual((kube.writes()[0]!.body as { data: object }).data, { size: '3' });
  });

  it('does not apply again while the cache still holds the version its apply replaced', async () => {
    const w = widget();
    put(widgets, w);
    await run();
    kube.calls.length = 0;
    await run(); // the informer has not seen the apply nor the status yet
    assert.deepEqual(kube.writes(), []);
    // someone else changes the child: the expectation no longer holds
    put(configMaps, { ...stored(configMap(w), '30'), data: { size: '7' } });
    await run();
    assert.deepEqual(verbs(), ['apply ConfigMap/ns/w-size']);
  });

  it('prunes only the children this object controls', async () => {
    const w = widget({ size: 0, status: statusOf(widget({ size: 0 }), ['w-size']) });
    put(widgets, w);
    const ours = stored(configMap(widget()));
    const other = {
      ...stored({ ...configMap(widget()), metadata: { ...configMap(widget()).metadata, name: 'theirs' } }),
    };
    other.metadata!.ownerReferences = [{ ...controllerRef(w), uid: 'uid-other' }];
    const notController = stored({
      ...configMap(widget()),
      metadata: { ...configMap(widget()).metadata, name: 'ref' },
    });
    notController.metadata!.ownerReferences = [{ ...controllerRef(w), controller: false }];
    for (const o of [ours, other, notController]) put(configMaps, o);
    await run();
    assert.deepEqual(verbs(), ['delete ConfigMap/ns/w-size', 'status Widget/ns/w']);
    assert.deepEqual(kube.writes()[0]!.opts, {
      propagationPolicy: 'Background',
      preconditions: { uid: 'uid-w-size' },
    });
    // the status lists what exists after the prune: nothing of ours
    assert.deepEqual((kube.writes()[1]!.body as { children: string[] }).children, []);
    kube.calls.length = 0;
    await run(); // the cache has not seen the deletion yet: no second DELETE
    assert.deepEqual(kube.writes(), []);
  });

  it('keeps every child when desired says prune: false', async () => {
    const w = widget({ status: statusOf(widget(), ['w-size']) });
    put(widgets, w);
    put(configMaps, stored(configMap(w)));
    await run(kind({ desired: () => ({ children: [], prune: false }) }));
    assert.deepEqual(kube.writes(), []);
  });

  it('writes the status only when it changed, removing keys the new status lacks', async () => {
    const w = widget({ status: { ...statusOf(widget(), ['w-size']), size: 1 } });
    put(widgets, w);
    put(configMaps, stored(configMap(w)));
    await run(kind({ status: () => ({ status: { observedGeneration: 1, children: ['w-size'] } }) }));
    assert.deepEqual(verbs(), ['status Widget/ns/w']);
    assert.deepEqual(kube.writes()[0]!.body, { observedGeneration: 1, size: null, children: ['w-size'] });
  });

  it('writes the status when applying failed, then rethrows the apply error', async () => {
    put(widgets, widget());
    kube.failApply = new Error('admission webhook said no');
    let outcomeSeen: unknown;
    const k = kind();
    const status = k.status.bind(k);
    await assert.rejects(
      run({
        ...k,
        status: (w, o, outcome, now) => {
          outcomeSeen = outcome;
          return status(w, o, outcome, now);
        },
      }),
      /admission webhook said no/,
    );
    assert.deepEqual(verbs(), ['apply ConfigMap/ns/w-size', 'status Widget/ns/w']);
    const outcome = outcomeSeen as { applied: unknown[]; failed?: { ref: { name: string } } };
    assert.deepEqual(outcome.applied, []);
    assert.equal(outcome.failed?.ref.name, 'w-size');
  });

  it('rethrows a conflict on the status write (retried with backoff)', async () => {
    put(widgets, widget());
    kube.failStatus = new KubeConflictError('the object has been modified', 'Conflict');
    await assert.rejects(run(), KubeConflictError);
    assert.deepEqual(recorder.events, [], 'no Event for a status that was not written');
  });

  it('reports an invalid spec: InvalidSpec status, a Warning Event, no apply, TerminalError', async () => {
    const w = widget({ size: -1 });
    put(widgets, w);
    put(configMaps, stored(configMap(widget())));
    const err = await run().catch((e: unknown) => e);
    assert.ok(isTerminalError(err), String(err));
    assert.deepEqual(verbs(), ['status Widget/ns/w']);
    const status = kube.writes()[0]!.body as {
      conditions: { type: string; status: string; reason: string }[];
    };
    assert.deepEqual(
      status.conditions.map((c) => [c.type, c.status, c.reason]),
      [['Ready', 'False', 'InvalidSpec']],
    );
    assert.deepEqual(
      recorder.events.map((e) => [e.type, e.reason, e.note]),
      [['Warning', 'InvalidSpec', 'spec.size: must be ≥ 0']],
    );
  });

  it('refuses a desired child without the owner labels or the controller reference (a bug)', async () => {
    put(widgets, widget());
    const bare = (w: Widget) => ({ ...configMap(w), metadata: { name: 'x', namespace: 'ns' } });
    await assert.rejects(run(kind({ desired: (w) => [bare(w)] })), TypeError);
    const unowned = (w: Widget) => ({
      ...configMap(w),
      metadata: { ...configMap(w).metadata, ownerReferences: [] },
    });
    await assert.rejects(run(kind({ desired: (w) => [unowned(w)] })), /controller ownerReference/);
    assert.deepEqual(kube.writes(), []);
  });

  it('creates a create-only child when absent, and never updates it', async () => {
    const ns = (): KubeObject => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'shared', namespace: 'ns', labels: { ...ownerLabels } },
      data: { a: '1' },
    });
    const k = kind({ desired: () => [ns()], createOnly: (c) => c.metadata?.name === 'shared' });
    put(widgets, widget());
    await run(k);
    assert.deepEqual(verbs(), ['create ConfigMap/ns/shared', 'status Widget/ns/w']);
    kube.calls.length = 0;
    put(configMaps, {
      ...ns(),
      data: { a: 'changed by someone' },
      metadata: { ...ns().metadata, resourceVersion: '5' },
    });
    await run(k);
    assert.ok(!verbs().some((v) => v.startsWith('create') || v.startsWith('apply')));
  });

  it('adds the finalizer first, then finalizes on deletion and removes it', async () => {
    const k = kind({
      finalizer: {
        name: 'test.meshwright.io/cleanup',
        finalize: (w) => {
          finalized.push(w.metadata!.name!);
          return Promise.resolve();
        },
      },
    });
    put(widgets, widget());
    await run(k);
    assert.deepEqual(verbs(), ['patch Widget/ns/w', 'apply ConfigMap/ns/w-size', 'status Widget/ns/w']);
    assert.deepEqual(kube.writes()[0]!.body, {
      metadata: { resourceVersion: '10', finalizers: ['test.meshwright.io/cleanup'] },
    });
    // the status write uses the resourceVersion the finalizer patch returned
    assert.deepEqual(kube.writes()[2]!.opts, { resourceVersion: '101' });

    kube.calls.length = 0;
    put(
      widgets,
      widget({
        meta: {
          deletionTimestamp: '2025-01-01T00:00:00Z',
          finalizers: ['other', 'test.meshwright.io/cleanup'],
          resourceVersion: '11',
        },
      }),
    );
    await run(k);
    assert.deepEqual(finalized, ['w']);
    assert.deepEqual(verbs(), ['patch Widget/ns/w']);
    assert.deepEqual(kube.writes()[0]!.body, { metadata: { resourceVersion: '11', finalizers: ['other'] } });
  });

  it('does nothing for an object being deleted without a finalizer of its own', async () => {
    put(widgets, widget({ meta: { deletionTimestamp: '2025-01-01T00:00:00Z', finalizers: ['other'] } }));
    await run();
    assert.deepEqual(kube.writes(), []);
  });

  it('returns requeueAfter from the status result', async () => {
    put(widgets, widget());
    const k = kind();
    const result = await run({ ...k, status: (...a) => ({ ...k.status(...a), requeueAfterMs: 5000 }) });
    assert.deepEqual(result, { requeueAfter: 5000 });
  });
});

describe('helpers', () => {
  it('isDeepSubset: objects by key, arrays element-wise with equal length, scalars equal', () => {
    assert.ok(isDeepSubset({ a: 1, b: { c: [1, { d: 2 }] } }, { a: 1, x: 0, b: { c: [1, { d: 2, e: 3 }] } }));
    assert.ok(!isDeepSubset({ a: [1] }, { a: [1, 2] }));
    assert.ok(!isDeepSubset({ a: '1' }, { a: 1 }));
    assert.ok(!isDeepSubset({ a: {} }, { a: null }));
  });

  it('isUpToDate matches ownerReferences by uid, ignoring references others added', () => {
    const w = widget();
    const child = withDesiredHash(configMap(w));
    const cached = stored(configMap(w));
    cached.metadata!.ownerReferences = [
      { apiVersion: 'v1', kind: 'Other', name: 'o', uid: 'uid-o' },
      ...cached.metadata!.ownerReferences!,
    ];
    assert.ok(isUpToDate(child, cached));
  });

  it('replacingMergePatch nulls removed keys recursively and replaces arrays', () => {
    assert.deepEqual(replacingMergePatch({ a: 1, b: { c: 1, d: 2 }, e: [1, 2] }, { b: { c: 1 }, e: [3] }), {
      a: null,
      b: { c: 1, d: null },
      e: [3],
    });
  });

  it('primaryChanged passes spec changes and resyncs, not status writes', () => {
    const old = widget();
    const statusWrite = { ...old, metadata: { ...old.metadata, resourceVersion: '11' } };
    const specChange = { ...old, metadata: { ...old.metadata, resourceVersion: '12', generation: 2 } };
    assert.equal(primaryChanged({ type: 'update', old, object: statusWrite }), false);
    assert.equal(primaryChanged({ type: 'update', old, object: specChange }), true);
    assert.equal(primaryChanged({ type: 'update', old, object: old }), true);
  });
});
