/**
 * A cluster without cert-manager's CRDs: the installation reports `CertificatesReady=False` with
 * reason `CertManagerNotInstalled` and a Warning Event, everything else is applied, the manager
 * keeps running (no informer on the absent kinds), discovery is retried with backoff, and once the
 * CRDs appear the cert-manager objects follow.
 *
 * Always a separate local cluster: it must lack the CRDs, whatever MESHWRIGHT_TEST_KUBECONFIG names.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CERT_MANAGER_NOT_INSTALLED_MESSAGE } from '../../operator/meshinstallation/status.js';
import * as names from '../../operator/meshinstallation/names.js';
import { startLocalCluster, type LocalCluster } from '../../operator/localcluster/index.js';
import { createKube, isNotFound, type Kube, type KubeObject } from '../../operator/runtime/index.js';
import { waitFor } from '../runtime/support.js';
import {
  CERT_MANAGER_CRDS,
  conditionOf,
  installCrds,
  meshInstallation,
  MESH_CRD,
  startOperator,
  summary,
  type Operator,
} from './support.js';

const NAME = 'no-cert-manager';
const CP_NS = 'mesh-no-cm';
const mi = { metadata: { name: NAME }, spec: { namespace: CP_NS } } as Parameters<
  typeof names.controlPlane
>[0];

let cluster: LocalCluster;
let kube: Kube;
let op: Operator;

const ref = { apiVersion: 'mesh.meshwright.io/v1alpha1', kind: 'MeshInstallation', name: NAME };
const exists = (r: { apiVersion: string; kind: string; name: string; namespace?: string }) =>
  kube.get(r).then(
    () => true,
    (e: unknown) => {
      if (isNotFound(e)) return false;
      throw e;
    },
  );

before(async () => {
  cluster = await startLocalCluster();
  kube = createKube({ kubeconfigPath: cluster.kubeconfigPath });
  await installCrds(kube, MESH_CRD);
  op = await startOperator(createKube({ kubeconfigPath: cluster.kubeconfigPath }), {
    certManagerRetry: { initialMs: 50, maxMs: 400 },
  });
  await kube.create(meshInstallation(NAME, { namespace: CP_NS, controlPlane: { replicas: 1 } }));
});

after(async () => {
  await op?.stop();
  await cluster?.stop();
});

describe('MeshInstallation without cert-manager', () => {
  it('reports CertificatesReady=False/CertManagerNotInstalled with a clear message and a Warning Event', async () => {
    const o = await waitFor(
      async () => {
        const x = await kube.get(ref);
        return summary(x, 'CertificatesReady') === 'False/CertManagerNotInstalled' ? x : undefined;
      },
      10_000,
      'CertManagerNotInstalled',
    );
    assert.equal(conditionOf(o, 'CertificatesReady')!.message, CERT_MANAGER_NOT_INSTALLED_MESSAGE);
    assert.match(
      CERT_MANAGER_NOT_INSTALLED_MESSAGE,
      /cert-manager CRDs .* are not installed; install cert-manager/,
    );
    assert.equal(summary(o, 'Ready'), 'False/CertManagerNotInstalled');
    assert.equal(summary(o, 'Reconciled'), 'True/Applied', 'the rest is applied');
    await waitFor(
      async () => {
        const events = await kube.list<
          KubeObject & { reason: string; type: string; regarding: { name: string } }
        >(
          { apiVersion: 'events.k8s.io/v1', kind: 'Event', plural: 'events', namespaced: true },
          { namespace: 'default' },
        );
        return events.items.some(
          (e) => e.regarding.name === NAME && e.type === 'Warning' && e.reason === 'CertManagerNotInstalled',
        );
      },
      10_000,
      'the Warning Event',
    );
  });

  it('applies every other child and keeps the manager running', async () => {
    for (const child of [
      { apiVersion: 'v1', kind: 'ConfigMap', name: names.meshConfig(mi), namespace: CP_NS },
      { apiVersion: 'v1', kind: 'Service', name: names.controlPlane(mi), namespace: CP_NS },
      { apiVersion: 'apps/v1', kind: 'Deployment', name: names.controlPlane(mi), namespace: CP_NS },
      {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'MutatingWebhookConfiguration',
        name: names.injectorWebhook(mi),
      },
    ])
      assert.ok(await exists(child), `${child.kind} applied`);
    assert.ok(op.mgr.ready(), 'the manager is ready: no informer waits on the absent CRDs');
    assert.equal(op.mesh.caches.certManager.installed, false);
  });

  it('retries discovery with backoff while the CRDs are missing', async () => {
    const probes = () =>
      cluster.faults.requests.filter(
        (r) => r.path === '/apis/cert-manager.io/v1/certificates' && r.code === 404,
      ).length;
    const first = probes();
    await waitFor(() => probes() >= first + 2, 10_000, 'two more probes');
  });

  it('starts the cert-manager informers and applies its objects once the CRDs appear', async () => {
    await kube.create({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: names.DEFAULT_CERT_MANAGER_NAMESPACE },
    });
    await installCrds(kube, CERT_MANAGER_CRDS);
    await waitFor(
      () =>
        exists({
          apiVersion: 'cert-manager.io/v1',
          kind: 'Certificate',
          name: names.servingCertificate(mi),
          namespace: CP_NS,
        }),
      10_000,
      'the serving Certificate',
    );
    await waitFor(
      async () => summary(await kube.get(ref), 'CertificatesReady') === 'False/Issuing',
      10_000,
      'CertificatesReady=False/Issuing',
    );
    assert.ok(op.mesh.caches.certManager.installed);
    assert.ok(op.mgr.ready());
  });
});
