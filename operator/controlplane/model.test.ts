/**
 * The model over real informers fed by an in-memory `Kube` (list and watch only), with a FakeClock:
 * when builds happen (sync, debounce, max delay, settings), what they contain, and what the caches
 * keep.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { API_VERSION } from '../api/index.js';
import {
  RequestCounter,
  type Kube,
  type KubeObject,
  type ListResult,
  type RawWatchEvent,
  type ResourceType,
  type WatchHandle,
} from '../runtime/client.js';
import { FakeClock, settle } from '../runtime/clock.js';
import { SharedInformers } from '../runtime/informer.js';
import { XdsModel, type BuiltResources } from './model.js';
import { outboundCluster, outboundRoute, serverListener } from './xds/names.js';
import { TYPE, type Message, type ResourceTypeUrl } from './xds/protos.js';
import { DEFAULT_MESH, SERVICE_NAME_LABEL, type MeshSettings, type Snapshot } from './xds/snapshot.js';

/** The API server, as far as informers see it: list (held until `release()`) and watch. */
class MemoryKube implements Kube {
  readonly requests = new RequestCounter();
  private readonly objects = new Map<string, Map<string, KubeObject>>();
  private readonly watchers = new Map<string, Set<(ev: RawWatchEvent) => void>>();
  private rv = 1;
  private open!: () => void;
  private readonly gate = new Promise<void>((resolve) => (this.open = resolve));

  release(): void {
    this.open();
  }

  put(type: ResourceType, obj: KubeObject): void {
    const store = this.store(type);
    const key = `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name}`;
    const stored = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(++this.rv) } };
    const existed = store.has(key);
    store.set(key, stored);
    this.emit(type, { type: existed ? 'MODIFIED' : 'ADDED', object: stored });
  }

  remove(type: ResourceType, namespace: string, name: string): void {
    const store = this.store(type);
    const obj = store.get(`${namespace}/${name}`);
    if (obj === undefined) return;
    store.delete(`${namespace}/${name}`);
    this.emit(type, {
      type: 'DELETED',
      object: { ...obj, metadata: { ...obj.metadata, resourceVersion: String(++this.rv) } },
    });
  }

  async list<T extends KubeObject>(type: ResourceType): Promise<ListResult<T>> {
    await this.gate;
    return { items: [...this.store(type).values()] as T[], resourceVersion: String(this.rv) };
  }

  watch<T extends KubeObject>(
    type: ResourceType,
    _o: unknown,
    onEvent: (ev: RawWatchEvent<T>) => void,
  ): WatchHandle {
    const set = this.watchers.get(type.plural) ?? new Set();
    this.watchers.set(type.plural, set);
    const handler = onEvent as (ev: RawWatchEvent) => void;
    set.add(handler);
    let end!: () => void;
    const done = new Promise<void>((resolve) => (end = resolve));
    return {
      done,
      abort: () => {
        set.delete(handler);
        end();
      },
    };
  }

  private store(type: ResourceType): Map<string, KubeObject> {
    const store = this.objects.get(type.plural) ?? new Map<string, KubeObject>();
    this.objects.set(type.plural, store);
    return store;
  }

  private emit(type: ResourceType, ev: RawWatchEvent): void {
    for (const h of this.watchers.get(type.plural) ?? []) h(structuredClone(ev));
  }

  // Informers only list and watch.
  private readonly refuse = (): Promise<never> => Promise.reject(new Error('not in the fake'));
  get = this.refuse;
  create = this.refuse;
  replace = this.refuse;
  delete = this.refuse;
  apply = this.refuse;
  mergePatch = this.refuse;
  patchStatus = this.refuse;
}

const T = {
  services: { apiVersion: 'v1', kind: 'Service', plural: 'services', namespaced: true },
  slices: {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    plural: 'endpointslices',
    namespaced: true,
  },
  namespaces: { apiVersion: 'v1', kind: 'Namespace', plural: 'namespaces', namespaced: false },
  policies: { apiVersion: API_VERSION, kind: 'ServicePolicy', plural: 'servicepolicies', namespaced: true },
  splits: { apiVersion: API_VERSION, kind: 'TrafficSplit', plural: 'trafficsplits', namespaced: true },
} satisfies Record<string, ResourceType>;

const NS = 'shop';

const service = (name: string, extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: {
    name,
    namespace: NS,
    annotations: { note: 'kept out' },
    managedFields: [{ manager: 'kubectl' }],
  },
  spec: {
    selector: { app: name },
    clusterIP: '10.96.0.10',
    ports: [{ name: 'grpc', port: 8080, targetPort: 50051 }],
    sessionAffinity: 'None',
  },
  status: { loadBalancer: {} },
  ...extra,
});

