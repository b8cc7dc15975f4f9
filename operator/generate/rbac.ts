/**
 * The operator's own RBAC, written once: `config/rbac/*.yaml` and the ClusterServiceVersion's
 * `clusterPermissions` / `permissions` are both generated from these rules, and
 * `test/rbac/operator.test.ts` runs the operator with exactly these permissions (and, as a
 * counter-test, with one rule less).
 *
 * Least privilege, rule by rule (the reconcilers are the source of truth: `operator/*\/reconciler.ts`):
 *   - informers list and watch; nothing is read with a plain GET except the Lease
 *   - children are server-side applied (`patch`) and pruned (`delete`); the control-plane Namespace
 *     is create-only and never deleted; `Automatic` migration merge-patches Deployments
 *   - status is a merge patch on the `status` subresource; the MeshInstallation finalizer is a merge
 *     patch of the object itself
 *   - `*\/finalizers: update`: the children carry a controller ownerReference with
 *     `blockOwnerDeletion: true`, which the OwnerReferencesPermissionEnforcement admission plugin
 *     (OpenShift, hardened clusters) allows only to whoever may update the owner's finalizers
 *   - the cert-manager kinds are probed with a `list` (limit 1) before their informers start
 *   - Secrets: `list` and `delete` only, for the finalizer (the two Secrets cert-manager leaves
 *     without an ownerReference); the control-plane namespace is chosen per installation, so this
 *     cannot be a Role
 *   - CustomResourceDefinitions: `list`/`watch` only (the operator waits for cert-manager's); it
 *     never creates or patches a CRD (OLM or `kubectl apply -k config/default` installs ours)
 *   - Events: `create` and `patch` (a repeated Event is counted on the existing one)
 *   - plus every rule it grants the control plane (`CONTROL_PLANE_RULES`): Kubernetes refuses to let
 *     a subject create a ClusterRole or bind one with permissions it does not hold itself
 *   - leader election: the Lease `meshwright-operator` in the operator's namespace (a Role)
 * No wildcard anywhere.
 */
import type {
  V1ClusterRole,
  V1ClusterRoleBinding,
  V1PolicyRule,
  V1Role,
  V1RoleBinding,
  V1ServiceAccount,
} from '@kubernetes/client-node';
import { CONTROL_PLANE_RULES } from '../meshinstallation/desired.js';
import { DEFAULT_OPERATOR_NAMESPACE, LEASE_NAME } from '../operator.js';

export const OPERATOR_NAME = 'meshwright-operator';
export const SERVICE_ACCOUNT_NAME = OPERATOR_NAME;
export const CLUSTER_ROLE_NAME = OPERATOR_NAME;
export const LEADER_ELECTION_ROLE_NAME = 'meshwright-leader-election';
export const OPERATOR_NAMESPACE = DEFAULT_OPERATOR_NAMESPACE;

/** The labels of every object `config/` installs. */
export const OPERATOR_LABELS: Record<string, string> = {
  'app.kubernetes.io/name': 'meshwright',
  'app.kubernetes.io/component': 'operator',
  'app.kubernetes.io/part-of': 'meshwright',
};

const WATCH = ['list', 'watch'];
/** A child kind: watched by an informer, server-side applied, pruned. */
const CHILD = ['delete', 'list', 'patch', 'watch'];
const MESH = 'mesh.meshwright.io';

