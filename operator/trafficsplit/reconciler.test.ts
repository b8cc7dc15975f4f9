/**
 * The TrafficSplit kind on the standard path, against a recording fake `Kube`, a recording Event
 * recorder, a fake clock and a fake Prometheus (`fetch`): what it writes, in which order, what the
 * status and Events say, and what it asks Prometheus. No API server.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { API_VERSION } from '../api/index.js';
import type { TrafficSplitStatus } from '../api/trafficsplit.js';
import {
  FakeClock,
  Informer,
  keyOf,
  RecordingRecorder,
  silentLogger,
  standardReconciler,
  type Condition,
  type KubeObject,
  type Reconcile,
} from '../runtime/index.js';
import { RecordingKube, type Call } from '../runtime/recording-kube.js';
import type { FetchFn } from './analysis.js';
import { httpRouteName } from './names.js';
import { podTemplateHash, type Deployment, type Service } from './observe.js';
import {
  Deployments,
  HTTPRoutes,
  METRIC,
  RESOLVED_REFS,
  Services,
  trafficSplitKind,
  trafficSplitMetrics,
  TrafficSplits,
  type RouteSource,
} from './reconciler.js';

/** Applies a JSON merge patch (RFC 7386) to `target`. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> =
    target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

const NS = 'shop';
const T0 = Date.UTC(2025, 5, 1, 12, 0, 0);

let kube: RecordingKube;
let recorder: RecordingRecorder;
let splits: Informer;
let services: Informer<Service>;
let deployments: Informer<Deployment>;
let routes: Informer | undefined;
let clock: FakeClock;
let registry: Registry;
let queries: string[];
let prometheus: (query: string) => Promise<Response>;
let rv: number;

const put = <T extends KubeObject>(inf: Informer<T>, obj: object): void =>
  void inf.store.put(keyOf(obj as KubeObject), obj as T);

const svc = (name: string, ports = [{ name: 'http', port: 80, protocol: 'TCP' }]): Service => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: NS, uid: `uid-${name}` },
  spec: { selector: { app: name }, ports },
});

const deployment = (name: string, app: string, image = 'checkout:1', ready = 1): Deployment => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: NS, uid: `uid-${name}` },
  spec: {
    selector: { matchLabels: { app } },
    template: { metadata: { labels: { app } }, spec: { containers: [{ name: 'app', image }] } },
  },
  status: { readyReplicas: ready },
});

const promAnswer = (value: string): Response =>
  new Response(
    JSON.stringify({
      status: 'success',
      data: { resultType: 'vector', result: [{ metric: {}, value: [0, value] }] },
    }),
    {
      status: 200,
      headers: { 'content-type': 'application/json' },
    },
  );

const fakeFetch: FetchFn = (url, init) => {
  queries.push(url.searchParams.get('query') ?? '');
  return new Promise((resolve, reject) => {
    init.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
    prometheus(url.searchParams.get('query') ?? '').then(resolve, reject);
  });
};

function split(spec: Record<string, unknown> = {}, status?: TrafficSplitStatus): KubeObject {
  return {
    apiVersion: API_VERSION,
    kind: 'TrafficSplit',
    metadata: {
      name: 'checkout',
      namespace: NS,
      uid: 'uid-split',
      generation: 1,
      resourceVersion: String(rv),
    },
    spec: {
      targetRef: { name: 'checkout' },
      backends: { stable: { name: 'checkout-stable' }, canary: { name: 'checkout-canary' } },
      strategy: { interval: '1m', steps: [{ setWeight: 10 }, { setWeight: 50 }] },
      analysis: {
        prometheus: { address: 'http://prometheus.test:9090' },
        failureThreshold: 2,
        consecutiveErrorLimit: 2,
        metrics: [{ name: 'success-rate', type: 'RequestSuccessRate', thresholdRange: { min: 99 } }],
      },
      ...spec,
    },
    ...(status ? { status } : {}),
  };
}

const routeSource = (): RouteSource => ({
  current: () => routes,
  discover: () => Promise.resolve(routes),
  recheckMs: 30_000,
});

let rec: Reconcile | undefined;
let timeoutMs: number | undefined;

/** One reconcile, by one reconciler per test (its memory carries over); `stale`: the cache does not see the status write. */
const reconcile = async (o: { timeoutMs?: number; stale?: boolean } = {}) => {
  const before = kube.calls.length;
  timeoutMs = o.timeoutMs;
  rec ??= standardReconciler(
    { kube, events: recorder, clock },
    trafficSplitKind(
      { services, deployments },
      {
        clock,
        routes: routeSource(),
        fetch: fakeFetch,
        metrics: trafficSplitMetrics(registry),
        get prometheusTimeoutMs() {
          return timeoutMs;
        },
      },
    ),
    splits,
  );
  const result = await rec(`${NS}/checkout`, {
    reconcileID: 'r',
    log: silentLogger(),
    signal: new AbortController().signal,
    namespace: NS,
    name: 'checkout',
  });
  if (o.stale) return { result, calls: kube.calls.slice(before) };
  // the API server stores the status (and the informer sees it)
  for (const c of kube.calls.slice(before))
    if (c.verb === 'status') {
      const cur = splits.get(`${NS}/checkout`)!;
      put(splits, {
        ...cur,
        metadata: { ...cur.metadata, resourceVersion: String(++rv) },
        status: mergePatch(cur.status, c.body),
      });
    }
  return { result, calls: kube.calls.slice(before) };
};

