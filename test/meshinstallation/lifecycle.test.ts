/**
 * A MeshInstallation's lifecycle against an API server (the local cluster, or
 * MESHWRIGHT_TEST_KUBECONFIG): every child created, owned and labelled; status converging to Ready
 * once the test plays the Deployment controller, cert-manager and its CA injector; no write at all
 * in a steady state; a spec change re-applying exactly the children it changes; an upgrade with
 * `Automatic` workload migration; `kubectl wait`; deletion.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import * as names from '../../operator/meshinstallation/names.js';
import type { NamedMeshInstallation } from '../../operator/meshinstallation/names.js';
import { parse } from '../../operator/meshinstallation/reconciler.js';
import { isNotFound, type Kube, type KubeObject } from '../../operator/runtime/index.js';
import { REAL, setup, waitFor, type Env } from '../runtime/support.js';
import {
  CERT_MANAGER_CRDS,
  ensure,
  injectCaBundle,
  installCrds,
  makeAvailable,
  makeCertificateReady,
  meshInstallation,
  MESH_CRD,
  reconcileCount,
  startOperator,
  summary,
  type Operator,
} from './support.js';

const run = promisify(execFile);
const KUBECTL = ['/usr/local/bin/kubectl', '/usr/bin/kubectl'].find(existsSync);

const suffix = randomBytes(3).toString('hex');
const NAME = `life-${suffix}`;
const CP_NS = `mesh-${suffix}`;
const CM_NS = names.DEFAULT_CERT_MANAGER_NAMESPACE;
const SELECTOR_LABEL = 'test.meshwright.io/mesh';

let env: Env;
let kube: Kube;
let op: Operator;
let shop: string;
let createdCertManagerNs = false;
/** The installation as the builders see it (for names). */
let mi: NamedMeshInstallation;

const miRef = { apiVersion: 'mesh.meshwright.io/v1alpha1', kind: 'MeshInstallation', name: NAME };
const getMi = () => kube.get(miRef);
const exists = (ref: { apiVersion: string; kind: string; name: string; namespace?: string }) =>
  kube.get(ref).then(
    () => true,
    (e: unknown) => {
      if (isNotFound(e)) return false;
      throw e;
    },
  );
const conditionIs = async (type: string, expected: string) => summary(await getMi(), type) === expected;
const local = () => env.h.local;

const pod = (name: string, version: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name,
    namespace: shop,
    labels: { app: 'web', [names.LABELS.proxyVersion]: version },
  },
  spec: { containers: [{ name: 'web', image: 'nginx' }] },
});

before(async () => {
  env = await setup();
  kube = env.kube();
  await installCrds(kube, MESH_CRD);
  await installCrds(kube, CERT_MANAGER_CRDS);
  createdCertManagerNs = await ensure(kube, {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: CM_NS },
  });
  env.h.cleanup(() => kube.delete({ apiVersion: 'v1', kind: 'Namespace', name: CP_NS }));
  if (createdCertManagerNs && REAL)
    env.h.cleanup(() => kube.delete({ apiVersion: 'v1', kind: 'Namespace', name: CM_NS }));
  env.h.cleanup(() => kube.delete(miRef));

  // a member namespace with a workload whose pods run the 1.0.0 proxy (created before the webhook exists)
  shop = await env.h.namespace('shop');
  await kube.mergePatch(
    { apiVersion: 'v1', kind: 'Namespace', name: shop },
    { metadata: { labels: { [SELECTOR_LABEL]: suffix } } },
  );
  await kube.create({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: shop },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'web', image: 'nginx' }] },
      },
    },
  });
  await makeAvailable(kube, shop, 'web');
  await kube.create(pod('web-1', '1.0.0'));
  await kube.create(pod('web-2', '1.0.0'));

  op = await startOperator(env.kube());
  const created = await kube.create(
    meshInstallation(NAME, {
      version: '1.0.0',
      namespace: CP_NS,
      controlPlane: { replicas: 2 },
      dataPlane: { namespaceSelector: { matchLabels: { [SELECTOR_LABEL]: suffix } } },
      updateStrategy: { workloadMigration: 'Automatic', batchSize: 5, batchInterval: '1s' },
    }),
  );
  mi = parse(created);
});

