/**
 * The admission.k8s.io AdmissionReview a webhook is sent, and the checks its answer must pass
 * (k8s.io/apiserver webhook/request: CreateAdmissionObjects, VerifyAdmissionResponse). Pure.
 */
import { goQuote } from '../schema/go-format.js';
import { isRecord } from './status.js';
import type { AdmissionRequestInput } from './types.js';

export type ReviewVersion = 'v1' | 'v1beta1';

/** The first version in the webhook's list that this server can send; the webhook's order is its preference. */
export function reviewVersionFor(
  admissionReviewVersions: readonly string[] | undefined,
): ReviewVersion | undefined {
  return (admissionReviewVersions ?? []).find((v): v is ReviewVersion => v === 'v1' || v === 'v1beta1');
}

/** The AdmissionRequest of a review, also the `request` variable of matchConditions. */
export function admissionRequest(request: AdmissionRequestInput, object: unknown): Record<string, unknown> {
  return {
    uid: request.uid,
    kind: request.kind,
    resource: request.resource,
    ...(request.subResource ? { subResource: request.subResource } : {}),
    requestKind: request.kind,
    requestResource: request.resource,
    ...(request.subResource ? { requestSubResource: request.subResource } : {}),
    ...(request.name ? { name: request.name } : {}),
    ...(request.namespace ? { namespace: request.namespace } : {}),
    operation: request.operation,
    userInfo: request.userInfo,
    object: object ?? null,
    oldObject: request.oldObject ?? null,
    dryRun: request.dryRun,
  };
}

export function admissionReview(
  version: ReviewVersion,
  request: AdmissionRequestInput,
  object: unknown,
): object {
  return {
    kind: 'AdmissionReview',
    apiVersion: `admission.k8s.io/${version}`,
    request: admissionRequest(request, object),
  };
}

export class InvalidResponse extends Error {
  override readonly name = 'InvalidResponse';
}

export interface VerifiedResponse {
  allowed: boolean;
  /** The decoded bytes of `response.patch`, when there were any. */
  patch?: Buffer;
  patchType?: string;
  result?: unknown;
  warnings: string[];
}

/**
 * Checks a decoded AdmissionReview answer. v1 answers must echo the uid and say what they are, and carry
 * `patch` and `patchType` together; v1beta1 answers were never checked that strictly, and their patch is
 * taken to be a JSONPatch. Throws InvalidResponse with the real server's wording.
 */
export function verifyResponse(version: ReviewVersion, uid: string, review: unknown): VerifiedResponse {
  const body = isRecord(review) ? review : {};
  const response = body.response;
  if (!isRecord(response)) throw new InvalidResponse('webhook response was absent');
  const patch = decodePatchBytes(response.patch);
  const patchType = typeof response.patchType === 'string' ? response.patchType : undefined;
  if (version === 'v1') {
    const gotUid = typeof response.uid === 'string' ? response.uid : '';
    if (gotUid !== uid)
      throw new InvalidResponse(`expected response.uid=${goQuote(uid)}, got ${goQuote(gotUid)}`);
    const got = groupVersionKind(body.apiVersion, body.kind);
    const want = 'admission.k8s.io/v1, Kind=AdmissionReview';
    if (got !== want) throw new InvalidResponse(`expected webhook response of ${want}, got ${got}`);
    if (patch && patchType === undefined)
      throw new InvalidResponse('webhook returned response.patch but not response.patchType');
    if (!patch && patchType !== undefined)
      throw new InvalidResponse('webhook returned response.patchType but not response.patch');
    if (patchType === '') throw new InvalidResponse(`webhook returned invalid response.patchType of ""`);
  }
  return {
    allowed: response.allowed === true,
    ...(patch ? { patch, patchType: version === 'v1' ? patchType : 'JSONPatch' } : {}),
    ...(response.status !== undefined && response.status !== null ? { result: response.status } : {}),
    warnings: Array.isArray(response.warnings) ? response.warnings.filter((w) => typeof w === 'string') : [],
  };
}

/** schema.GroupVersionKind.String() of an answer's apiVersion and kind: `group/version, Kind=kind`. */
function groupVersionKind(apiVersion: unknown, kind: unknown): string {
  const gv = typeof apiVersion === 'string' ? apiVersion : '';
  const slash = gv.indexOf('/');
  const [group, version] = slash < 0 ? ['', gv] : [gv.slice(0, slash), gv.slice(slash + 1)];
  return `${group}/${version}, Kind=${typeof kind === 'string' ? kind : ''}`;
}

/** `patch` is a []byte: standard base64 in JSON, where Go skips line breaks and refuses anything else. */
function decodePatchBytes(value: unknown): Buffer | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') {
    throw new DecodeError(
      'json: cannot unmarshal non-string into Go struct field AdmissionResponse.response.patch of type []uint8',
    );
  }
  const text = value.replace(/[\r\n]/g, '');
  const bad = /[^A-Za-z0-9+/=]|=[^=]|={3,}/.exec(text);
  if (bad || text.length % 4 !== 0) {
    throw new DecodeError(
      `illegal base64 data at input byte ${bad ? bad.index : Math.floor(text.length / 4) * 4}`,
    );
  }
  return Buffer.from(text, 'base64');
}

/** The answer could not be decoded at all, which the real client reports as a failed call. */
export class DecodeError extends Error {
  override readonly name = 'DecodeError';
}
