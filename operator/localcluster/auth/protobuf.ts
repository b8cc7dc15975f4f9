/**
 * kubectl's typed clients POST the review resources as protobuf (`application/vnd.kubernetes.protobuf`)
 * and do not fall back to JSON on a 415, so `kubectl auth can-i` and `kubectl auth whoami` need the request
 * body decoded. This reads exactly those bodies — SelfSubjectAccessReview, SelfSubjectRulesReview
 * (authorization.k8s.io) and SelfSubjectReview (authentication.k8s.io) — into their JSON shape; the answer
 * can be JSON, since kubectl also accepts application/json.
 *
 * Wire format: the 4-byte magic `k8s\0`, then a runtime.Unknown {1: typeMeta {1: apiVersion, 2: kind},
 * 2: raw, 3: contentEncoding, 4: contentType} whose `raw` is the object's generated.proto message.
 */

type Fields = Map<number, Array<Uint8Array | bigint>>;

const MAGIC = [0x6b, 0x38, 0x73, 0x00];
const text = new TextDecoder('utf-8', { fatal: true });

export const PROTOBUF_CONTENT_TYPE = 'application/vnd.kubernetes.protobuf';

/** The JSON form of a protobuf-encoded self-review body; throws on anything else or malformed input. */
export function decodeReviewProtobuf(body: Uint8Array): Record<string, unknown> {
  if (body.length < MAGIC.length || MAGIC.some((b, i) => body[i] !== b)) {
    throw new Error('not a Kubernetes protobuf message: missing the k8s\\0 prefix');
  }
  const unknown = readFields(body.subarray(MAGIC.length));
  const typeMeta = readFields(bytes(unknown, 1));
  const apiVersion = string(typeMeta, 1);
  const kind = string(typeMeta, 2);
  if (string(unknown, 3) !== '')
    throw new Error(`unsupported protobuf content encoding ${string(unknown, 3)}`);
  const object = readFields(bytes(unknown, 2));
  const spec = readFields(bytes(object, 2));

  switch (`${apiVersion}/${kind}`) {
    case 'authorization.k8s.io/v1/SelfSubjectAccessReview':
    case 'authorization.k8s.io/v1beta1/SelfSubjectAccessReview': {
      const resource = optionalMessage(spec, 1);
      const nonResource = optionalMessage(spec, 2);
      return {
        apiVersion,
        kind,
        metadata: {},
        spec: {
          ...(resource === undefined ? {} : { resourceAttributes: resourceAttributes(resource) }),
          ...(nonResource === undefined
            ? {}
            : { nonResourceAttributes: { path: string(nonResource, 1), verb: string(nonResource, 2) } }),
        },
      };
    }
    case 'authorization.k8s.io/v1/SelfSubjectRulesReview':
    case 'authorization.k8s.io/v1beta1/SelfSubjectRulesReview':
      return { apiVersion, kind, metadata: {}, spec: { namespace: string(spec, 1) } };
    case 'authentication.k8s.io/v1/SelfSubjectReview':
    case 'authentication.k8s.io/v1beta1/SelfSubjectReview':
      return { apiVersion, kind, metadata: {} };
    default:
      throw new Error(`no protobuf decoding for ${apiVersion}, Kind=${kind}`);
  }
}

/** ResourceAttributes: 1 namespace, 2 verb, 3 group, 4 version, 5 resource, 6 subresource, 7 name, 8/9 selectors. */
function resourceAttributes(f: Fields): Record<string, unknown> {
  const keys = ['namespace', 'verb', 'group', 'version', 'resource', 'subresource', 'name'];
  const fieldSelector = optionalMessage(f, 8);
  const labelSelector = optionalMessage(f, 9);
  return {
    ...Object.fromEntries(keys.map((k, i): [string, string] => [k, string(f, i + 1)])),
    ...(fieldSelector === undefined ? {} : { fieldSelector: selectorAttributes(fieldSelector) }),
    ...(labelSelector === undefined ? {} : { labelSelector: selectorAttributes(labelSelector) }),
  };
}

/** Field/LabelSelectorAttributes: 1 rawSelector, 2 requirements {1 key, 2 operator, 3 values}. */
function selectorAttributes(f: Fields): Record<string, unknown> {
  const requirements = (f.get(2) ?? []).map((raw) => {
    const r = readFields(asBytes(raw));
    return { key: string(r, 1), operator: string(r, 2), values: strings(r, 3) };
  });
  return { rawSelector: string(f, 1), requirements };
}

function readFields(buf: Uint8Array): Fields {
  const fields: Fields = new Map();
  let pos = 0;
  const varint = (): bigint => {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (pos >= buf.length) throw new Error('truncated protobuf varint');
      const b = buf[pos++] ?? 0;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
    }
    throw new Error('protobuf varint too long');
  };
  while (pos < buf.length) {
    const tag = varint();
    const field = Number(tag >> 3n);
    const wire = Number(tag & 7n);
    let value: Uint8Array | bigint;
    if (wire === 0) {
      value = varint();
    } else if (wire === 2) {
      const length = Number(varint());
      if (pos + length > buf.length) throw new Error('truncated protobuf field');
      value = buf.subarray(pos, pos + length);
      pos += length;
    } else if (wire === 1 || wire === 5) {
      const size = wire === 1 ? 8 : 4;
      if (pos + size > buf.length) throw new Error('truncated protobuf field');
      value = buf.subarray(pos, pos + size);
      pos += size;
    } else {
      throw new Error(`unsupported protobuf wire type ${wire}`);
    }
    fields.set(field, [...(fields.get(field) ?? []), value]);
  }
  return fields;
}

function asBytes(v: Uint8Array | bigint): Uint8Array {
  if (typeof v === 'bigint') throw new Error('expected a length-delimited protobuf field');
  return v;
}

/** The last occurrence wins, as in protobuf; absent reads as empty. */
const bytes = (f: Fields, n: number): Uint8Array => {
  const last = f.get(n)?.at(-1);
  return last === undefined ? new Uint8Array() : asBytes(last);
};
const optionalMessage = (f: Fields, n: number): Fields | undefined =>
  f.has(n) ? readFields(bytes(f, n)) : undefined;
const string = (f: Fields, n: number): string => text.decode(bytes(f, n));
const strings = (f: Fields, n: number): string[] => (f.get(n) ?? []).map((v) => text.decode(asBytes(v)));
