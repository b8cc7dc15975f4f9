/**
 * What the MeshInstallation reconciler reads, turned into the observations `status.ts` and
 * `migration.ts` take. Pure: cached objects in, observations out (no client, no clock).
 *
 * The resource types the reconciler lists and watches are declared here too, once.
 */
import type { KubeObject, ResourceType } from '../runtime/client.js';
import type { MigrationWorkload } from './migration.js';
import * as names from './names.js';
import type { NamedMeshInstallation } from './names.js';
import {
  selectorMatches,
  type CertificateObservation,
  type DeploymentObservation,
  type ProxyCounts,
  type WebhookObservation,
} from './status.js';
export {
  ConfigMaps,
  Deployments,
  Namespaces,
  PodDisruptionBudgets,
  Pods,
  Secrets,
  ServiceAccounts,
  Services,
} from '../runtime/resources.js';

// ------------------------------------------------------------------------------ resource types

const type = (apiVersion: string, kind: string, plural: string, namespaced: boolean): ResourceType => ({
  apiVersion,
  kind,
  plural,
  namespaced,
});

export const MeshInstallations = type(
  'mesh.meshwright.io/v1alpha1',
  'MeshInstallation',
  'meshinstallations',
  false,
);
export const ClusterRoles = type('rbac.authorization.k8s.io/v1', 'ClusterRole', 'clusterroles', false);
export const ClusterRoleBindings = type(
  'rbac.authorization.k8s.io/v1',
  'ClusterRoleBinding',
  'clusterrolebindings',
  false,
);
export const MutatingWebhookConfigurations = type(
  'admissionregistration.k8s.io/v1',
  'MutatingWebhookConfiguration',
  'mutatingwebhookconfigurations',
  false,
);
export const CustomResourceDefinitions = type(
  'apiextensions.k8s.io/v1',
  'CustomResourceDefinition',
  'customresourcedefinitions',
  false,
);

export const CERT_MANAGER_API_VERSION = 'cert-manager.io/v1';
export const Certificates = type(CERT_MANAGER_API_VERSION, 'Certificate', 'certificates', true);
export const Issuers = type(CERT_MANAGER_API_VERSION, 'Issuer', 'issuers', true);
export const ClusterIssuers = type(CERT_MANAGER_API_VERSION, 'ClusterIssuer', 'clusterissuers', false);
/** The cert-manager kinds the reconciler owns, in the order it discovers them. */
export const CERT_MANAGER_TYPES: readonly ResourceType[] = [Certificates, Issuers, ClusterIssuers];
/** The CRD whose arrival re-enqueues every installation waiting for cert-manager. */
export const CERTIFICATES_CRD = 'certificates.cert-manager.io';

/**
 * Selects every MeshInstallation child (and nothing another kind owns: a ServicePolicy's children
 * carry `meshwright.io/owner-kind`): what the owned informers watch.
 */
export const CHILD_SELECTOR = [
  `${names.LABELS.managedBy}=${names.MANAGER}`,
  `${names.LABELS.name}=${names.APP_NAME}`,
  names.LABELS.owner,
  '!meshwright.io/owner-kind',
].join(',');

// ------------------------------------------------------------------------------ children

interface Condition {
  type?: string;
  status?: string;
  message?: string;
}

const conditionsOf = (obj: KubeObject | undefined): Condition[] => {
  const status = obj?.status as { conditions?: unknown } | undefined;
  return Array.isArray(status?.conditions) ? (status.conditions as Condition[]) : [];
};

/** A cert-manager Certificate's `Ready` condition and `notAfter` (`undefined` readiness: not said yet, or absent). */
export function certificateObservation(name: string, cert: KubeObject | undefined): CertificateObservation {
  const ready = conditionsOf(cert).find((c) => c.type === 'Ready');
  const notAfter = (cert?.status as { notAfter?: unknown } | undefined)?.notAfter;
  return {
    name,
    ready: ready?.status === 'True' ? true : ready?.status === 'False' ? false : undefined,
    ...(typeof notAfter === 'string' ? { notAfter } : {}),
    ...(cert === undefined
      ? { message: 'the Certificate does not exist yet' }
      : ready?.status !== 'True' && ready?.message
        ? { message: ready.message }
        : {}),
  };
}

interface DeploymentShape {
  metadata?: { generation?: number };
  spec?: {
    replicas?: number;
    selector?: { matchLabels?: Record<string, string>; matchExpressions?: SelectorExpression[] };
    template?: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> } };
    strategy?: { type?: string };
  };
  status?: {
    replicas?: number;
    availableReplicas?: number;
    updatedReplicas?: number;
    observedGeneration?: number;
  };
}

interface SelectorExpression {
  key: string;
  operator: string;
  values?: string[];
}

const asDeployment = (obj: KubeObject): DeploymentShape => obj;

/** The control-plane Deployment as `status.ts` reads it. */
export function deploymentObservation(obj: KubeObject | undefined): DeploymentObservation | undefined {
  if (!obj) return undefined;
  const d = asDeployment(obj);
  const version = d.spec?.template?.metadata?.labels?.[names.LABELS.version];
  return {
    replicas: d.spec?.replicas ?? 1,
    availableReplicas: d.status?.availableReplicas ?? 0,
    updatedReplicas: d.status?.updatedReplicas ?? 0,
    observedGeneration: d.status?.observedGeneration ?? 0,
    generation: d.metadata?.generation ?? 0,
    ...(version !== undefined ? { version } : {}),
  };
}

