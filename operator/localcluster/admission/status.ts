/**
 * The metav1.Status objects the webhook dispatcher refuses requests with, built the way
 * k8s.io/apimachinery's `apierrors` constructors and the webhook plugin's `ToStatusErr` build them.
 */
import { goQuote } from '../schema/go-format.js';
import type { Status, StatusDetails } from './types.js';

function failure(code: number, message: string, reason?: string, details?: StatusDetails): Status {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    ...(reason ? { reason } : {}),
    ...(details ? { details } : {}),
    code,
  };
}

/** apierrors.NewInternalError: 500, the cause repeated in `details.causes`. */
export const internalError = (cause: string): Status =>
  failure(500, `Internal error occurred: ${cause}`, 'InternalError', { causes: [{ message: cause }] });

/** apierrors.NewBadRequest. */
export const badRequest = (message: string): Status => failure(400, message, 'BadRequest');

/** apierrors.NewNotFound for a core resource, e.g. `namespaces "prod" not found`. */
export const notFound = (resource: string, name: string): Status =>
  failure(404, `${resource} ${goQuote(name)} not found`, 'NotFound', { name, kind: resource });

/** apierrors.NewForbidden: `<resource>[.<group>] "<name>" is forbidden: <cause>`. */
export function forbidden(group: string, resource: string, name: string, cause: string): Status {
  const groupResource = group ? `${resource}.${group}` : resource;
  return failure(403, `${groupResource} ${goQuote(name)} is forbidden: ${cause}`, 'Forbidden', {
    name,
    group,
    kind: resource,
  });
}

/**
 * The webhook plugin's ToStatusErr for a response with `allowed: false`: the webhook's own status, its
 * message prefixed with who denied the request, its code raised to at least 400 and its status forced to
 * Failure (kube-apiserver 1.15+ does both, so a rejection never reaches the client as a success).
 */
export function webhookDenied(webhookName: string, result: unknown): Status {
  const given = isRecord(result) ? result : {};
  const deniedBy = `admission webhook ${goQuote(webhookName)} denied the request`;
  const message = stringField(given, 'message');
  const reason = stringField(given, 'reason');
  const code = typeof given.code === 'number' && given.code >= 400 ? given.code : 400;
  const status = stringField(given, 'status');
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: isRecord(given.metadata) ? given.metadata : {},
    status: status === '' || status === 'Success' ? 'Failure' : status,
    message: message
      ? `${deniedBy}: ${message}`
      : reason
        ? `${deniedBy}: ${reason}`
        : `${deniedBy} without explanation`,
    ...(reason ? { reason } : {}),
    ...(isRecord(given.details) ? { details: given.details } : {}),
    code,
  };
}

function stringField(record: Record<string, unknown>, key: string): string {
  const value = record[key];
  return typeof value === 'string' ? value : '';
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
