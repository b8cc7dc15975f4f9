import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { servicePolicySpec } from '../../api/index.js';
import { ResourceStore, type XdsResources } from '../ads/store.js';
import { envoyResources, injectedSidecarSds, type EnvoyOptions } from './envoy.js';
import { IncrementalEnvoyResources, IncrementalResources } from './incremental.js';
import { outboundRoute } from './names.js';
import { TYPE } from './protos.js';
import { resources } from './resources.js';
import {
  DEFAULT_MESH,
  SERVICE_NAME_LABEL,
  type EndpointSlice,
  type MeshSettings,
  type Namespace,
  type Service,
  type ServicePolicy,
  type Snapshot,
  type TrafficSplit,
} from './snapshot.js';

// A small world, so that Services collide: shared ClusterIPs, pods selected by two Services, two
// policies for one Service, two splits for one apex, split backends that come and go.
const NAMESPACES = ['shop', 'web'];
const NAMES = ['a', 'b', 'c'];
const IPS = ['10.1.0.1', '10.1.0.2', 'fd00::1'];
const CLUSTER_IPS = ['10.96.0.1', '10.96.0.2', 'None', '', 'fd00:96::1'];
const PORTS = [
  { name: 'grpc', port: 8080, targetPort: 50051 },
  { name: 'http-web', port: 80, targetPort: 8080 },
  { name: 'redis', port: 6379 },
  { port: 9090, appProtocol: 'kubernetes.io/h2c' },
  { name: 'dns', port: 53, protocol: 'UDP' },
];
const SLICE_PORTS = [
  { name: 'grpc', port: 50051 },
  { name: 'http-web', port: 8080 },
  { name: 'redis', port: 6379 },
  { name: '', port: 9090 },
];
const POLICY_SPECS = [
  {},
  {
    access: {
      rules: [{ name: 'fe', from: [{ serviceAccounts: ['web/frontend'] }], to: [{ ports: ['grpc'] }] }],
    },
  },
  { access: { rules: [{ name: 'team', from: [{ namespaceSelector: { matchLabels: { team: 'x' } } }] }] } },
  {
    resilience: {
      timeouts: { request: '2s', idle: '5m' },
      retries: { attempts: 2 },
      circuitBreaker: { maxConnections: 10, outlierDetection: { consecutive5xxErrors: 3 } },
      rateLimit: { requestsPerSecond: 100, burst: 20 },
    },
  },
  { resilience: { faultInjection: { abort: { httpStatus: 503 } } } },
];

interface World {
  services: Map<string, Service>;
  slices: Map<string, EndpointSlice>;
  policies: Map<string, ServicePolicy>;
  splits: Map<string, TrafficSplit>;
  namespaces: Map<string, Namespace>;
  mesh: MeshSettings;
}

type Change = (w: World) => void;

const ns = fc.constantFrom(...NAMESPACES);
const name = fc.constantFrom(...NAMES);
const key = (namespace: string, n: string) => `${namespace}/${n}`;

const serviceChange: fc.Arbitrary<Change> = fc
  .record({
    namespace: ns,
    name,
    clusterIP: fc.constantFrom(...CLUSTER_IPS),
    selector: fc.integer({ min: 0, max: 3 }).map((n) => n > 0),
    external: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
    ports: fc.subarray(PORTS, { minLength: 1 }),
  })
  .map((s) => (w) => {
    w.services.set(key(s.namespace, s.name), {
      metadata: { name: s.name, namespace: s.namespace },
      spec: {
        ...(s.external ? { type: 'ExternalName' } : {}),
        ...(s.clusterIP ? { clusterIP: s.clusterIP } : {}),
        ...(s.selector ? { selector: { app: 'x' } } : {}),
        ports: s.ports.map((p) => ({ ...p })),
      },
    });
  });