const status = () => splits.get(`${NS}/checkout`)!.status as TrafficSplitStatus;
const cond = (type: string) => {
  const c = (status().conditions as Condition[]).find((x) => x.type === type)!;
  return [c.status, c.reason];
};
const writes = (calls: Call[]) => calls.map((c) => `${c.verb} ${c.ref}`);
const reasons = () => recorder.events.map((e) => e.reason);

beforeEach(() => {
  kube = new RecordingKube();
  recorder = new RecordingRecorder();
  clock = new FakeClock(T0);
  registry = new Registry();
  queries = [];
  prometheus = () => Promise.resolve(promAnswer('100'));
  rv = 1;
  splits = new Informer(kube, TrafficSplits);
  services = new Informer<Service>(kube, Services);
  deployments = new Informer<Deployment>(kube, Deployments);
  routes = undefined;
  rec = undefined;
  for (const n of ['checkout', 'checkout-stable', 'checkout-canary']) put(services, svc(n));
  put(deployments, deployment('checkout-v1', 'checkout-stable', 'checkout:1'));
  put(deployments, deployment('checkout-v2', 'checkout-canary', 'checkout:2'));
});

describe('TrafficSplit reconciler (fake Kube)', () => {
  it('starts the rollout at the first step: status with the weights, the revision and a requeue after one interval', async () => {
    put(splits, split());
    const { result, calls } = await reconcile();
    assert.deepEqual(writes(calls), ['status TrafficSplit/checkout']);
    const s = status();
    assert.equal(s.phase, 'Progressing');
    assert.equal(s.currentStepIndex, 0);
    assert.deepEqual(s.weights, { stable: 90, canary: 10 });
    assert.equal(
      s.canaryRevision,
      podTemplateHash(deployment('x', 'checkout-canary', 'checkout:2').spec!.template),
    );
    assert.deepEqual(cond(RESOLVED_REFS), ['True', 'ResolvedRefs']);
    assert.deepEqual(cond('Ready'), ['True', 'BackendsReady']);
    assert.deepEqual(result, { requeueAfter: 60_000 });
    assert.deepEqual(reasons(), ['RolloutStarted', 'StepAdvanced']);
    assert.deepEqual(queries, [], 'no check before the interval is over');
  });

  it('writes nothing and emits nothing when called again with the status it wrote', async () => {
    put(splits, split());
    await reconcile();
    recorder.events.length = 0;
    clock.advance(5_000);
    const { result, calls } = await reconcile();
    assert.deepEqual(writes(calls), []);
    assert.deepEqual(reasons(), []);
    assert.deepEqual(result, { requeueAfter: 55_000 });
  });

  it('runs the check when the step is due, then takes the next step with the results (Events of both calls)', async () => {
    put(splits, split());
    await reconcile();
    recorder.events.length = 0;
    clock.advance(60_000);
    const { result, calls } = await reconcile();
    assert.equal(queries.length, 1);
    assert.match(queries[0]!, /destination_service="checkout-canary"/);
    assert.deepEqual(writes(calls), ['status TrafficSplit/checkout']);
    assert.deepEqual(status().weights, { stable: 50, canary: 50 });
    assert.equal(status().currentStepIndex, 1);
    assert.equal(status().analysis?.[0]?.result, 'Passed');
    assert.deepEqual(reasons(), ['AnalysisPassed', 'StepAdvanced']);
    assert.deepEqual(result, { requeueAfter: 60_000 });
    const text = await registry.metrics();
    assert.match(
      text,
      new RegExp(
        `${METRIC.analysisChecks}\\{namespace="shop",name="checkout",metric="success-rate",result="Passed"\\} 1`,
      ),
    );
  });

  it('counts a Prometheus that does not answer in time as Inconclusive, bounded by prometheusTimeoutMs', async () => {
    put(splits, split());
    await reconcile();
    clock.advance(60_000);
    prometheus = () => new Promise(() => undefined); // never answers
    await reconcile({ timeoutMs: 50 });
    assert.equal(status().consecutiveErrors, 1);
    assert.equal(status().analysis?.[0]?.result, 'Inconclusive');
    assert.match(status().analysis?.[0]?.message ?? '', /timed out after 50ms/);
    assert.deepEqual(status().weights, { stable: 90, canary: 10 }, 'inconclusive never moves on');
  });

  it('rolls back when the checks fail failureThreshold times: weights 100/0', async () => {
    put(splits, split());
    await reconcile();
    prometheus = () => Promise.resolve(promAnswer('80'));
    clock.advance(60_000);
    await reconcile();
    assert.equal(status().failedChecks, 1);
    clock.advance(60_000);
    await reconcile();
    assert.equal(status().phase, 'RolledBack');
    assert.deepEqual(status().weights, { stable: 100, canary: 0 });
    assert.deepEqual(cond('RolledBack'), ['True', 'AnalysisFailed']);
  });

  it('does not run a check twice when the cache has not seen its own status write yet', async () => {
    put(splits, split());
    await reconcile();
    clock.advance(60_000);
    await reconcile({ stale: true });
    assert.equal(queries.length, 1);
    const stored = kube.calls.filter((c) => c.verb === 'status').length;
    clock.advance(100);
    const { calls } = await reconcile({ stale: true });
    assert.equal(queries.length, 1, 'the step was taken: no second check');
    assert.equal(kube.calls.filter((c) => c.verb === 'status').length, stored);
    assert.deepEqual(writes(calls), []);
  });

  it('reports a missing backend Service as ResolvedRefs=False and does not move', async () => {
    services.store.remove(`${NS}/checkout-canary`);
    put(splits, split());
    const { result } = await reconcile();
    assert.deepEqual(cond(RESOLVED_REFS), ['False', 'BackendNotFound']);
    assert.deepEqual(cond('Ready')[0], 'False');
    assert.deepEqual(status().weights, { stable: 100, canary: 0 });
    assert.equal(status().phase, 'Initializing');
    assert.ok(result && result.requeueAfter! > 0, 'requeued to check the progress deadline');
    const warning = recorder.events.find((e) => e.reason === 'BackendNotFound');
    assert.match(warning?.note ?? '', /canary Service checkout-canary/);
  });

  it('reports backends whose ports differ from the apex Service as ResolvedRefs=False (PortsMismatch)', async () => {
    put(services, svc('checkout-stable', [{ name: 'http', port: 8080, protocol: 'TCP' }]));
    put(splits, split());
    await reconcile();
    assert.deepEqual(cond(RESOLVED_REFS), ['False', 'PortsMismatch']);
    assert.match(
      (status().conditions as Condition[]).find((c) => c.type === RESOLVED_REFS)!.message,
      /stable Service checkout-stable lacks port 80\/TCP/,
    );
    assert.deepEqual(status().weights, { stable: 100, canary: 0 });
  });

  it('leaves the revision unknown when two Deployments are behind the canary Service', async () => {
    put(deployments, deployment('checkout-v3', 'checkout-canary', 'checkout:3'));
    put(splits, split());
    await reconcile();
    assert.deepEqual(cond('Ready'), ['False', 'CanaryRevisionUnknown']);
    assert.equal(status().canaryRevision, undefined);
  });

  it('waits for a ready replica behind each backend', async () => {
    put(deployments, deployment('checkout-v1', 'checkout-stable', 'checkout:1', 0));
    put(splits, split());
    await reconcile();
    assert.deepEqual(cond('Ready'), ['False', 'BackendsNotReady']);
    assert.deepEqual(status().weights, { stable: 100, canary: 0 });
  });

  it('a new canary pod template starts a new rollout', async () => {
    put(splits, split());
    await reconcile();
    clock.advance(60_000);
    await reconcile();
    assert.equal(status().currentStepIndex, 1);
    put(deployments, deployment('checkout-v2', 'checkout-canary', 'checkout:3'));
    clock.advance(1_000);
    await reconcile();
    assert.equal(status().currentStepIndex, 0);
    assert.deepEqual(status().weights, { stable: 90, canary: 10 });
    assert.equal(
      status().canaryRevision,
      podTemplateHash(deployment('x', 'checkout-canary', 'checkout:3').spec!.template),
    );
  });

  it('requeues a rollout with nothing to wait for after recheckMs while the HTTPRoute CRD is absent', async () => {
    put(splits, split({ strategy: { interval: '1m', steps: [{ pause: {} }] } }));
    const { result } = await reconcile();
    assert.equal(status().phase, 'Paused');
    assert.deepEqual(result, { requeueAfter: 30_000 });
    routes = new Informer(kube, HTTPRoutes);
    rec = undefined;
    const again = await reconcile();
    assert.equal(again.result, undefined, 'with the CRD there, only a change moves it');
  });

  describe('with the HTTPRoute CRD installed', () => {
    beforeEach(() => {
      routes = new Informer(kube, HTTPRoutes);
    });

    it('applies the HTTPRoute with the weights before writing the status', async () => {
      put(splits, split());
      await reconcile();
      assert.deepEqual(writes(kube.calls), [
        `apply HTTPRoute/${httpRouteName({ metadata: { name: 'checkout' } })}`,
        'status TrafficSplit/checkout',
      ]);
      const route = kube.calls[0]!.body as {
        metadata: { ownerReferences: { uid: string; controller: boolean }[] };
        spec: {
          parentRefs: { name: string; port?: number }[];
          rules: { backendRefs: { name: string; port: number; weight: number }[] }[];
        };
      };
      assert.deepEqual(
        route.metadata.ownerReferences.map((r) => [r.uid, r.controller]),
        [['uid-split', true]],
      );
      assert.deepEqual(
        route.spec.parentRefs.map((p) => [p.name, p.port]),
        [['checkout', 80]],
      );
      assert.deepEqual(
        route.spec.rules[0]!.backendRefs.map((b) => [b.name, b.port, b.weight]),
        [
          ['checkout-stable', 80, 90],
          ['checkout-canary', 80, 10],
        ],
      );
      assert.ok(reasons().includes('HTTPRouteApplied'));
    });

    it('keeps the last HTTPRoute while a backend Service is missing (never pruned)', async () => {
      put(splits, split());
      await reconcile();
      const applied = kube.calls[0]!.body as KubeObject;
      put(routes!, { ...applied, metadata: { ...applied.metadata, uid: 'uid-route', resourceVersion: '7' } });
      services.store.remove(`${NS}/checkout-stable`);
      const { calls } = await reconcile();
      assert.deepEqual(writes(calls), ['status TrafficSplit/checkout']);
    });
  });
});
