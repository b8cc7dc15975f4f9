/**
 * Every name and label a ServicePolicy's children carry, and the labels its NetworkPolicy selects
 * callers by. Nothing else in this folder spells a child name or a label key.
 */
import { SERVICE_ACCOUNT_LABEL } from '../api/index.js';
import { childSubdomain, labelValue } from '../runtime/names.js';

export { SERVICE_ACCOUNT_LABEL };

/** The well-known label the API server puts on every Namespace, holding its name. */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'meshwright';
/** The name of the object a child was generated from (a label value: long names are shortened with a hash). */
export const OWNER_LABEL = 'meshwright.io/owner';
/** The kind of the object a child was generated from, so two kinds' children never mix in a selector. */
export const OWNER_KIND_LABEL = 'meshwright.io/owner-kind';
export const OWNER_KIND = 'ServicePolicy';

/**
 * On a ServicePolicy: the generation the control plane serves to the proxies, written by the
 * control plane's leader once a configuration built from that generation is published. The
 * operator reads it for `Programmed`; an annotation, because the status belongs to the operator.
 */
export const SERVED_GENERATION_ANNOTATION = 'meshwright.io/served-generation';

/** The generation an object's `SERVED_GENERATION_ANNOTATION` names; undefined when absent or not a number. */
export function servedGeneration(annotations: Record<string, string> | undefined): number | undefined {
  const value = annotations?.[SERVED_GENERATION_ANNOTATION];
  return value !== undefined && /^[0-9]+$/.test(value) ? Number(value) : undefined;
}

interface Named {
  metadata: { name: string };
}

/**
 * The NetworkPolicy generated from a policy: `meshwright-svcpol-<policy name>`, in the policy's
 * namespace. The prefix keeps it apart from NetworkPolicies users write themselves (server-side apply
 * with `force` would take one over) and from other Meshwright kinds' children (the MeshInstallation's
 * live in the control-plane namespace under `meshwright-…`). A DNS-1123 *subdomain*, as NetworkPolicy
 * names are: policy names may contain dots, and turning them into `-` would give `a.b` and `a-b` the
 * same child.
 */
export const networkPolicyName = (policy: Named): string =>
  childSubdomain('meshwright', 'svcpol', policy.metadata.name);

/** The labels every child of `policy` carries. */
export const ownerLabels = (policy: Named): Record<string, string> => ({
  [MANAGED_BY_LABEL]: MANAGED_BY,
  [OWNER_LABEL]: labelValue(policy.metadata.name),
  [OWNER_KIND_LABEL]: OWNER_KIND,
});

/** A label selector (`kubectl get -l`) for the children of `policy`. */
export const ownerSelector = (policy: Named): string =>
  Object.entries(ownerLabels(policy))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');

/** The key `conflictWinner` groups policies by: the governed Service as `namespace/name`. */
export const targetKey = (namespace: string, serviceName: string): string => `${namespace}/${serviceName}`;