const sliceChange: fc.Arbitrary<Change> = fc
  .record({
    namespace: ns,
    service: name,
    n: fc.integer({ min: 0, max: 1 }),
    ips: fc.subarray(IPS, { minLength: 1 }),
    ready: fc.boolean(),
    zone: fc.constantFrom(undefined, 'z1', 'z2'),
    ports: fc.subarray(SLICE_PORTS, { minLength: 1 }),
    fqdn: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
  })
  .map((s) => (w) => {
    w.slices.set(key(s.namespace, `${s.service}-${s.n}`), {
      metadata: {
        name: `${s.service}-${s.n}`,
        namespace: s.namespace,
        labels: { [SERVICE_NAME_LABEL]: s.service },
      },
      addressType: s.fqdn ? 'FQDN' : 'IPv4',
      endpoints: s.ips.map((ip) => ({
        addresses: [ip],
        conditions: { ready: s.ready },
        ...(s.zone ? { zone: s.zone } : {}),
      })),
      ports: s.ports.map((p) => ({ ...p, protocol: 'TCP' })),
    });
  });

const policyChange: fc.Arbitrary<Change> = fc
  .record({
    namespace: ns,
    name: fc.constantFrom('p1', 'p2'),
    target: name,
    created: fc.constantFrom('2026-01-01T00:00:00Z', '2026-02-01T00:00:00Z'),
    spec: fc.constantFrom(...POLICY_SPECS),
  })
  .map((p) => (w) => {
    w.policies.set(key(p.namespace, p.name), {
      metadata: { name: p.name, namespace: p.namespace, creationTimestamp: p.created },
      spec: servicePolicySpec.parse({ targetRef: { name: p.target }, ...p.spec }),
    });
  });

const splitChange: fc.Arbitrary<Change> = fc
  .record({
    namespace: ns,
    name: fc.constantFrom('s1', 's2'),
    target: name,
    stable: name,
    canary: name,
    canaryWeight: fc.option(fc.constantFrom(0, 20, 80, 100), { nil: undefined }),
  })
  .map((s) => (w) => {
    w.splits.set(key(s.namespace, s.name), {
      metadata: { name: s.name, namespace: s.namespace },
      spec: {
        targetRef: { name: s.target },
        backends: { stable: { name: s.stable }, canary: { name: s.canary } },
      },
      ...(s.canaryWeight !== undefined
        ? { status: { weights: { stable: 100 - s.canaryWeight, canary: s.canaryWeight } } }
        : {}),
    });
  });

const kinds = ['services', 'slices', 'policies', 'splits'] as const;

const deletion: fc.Arbitrary<Change> = fc
  .record({ kind: fc.constantFrom(...kinds), pick: fc.nat() })
  .map(({ kind, pick }) => (w) => {
    const keys = [...w[kind].keys()];
    if (keys.length > 0) w[kind].delete(keys[pick % keys.length]!);
  });

/** A new object with the same content: what a relist gives. */
const touch: fc.Arbitrary<Change> = fc
  .record({ kind: fc.constantFrom(...kinds), pick: fc.nat() })
  .map(({ kind, pick }) => (w) => {
    const map = w[kind] as Map<string, unknown>;
    const keys = [...map.keys()];
    if (keys.length === 0) return;
    const k = keys[pick % keys.length]!;
    map.set(k, structuredClone(map.get(k)));
  });

const namespaceChange: fc.Arbitrary<Change> = fc
  .record({
    namespace: ns,
    team: fc.boolean(),
    flipMember: fc.integer({ min: 0, max: 3 }).map((n) => n === 0),
  })
  .map((n) => (w) => {
    const member = Boolean(w.namespaces.get(n.namespace)?.metadata.labels?.member) !== n.flipMember;
    w.namespaces.set(n.namespace, {
      metadata: {
        name: n.namespace,
        labels: { ...(n.team ? { team: 'x' } : {}), ...(member ? { member: 'yes' } : {}) },
      },
    });
  });

const meshChange: fc.Arbitrary<Change> = fc
  .record({
    mtlsMode: fc.constantFrom('Strict', 'Permissive'),
    trustDomain: fc.constantFrom('cluster.local', 'example.org'),
  })
  .map((m) => (w) => {
    w.mesh = { ...w.mesh, ...m };
  });

