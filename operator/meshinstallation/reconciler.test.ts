/**
 * The MeshInstallation reconciler against a Kube that records calls and caches filled by hand:
 * cert-manager missing (skipped objects, condition, Event, backoff), a steady state without writes,
 * the finalizer's Secrets, `Automatic` migration restarting one batch once, and conflicts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { API_VERSION } from '../api/common.js';
import { IndexedStore, keyOf } from '../runtime/cache.js';
import {
  apiError,
  RequestCounter,
  type Kube,
  type KubeObject,
  type ObjectRef,
  type ResourceType,
} from '../runtime/client.js';
import { FakeClock } from '../runtime/clock.js';
import type { ReconcileContext } from '../runtime/controller.js';
import { RecordingRecorder } from '../runtime/events.js';
import type { Informer } from '../runtime/informer.js';
import {
  CertManagerCaches,
  deleteUnownedSecrets,
  meshInstallationReconciler,
  parse,
  type KindContext,
} from './reconciler.js';
import * as names from './names.js';
import {
  CERT_MANAGER_TYPES,
  ClusterRoleBindings,
  ClusterRoles,
  ConfigMaps,
  Deployments,
  MeshInstallations,
  MutatingWebhookConfigurations,
  Namespaces,
  PodDisruptionBudgets,
  Pods,
  ServiceAccounts,
  Services,
} from './observe.js';

// ------------------------------------------------------------------------------ fakes

interface Call {
  verb: string;
  kind: string;
  name: string;
  namespace?: string;
  body?: unknown;
}

class RecordingKube implements Kube {
  readonly calls: Call[] = [];
  readonly requests = new RequestCounter();
  certManagerServed = false;
  secrets: KubeObject[] = [];
  private rv = 100;
  private nextRv = (): string => String(++this.rv);

  writes(): Call[] {
    return this.calls.filter((c) => c.verb !== 'list' && c.verb !== 'get');
  }

  get<T extends KubeObject>(ref: ObjectRef): Promise<T> {
    this.calls.push({ verb: 'get', kind: ref.kind, name: ref.name });
    return Promise.reject(apiError(404, { reason: 'NotFound', message: 'not found' }));
  }
  list<T extends KubeObject>(type: ResourceType, o: { namespace?: string } = {}) {
    this.calls.push({
      verb: 'list',
      kind: type.kind,
      name: '',
      ...(o.namespace ? { namespace: o.namespace } : {}),
    });
    if (type.apiVersion.startsWith('cert-manager.io') && !this.certManagerServed)
      return Promise.reject(
        apiError(404, { reason: 'NotFound', message: 'the server could not find the requested resource' }),
      );
    const items =
      type.kind === 'Secret' ? this.secrets.filter((s) => s.metadata?.namespace === o.namespace) : [];
    return Promise.resolve({ items: items as T[], resourceVersion: '1' });
  }
  create<T extends KubeObject>(obj: T): Promise<T> {
    this.calls.push({ verb: 'create', kind: obj.kind!, name: obj.metadata!.name!, body: obj });
    return Promise.resolve({ ...obj, metadata: { ...obj.metadata, resourceVersion: this.nextRv() } });
  }
  replace<T extends KubeObject>(obj: T): Promise<T> {
    return this.create(obj);
  }
  delete(ref: ObjectRef, opts?: unknown): Promise<boolean> {
    this.calls.push({
      verb: 'delete',
      kind: ref.kind,
      name: ref.name,
      ...(ref.namespace ? { namespace: ref.namespace } : {}),
      body: opts,
    });
    return Promise.resolve(true);
  }
  apply<T extends KubeObject>(obj: T): Promise<T> {
    this.calls.push({ verb: 'apply', kind: obj.kind!, name: obj.metadata!.name!, body: obj });
    return Promise.resolve({
      ...obj,
      metadata: { ...obj.metadata, uid: `uid-${obj.metadata!.name}`, resourceVersion: this.nextRv() },
    });
  }
  mergePatch<T extends KubeObject>(ref: ObjectRef, patch: object): Promise<T> {
    this.calls.push({
      verb: 'patch',
      kind: ref.kind,
      name: ref.name,
      ...(ref.namespace ? { namespace: ref.namespace } : {}),
      body: patch,
    });
    return Promise.resolve({ metadata: { resourceVersion: this.nextRv() } } as T);
  }
  patchStatus<T extends KubeObject>(ref: ObjectRef, status: unknown): Promise<T> {
    this.calls.push({ verb: 'status', kind: ref.kind, name: ref.name, body: status });
    return Promise.resolve({ metadata: { resourceVersion: this.nextRv() } } as T);
  }
  watch(): never {
    throw new Error('not used');
  }
}

/** An informer over a store filled by the test (only what the reconciler calls). */
function fakeInformer(
  type: ResourceType,
  objects: KubeObject[] = [],
): Informer & { put(o: KubeObject): void } {
  const store = new IndexedStore<KubeObject>();
  for (const o of objects) store.put(keyOf(o), o);
  return {
    type,
    store,
    get: (key: string) => store.get(key),
    list: (o: { namespace?: string; labelSelector?: string } = {}) => store.list(o),
    byIndex: (name: string, value: string) => store.byIndex(name, value),
    waitForSync: () => Promise.resolve(true),
    onEvent: () => () => undefined,
    put: (o: KubeObject) => store.put(keyOf(o), o),
  } as unknown as Informer & { put(o: KubeObject): void };
}

