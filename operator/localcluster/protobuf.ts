/**
 * A decoder for the Kubernetes protobuf encoding (`application/vnd.kubernetes.protobuf`) of the
 * few kinds kubectl's typed commands send that way: `kubectl create configmap|secret|namespace|
 * serviceaccount|role|rolebinding|clusterrole|clusterrolebinding` and `kubectl auth can-i`
 * (SelfSubjectAccessReview). Other kinds answer 415
 * (send them as JSON, e.g. `kubectl create -f` / `kubectl apply`, which do). Responses are always JSON.
 */

type FieldType =
  | 'string'
  | 'bytes'
  | 'bool'
  | 'int'
  | 'time'
  | { msg: Schema }
  | { map: 'string' | 'bytes' }
  | { repeated: FieldType };
type Schema = Record<number, [string, FieldType]>;

const TIME: FieldType = 'time';
const OWNER_REFERENCE: Schema = {
  1: ['kind', 'string'],
  3: ['name', 'string'],
  4: ['uid', 'string'],
  5: ['apiVersion', 'string'],
  6: ['controller', 'bool'],
  7: ['blockOwnerDeletion', 'bool'],
};
const OBJECT_META: Schema = {
  1: ['name', 'string'],
  2: ['generateName', 'string'],
  3: ['namespace', 'string'],
  5: ['uid', 'string'],
  6: ['resourceVersion', 'string'],
  7: ['generation', 'int'],
  8: ['creationTimestamp', TIME],
  11: ['labels', { map: 'string' }],
  12: ['annotations', { map: 'string' }],
  13: ['ownerReferences', { repeated: { msg: OWNER_REFERENCE } }],
  14: ['finalizers', { repeated: 'string' }],
};
const META: [string, FieldType] = ['metadata', { msg: OBJECT_META }];

// k8s.io/api/rbac/v1/generated.proto
const POLICY_RULE: Schema = {
  1: ['verbs', { repeated: 'string' }],
  2: ['apiGroups', { repeated: 'string' }],
  3: ['resources', { repeated: 'string' }],
  4: ['resourceNames', { repeated: 'string' }],
  5: ['nonResourceURLs', { repeated: 'string' }],
};
const SUBJECT: Schema = {
  1: ['kind', 'string'],
  2: ['apiGroup', 'string'],
  3: ['name', 'string'],
  4: ['namespace', 'string'],
};
const ROLE_REF: Schema = { 1: ['apiGroup', 'string'], 2: ['kind', 'string'], 3: ['name', 'string'] };
const LABEL_SELECTOR: Schema = {
  1: ['matchLabels', { map: 'string' }],
  2: [
    'matchExpressions',
    {
      repeated: {
        msg: { 1: ['key', 'string'], 2: ['operator', 'string'], 3: ['values', { repeated: 'string' }] },
      },
    },
  ],
};
const ROLE: Schema = { 1: META, 2: ['rules', { repeated: { msg: POLICY_RULE } }] };
const BINDING: Schema = {
  1: META,
  2: ['subjects', { repeated: { msg: SUBJECT } }],
  3: ['roleRef', { msg: ROLE_REF }],
};

const SCHEMAS: Record<string, Schema> = {
  'rbac.authorization.k8s.io/v1/Role': ROLE,
  'rbac.authorization.k8s.io/v1/ClusterRole': {
    ...ROLE,
    3: ['aggregationRule', { msg: { 1: ['clusterRoleSelectors', { repeated: { msg: LABEL_SELECTOR } }] } }],
  },
  'rbac.authorization.k8s.io/v1/RoleBinding': BINDING,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': BINDING,
  'v1/ConfigMap': {
    1: META,
    2: ['data', { map: 'string' }],
    3: ['binaryData', { map: 'bytes' }],
    4: ['immutable', 'bool'],
  },
  'v1/Secret': {
    1: META,
    2: ['data', { map: 'bytes' }],
    3: ['type', 'string'],
    4: ['stringData', { map: 'string' }],
    5: ['immutable', 'bool'],
  },
  'v1/Namespace': { 1: META, 2: ['spec', { msg: { 1: ['finalizers', { repeated: 'string' }] } }] },
  'v1/ServiceAccount': {
    1: META,
    3: ['imagePullSecrets', { repeated: { msg: { 1: ['name', 'string'] } } }],
    4: ['automountServiceAccountToken', 'bool'],
  },
  'authorization.k8s.io/v1/SelfSubjectAccessReview': {
    1: META,
    2: [
      'spec',
      {
        msg: {
          1: [
            'resourceAttributes',
            {
              msg: {
                1: ['namespace', 'string'],
                2: ['verb', 'string'],
                3: ['group', 'string'],
                4: ['version', 'string'],
                5: ['resource', 'string'],
                6: ['subresource', 'string'],
                7: ['name', 'string'],
              },
            },
          ],
          2: ['nonResourceAttributes', { msg: { 1: ['path', 'string'], 2: ['verb', 'string'] } }],
        },
      },
    ],
  },
};

