/**
 * `v1.Status` failures with the kube-apiserver's reasons, codes and message wording
 * (k8s.io/apimachinery/pkg/api/errors).
 */

export interface StatusCause {
  reason?: string;
  field?: string;
  message: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message: string;
  reason: string;
  details?: StatusDetails;
  code: number;
}

/** A group and resource: `configmaps`, `deployments.apps`. */
export interface GroupResource {
  group: string;
  resource: string;
}

export const qualified = (gr: GroupResource): string =>
  gr.group ? `${gr.resource}.${gr.group}` : gr.resource;

/** An error that the HTTP layer turns into its `v1.Status` body. */
export class ApiError extends Error {
  readonly status: Status;
  readonly headers: Record<string, string>;
  constructor(
    status: Omit<Status, 'kind' | 'apiVersion' | 'metadata' | 'status'>,
    headers: Record<string, string> = {},
  ) {
    super(status.message);
    this.status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', ...status };
    this.headers = headers;
  }
  get code(): number {
    return this.status.code;
  }
}

const details = (gr: GroupResource, name: string | undefined): StatusDetails => ({
  ...(name ? { name } : {}),
  ...(gr.group ? { group: gr.group } : {}),
  kind: gr.resource,
});

export const notFound = (gr: GroupResource, name: string): ApiError =>
  new ApiError({
    message: `${qualified(gr)} "${name}" not found`,
    reason: 'NotFound',
    details: details(gr, name),
    code: 404,
  });

export const alreadyExists = (gr: GroupResource, name: string): ApiError =>
  new ApiError({
    message: `${qualified(gr)} "${name}" already exists`,
    reason: 'AlreadyExists',
    details: details(gr, name),
    code: 409,
  });

export const conflict = (gr: GroupResource, name: string, why: string): ApiError =>
  new ApiError({
    message: `Operation cannot be fulfilled on ${qualified(gr)} "${name}": ${why}`,
    reason: 'Conflict',
    details: details(gr, name),
    code: 409,
  });

export const OBJECT_MODIFIED =
  'the object has been modified; please apply your changes to the latest version and try again';

export const forbidden = (gr: GroupResource, name: string, why: string): ApiError =>
  new ApiError({
    message: name
      ? `${qualified(gr)} "${name}" is forbidden: ${why}`
      : `${qualified(gr)} is forbidden: ${why}`,
    reason: 'Forbidden',
    details: details(gr, name),
    code: 403,
  });

/** 422 Invalid; `kind` is the qualified kind (`ConfigMap`, `TrafficSplit.mesh.meshwright.io`). */
export const invalid = (
  group: string,
  kind: string,
  name: string,
  causes: StatusCause[],
  message: string,
): ApiError =>
  new ApiError({
    message,
    reason: 'Invalid',
    details: { ...(name ? { name } : {}), ...(group ? { group } : {}), kind, causes },
    code: 422,
  });

export const badRequest = (message: string): ApiError =>
  new ApiError({ message, reason: 'BadRequest', code: 400 });

export const methodNotAllowed = (): ApiError =>
  new ApiError({
    message: 'the server does not allow this method on the requested resource',
    reason: 'MethodNotAllowed',
    details: {},
    code: 405,
  });

export const unsupportedMediaType = (contentType: string, accepted: string[]): ApiError =>
  new ApiError({
    message: `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`,
    reason: 'UnsupportedMediaType',
    details: { causes: [{ reason: 'UnexpectedHeader', field: 'Content-Type', message: contentType }] },
    code: 415,
  });

export const notAcceptable = (accepted: string[]): ApiError =>
  new ApiError({
    message: `only the following media types are accepted: ${accepted.join(', ')}`,
    reason: 'NotAcceptable',
    code: 406,
  });

export const pageNotFound = (): ApiError =>
  new ApiError({
    message: 'the server could not find the requested resource',
    reason: 'NotFound',
    details: {},
    code: 404,
  });

export const gone = (message: string): ApiError => new ApiError({ message, reason: 'Expired', code: 410 });

export const internalError = (message: string): ApiError =>
  new ApiError({
    message: `Internal error occurred: ${message}`,
    reason: 'InternalError',
    details: { causes: [{ message }] },
    code: 500,
  });

/** The aggregate message of a 422 the way `field.ErrorList.ToAggregate()` prints it. */
export function invalidMessage(kind: string, name: string, causes: StatusCause[]): string {
  const parts = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message));
  const body = parts.length === 1 ? parts[0]! : `[${parts.join(', ')}]`;
  return `${kind} "${name}" is invalid: ${body}`;
}