const ctx = (name: string): ReconcileContext => ({
  reconcileID: 'test',
  log: pino({ level: 'silent' }),
  signal: new AbortController().signal,
  namespace: undefined,
  name,
});

const NOW = Date.parse('2025-03-01T12:00:00Z');

function mi(name: string, spec: Record<string, unknown> = {}, extra: Partial<KubeObject> = {}): KubeObject {
  return {
    apiVersion: API_VERSION,
    kind: 'MeshInstallation',
    metadata: {
      name,
      uid: `uid-${name}`,
      generation: 1,
      resourceVersion: '1',
      creationTimestamp: '2025-01-01T00:00:00Z',
      finalizers: [names.FINALIZER],
    },
    spec: { namespace: `mesh-${name}`, controlPlane: { replicas: 1 }, ...spec },
    ...extra,
  };
}

function harness(o: { certManager?: boolean; objects?: KubeObject[] } = {}) {
  const kube = new RecordingKube();
  kube.certManagerServed = o.certManager ?? true;
  const events = new RecordingRecorder();
  const clock = new FakeClock(NOW);
  const byKind = new Map<string, ReturnType<typeof fakeInformer>>();
  const inf = (type: ResourceType) => {
    let i = byKind.get(type.kind);
    if (!i) byKind.set(type.kind, (i = fakeInformer(type)));
    return i;
  };
  for (const obj of o.objects ?? []) {
    const type = [MeshInstallations, Namespaces, Deployments, Pods, ...CERT_MANAGER_TYPES].find(
      (t) => t.kind === obj.kind,
    );
    inf(type ?? { apiVersion: obj.apiVersion!, kind: obj.kind!, plural: '', namespaced: true }).put(obj);
  }
  const owned: KindContext['owned'] = [
    Namespaces,
    ServiceAccounts,
    ClusterRoles,
    ClusterRoleBindings,
    ConfigMaps,
    Services,
    Deployments,
    PodDisruptionBudgets,
    MutatingWebhookConfigurations,
  ].map((type) => ({ type, informer: inf(type) }));
  const certManager = new CertManagerCaches({
    kube,
    informer: (type) => inf(type),
    onStart: (informers) => informers.forEach((i) => owned.push({ type: i.type, informer: i })),
    syncTimeoutMs: 1000,
  });
  const context: KindContext = {
    caches: {
      installations: inf(MeshInstallations),
      namespaces: inf(Namespaces),
      deployments: inf(Deployments),
      webhooks: inf(MutatingWebhookConfigurations),
      pods: inf(Pods),
      certManager,
    },
    owned,
    kube,
    now: () => new Date(clock.now()),
    options: { certManagerRetry: { initialMs: 1000, maxMs: 3000 } },
    certManagerMisses: new Map(),
    restarted: new Map(),
    lastObserved: new Map(),
  };
  const reconcile = meshInstallationReconciler({ kube, events, clock }, context);
  /** Puts what the fake API server returned for the last writes into the caches (the informers catching up). */
  const catchUp = () => {
    for (const c of kube.calls.splice(0)) {
      if (c.verb === 'apply' || c.verb === 'create') {
        const body = c.body as KubeObject;
        inf(
          owned.find((x) => x.type.kind === body.kind)?.type ?? {
            apiVersion: body.apiVersion!,
            kind: body.kind!,
            plural: '',
            namespaced: true,
          },
        ).put({
          ...body,
          metadata: { ...body.metadata, uid: `uid-${body.metadata!.name}`, resourceVersion: '50' },
        });
      }
      if (c.verb === 'status') {
        const cur = inf(MeshInstallations).get(c.name)!;
        inf(MeshInstallations).put({
          ...cur,
          status: c.body,
          metadata: { ...cur.metadata, resourceVersion: `${Number(cur.metadata!.resourceVersion) + 1}` },
        });
      }
    }
  };
  return { kube, events, clock, context, reconcile, inf, catchUp };
}