const slice = (serviceName: string, ips: string[]): KubeObject => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: {
    name: `${serviceName}-x`,
    namespace: NS,
    labels: { [SERVICE_NAME_LABEL]: serviceName, other: 'x' },
  },
  addressType: 'IPv4',
  endpoints: ips.map((ip) => ({
    addresses: [ip],
    conditions: { ready: true },
    nodeName: 'n1',
    targetRef: { kind: 'Pod', name: 'p' },
  })),
  ports: [{ name: 'grpc', port: 50051, protocol: 'TCP' }],
});

const policy = (spec: Record<string, unknown>, generation = 1): KubeObject => ({
  apiVersion: API_VERSION,
  kind: 'ServicePolicy',
  metadata: { name: 'checkout', namespace: NS, generation, creationTimestamp: '2026-01-01T00:00:00Z' },
  spec: { targetRef: { name: 'checkout' }, ...spec },
  status: { conditions: [] },
});

const split = (weights?: { stable: number; canary: number }, conditions: unknown[] = []): KubeObject => ({
  apiVersion: API_VERSION,
  kind: 'TrafficSplit',
  metadata: { name: 'checkout', namespace: NS },
  spec: {
    targetRef: { name: 'checkout' },
    backends: { stable: { name: 'checkout-stable' }, canary: { name: 'checkout-canary' } },
    strategy: { stepWeight: 10 },
  },
  status: { ...(weights ? { weights } : {}), conditions },
});

const named = (built: BuiltResources, type: ResourceTypeUrl): Message[] => built[type];
const routeAction = (built: BuiltResources): Message => {
  const route = named(built, TYPE.routeConfiguration).find(
    (r) => r.name === outboundRoute(NS, 'checkout', 8080),
  )!;
  return ((route.virtual_hosts as Message[])[0]!.routes as Message[])[0]!.route as Message;
};

let kube: MemoryKube;
let clock: FakeClock;
let informers: SharedInformers;
let model: XdsModel;
let builds: { resources: BuiltResources; snapshot: Snapshot; at: number }[];
let mesh: MeshSettings;

function start(o: { quietMs?: number; maxDelayMs?: number } = {}): void {
  model = new XdsModel({
    informers,
    mesh: () => mesh,
    clock,
    ...o,
    onResources: (resources, snapshot) => builds.push({ resources, snapshot, at: clock.now() }),
  });
  informers.start();
  void model.start();
}

/** Starts the model over a synced cluster holding `checkout` and its endpoint; resolves after the first build. */
async function startSynced(o: { quietMs?: number; maxDelayMs?: number } = {}): Promise<void> {
  kube.put(T.services, service('checkout'));
  kube.put(T.slices, slice('checkout', ['10.1.0.1']));
  kube.release();
  start(o);
  await settle();
  await settle();
  assert.equal(builds.length, 1, 'the first build follows the sync');
}

beforeEach(() => {
  kube = new MemoryKube();
  clock = new FakeClock();
  informers = new SharedInformers(kube, { clock });
  builds = [];
  mesh = { ...DEFAULT_MESH };
});

afterEach(async () => {
  model?.stop();
  await informers.stop();
});