class Reader {
  pos = 0;
  constructor(readonly buf: Buffer) {}
  get done(): boolean {
    return this.pos >= this.buf.length;
  }
  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const b = this.buf[this.pos++];
      if (b === undefined) throw new Error('truncated varint');
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
    }
  }
  bytes(): Buffer {
    const len = Number(this.varint());
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else throw new Error(`unsupported wire type ${wire}`);
  }
}

function decodeValue(r: Reader, wire: number, type: FieldType): unknown {
  if (type === 'string') return r.bytes().toString('utf8');
  if (type === 'bytes') return r.bytes().toString('base64');
  if (type === 'bool') return r.varint() !== 0n;
  if (type === 'int') return Number(BigInt.asIntN(64, r.varint()));
  if (type === 'time') {
    const t = decodeMessage(r.bytes(), { 1: ['seconds', 'int'], 2: ['nanos', 'int'] }) as {
      seconds?: number;
    };
    if (!t.seconds) return undefined;
    return new Date((t.seconds ?? 0) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }
  if ('msg' in type) return decodeMessage(r.bytes(), type.msg);
  if ('map' in type) {
    const entry = decodeMessage(r.bytes(), { 1: ['key', 'string'], 2: ['value', type.map] }) as {
      key?: string;
      value?: unknown;
    };
    return [entry.key ?? '', entry.value ?? (type.map === 'bytes' ? '' : '')];
  }
  void wire;
  throw new Error('unreachable');
}

function decodeMessage(buf: Buffer, schema: Schema): Record<string, unknown> {
  const r = new Reader(buf);
  const out: Record<string, unknown> = {};
  while (!r.done) {
    const key = Number(r.varint());
    const field = key >> 3;
    const wire = key & 7;
    const spec = schema[field];
    if (!spec) {
      r.skip(wire);
      continue;
    }
    const [name, type] = spec;
    if (typeof type === 'object' && 'repeated' in type) {
      ((out[name] ??= []) as unknown[]).push(decodeValue(r, wire, type.repeated));
    } else if (typeof type === 'object' && 'map' in type) {
      const [k, v] = decodeValue(r, wire, type) as [string, unknown];
      ((out[name] ??= {}) as Record<string, unknown>)[k] = v;
    } else {
      // gogo-protobuf writes empty strings and zero times; JSON would omit them
      const v = decodeValue(r, wire, type);
      if (v !== '' && v !== undefined) out[name] = v;
    }
  }
  return out;
}

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

/** Decodes a protobuf request body; undefined when the kind is not one this decoder knows. */
export function decodeProtobuf(body: Buffer): Record<string, unknown> | undefined {
  if (!body.subarray(0, 4).equals(MAGIC)) return undefined;
  const unknown = decodeMessage(body.subarray(4), {
    1: ['typeMeta', { msg: { 1: ['apiVersion', 'string'], 2: ['kind', 'string'] } }],
    2: ['raw', 'bytes'],
  }) as {
    typeMeta?: { apiVersion?: string; kind?: string };
    raw?: string;
  };
  const apiVersion = unknown.typeMeta?.apiVersion ?? '';
  const kind = unknown.typeMeta?.kind ?? '';
  const schema = SCHEMAS[`${apiVersion}/${kind}`];
  if (!schema) return undefined;
  return { apiVersion, kind, ...decodeMessage(Buffer.from(unknown.raw ?? '', 'base64'), schema) };
}
