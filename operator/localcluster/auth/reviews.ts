/**
 * The self-review resources, answered the way kube-apiserver's registries answer them:
 * authorization.k8s.io SelfSubjectAccessReview and SelfSubjectRulesReview
 * (pkg/registry/authorization/{selfsubjectaccessreview,selfsubjectrulesreview}/rest.go) and
 * authentication.k8s.io SelfSubjectReview. The caller has already authenticated the request and
 * authorized `create` on the review resource.
 */
import { aggregateMessage } from '../schema/field-errors.js';
import { goQuote } from '../schema/go-format.js';
import { isRecord, str } from './model.js';
import type { Json, PolicyRule } from './model.js';
import { authorize, rulesFor } from './rbac.js';
import { badRequestStatus, invalidStatus } from './status.js';
import type { Status } from './status.js';
import type { RbacSource, RequestAttributes, UserInfo } from './types.js';

const GROUP = 'authorization.k8s.io';
const AUTHENTICATION_GROUP = 'authentication.k8s.io';

/** Answers in the version the client asked in (v1, or v1beta1 which has the same shape). */
const apiVersionOf = (body: Json, group = GROUP): string =>
  typeof body.apiVersion === 'string' && body.apiVersion.startsWith(`${group}/`)
    ? body.apiVersion
    : `${group}/v1`;

/** The string fields of `obj` named in `keys`, in that order, empty ones dropped (`omitempty`). */
function strings(obj: Json, keys: readonly string[]): Record<string, string> {
  const entries = keys.map((k): [string, string] => [k, str(obj[k])]);
  return Object.fromEntries(entries.filter(([, v]) => v !== ''));
}

const RESOURCE_ATTRIBUTE_KEYS = ['namespace', 'verb', 'group', 'version', 'resource', 'subresource', 'name'];

/**
 * The review with `status: {allowed, reason}` filled in for `user`, or a v1.Status (422 Invalid) when the
 * spec names neither or both of resourceAttributes and nonResourceAttributes.
 */
export function selfSubjectAccessReview(user: UserInfo, body: object, rbac: RbacSource): object {
  const review = body as Json;
  const spec = isRecord(review.spec) ? review.spec : {};
  const resource = isRecord(spec.resourceAttributes) ? spec.resourceAttributes : undefined;
  const nonResource = isRecord(spec.nonResourceAttributes) ? spec.nonResourceAttributes : undefined;

  const invalid = validateSpec(resource, nonResource);
  if (invalid !== undefined) return invalid;

  let echoed: Json;
  let attrs: RequestAttributes;
  if (resource !== undefined) {
    // fieldSelector / labelSelector are echoed but not evaluated: RBAC ignores them.
    const selectors = Object.fromEntries(
      ['fieldSelector', 'labelSelector'].filter((k) => isRecord(resource[k])).map((k) => [k, resource[k]]),
    );
    echoed = { resourceAttributes: { ...strings(resource, RESOURCE_ATTRIBUTE_KEYS), ...selectors } };
    attrs = {
      verb: str(resource.verb),
      apiGroup: str(resource.group),
      resource: str(resource.resource),
      subresource: str(resource.subresource),
      namespace: str(resource.namespace),
      name: str(resource.name),
    };
  } else {
    const nr = nonResource ?? {};
    echoed = { nonResourceAttributes: strings(nr, ['path', 'verb']) };
    attrs = { verb: str(nr.verb), apiGroup: '', resource: '', nonResourcePath: str(nr.path) };
  }

  const decision = authorize(user, attrs, rbac);
  return {
    kind: 'SelfSubjectAccessReview',
    apiVersion: apiVersionOf(review),
    metadata: { creationTimestamp: null },
    spec: echoed,
    status: { allowed: decision.allowed, ...(decision.reason === '' ? {} : { reason: decision.reason }) },
  };
}

/** `ValidateSelfSubjectAccessReviewSpec` (metadata is not checked). */
function validateSpec(resource: Json | undefined, nonResource: Json | undefined): Status | undefined {
  if (resource !== undefined && nonResource !== undefined) {
    const value = `authorization.NonResourceAttributes{Path:${goQuote(str(nonResource.path))}, Verb:${goQuote(str(nonResource.verb))}}`;
    return invalidStatus(GROUP, 'SelfSubjectAccessReview', '', [
      {
        field: 'spec.nonResourceAttributes',
        body: `Invalid value: ${value}: cannot be specified in combination with resourceAttributes`,
      },
    ]);
  }
  if (resource === undefined && nonResource === undefined) {
    return invalidStatus(GROUP, 'SelfSubjectAccessReview', '', [
      {
        field: 'spec.resourceAttributes',
        body: 'Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified',
      },
    ]);
  }
  return undefined;
}

/**
 * What `user` may do in `spec.namespace` (cluster-wide grants included), as RBAC rules; a 400 v1.Status
 * when the namespace is missing. `incomplete` is always false: RBAC is the only rule resolver here.
 */
export function selfSubjectRulesReview(user: UserInfo, body: object, rbac: RbacSource): object {
  const review = body as Json;
  const namespace = str(isRecord(review.spec) ? review.spec.namespace : undefined);
  if (namespace === '') return badRequestStatus('no namespace on request');

  const { rules, errors } = rulesFor(user, namespace, rbac);
  return {
    kind: 'SelfSubjectRulesReview',
    apiVersion: apiVersionOf(review),
    metadata: { creationTimestamp: null },
    spec: {},
    status: {
      resourceRules: rules.filter((r) => r.resources.length > 0).map(resourceRule),
      nonResourceRules: rules.filter((r) => r.nonResourceURLs.length > 0).map(nonResourceRule),
      incomplete: false,
      ...(errors.length === 0 ? {} : { evaluationError: aggregateMessage(errors) }),
    },
  };
}

const nonEmpty = (key: string, list: string[]) => (list.length === 0 ? {} : { [key]: list });

const resourceRule = (r: PolicyRule) => ({
  verbs: r.verbs,
  ...nonEmpty('apiGroups', r.apiGroups),
  ...nonEmpty('resources', r.resources),
  ...nonEmpty('resourceNames', r.resourceNames),
});

const nonResourceRule = (r: PolicyRule) => ({
  verbs: r.verbs,
  ...nonEmpty('nonResourceURLs', r.nonResourceURLs),
});

/** authentication.k8s.io SelfSubjectReview (`kubectl auth whoami`): the user the request authenticated as. */
export function selfSubjectReview(user: UserInfo, body: object): object {
  return {
    kind: 'SelfSubjectReview',
    apiVersion: apiVersionOf(body as Json, AUTHENTICATION_GROUP),
    metadata: { creationTimestamp: null },
    status: {
      userInfo: {
        username: user.username,
        ...(user.uid === undefined || user.uid === '' ? {} : { uid: user.uid }),
        groups: [...user.groups],
      },
    },
  };
}