describe('XdsModel: when it builds', () => {
  it('builds nothing before every informer has synced, then once at once', async () => {
    kube.put(T.services, service('checkout'));
    start();
    await settle();
    kube.put(T.services, service('orders')); // a change while unsynced
    await clock.advanceAsync(1000);
    assert.equal(builds.length, 0);
    assert.equal(model.builds.total, 0);

    kube.release();
    await settle();
    await settle();
    assert.equal(builds.length, 1);
    assert.deepEqual(
      builds[0]!.snapshot.services.map((s) => s.metadata.name).sort(),
      ['checkout', 'orders'],
      'the change made while unsynced is in the first build',
    );
    await clock.advanceAsync(1000);
    assert.equal(builds.length, 1, 'no change since: no second build');
  });

  it('coalesces a burst into one build after the quiet period', async () => {
    await startSynced();
    const t0 = clock.now();
    const changesBefore = model.builds.changes;
    for (let i = 0; i < 5; i++) {
      kube.put(T.slices, slice('checkout', [`10.1.0.${i + 2}`]));
      await clock.advanceAsync(2);
    }
    assert.equal(builds.length, 1, 'still within 10 ms of the last change');
    await clock.advanceAsync(7);
    assert.equal(builds.length, 1);
    await clock.advanceAsync(1);
    assert.equal(builds.length, 2, 'one build, 10 ms after the last change');
    assert.equal(builds[1]!.at - t0, 8 + 10);
    assert.equal(model.builds.changes - changesBefore, 5, 'the five changes went into it');
    const cla = named(builds[1]!.resources, TYPE.clusterLoadAssignment).find(
      (c) => c.cluster_name === outboundCluster(NS, 'checkout', 8080),
    )!;
    assert.match(JSON.stringify(cla), /10\.1\.0\.6/, 'the build has the last state');
    await clock.advanceAsync(1000);
    assert.equal(builds.length, 2);
  });

  it('a steady stream of changes still publishes every maxDelayMs', async () => {
    await startSynced();
    const t0 = clock.now();
    for (let i = 0; i <= 60; i++) {
      kube.put(T.slices, slice('checkout', [`10.1.1.${i}`]));
      await clock.advanceAsync(5); // never 10 ms of quiet
    }
    const times = () => builds.slice(1).map((b) => b.at - t0);
    assert.deepEqual(times(), [100, 200, 300]);
    assert.equal(model.lastBuildDelayMs, 100);
    await clock.advanceAsync(100);
    assert.deepEqual(
      times(),
      [100, 200, 300, 310],
      'the change made at 300 ms is built after a quiet period',
    );
  });

  it('rebuilds when the mesh settings change', async () => {
    await startSynced();
    const listener = (b: (typeof builds)[number]) =>
      JSON.stringify(
        named(b.resources, TYPE.listener).find((l) => l.name === serverListener('10.1.0.1', 50051)),
      );
    assert.match(listener(builds[0]!), /require_client_certificate/);
    mesh = { ...mesh, mtlsMode: 'Permissive' };
    model.meshChanged();
    await clock.advanceAsync(10);
    assert.equal(builds.length, 2);
    assert.equal(builds[1]!.snapshot.mesh.mtlsMode, 'Permissive');
    assert.doesNotMatch(listener(builds[1]!), /require_client_certificate/);
  });

  it('ignores updates of fields it does not keep (status, annotations) and resyncs', async () => {
    await startSynced();
    kube.put(T.services, service('checkout', { status: { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } } }));
    kube.put(T.services, {
      ...service('checkout'),
      metadata: { name: 'checkout', namespace: NS, annotations: { note: 'changed' } },
    });
    informers.resync();
    await clock.advanceAsync(1000);
    assert.equal(builds.length, 1);
    kube.remove(T.services, NS, 'checkout');
    await clock.advanceAsync(10);
    assert.equal(builds.length, 2, 'a deletion is a change');
    assert.equal(builds[1]!.snapshot.services.length, 0);
  });

  it('stops building when stopped', async () => {
    await startSynced();
    kube.put(T.slices, slice('checkout', ['10.1.0.9']));
    model.stop();
    await clock.advanceAsync(1000);
    assert.equal(builds.length, 1);
  });
});

