/**
 * RBAC objects narrowed once, at the boundary: the store hands us stored JSON (`object`), the authorizer
 * works on these. Missing lists read as empty, missing strings as '' — the same zero values the Go types
 * decode to, so a sparse object behaves exactly as it would in kube-apiserver.
 */

export interface PolicyRule {
  verbs: string[];
  apiGroups: string[];
  resources: string[];
  resourceNames: string[];
  nonResourceURLs: string[];
}

export interface Subject {
  kind: string;
  name: string;
  /** '' when absent; for a ServiceAccount in a RoleBinding it then defaults to the binding's namespace. */
  namespace: string;
}

export interface RoleRef {
  kind: string;
  name: string;
}

export interface Binding {
  name: string;
  /** '' for a ClusterRoleBinding. */
  namespace: string;
  roleRef: RoleRef;
  subjects: Subject[];
}

export interface Role {
  name: string;
  rules: PolicyRule[];
}

export type Json = Record<string, unknown>;

export const isRecord = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const record = (v: unknown): Json => (isRecord(v) ? v : {});
/** A JSON string field as Go decodes it: anything else is the zero value ''. */
export const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const strs = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : [];

export const objectName = (obj: object): string => str(record((obj as Json).metadata).name);

export function toPolicyRule(raw: unknown): PolicyRule {
  const r = record(raw);
  return {
    verbs: strs(r.verbs),
    apiGroups: strs(r.apiGroups),
    resources: strs(r.resources),
    resourceNames: strs(r.resourceNames),
    nonResourceURLs: strs(r.nonResourceURLs),
  };
}

/** A Role or a ClusterRole. `aggregationRule` is not evaluated: only the role's own `rules` count. */
export function toRole(obj: object): Role {
  const rules = (obj as Json).rules;
  return { name: objectName(obj), rules: Array.isArray(rules) ? rules.map(toPolicyRule) : [] };
}

/** A RoleBinding or a ClusterRoleBinding. */
export function toBinding(obj: object): Binding {
  const o = obj as Json;
  const roleRef = record(o.roleRef);
  const subjects = Array.isArray(o.subjects) ? o.subjects.map(record) : [];
  return {
    name: objectName(obj),
    namespace: str(record(o.metadata).namespace),
    roleRef: { kind: str(roleRef.kind), name: str(roleRef.name) },
    subjects: subjects.map((s) => ({ kind: str(s.kind), name: str(s.name), namespace: str(s.namespace) })),
  };
}