/** The injection webhook: registered, and its `caBundle` filled by cert-manager's CA injector. */
export function webhookObservation(obj: KubeObject | undefined): WebhookObservation {
  if (!obj) return { exists: false, caBundlePresent: false };
  const hooks =
    (obj as { webhooks?: { name?: string; clientConfig?: { caBundle?: string } }[] }).webhooks ?? [];
  const hook = hooks.find((w) => w.name === names.INJECT_WEBHOOK_NAME);
  return { exists: true, caBundlePresent: Boolean(hook?.clientConfig?.caBundle) };
}

// ------------------------------------------------------------------------------ data plane

/** A meshed pod that counts: labelled by the injector, not being deleted, not finished. */
const countsAsProxy = (pod: KubeObject): boolean => {
  if (pod.metadata?.deletionTimestamp) return false;
  const phase = (pod.status as { phase?: string } | undefined)?.phase;
  return (
    phase !== 'Succeeded' &&
    phase !== 'Failed' &&
    pod.metadata?.labels?.[names.LABELS.proxyVersion] !== undefined
  );
};

/** Pods of the member namespaces whose proxy runs `version`, or another one. */
export function proxyCounts(
  pods: readonly KubeObject[],
  members: readonly string[],
  version: string,
): ProxyCounts {
  const inMesh = new Set(members);
  let total = 0;
  let upToDate = 0;
  for (const pod of pods) {
    if (!inMesh.has(pod.metadata?.namespace ?? '') || !countsAsProxy(pod)) continue;
    total++;
    if (pod.metadata?.labels?.[names.LABELS.proxyVersion] === version) upToDate++;
  }
  return { total, upToDate, outdated: total - upToDate };
}

/** A Deployment's rollout is complete: its controller saw the latest spec, every replica is updated and available, no old one is left. */
export function rolloutComplete(obj: KubeObject): boolean {
  const d = asDeployment(obj);
  const want = d.spec?.replicas ?? 1;
  const s = d.status ?? {};
  return (
    (s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0) &&
    (s.updatedReplicas ?? 0) >= want &&
    (s.availableReplicas ?? 0) >= want &&
    (s.replicas ?? 0) <= want
  );
}

/**
 * The Deployments of the member namespaces `planMigration` needs: those with a pod whose proxy is
 * not `target`, and those already restarted for `target`. A pod belongs to a Deployment when the
 * Deployment's selector matches its labels (same namespace). Deployments the installations own
 * (the control plane) are left out. Only Deployments are migrated: a StatefulSet's or DaemonSet's
 * restart is left to its owner (they are counted in `status.proxies` all the same).
 */
export function migrationWorkloads(
  deployments: readonly KubeObject[],
  pods: readonly KubeObject[],
  members: readonly string[],
  target: string,
): MigrationWorkload[] {
  const inMesh = new Set(members);
  const podsByNamespace = new Map<string, KubeObject[]>();
  for (const pod of pods) {
    const ns = pod.metadata?.namespace ?? '';
    if (!inMesh.has(ns) || !countsAsProxy(pod)) continue;
    podsByNamespace.set(ns, [...(podsByNamespace.get(ns) ?? []), pod]);
  }
  const out: MigrationWorkload[] = [];
  for (const obj of deployments) {
    const ns = obj.metadata?.namespace ?? '';
    if (!inMesh.has(ns) || obj.metadata?.deletionTimestamp) continue;
    if (obj.metadata?.labels?.[names.LABELS.managedBy] === names.MANAGER) continue;
    const d = asDeployment(obj);
    const selector = d.spec?.selector;
    if (!selector || (!selector.matchLabels && !selector.matchExpressions)) continue;
    const mine = (podsByNamespace.get(ns) ?? []).filter((p) =>
      selectorMatches(selector, p.metadata?.labels ?? {}),
    );
    const outdatedPods = mine.filter(
      (p) => p.metadata?.labels?.[names.LABELS.proxyVersion] !== target,
    ).length;
    const annotations = d.spec?.template?.metadata?.annotations ?? {};
    const restartedAt = annotations[names.ANNOTATIONS.restartedAt];
    const restartedForVersion = annotations[names.ANNOTATIONS.restartedForVersion];
    if (outdatedPods === 0 && restartedForVersion !== target) continue;
    out.push({
      kind: 'Deployment',
      namespace: ns,
      name: obj.metadata?.name ?? '',
      outdatedPods,
      available: rolloutComplete(obj),
      ...(restartedAt !== undefined ? { restartedAt } : {}),
      ...(restartedForVersion !== undefined ? { restartedForVersion } : {}),
    });
  }
  return out;
}

/** The control plane runs `mi`'s version: the Deployment is rolled out on the template of that version. */
export function controlPlaneOnTarget(mi: NamedMeshInstallation, deployment: KubeObject | undefined): boolean {
  if (!deployment) return false;
  const d = asDeployment(deployment);
  return (
    rolloutComplete(deployment) &&
    (d.spec?.replicas ?? 1) === mi.spec.controlPlane.replicas &&
    d.spec?.template?.metadata?.labels?.[names.LABELS.version] === mi.spec.version
  );
}