describe('XdsModel: what it builds', () => {
  it('serves TrafficSplit status weights; a status write without weight change builds nothing', async () => {
    kube.put(T.services, service('checkout-stable'));
    kube.put(T.services, service('checkout-canary'));
    kube.put(T.splits, split({ stable: 90, canary: 10 }));
    await startSynced();
    assert.deepEqual(routeAction(builds[0]!.resources), {
      weighted_clusters: {
        clusters: [
          { name: outboundCluster(NS, 'checkout-stable', 8080), weight: { value: 90 } },
          { name: outboundCluster(NS, 'checkout-canary', 8080), weight: { value: 10 } },
        ],
      },
    });
    kube.put(T.splits, split({ stable: 90, canary: 10 }, [{ type: 'Progressing', status: 'True' }]));
    await clock.advanceAsync(1000);
    assert.equal(builds.length, 1);
    kube.put(T.splits, split({ stable: 0, canary: 100 }));
    await clock.advanceAsync(10);
    assert.deepEqual(routeAction(builds[1]!.resources), {
      cluster: outboundCluster(NS, 'checkout-canary', 8080),
    });
  });

  it('ignores weights that do not add up to 100 (all to stable, as before any status)', async () => {
    kube.put(T.services, service('checkout-stable'));
    kube.put(T.services, service('checkout-canary'));
    kube.put(T.splits, split({ stable: 70, canary: 70 }));
    await startSynced();
    assert.deepEqual(routeAction(builds[0]!.resources), {
      cluster: outboundCluster(NS, 'checkout-stable', 8080),
    });
  });

  it('reports the served generation of each policy; an invalid update keeps the last valid spec', async () => {
    kube.put(T.policies, policy({ resilience: { timeouts: { request: '2s' } } }, 1));
    await startSynced();
    assert.deepEqual([...model.servedGenerations()], [[`${NS}/checkout`, 1]]);
    assert.deepEqual(routeAction(builds[0]!.resources).timeout, { seconds: 2 });
    assert.deepEqual(
      builds[0]!.snapshot.servicePolicies[0]!.spec.resilience?.retries,
      undefined,
      'the spec went through zod',
    );

    kube.put(T.policies, policy({ resilience: { timeouts: { request: '3s' } } }, 2));
    await clock.advanceAsync(10);
    assert.deepEqual([...model.servedGenerations()], [[`${NS}/checkout`, 2]]);
    assert.deepEqual(routeAction(builds[1]!.resources).timeout, { seconds: 3 });

    // What only zod checks (perTryTimeout longer than the request timeout): generation 3 is refused.
    kube.put(
      T.policies,
      policy(
        { resilience: { timeouts: { request: '1s' }, retries: { attempts: 2, perTryTimeout: '5s' } } },
        3,
      ),
    );
    await clock.advanceAsync(10);
    assert.equal(builds.length, 3);
    assert.deepEqual(
      [...model.servedGenerations()],
      [[`${NS}/checkout`, 2]],
      'generation 2 is still what is served',
    );
    assert.deepEqual(routeAction(builds[2]!.resources).timeout, { seconds: 3 });

    kube.remove(T.policies, NS, 'checkout');
    await clock.advanceAsync(10);
    assert.deepEqual([...model.servedGenerations()], []);
    assert.equal(routeAction(builds[3]!.resources).timeout, undefined);
  });

  it('fills retry defaults through zod, as the API server does', async () => {
    kube.put(T.policies, policy({ resilience: { retries: { attempts: 2 } } }));
    await startSynced();
    const retry = routeAction(builds[0]!.resources).retry_policy as Message;
    assert.equal(retry.retry_on, 'cancelled,connect-failure,refused-stream,unavailable');
  });

  it('keeps only what the builders read', async () => {
    kube.put(T.namespaces, {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: NS, labels: { team: 'a' }, annotations: { a: 'b' } },
      spec: { finalizers: ['kubernetes'] },
    });
    kube.put(T.splits, split({ stable: 100, canary: 0 }, [{ type: 'Ready', status: 'True' }]));
    await startSynced();
    const s = builds[0]!.snapshot;
    const strip = (o: object) =>
      JSON.parse(JSON.stringify(o, (k, v: unknown) => (k === 'resourceVersion' ? undefined : v))) as unknown;
    assert.deepEqual(strip(s.services[0]!), {
      metadata: { name: 'checkout', namespace: NS },
      spec: {
        clusterIP: '10.96.0.10',
        selector: { app: 'checkout' },
        ports: [{ name: 'grpc', port: 8080, targetPort: 50051 }],
      },
    });
    assert.deepEqual(strip(s.endpointSlices[0]!), {
      metadata: { name: 'checkout-x', namespace: NS, labels: { [SERVICE_NAME_LABEL]: 'checkout' } },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['10.1.0.1'], conditions: { ready: true } }],
      ports: [{ name: 'grpc', port: 50051, protocol: 'TCP' }],
    });
    assert.deepEqual(strip(s.namespaces![0]!), { metadata: { name: NS, labels: { team: 'a' } } });
    assert.deepEqual(strip(s.trafficSplits[0]!), {
      metadata: { name: 'checkout', namespace: NS },
      spec: {
        targetRef: { name: 'checkout' },
        backends: { stable: { name: 'checkout-stable' }, canary: { name: 'checkout-canary' } },
      },
      status: { weights: { stable: 100, canary: 0 } },
    });
  });

  it('trims objects itself when a shared informer was created first with another transform', async () => {
    // A controller in the same process asked first: its informers cache whole objects.
    informers.informer(T.services);
    informers.informer(T.policies);
    kube.put(T.policies, policy({ resilience: { retries: { attempts: 2 } } }));
    await startSynced();
    const s = builds[0]!.snapshot;
    assert.equal(JSON.stringify(s.services[0]).includes('annotations'), false);
    assert.deepEqual(s.services[0]!.spec?.ports, [{ name: 'grpc', port: 8080, targetPort: 50051 }]);
    const retry = routeAction(builds[0]!.resources).retry_policy as Message;
    assert.equal(
      retry.retry_on,
      'cancelled,connect-failure,refused-stream,unavailable',
      'zod defaults applied',
    );
    kube.put(T.services, service('checkout', { status: { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } } }));
    await clock.advanceAsync(1000);
    assert.equal(builds.length, 1, 'a status update still changes nothing');
  });
});