after(async () => {
  await op?.stop();
  await env?.h.close();
});

const children = () => {
  const ns = CP_NS;
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', name: names.controlPlane(mi), namespace: ns },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', name: names.clusterRole(mi) },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      name: names.clusterRoleBinding(mi),
    },
    { apiVersion: 'v1', kind: 'ConfigMap', name: names.meshConfig(mi), namespace: ns },
    { apiVersion: 'cert-manager.io/v1', kind: 'Issuer', name: names.selfSignedIssuer(mi), namespace: CM_NS },
    {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      name: names.rootCertificate(mi),
      namespace: CM_NS,
    },
    { apiVersion: 'cert-manager.io/v1', kind: 'ClusterIssuer', name: names.caIssuer(mi) },
    {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      name: names.servingCertificate(mi),
      namespace: ns,
    },
    { apiVersion: 'v1', kind: 'Service', name: names.controlPlane(mi), namespace: ns },
    { apiVersion: 'apps/v1', kind: 'Deployment', name: names.controlPlane(mi), namespace: ns },
    { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', name: names.controlPlane(mi), namespace: ns },
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      name: names.injectorWebhook(mi),
    },
  ];
};
const deploymentRef = () => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  name: names.controlPlane(mi),
  namespace: CP_NS,
});

/** Plays the Deployment controller, cert-manager and its CA injector once. */
async function converge(): Promise<void> {
  await makeCertificateReady(kube, CM_NS, names.rootCertificate(mi));
  await makeCertificateReady(kube, CP_NS, names.servingCertificate(mi), '2026-01-01T00:00:00Z');
  await makeAvailable(kube, CP_NS, names.controlPlane(mi));
  await injectCaBundle(kube, names.injectorWebhook(mi));
}

