/**
 * Shared pieces of the MeshInstallation integration suites: CRD installation (crds/ and the
 * minimal cert-manager CRDs of test/fixtures, unless the cluster already serves them), an operator
 * on a Manager, MeshInstallation fixtures, and what the tests play in place of the controllers the
 * local cluster does not run (Deployment availability, Certificate readiness, cert-manager's CA
 * injector), written through the status subresource as those controllers would.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { API_VERSION } from '../../operator/api/common.js';
import type { MeshInstallationSpec } from '../../operator/api/meshinstallation.js';
import {
  setupMeshInstallationController,
  type MeshInstallationController,
  type MeshInstallationControllerOptions,
} from '../../operator/meshinstallation/reconciler.js';
import {
  isNotFound,
  Manager,
  silentLogger,
  type Kube,
  type KubeObject,
  type ResourceType,
} from '../../operator/runtime/index.js';
import { ROOT } from '../api/support.js';
import { waitFor } from '../runtime/support.js';

export const CERT_MANAGER_CRDS = join(ROOT, 'test', 'fixtures', 'crds', 'cert-manager.yaml');
export const MESH_CRD = join(ROOT, 'crds', 'meshinstallations.mesh.meshwright.io.yaml');

export const MeshInstallations: ResourceType = {
  apiVersion: API_VERSION,
  kind: 'MeshInstallation',
  plural: 'meshinstallations',
  namespaced: false,
};

const CRD_API = 'apiextensions.k8s.io/v1';

interface Crd extends KubeObject {
  spec: {
    group: string;
    names: { kind: string; plural: string };
    scope: string;
    versions: { name: string }[];
  };
}

/** Creates each CRD of `file` the cluster lacks, and waits until every one is served. */
export async function installCrds(kube: Kube, file: string): Promise<void> {
  const crds = parseAllDocuments(await readFile(file, 'utf8'))
    .map((d) => d.toJSON() as Crd | null)
    .filter((d): d is Crd => d?.kind === 'CustomResourceDefinition');
  for (const crd of crds) {
    try {
      await kube.get({ apiVersion: CRD_API, kind: 'CustomResourceDefinition', name: crd.metadata!.name! });
    } catch (e) {
      if (!isNotFound(e)) throw e;
      await kube.create(crd);
    }
  }
  for (const crd of crds) {
    const type: ResourceType = {
      apiVersion: `${crd.spec.group}/${crd.spec.versions[0]!.name}`,
      kind: crd.spec.names.kind,
      plural: crd.spec.names.plural,
      namespaced: crd.spec.scope === 'Namespaced',
    };
    await waitFor(
      () => kube.list(type, { limit: 1 }).then(() => true),
      15_000,
      `${crd.metadata!.name} served`,
    );
  }
}

/** Creates a cluster-scoped or namespaced object unless it exists; returns whether it was created. */
export async function ensure(kube: Kube, obj: KubeObject): Promise<boolean> {
  try {
    await kube.create(obj);
    return true;
  } catch (e) {
    if ((e as { code?: number }).code === 409) return false;
    throw e;
  }
}

export type SpecInput = Partial<{ [K in keyof MeshInstallationSpec]: unknown }>;

export const meshInstallation = (name: string, spec: SpecInput): KubeObject => ({
  apiVersion: API_VERSION,
  kind: 'MeshInstallation',
  metadata: { name },
  spec,
});

export interface Operator {
  mgr: Manager;
  mesh: MeshInstallationController;
  stop(): Promise<void>;
  /** Nothing queued, nothing running. */
  idle(): boolean;
}

/** A Manager (no leader election, no endpoints) with the MeshInstallation controller, started. */
export async function startOperator(
  kube: Kube,
  options: MeshInstallationControllerOptions = {},
): Promise<Operator> {
  const mgr = new Manager({
    kube,
    logger: silentLogger(),
    informers: { initialBackoffMs: 20, maxBackoffMs: 500 },
  });
  const mesh = setupMeshInstallationController(mgr, options);
  const abort = new AbortController();
  const running = mgr.start(abort.signal);
  await waitFor(() => mgr.ready(), 15_000, 'the caches to sync');
  const { queue } = mesh.controller;
  return {
    mgr,
    mesh,
    idle: () => queue.len() === 0 && queue.inFlight() === 0,
    stop: async () => {
      abort.abort();
      await running;
    },
  };
}

// ------------------------------------------------------------------------------ what the tests play

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

export const conditionOf = (obj: KubeObject | undefined, type: string): Condition | undefined =>
  ((obj?.status as { conditions?: Condition[] } | undefined)?.conditions ?? []).find((c) => c.type === type);

export const summary = (obj: KubeObject | undefined, type: string): string => {
  const c = conditionOf(obj, type);
  return c ? `${c.status}/${c.reason ?? ''}` : 'absent';
};

/** The Deployment controller's part: every replica of the current spec updated and available. */
export async function makeAvailable(kube: Kube, namespace: string, name: string): Promise<void> {
  const d = await kube.get<KubeObject & { spec: { replicas?: number } }>({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    name,
    namespace,
  });
  const replicas = d.spec.replicas ?? 1;
  await kube.patchStatus(
    { apiVersion: 'apps/v1', kind: 'Deployment', plural: 'deployments', name, namespace },
    {
      observedGeneration: d.metadata!.generation,
      replicas,
      updatedReplicas: replicas,
      readyReplicas: replicas,
      availableReplicas: replicas,
    },
    { resourceVersion: undefined },
  );
}

/** cert-manager's part: the Certificate issued. */
export async function makeCertificateReady(
  kube: Kube,
  namespace: string,
  name: string,
  notAfter = '2035-01-01T00:00:00Z',
): Promise<void> {
  await kube.patchStatus(
    { apiVersion: 'cert-manager.io/v1', kind: 'Certificate', plural: 'certificates', name, namespace },
    {
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'Ready',
          message: 'Certificate is up to date and has not expired',
        },
      ],
      notAfter,
    },
    { resourceVersion: undefined },
  );
}

/** cert-manager's CA injector's part: the webhook's caBundle. */
export async function injectCaBundle(kube: Kube, name: string): Promise<void> {
  const mwc = await kube.get<KubeObject & { webhooks: Record<string, unknown>[] }>({
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    name,
  });
  const caBundle = Buffer.from('-----BEGIN CERTIFICATE-----\ntest\n-----END CERTIFICATE-----\n').toString(
    'base64',
  );
  await kube.mergePatch(
    { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', name },
    {
      webhooks: mwc.webhooks.map((w) => ({
        ...w,
        clientConfig: { ...(w.clientConfig as object), caBundle },
      })),
    },
  );
}

/** Reconciles of the MeshInstallation controller so far (controller_runtime_reconcile_total). */
export async function reconcileCount(mgr: Manager): Promise<number> {
  const metric = mgr.metrics.registry.getSingleMetric('controller_runtime_reconcile_total');
  if (!metric) return 0;
  const { values } = await metric.get();
  return values.filter((v) => v.labels.controller === 'meshinstallation').reduce((n, v) => n + v.value, 0);
}
