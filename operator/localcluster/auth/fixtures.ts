/** Test fixtures: RBAC objects, users, request attributes and an in-memory RbacSource, each with overrides. */
import type { RbacSource, RequestAttributes, UserInfo } from './types.js';

const RBAC = 'rbac.authorization.k8s.io';

export interface RuleInput {
  verbs?: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

export interface SubjectInput {
  /** User, Group, ServiceAccount — or anything else, to test unknown kinds. */
  kind: string;
  name: string;
  namespace?: string;
}

/** `get configmaps` in the core group unless overridden. */
export const rule = (o: RuleInput = {}): RuleInput => ({
  verbs: ['get'],
  apiGroups: [''],
  resources: ['configmaps'],
  ...o,
});

export const urlRule = (nonResourceURLs: string[], verbs = ['get']): RuleInput => ({
  verbs,
  nonResourceURLs,
});

export const role = (o: { name?: string; namespace?: string; rules?: RuleInput[] } = {}) => ({
  apiVersion: `${RBAC}/v1`,
  kind: 'Role',
  metadata: { name: o.name ?? 'reader', namespace: o.namespace ?? 'ns' },
  rules: o.rules ?? [rule()],
});

export const clusterRole = (o: { name?: string; rules?: RuleInput[]; aggregationRule?: object } = {}) => ({
  apiVersion: `${RBAC}/v1`,
  kind: 'ClusterRole',
  metadata: { name: o.name ?? 'reader' },
  rules: o.rules ?? [rule()],
  ...(o.aggregationRule === undefined ? {} : { aggregationRule: o.aggregationRule }),
});

const subjects = (list: SubjectInput[]) =>
  list.map((s) => (s.kind === 'ServiceAccount' ? { ...s } : { apiGroup: RBAC, ...s }));

export const roleBinding = (
  o: {
    name?: string;
    namespace?: string;
    roleRef?: { kind: string; name: string };
    subjects?: SubjectInput[];
  } = {},
) => ({
  apiVersion: `${RBAC}/v1`,
  kind: 'RoleBinding',
  metadata: { name: o.name ?? 'reader-binding', namespace: o.namespace ?? 'ns' },
  roleRef: { apiGroup: RBAC, ...(o.roleRef ?? { kind: 'Role', name: 'reader' }) },
  subjects: subjects(o.subjects ?? [{ kind: 'User', name: 'alice' }]),
});

export const clusterRoleBinding = (
  o: { name?: string; roleRef?: { kind: string; name: string }; subjects?: SubjectInput[] } = {},
) => ({
  apiVersion: `${RBAC}/v1`,
  kind: 'ClusterRoleBinding',
  metadata: { name: o.name ?? 'reader-binding' },
  roleRef: { apiGroup: RBAC, ...(o.roleRef ?? { kind: 'ClusterRole', name: 'reader' }) },
  subjects: subjects(o.subjects ?? [{ kind: 'User', name: 'alice' }]),
});

const namespaceOf = (obj: { metadata: { namespace?: string } }) => obj.metadata.namespace;

/** An RbacSource over plain lists; namespaced objects are filtered by their metadata.namespace. */
export function rbacSource(
  o: {
    roles?: ReturnType<typeof role>[];
    roleBindings?: ReturnType<typeof roleBinding>[];
    clusterRoles?: object[];
    clusterRoleBindings?: object[];
  } = {},
): RbacSource {
  return {
    roles: (ns) => (o.roles ?? []).filter((r) => namespaceOf(r) === ns),
    roleBindings: (ns) => (o.roleBindings ?? []).filter((b) => namespaceOf(b) === ns),
    clusterRoles: () => o.clusterRoles ?? [],
    clusterRoleBindings: () => o.clusterRoleBindings ?? [],
  };
}

/** An authenticated user `alice`. */
export const user = (o: Partial<UserInfo> = {}): UserInfo => ({
  username: 'alice',
  groups: ['system:authenticated'],
  ...o,
});

/** A service account as the token authenticator presents it. */
export const serviceAccount = (namespace = 'ns', name = 'sa'): UserInfo => ({
  username: `system:serviceaccount:${namespace}:${name}`,
  groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
});

/** `get configmaps` in namespace `ns` unless overridden. */
export const attrs = (o: Partial<RequestAttributes> = {}): RequestAttributes => ({
  verb: 'get',
  apiGroup: '',
  resource: 'configmaps',
  namespace: 'ns',
  ...o,
});

export const nonResource = (path: string, verb = 'get'): RequestAttributes => ({
  verb,
  apiGroup: '',
  resource: '',
  nonResourcePath: path,
});