const change = fc.oneof(
  { arbitrary: serviceChange, weight: 4 },
  { arbitrary: sliceChange, weight: 4 },
  { arbitrary: policyChange, weight: 2 },
  { arbitrary: splitChange, weight: 3 },
  { arbitrary: deletion, weight: 2 },
  { arbitrary: touch, weight: 2 },
  { arbitrary: namespaceChange, weight: 2 },
  { arbitrary: meshChange, weight: 1 },
);

/** Service `a` in `shop` selecting one pod, and its EndpointSlice. */
function serviceChangeOf(w: World): void {
  w.services.set(key('shop', 'a'), {
    metadata: { name: 'a', namespace: 'shop' },
    spec: { clusterIP: '10.96.0.1', selector: { app: 'a' }, ports: [PORTS[0]!] },
  });
  w.slices.set(key('shop', 'a'), {
    metadata: { name: 'a', namespace: 'shop', labels: { [SERVICE_NAME_LABEL]: 'a' } },
    addressType: 'IPv4',
    endpoints: [{ addresses: ['10.1.0.1'] }],
    ports: [SLICE_PORTS[0]!],
  });
}

const emptyWorld = (): World => ({
  services: new Map(),
  slices: new Map(),
  policies: new Map(),
  splits: new Map(),
  namespaces: new Map(NAMESPACES.map((n) => [n, { metadata: { name: n, labels: { member: 'yes' } } }])),
  mesh: DEFAULT_MESH,
});

const snapshotOf = (w: World): Snapshot => ({
  services: [...w.services.values()],
  endpointSlices: [...w.slices.values()],
  servicePolicies: [...w.policies.values()],
  trafficSplits: [...w.splits.values()],
  namespaces: [...w.namespaces.values()],
  mesh: w.mesh,
});

const envoyOptions = (s: Snapshot): EnvoyOptions => ({
  sdsConfig: injectedSidecarSds(),
  memberNamespaces: (s.namespaces ?? []).filter((n) => n.metadata.labels?.member).map((n) => n.metadata.name),
});