/** What the three controllers themselves need (without the control-plane grants). */
export const CONTROLLER_RULES: readonly V1PolicyRule[] = [
  // the three kinds
  { apiGroups: [MESH], resources: ['meshinstallations'], verbs: ['list', 'patch', 'watch'] },
  { apiGroups: [MESH], resources: ['servicepolicies', 'trafficsplits'], verbs: WATCH },
  {
    apiGroups: [MESH],
    resources: ['meshinstallations/status', 'servicepolicies/status', 'trafficsplits/status'],
    verbs: ['patch'],
  },
  {
    apiGroups: [MESH],
    resources: ['meshinstallations/finalizers', 'servicepolicies/finalizers', 'trafficsplits/finalizers'],
    verbs: ['update'],
  },
  // MeshInstallation: membership, proxies, the control plane and its children
  { apiGroups: [''], resources: ['namespaces'], verbs: ['create', 'list', 'watch'] },
  { apiGroups: [''], resources: ['pods'], verbs: WATCH },
  { apiGroups: [''], resources: ['configmaps', 'serviceaccounts', 'services'], verbs: CHILD },
  { apiGroups: [''], resources: ['secrets'], verbs: ['delete', 'list'] },
  { apiGroups: ['apps'], resources: ['deployments'], verbs: CHILD },
  { apiGroups: ['policy'], resources: ['poddisruptionbudgets'], verbs: CHILD },
  {
    apiGroups: ['rbac.authorization.k8s.io'],
    resources: ['clusterrolebindings', 'clusterroles'],
    verbs: CHILD,
  },
  { apiGroups: ['admissionregistration.k8s.io'], resources: ['mutatingwebhookconfigurations'], verbs: CHILD },
  { apiGroups: ['apiextensions.k8s.io'], resources: ['customresourcedefinitions'], verbs: WATCH },
  {
    apiGroups: ['cert-manager.io'],
    resources: ['certificates', 'clusterissuers', 'issuers'],
    verbs: CHILD,
  },
  // ServicePolicy
  { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: CHILD },
  // TrafficSplit: the GAMMA HTTPRoute, where the Gateway API CRD is installed
  { apiGroups: ['gateway.networking.k8s.io'], resources: ['httproutes'], verbs: CHILD },
  // the event recorder
  { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
];

const sorted = (xs: Iterable<string>): string[] => [...new Set(xs)].sort();

/**
 * Merges rules into a canonical form: one rule per (apiGroup, resource) with the union of the
 * verbs, then rules with the same group and verbs joined again. Deterministic, so the generated
 * files are stable.
 */
export function mergeRules(rules: readonly V1PolicyRule[]): V1PolicyRule[] {
  const verbs = new Map<string, Set<string>>();
  for (const r of rules) {
    if (r.resourceNames?.length || r.nonResourceURLs?.length)
      throw new Error('mergeRules: resourceNames and nonResourceURLs are not supported');
    for (const g of r.apiGroups ?? [])
      for (const res of r.resources ?? []) {
        const k = `${g}\u0000${res}`;
        verbs.set(k, new Set([...(verbs.get(k) ?? []), ...r.verbs]));
      }
  }
  const grouped = new Map<string, { group: string; resources: string[]; verbs: string[] }>();
  for (const [k, v] of [...verbs].sort(([a], [b]) => a.localeCompare(b))) {
    const [group, resource] = k.split('\u0000') as [string, string];
    const vs = sorted(v);
    const gk = `${group}\u0000${vs.join(',')}`;
    const entry = grouped.get(gk) ?? { group, resources: [], verbs: vs };
    entry.resources.push(resource);
    grouped.set(gk, entry);
  }
  return [...grouped.values()].map((e) => ({
    apiGroups: [e.group],
    resources: e.resources,
    verbs: e.verbs,
  }));
}

/** The operator's ClusterRole rules: what the controllers need plus what they grant the control plane. */
export const OPERATOR_CLUSTER_RULES: readonly V1PolicyRule[] = mergeRules([
  ...CONTROLLER_RULES,
  ...CONTROL_PLANE_RULES,
]);

/** Leader election, in the operator's own namespace. */
export const LEADER_ELECTION_RULES: readonly V1PolicyRule[] = [
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create', 'get', 'update'] },
];

/** Whether `rules` allow `verb` on `group`/`resource` (no wildcards: none are used here). */
export function allows(
  rules: readonly V1PolicyRule[],
  group: string,
  resource: string,
  verb: string,
): boolean {
  return rules.some(
    (r) =>
      (r.apiGroups ?? []).includes(group) && (r.resources ?? []).includes(resource) && r.verbs.includes(verb),
  );
}

// ------------------------------------------------------------------------------ objects

const RBAC = 'rbac.authorization.k8s.io';
const clone = (rules: readonly V1PolicyRule[]): V1PolicyRule[] =>
  rules.map((r) => ({
    apiGroups: [...(r.apiGroups ?? [])],
    resources: [...(r.resources ?? [])],
    verbs: [...r.verbs],
  }));

export const serviceAccount = (namespace = OPERATOR_NAMESPACE): V1ServiceAccount => ({
  apiVersion: 'v1',
  kind: 'ServiceAccount',
  metadata: { name: SERVICE_ACCOUNT_NAME, namespace, labels: { ...OPERATOR_LABELS } },
});

export const clusterRole = (
  rules: readonly V1PolicyRule[] = OPERATOR_CLUSTER_RULES,
  name = CLUSTER_ROLE_NAME,
): V1ClusterRole => ({
  apiVersion: `${RBAC}/v1`,
  kind: 'ClusterRole',
  metadata: { name, labels: { ...OPERATOR_LABELS } },
  rules: clone(rules),
});

export const clusterRoleBinding = (
  namespace = OPERATOR_NAMESPACE,
  serviceAccountName = SERVICE_ACCOUNT_NAME,
  name = CLUSTER_ROLE_NAME,
): V1ClusterRoleBinding => ({
  apiVersion: `${RBAC}/v1`,
  kind: 'ClusterRoleBinding',
  metadata: { name, labels: { ...OPERATOR_LABELS } },
  roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name },
  subjects: [{ kind: 'ServiceAccount', name: serviceAccountName, namespace }],
});

export const leaderElectionRole = (
  namespace = OPERATOR_NAMESPACE,
  rules: readonly V1PolicyRule[] = LEADER_ELECTION_RULES,
): V1Role => ({
  apiVersion: `${RBAC}/v1`,
  kind: 'Role',
  metadata: { name: LEADER_ELECTION_ROLE_NAME, namespace, labels: { ...OPERATOR_LABELS } },
  rules: clone(rules),
});

export const leaderElectionRoleBinding = (
  namespace = OPERATOR_NAMESPACE,
  serviceAccountName = SERVICE_ACCOUNT_NAME,
): V1RoleBinding => ({
  apiVersion: `${RBAC}/v1`,
  kind: 'RoleBinding',
  metadata: { name: LEADER_ELECTION_ROLE_NAME, namespace, labels: { ...OPERATOR_LABELS } },
  roleRef: { apiGroup: RBAC, kind: 'Role', name: LEADER_ELECTION_ROLE_NAME },
  subjects: [{ kind: 'ServiceAccount', name: serviceAccountName, namespace }],
});

/** The Lease the operator elects its leader on (for docs and tests). */
export { LEASE_NAME };
