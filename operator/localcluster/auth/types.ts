/**
 * The shapes the auth module speaks: an authenticated user (k8s.io/apiserver `user.Info`), the attributes
 * of a request as the authorizer sees them (`authorizer.Attributes`), and the RBAC objects it reads.
 */

export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
}

/**
 * What the request-info resolver derives from a request. `verb` is one of get, list, watch, create, update,
 * patch, delete, deletecollection for resource requests, and the lower-cased HTTP method for non-resource
 * requests. A request is a non-resource request exactly when `nonResourcePath` is set.
 */
export interface RequestAttributes {
  verb: string;
  apiGroup: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  nonResourcePath?: string;
}

/** Where RBAC objects come from: the API server's store. Items are stored rbac.authorization.k8s.io/v1 objects. */
export interface RbacSource {
  roles(namespace: string): object[];
  roleBindings(namespace: string): object[];
  clusterRoles(): object[];
  clusterRoleBindings(): object[];
}

export interface Decision {
  allowed: boolean;
  reason: string;
}

/** user.SystemPrivilegedGroup: the privileged-group authorizer allows it everything, before RBAC runs. */
export const SYSTEM_MASTERS = 'system:masters';
export const ALL_AUTHENTICATED = 'system:authenticated';
export const ALL_UNAUTHENTICATED = 'system:unauthenticated';
export const ANONYMOUS = 'system:anonymous';
