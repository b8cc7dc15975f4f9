/**
 * The v1.Status bodies kube-apiserver writes for authentication and authorization failures
 * (k8s.io/apiserver endpoints/handlers/responsewriters and k8s.io/apimachinery api/errors). Keys are in
 * the order Go's encoding/json writes them, so a JSON.stringify of these equals the real body.
 */
import { aggregateMessage } from '../schema/field-errors.js';
import { goQuote } from '../schema/go-format.js';
import type { RequestAttributes, UserInfo } from './types.js';

interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: Array<{ reason: string; message: string; field: string }>;
}

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure';
  message: string;
  reason: string;
  details?: StatusDetails;
  code: number;
}

const failure = (code: number, reason: string, message: string, details?: StatusDetails): Status => ({
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message,
  reason,
  ...(details === undefined ? {} : { details }),
  code,
});

/** Drops empty fields, as `omitempty` does. */
function details(d: { name: string; group: string; kind: string }): StatusDetails {
  return {
    ...(d.name === '' ? {} : { name: d.name }),
    ...(d.group === '' ? {} : { group: d.group }),
    ...(d.kind === '' ? {} : { kind: d.kind }),
  };
}

/** responsewriters' sanitizer: the message is HTML-escaped before the authorizer's reason is appended. */
const sanitize = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** `forbiddenMessage`. */
function forbiddenMessage(user: UserInfo, attrs: RequestAttributes): string {
  const who = `User ${goQuote(user.username)} cannot ${attrs.verb}`;
  if (attrs.nonResourcePath !== undefined) return `${who} path ${goQuote(attrs.nonResourcePath)}`;
  const subresource = attrs.subresource ?? '';
  const resource = subresource === '' ? attrs.resource : `${attrs.resource}/${subresource}`;
  const what = `${who} resource ${goQuote(resource)} in API group ${goQuote(attrs.apiGroup)}`;
  const namespace = attrs.namespace ?? '';
  return namespace === '' ? `${what} at the cluster scope` : `${what} in the namespace ${goQuote(namespace)}`;
}

/**
 * The 403 for a denied request (`responsewriters.Forbidden` + `apierrors.NewForbidden`). `reason` is the
 * authorizer's reason; when non-empty it is appended after a colon, as the real server does.
 */
export function forbiddenStatus(user: UserInfo, attrs: RequestAttributes, reason = ''): Status {
  const msg = sanitize(forbiddenMessage(user, attrs));
  const err = reason === '' ? msg : `${msg}: ${reason}`;
  // GroupResource{Group, Resource}: a non-resource request has neither, and the subresource is not part of it.
  const group = attrs.nonResourcePath === undefined ? attrs.apiGroup : '';
  const resource = attrs.nonResourcePath === undefined ? attrs.resource : '';
  const name = attrs.nonResourcePath === undefined ? (attrs.name ?? '') : '';
  const qualified = group === '' ? resource : `${resource}.${group}`;
  let message: string;
  if (qualified === '') message = `forbidden: ${err}`;
  else if (name === '') message = `${qualified} is forbidden: ${err}`;
  else message = `${qualified} ${goQuote(name)} is forbidden: ${err}`;
  return failure(403, 'Forbidden', message, details({ name, group, kind: resource }));
}

/** The 401 the authentication filter writes when no authenticator accepts the request. */
export function unauthorizedStatus(): Status {
  return failure(401, 'Unauthorized', 'Unauthorized');
}

/** `apierrors.NewBadRequest`. */
export function badRequestStatus(message: string): Status {
  return failure(400, 'BadRequest', message);
}

/** `apierrors.NewInvalid` for one kind, with the causes already rendered as field.Error bodies. */
export function invalidStatus(
  group: string,
  kind: string,
  name: string,
  causes: Array<{ field: string; body: string }>,
): Status {
  const qualifiedKind = group === '' ? kind : `${kind}.${group}`;
  const aggregate = aggregateMessage(causes.map((c) => `${c.field}: ${c.body}`));
  return failure(422, 'Invalid', `${qualifiedKind} ${goQuote(name)} is invalid: ${aggregate}`, {
    ...details({ name, group, kind }),
    causes: causes.map((c) => ({ reason: 'FieldValueInvalid', message: c.body, field: c.field })),
  });
}