const condition = (status: unknown, type: string) =>
  (
    status as { conditions: { type: string; status: string; reason: string; message: string }[] }
  ).conditions.find((c) => c.type === type);

// ------------------------------------------------------------------------------ tests

describe('MeshInstallation reconciler: cert-manager missing', () => {
  it('applies everything but the cert-manager objects, reports CertManagerNotInstalled with a Warning Event', async () => {
    const h = harness({ certManager: false, objects: [mi('default')] });
    const result = await h.reconcile('default', ctx('default'));
    const applied = h.kube.calls.filter((c) => c.verb === 'apply' || c.verb === 'create').map((c) => c.kind);
    assert.deepEqual(applied, [
      'Namespace',
      'ServiceAccount',
      'ClusterRole',
      'ClusterRoleBinding',
      'ConfigMap',
      'Service',
      'Deployment',
      'MutatingWebhookConfiguration',
    ]);
    const status = h.kube.calls.find((c) => c.verb === 'status')!.body;
    assert.equal(condition(status, 'CertificatesReady')?.reason, 'CertManagerNotInstalled');
    assert.equal(condition(status, 'Reconciled')?.status, 'True');
    assert.equal(condition(status, 'Ready')?.reason, 'CertManagerNotInstalled');
    assert.ok(h.events.events.some((e) => e.type === 'Warning' && e.reason === 'CertManagerNotInstalled'));
    assert.deepEqual(result, { requeueAfter: 1000 });
  });

  it('backs off while the CRDs stay missing (doubling, capped), and starts the informers once they are served', async () => {
    const h = harness({ certManager: false, objects: [mi('default')] });
    const waits: unknown[] = [];
    for (let i = 0; i < 4; i++) {
      waits.push(await h.reconcile('default', ctx('default')));
      h.catchUp();
    }
    assert.deepEqual(waits, [
      { requeueAfter: 1000 },
      { requeueAfter: 2000 },
      { requeueAfter: 3000 },
      { requeueAfter: 3000 },
    ]);
    assert.equal(h.context.caches.certManager.installed, false);

    h.kube.certManagerServed = true;
    await h.reconcile('default', ctx('default'));
    assert.equal(h.context.caches.certManager.installed, true);
    const applied = h.kube.calls.filter((c) => c.verb === 'apply').map((c) => c.kind);
    assert.deepEqual(applied, ['Issuer', 'Certificate', 'ClusterIssuer', 'Certificate']);
  });
});

describe('MeshInstallation reconciler: steady state', () => {
  it('writes nothing when the caches hold what it applied and the status it wrote', async () => {
    const h = harness({ objects: [mi('default')] });
    await h.reconcile('default', ctx('default'));
    assert.ok(h.kube.writes().length > 10, 'the first reconcile applies the children and the status');
    h.catchUp();
    await h.reconcile('default', ctx('default'));
    h.catchUp();
    h.kube.calls.length = 0;
    await h.reconcile('default', ctx('default'));
    assert.deepEqual(h.kube.writes(), []);
    assert.deepEqual(
      h.events.events.filter((e) => e.reason === 'Ready'),
      [],
      'no Ready event: it never was',
    );
  });
});

describe('MeshInstallation reconciler: finalizer', () => {
  it('deletes the root CA and serving Secrets found by the owner labels, and nothing else', async () => {
    const kube = new RecordingKube();
    const installation = { ...mi('default'), spec: { namespace: 'meshwright-system' } };
    const parsed = parse(installation);
    const labels = names.labels(parsed, 'certificate-authority');
    kube.secrets = [
      { metadata: { name: names.rootSecret(parsed), namespace: 'cert-manager', uid: 'u1', labels } },
      { metadata: { name: 'someone-elses', namespace: 'cert-manager', uid: 'u2', labels } },
      { metadata: { name: names.servingSecret(parsed), namespace: 'meshwright-system', uid: 'u3', labels } },
    ];
    const deleted = await deleteUnownedSecrets(kube, parsed, 'cert-manager');
    assert.deepEqual(deleted, [
      'cert-manager/meshwright-default-root-ca-tls',
      'meshwright-system/meshwright-default-serving-tls',
    ]);
    assert.deepEqual(
      kube.calls
        .filter((c) => c.verb === 'delete')
        .map((c) => [c.name, (c.body as { preconditions: { uid: string } }).preconditions.uid]),
      [
        ['meshwright-default-root-ca-tls', 'u1'],
        ['meshwright-default-serving-tls', 'u3'],
      ],
    );
  });
});

