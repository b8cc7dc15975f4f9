/**
 * The slice of kube-apiserver's bootstrap RBAC policy (plugin/pkg/auth/authorizer/rbac/bootstrappolicy)
 * that every cluster relies on: `cluster-admin` for system:masters, and the discovery, basic-user and
 * public-info-viewer roles that let any authenticated user discover the API and ask `kubectl auth can-i`.
 *
 * The authorizer always has these in force (see `withBootstrapPolicy`); the API server may also seed them
 * into its store so that `kubectl get clusterroles` shows them. The aggregated roles (admin/edit/view) and
 * the controller roles are not part of this slice.
 */
import type { RbacSource } from './types.js';
import { ALL_AUTHENTICATED, ALL_UNAUTHENTICATED, SYSTEM_MASTERS } from './types.js';
import { objectName } from './model.js';

const RBAC_GROUP = 'rbac.authorization.k8s.io';

const bootstrapMetadata = (name: string) => ({
  name,
  labels: { 'kubernetes.io/bootstrapping': 'rbac-defaults' },
  annotations: { 'rbac.authorization.kubernetes.io/autoupdate': 'true' },
});

const resourceRule = (verbs: string[], apiGroups: string[], resources: string[]) => ({
  verbs,
  apiGroups,
  resources,
});
const urlRule = (verbs: string[], nonResourceURLs: string[]) => ({ verbs, nonResourceURLs });

const clusterRole = (name: string, rules: object[]) => ({
  apiVersion: `${RBAC_GROUP}/v1`,
  kind: 'ClusterRole',
  metadata: bootstrapMetadata(name),
  rules,
});

const groupBinding = (name: string, groups: string[]) => ({
  apiVersion: `${RBAC_GROUP}/v1`,
  kind: 'ClusterRoleBinding',
  metadata: bootstrapMetadata(name),
  roleRef: { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name },
  subjects: groups.map((group) => ({ apiGroup: RBAC_GROUP, kind: 'Group', name: group })),
});

const HEALTH_AND_VERSION = ['/livez', '/readyz', '/healthz', '/version', '/version/'];

export function bootstrapClusterRoles(): object[] {
  return [
    clusterRole('cluster-admin', [resourceRule(['*'], ['*'], ['*']), urlRule(['*'], ['*'])]),
    clusterRole('system:discovery', [
      urlRule(
        ['get'],
        [...HEALTH_AND_VERSION, '/openapi', '/openapi/*', '/api', '/api/*', '/apis', '/apis/*'],
      ),
    ]),
    clusterRole('system:basic-user', [
      resourceRule(
        ['create'],
        ['authorization.k8s.io'],
        ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'],
      ),
      resourceRule(['create'], ['authentication.k8s.io'], ['selfsubjectreviews']),
    ]),
    clusterRole('system:public-info-viewer', [urlRule(['get'], HEALTH_AND_VERSION)]),
  ];
}

export function bootstrapClusterRoleBindings(): object[] {
  return [
    groupBinding('cluster-admin', [SYSTEM_MASTERS]),
    groupBinding('system:discovery', [ALL_AUTHENTICATED]),
    groupBinding('system:basic-user', [ALL_AUTHENTICATED]),
    groupBinding('system:public-info-viewer', [ALL_AUTHENTICATED, ALL_UNAUTHENTICATED]),
  ];
}

/** The store's objects win by name, so an edited or seeded copy replaces the built-in one. */
function mergeByName(stored: object[], defaults: object[]): object[] {
  const names = new Set(stored.map(objectName));
  return [...stored, ...defaults.filter((d) => !names.has(objectName(d)))];
}

/** `rbac` with the bootstrap ClusterRoles and ClusterRoleBindings added where the store lacks them. */
export function withBootstrapPolicy(rbac: RbacSource): RbacSource {
  return {
    roles: (namespace) => rbac.roles(namespace),
    roleBindings: (namespace) => rbac.roleBindings(namespace),
    clusterRoles: () => mergeByName(rbac.clusterRoles(), bootstrapClusterRoles()),
    clusterRoleBindings: () => mergeByName(rbac.clusterRoleBindings(), bootstrapClusterRoleBindings()),
  };
}