describe('incremental builders', () => {
  it('after every change of a random sequence, give what the pure builders give for the same snapshot', () => {
    fc.assert(
      fc.property(fc.array(fc.array(change, { minLength: 1, maxLength: 3 }), { maxLength: 30 }), (steps) => {
        const world = emptyWorld();
        const grpc = new IncrementalResources({ clusterDomain: 'example.local' });
        const envoy = new IncrementalEnvoyResources();
        for (const step of steps) {
          for (const apply of step) apply(world);
          const s = snapshotOf(world);
          assert.deepEqual(grpc.build(s), resources(s, { clusterDomain: 'example.local' }));
          const options = envoyOptions(s);
          assert.deepEqual(envoy.build(s, options), envoyResources(s, options));
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('a Namespace relabelled rebuilds what RBAC namespaceSelectors read', () => {
    const world = emptyWorld();
    serviceChangeOf(world);
    world.policies.set(key('shop', 'p1'), {
      metadata: { name: 'p1', namespace: 'shop' },
      spec: servicePolicySpec.parse({ targetRef: { name: 'a' }, ...POLICY_SPECS[2] }),
    });
    const grpc = new IncrementalResources();
    const envoy = new IncrementalEnvoyResources();
    for (const team of [false, true, false]) {
      world.namespaces.set('web', {
        metadata: { name: 'web', labels: { member: 'yes', ...(team ? { team: 'x' } : {}) } },
      });
      const s = snapshotOf(world);
      assert.deepEqual(grpc.build(s), resources(s));
      assert.deepEqual(envoy.build(s, envoyOptions(s)), envoyResources(s, envoyOptions(s)));
    }
  });

  it('a TrafficSplit weight change rebuilds its apex Service only, and hands back the other resources unchanged', () => {
    const world = emptyWorld();
    for (const n of ['apex', 'stable', 'canary', ...Array.from({ length: 20 }, (_, i) => `s${i}`)]) {
      world.services.set(key('shop', n), {
        metadata: { name: n, namespace: 'shop' },
        spec: { clusterIP: `10.96.0.${world.services.size + 1}`, selector: { app: n }, ports: [PORTS[0]!] },
      });
      world.slices.set(key('shop', n), {
        metadata: { name: n, namespace: 'shop', labels: { [SERVICE_NAME_LABEL]: n } },
        addressType: 'IPv4',
        endpoints: [{ addresses: [`10.1.0.${world.slices.size + 1}`] }],
        ports: [SLICE_PORTS[0]!],
      });
    }
    const split = (canary: number): TrafficSplit => ({
      metadata: { name: 'apex', namespace: 'shop' },
      spec: {
        targetRef: { name: 'apex' },
        backends: { stable: { name: 'stable' }, canary: { name: 'canary' } },
      },
      status: { weights: { stable: 100 - canary, canary } },
    });
    world.splits.set(key('shop', 'apex'), split(20));
    const grpc = new IncrementalResources();
    const envoy = new IncrementalEnvoyResources();
    const first = snapshotOf(world);
    const before = { grpc: grpc.build(first), envoy: envoy.build(first, envoyOptions(first)) };
    assert.equal(grpc.rebuilt, 23);

    world.splits.set(key('shop', 'apex'), split(80));
    const second = snapshotOf(world);
    const after = { grpc: grpc.build(second), envoy: envoy.build(second, envoyOptions(second)) };
    assert.equal(grpc.rebuilt, 1);
    assert.equal(envoy.rebuilt, 1);
    const apexRoute = outboundRoute('shop', 'apex', 8080, 'cluster.local');
    for (const flavor of ['grpc', 'envoy'] as const) {
      const [was, is]: XdsResources[] = [before[flavor], after[flavor]];
      for (const typeUrl of [
        TYPE.listener,
        TYPE.routeConfiguration,
        TYPE.cluster,
        TYPE.clusterLoadAssignment,
      ]) {
        const old = new Set(was![typeUrl]);
        const fresh = is![typeUrl]!.filter((r) => !old.has(r));
        const names = fresh.map((r) => String('name' in r ? r.name : r.cluster_name));
        // the route of the apex changed; in the Envoy flavor too (its outbound chain uses RDS)
        assert.deepEqual(
          names.map((n) => n.replace(/^sidecar~/, '')),
          typeUrl === TYPE.routeConfiguration ? [apexRoute] : [],
          `${flavor} ${typeUrl}`,
        );
      }
    }
    assert.deepEqual(after.grpc, resources(second));
  });
});

describe('ResourceStore and reused objects', () => {
  it('does not serialise again a resource object it has published before', () => {
    let reads = 0;
    const listener = { name: 'l' } as { name: string; stat_prefix?: string };
    Object.defineProperty(listener, 'stat_prefix', {
      enumerable: true,
      get: () => {
        reads++;
        return 'x';
      },
    });
    const store = new ResourceStore();
    store.publish({ [TYPE.listener]: [listener] });
    const afterFirst = reads;
    assert.ok(afterFirst > 0);
    const result = store.publish({ [TYPE.listener]: [listener, { name: 'm' }] });
    assert.equal(reads, afterFirst, 'the same object is not read again');
    assert.deepEqual([...result.changed.get(TYPE.listener)!], ['m']);
    // the same object under another type is another resource
    store.publish({ [TYPE.listener]: [listener], [TYPE.routeConfiguration]: [{ name: 'l' }] });
    assert.equal(reads, afterFirst);
  });

  it('a refused publish remembers nothing of it', () => {
    const store = new ResourceStore();
    const listener = { name: 'l', stat_prefix: 'x' };
    assert.throws(() => store.publish({ [TYPE.listener]: [listener, { name: 'l' }] }), /given twice/);
    const result = store.publish({ [TYPE.listener]: [listener] });
    assert.deepEqual([...result.changed.get(TYPE.listener)!], ['l']);
  });
});