describe('MeshInstallation reconciler: Automatic migration', () => {
  const member: KubeObject = {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: 'shop', labels: { 'meshwright.io/inject': 'enabled' } },
  };
  const workload = (name: string): KubeObject => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'shop', generation: 1 },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } } },
    },
    status: { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 1 },
  });
  const pod = (app: string, version: string): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `${app}-1`, namespace: 'shop', labels: { app, [names.LABELS.proxyVersion]: version } },
  });
  const controlPlane = (version: string): KubeObject => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'meshwright-default-control-plane',
      namespace: 'mesh-default',
      generation: 2,
      labels: { [names.LABELS.managedBy]: 'meshwright' },
    },
    spec: { replicas: 1, template: { metadata: { labels: { [names.LABELS.version]: version } } } },
    status: { observedGeneration: 2, replicas: 1, updatedReplicas: 1, availableReplicas: 1 },
  });

  it('restarts the first batch once the control plane runs the new version, and not again before the cache shows it', async () => {
    const h = harness({
      objects: [
        mi(
          'default',
          {
            version: '1.1.0',
            updateStrategy: { workloadMigration: 'Automatic', batchSize: 1, batchInterval: '30s' },
          },
          {
            status: { version: '1.1.0' },
          },
        ),
        member,
        controlPlane('1.1.0'),
        workload('web'),
        workload('api'),
        pod('web', '1.0.0'),
        pod('api', '1.0.0'),
      ],
    });
    await h.reconcile('default', ctx('default'));
    const restarts = h.kube.calls.filter((c) => c.verb === 'patch' && c.kind === 'Deployment');
    assert.deepEqual(
      restarts.map((c) => `${c.namespace}/${c.name}`),
      ['shop/api'],
      'one batch of one, in name order',
    );
    const annotations = (
      restarts[0]!.body as { spec: { template: { metadata: { annotations: Record<string, string> } } } }
    ).spec.template.metadata.annotations;
    assert.equal(annotations[names.ANNOTATIONS.restartedForVersion], '1.1.0');
    assert.equal(annotations[names.ANNOTATIONS.restartedAt], '2025-03-01T12:00:00.000Z');
    assert.ok(
      h.events.events.some(
        (e) => e.reason === 'WorkloadsRestarted' && e.note.includes('Deployment shop/api'),
      ),
    );

    h.kube.calls.length = 0;
    await h.reconcile('default', ctx('default')); // the Deployment cache has not seen the restart yet
    assert.deepEqual(
      h.kube.calls.filter((c) => c.verb === 'patch' && c.kind === 'Deployment'),
      [],
    );
  });

  it('restarts nothing while the control plane still runs the old version', async () => {
    const h = harness({
      objects: [
        mi(
          'default',
          { version: '1.1.0', updateStrategy: { workloadMigration: 'Automatic' } },
          { status: { version: '1.0.0' } },
        ),
        member,
        controlPlane('1.0.0'),
        workload('web'),
        pod('web', '1.0.0'),
      ],
    });
    await h.reconcile('default', ctx('default'));
    assert.deepEqual(
      h.kube.calls.filter((c) => c.verb === 'patch' && c.kind === 'Deployment'),
      [],
    );
  });
});

describe('MeshInstallation reconciler: conflicts', () => {
  it('reports the newer installation Conflicted and keeps the disputed namespace out of its webhook', async () => {
    const older = mi('older');
    const newer = mi('newer');
    newer.metadata!.creationTimestamp = '2025-02-01T00:00:00Z';
    const shared: KubeObject = {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'shared', labels: { 'meshwright.io/inject': 'enabled' } },
    };
    const h = harness({ objects: [older, newer, shared] });
    await h.reconcile('newer', ctx('newer'));
    const status = h.kube.calls.find((c) => c.verb === 'status')!.body;
    assert.equal(condition(status, 'Ready')?.reason, 'Conflicted');
    assert.match(
      condition(status, 'Reconciled')!.message,
      /\(shared\) are also selected by the older MeshInstallation older/,
    );
    const webhook = h.kube.calls.find((c) => c.kind === 'MutatingWebhookConfiguration')!.body as {
      webhooks: { namespaceSelector: { matchExpressions: { key: string; values: string[] }[] } }[];
    };
    const excluded = webhook.webhooks[0]!.namespaceSelector.matchExpressions.find(
      (e) => e.key === names.LABELS.namespaceName,
    )!;
    assert.ok(excluded.values.includes('shared'));
    assert.ok(h.events.events.some((e) => e.type === 'Warning' && e.reason === 'Conflicted'));

    h.kube.calls.length = 0;
    await h.reconcile('older', ctx('older'));
    const olderStatus = h.kube.calls.find((c) => c.verb === 'status')!.body;
    assert.equal(condition(olderStatus, 'Reconciled')?.status, 'True');
  });
});
