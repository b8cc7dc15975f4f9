/**
 * The control plane with exactly the permissions a MeshInstallation grants it (its ServiceAccount,
 * ClusterRole and ClusterRoleBinding, as the operator applies them): against a local cluster with
 * TLS and RBAC, leader election on, it builds the configuration from every namespace, issues the
 * workload identity of a meshed ServiceAccount and marks a ServicePolicy served — and the API server
 * answers it no 403. The counter-test takes one rule away and sees the 403, so the check can fail.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { V1PolicyRule } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { Certificates } from '../../operator/controlplane/identity/controller.js';
import { startControlPlane } from '../../operator/controlplane/controlplane.js';
import { parseMeshConfig } from '../../operator/controlplane/meshconfig.js';
import { identityCertificateName, SERVICE_ACCOUNT_LABEL } from '../../operator/controlplane/names.js';
import { startLocalCluster } from '../../operator/localcluster/index.js';
import {
  CONTROL_PLANE_RULES,
  clusterRole,
  clusterRoleBinding,
  meshConfigText,
  serviceAccount,
} from '../../operator/meshinstallation/desired.js';
import { meshInstallation } from '../../operator/meshinstallation/fixtures.test.js';
import * as names from '../../operator/meshinstallation/names.js';
import { createKube, silentLogger, type KubeObject } from '../../operator/runtime/index.js';
import { SERVED_GENERATION_ANNOTATION } from '../../operator/servicepolicy/names.js';
import { ServicePolicies } from '../../operator/servicepolicy/reconciler.js';
import { waitFor } from '../runtime/support.js';

const ROOT = join(import.meta.dirname, '..', '..');

async function crdsOf(file: string): Promise<KubeObject[]> {
  return parseAllDocuments(await readFile(file, 'utf8'))
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o?.kind === 'CustomResourceDefinition');
}

/** Without the MeshInstallation's ownerReference: the owner does not exist here, and GC would collect them. */
const unowned = (o: object): KubeObject => {
  const obj = structuredClone(o) as KubeObject;
  delete obj.metadata!.ownerReferences;
  return obj;
};

type Admin = ReturnType<typeof createKube>;

/** Runs `scenario` against a control plane that holds exactly `rules`. */
async function withControlPlane(
  rules: readonly V1PolicyRule[],
  scenario: (admin: Admin, forbidden: () => string[]) => Promise<void>,
): Promise<void> {
  const mi = meshInstallation({ spec: { namespace: 'mesh-cp' } });
  const cluster = await startLocalCluster({ tls: true });
  const admin = createKube({ kubeconfigPath: cluster.kubeconfigPath });
  const stop = new AbortController();
  let done: Promise<void> | undefined;
  try {
    const files = [
      ...(await readdir(join(ROOT, 'crds')))
        .filter((f) => f.endsWith('.yaml'))
        .map((f) => join(ROOT, 'crds', f)),
      join(ROOT, 'test', 'fixtures', 'crds', 'cert-manager.yaml'),
    ];
    for (const file of files) for (const crd of await crdsOf(file)) await admin.create(crd);
    await cluster.settle();
    await admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'mesh-cp' } });
    const role = unowned(clusterRole(mi));
    (role as { rules?: unknown }).rules = rules.map((r) => ({ ...r }));
    for (const obj of [unowned(serviceAccount(mi)), role, unowned(clusterRoleBinding(mi))])
      await admin.create(obj);

    const user = `system:serviceaccount:mesh-cp:${names.controlPlane(mi)}`;
    const kubeconfig = await cluster.kubeconfigFor({
      serviceAccount: { namespace: 'mesh-cp', name: names.controlPlane(mi) },
    });
    const controlPlane = await startControlPlane(
      {
        kube: createKube({ kubeconfigPath: kubeconfig }),
        mesh: parseMeshConfig(meshConfigText(mi)),
        namespace: 'mesh-cp',
        leaderElection: true,
        bindAddress: '127.0.0.1',
        ports: { xds: false, xdsPlaintext: 0, webhook: false, metrics: false, health: false },
        logger: silentLogger(),
      },
      stop.signal,
    );
    done = controlPlane.done.catch(() => undefined); // a counter-test's control plane may never sync
    await scenario(admin, () =>
      cluster.faults.requests
        .filter((r) => r.code === 403 && r.user === user)
        .map((r) => `${r.verb} ${r.resource ?? r.path}${r.namespace ? ` ${r.namespace}` : ''}`),
    );
  } finally {
    stop.abort();
    await done;
    await cluster.stop();
  }
}

/** A member namespace with a meshed pod (as the injector labels it), a Service and its ServicePolicy. */
async function meshedWorkload(admin: Admin): Promise<void> {
  await admin.create({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: 'shop', labels: { 'meshwright.io/inject': 'enabled' } },
  });
  await admin.create({
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: 'checkout', namespace: 'shop' },
  });
  await admin.create({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'checkout-0',
      namespace: 'shop',
      labels: { app: 'checkout', [SERVICE_ACCOUNT_LABEL]: 'checkout' },
    },
    spec: { serviceAccountName: 'checkout', containers: [{ name: 'app', image: 'checkout:1' }] },
  });
  await admin.create({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'checkout', namespace: 'shop' },
    spec: { selector: { app: 'checkout' }, ports: [{ name: 'grpc', port: 8080 }] },
  });
  await admin.create({
    apiVersion: ServicePolicies.apiVersion,
    kind: 'ServicePolicy',
    metadata: { name: 'checkout', namespace: 'shop' },
    spec: { targetRef: { kind: 'Service', name: 'checkout' }, resilience: { timeouts: { request: '2s' } } },
  });
}

const policyRef = {
  apiVersion: ServicePolicies.apiVersion,
  kind: 'ServicePolicy',
  name: 'checkout',
  namespace: 'shop',
};

describe('the control plane with the permissions a MeshInstallation grants it', () => {
  it('builds, issues the workload identity and marks the policy served, without a single 403', async () => {
    await withControlPlane(CONTROL_PLANE_RULES, async (admin, forbidden) => {
      await meshedWorkload(admin);
      const certificate = await waitFor(
        () =>
          admin
            .get({
              apiVersion: Certificates.apiVersion,
              kind: Certificates.kind,
              name: identityCertificateName('checkout'),
              namespace: 'shop',
            })
            .catch(() => undefined),
        20_000,
        'the workload identity Certificate',
      );
      assert.deepEqual((certificate as { spec?: { uris?: string[] } }).spec?.uris, [
        'spiffe://cluster.local/ns/shop/sa/checkout',
      ]);
      await waitFor(
        async () =>
          (await admin.get(policyRef)).metadata?.annotations?.[SERVED_GENERATION_ANNOTATION] === '1',
        20_000,
        'the policy to be marked served',
      );
      assert.deepEqual(forbidden(), []);
    });
  });

  it('counter-test: without patch on ServicePolicies, the API server answers 403', async () => {
    const withoutPatch = CONTROL_PLANE_RULES.map((r) =>
      r.resources?.includes('servicepolicies') ? { ...r, verbs: r.verbs.filter((v) => v !== 'patch') } : r,
    );
    await withControlPlane(withoutPatch, async (admin, forbidden) => {
      await meshedWorkload(admin);
      const seen = await waitFor(
        () => forbidden().find((f) => f.startsWith('patch servicepolicies')),
        20_000,
        'a 403 on the served-generation patch',
      );
      assert.equal(seen, 'patch servicepolicies shop');
    });
  });
});