describe('MeshInstallation lifecycle', () => {
  it('creates every child, owned by the installation and labelled; the Namespace is created but not owned', async () => {
    await waitFor(() => exists(children().at(-1)!), 15_000, 'the webhook configuration (applied last)');
    const uid = (await getMi()).metadata!.uid!;
    for (const ref of children()) {
      const obj = await kube.get(ref);
      const controller = obj.metadata!.ownerReferences?.find((r) => r.controller);
      assert.equal(controller?.uid, uid, `${ref.kind} ${ref.name} is controlled by the installation`);
      assert.equal(controller?.kind, 'MeshInstallation');
      assert.equal(obj.metadata!.labels?.[names.LABELS.managedBy], 'meshwright', `${ref.kind} labelled`);
      assert.equal(obj.metadata!.labels?.[names.LABELS.owner], NAME, `${ref.kind} labelled with its owner`);
    }
    const ns = await kube.get({ apiVersion: 'v1', kind: 'Namespace', name: CP_NS });
    assert.equal(ns.metadata!.ownerReferences, undefined, 'the Namespace has no ownerReference');
    assert.equal(ns.metadata!.labels?.[names.LABELS.managedBy], 'meshwright');
    const status = await waitFor(async () => {
      const o = await getMi();
      return summary(o, 'Reconciled') === 'True/Applied' ? o : undefined;
    });
    assert.equal(summary(status, 'CertificatesReady'), 'False/Issuing');
    // no Deployment controller has seen it yet
    assert.equal(summary(status, 'ControlPlaneReady'), 'False/RollingOut');
    assert.equal(summary(status, 'WebhookReady'), 'False/CABundleMissing');
    assert.equal(summary(status, 'Ready'), 'False/Issuing');
    assert.deepEqual(status.metadata!.finalizers, [names.FINALIZER]);
  });

  it('converges to Ready=True once the Deployment is available and the Certificates are issued', async () => {
    await converge();
    await waitFor(() => conditionIs('Ready', 'True/Ready'), 15_000, 'Ready=True');
    const o = (await getMi()) as KubeObject & { status: Record<string, unknown> };
    for (const type of [
      'Reconciled',
      'CertificatesReady',
      'ControlPlaneReady',
      'WebhookReady',
      'DataPlaneUpToDate',
    ])
      assert.equal(summary(o, type).split('/')[0], 'True', type);
    assert.equal(summary(o, 'Upgrading'), 'False/UpToDate');
    assert.equal(o.status.version, '1.0.0');
    assert.deepEqual(o.status.components, [
      { name: 'control-plane', desiredReplicas: 2, availableReplicas: 2, version: '1.0.0' },
    ]);
    assert.deepEqual(o.status.proxies, { total: 2, upToDate: 2, outdated: 0 });
    assert.deepEqual(o.status.memberNamespaces, [shop]);
    assert.equal(o.status.caNotAfter, '2035-01-01T00:00:00Z');
  });

  it('makes zero writes when an unchanged installation is reconciled again', async () => {
    await waitFor(() => op.idle(), 10_000, 'the controller to settle');
    const clientWrites = op.mgr.kube.requests.writes();
    local()?.faults.resetLog();
    const before = await reconcileCount(op.mgr);
    op.mgr.informers.resync(); // every cached object re-delivered
    op.mesh.controller.enqueue(NAME);
    await waitFor(async () => (await reconcileCount(op.mgr)) > before && op.idle(), 10_000, 'the reconcile');
    await op.mgr.events.flush();
    assert.equal(op.mgr.kube.requests.writes() - clientWrites, 0, 'no write sent by the operator');
    if (local()) {
      const writes = ['POST', 'PUT', 'PATCH', 'DELETE'].reduce(
        (n, method) => n + local()!.faults.count({ method }),
        0,
      );
      assert.equal(writes, 0, 'no write seen by the API server');
    }
  });

  it('re-applies exactly the children a spec change changes (replicas 2 → 1: the Deployment; the PDB is pruned)', async () => {
    await waitFor(() => op.idle(), 10_000, 'the controller to settle');
    local()?.faults.resetLog();
    await kube.mergePatch(miRef, { spec: { controlPlane: { replicas: 1 } } });
    await waitFor(
      async () =>
        (await kube.get<KubeObject & { spec: { replicas: number } }>(deploymentRef())).spec.replicas === 1,
      10_000,
      'the Deployment scaled',
    );
    await waitFor(async () => !(await exists(children()[10]!)), 10_000, 'the PodDisruptionBudget pruned');
    await waitFor(
      () => conditionIs('ControlPlaneReady', 'False/RollingOut'),
      10_000,
      'ControlPlaneReady=False',
    );
    await waitFor(() => op.idle(), 10_000, 'the controller to settle');
    if (local()) {
      const f = local()!.faults;
      const patched = new Map<string, number>();
      for (const r of f.requests)
        if (r.method === 'PATCH' && r.resource && !['meshinstallations', 'events'].includes(r.resource))
          patched.set(r.resource, (patched.get(r.resource) ?? 0) + 1);
      assert.deepEqual(Object.fromEntries(patched), { deployments: 1 }, 'only the Deployment is re-applied');
      assert.equal(f.count({ method: 'DELETE', resource: 'poddisruptionbudgets' }), 1);
      assert.equal(f.count({ method: 'POST', resource: 'poddisruptionbudgets' }), 0);
    }
    await makeAvailable(kube, CP_NS, names.controlPlane(mi));
    await waitFor(() => conditionIs('Ready', 'True/Ready'), 10_000, 'Ready again');
  });

  it('upgrades: the control plane rolls, Upgrading shows progress, Automatic migration restarts outdated workloads', async () => {
    await kube.mergePatch(miRef, { spec: { version: '1.1.0' } });
    const upgrading = await waitFor(
      async () => {
        const o = await getMi();
        return summary(o, 'Upgrading') === 'True/Upgrading' ? o : undefined;
      },
      10_000,
      'Upgrading=True',
    );
    assert.equal(
      (upgrading.status as { version: string }).version,
      '1.0.0',
      'status keeps the running version',
    );
    const d = await kube.get<
      KubeObject & { spec: { template: { spec: { containers: { image: string }[] } } } }
    >(deploymentRef());
    assert.equal(d.spec.template.spec.containers[0]!.image, 'quay.io/meshwright/meshwright:v1.1.0');
    await waitFor(
      () => conditionIs('DataPlaneUpToDate', 'False/OutdatedProxies'),
      10_000,
      'outdated proxies',
    );
    const web = { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', namespace: shop };
    const restartedFor = async () =>
      (
        await kube.get<
          KubeObject & { spec: { template: { metadata?: { annotations?: Record<string, string> } } } }
        >(web)
      ).spec.template.metadata?.annotations?.[names.ANNOTATIONS.restartedForVersion];
    assert.equal(
      await restartedFor(),
      undefined,
      'nothing restarted before the control plane runs the new version',
    );

    await makeAvailable(kube, CP_NS, names.controlPlane(mi)); // the new pods are up
    await waitFor(async () => (await restartedFor()) === '1.1.0', 10_000, 'the workload restarted');
    const o = await waitFor(
      async () => {
        const x = await getMi();
        return summary(x, 'Upgrading') === 'False/UpToDate' ? x : undefined;
      },
      10_000,
      'the upgrade to complete',
    );
    assert.equal((o.status as { version: string }).version, '1.1.0');

    // the restarted workload's new pods carry the new proxy
    for (const name of ['web-1', 'web-2'])
      await kube.mergePatch(
        { apiVersion: 'v1', kind: 'Pod', name, namespace: shop },
        { metadata: { labels: { [names.LABELS.proxyVersion]: '1.1.0' } } },
      );
    await makeAvailable(kube, shop, 'web');
    await waitFor(
      () => conditionIs('DataPlaneUpToDate', 'True/UpToDate'),
      10_000,
      'the data plane up to date',
    );
    await waitFor(() => conditionIs('Ready', 'True/Ready'), 10_000, 'Ready after the upgrade');
  });

  it(
    'satisfies kubectl wait --for=condition=Ready',
    { skip: !KUBECTL && 'kubectl is not installed' },
    async () => {
      const { stdout } = await run(
        KUBECTL!,
        ['--kubeconfig', env.kubeconfigPath, 'wait', '--for=condition=Ready', `mi/${NAME}`, '--timeout=20s'],
        { timeout: 25_000 },
      );
      assert.match(stdout, new RegExp(`meshinstallation.mesh.meshwright.io/${NAME} condition met`));
    },
  );

  it('deletion removes every child, and the finalizer the cert-manager Secrets; workloads keep running', async () => {
    // the Secrets cert-manager would create (no ownerReference; labelled through secretTemplate)
    const secretFor = (certNs: string, certName: string, namespace: string, secretName: string) =>
      kube
        .get<KubeObject & { spec: { secretTemplate: { labels: Record<string, string> } } }>({
          apiVersion: 'cert-manager.io/v1',
          kind: 'Certificate',
          name: certName,
          namespace: certNs,
        })
        .then((cert) =>
          kube.create({
            apiVersion: 'v1',
            kind: 'Secret',
            type: 'kubernetes.io/tls',
            metadata: { name: secretName, namespace, labels: cert.spec.secretTemplate.labels },
            data: { 'tls.crt': '', 'tls.key': '' },
          }),
        );
    await secretFor(CM_NS, names.rootCertificate(mi), CM_NS, names.rootSecret(mi));
    await secretFor(CP_NS, names.servingCertificate(mi), CP_NS, names.servingSecret(mi));

    await kube.delete(miRef);
    await waitFor(async () => !(await exists(miRef)), 15_000, 'the installation gone (finalizer removed)');
    for (const secret of [
      { apiVersion: 'v1', kind: 'Secret', name: names.rootSecret(mi), namespace: CM_NS },
      { apiVersion: 'v1', kind: 'Secret', name: names.servingSecret(mi), namespace: CP_NS },
    ])
      assert.equal(await exists(secret), false, `${secret.name} deleted by the finalizer`);
    for (const ref of children())
      await waitFor(async () => !(await exists(ref)), 15_000, `${ref.kind} ${ref.name} garbage-collected`);
    assert.ok(
      await exists({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', namespace: shop }),
      'workload kept',
    );
    assert.ok(await exists({ apiVersion: 'v1', kind: 'Pod', name: 'web-1', namespace: shop }), 'pods kept');
    assert.ok(
      await exists({ apiVersion: 'v1', kind: 'Namespace', name: CP_NS }),
      'the Namespace is never deleted',
    );
  });
});
