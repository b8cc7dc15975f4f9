/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment -- Kubernetes objects are untyped JSON here (Obj) */
/**
 * Discovery (`/version`, `/api`, `/apis`, `/api/v1`, `/apis/<g>/<v>`) and OpenAPI (`/openapi/v3`
 * index and per group-version documents, `/openapi/v2`). Custom resources carry their CRD's
 * schema (so `kubectl explain` prints the descriptions); built-in kinds have minimal schemas.
 * Aggregated discovery (apidiscovery.k8s.io) is not offered: clients that ask for it get the
 * legacy documents (Content-Type application/json) and fall back, as they do with older servers.
 */
import { createHash } from 'node:crypto';
import { apiVersionOf, type ResourceType } from './kinds.js';
import type { Obj } from './store.js';

export const SERVER_VERSION = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0+meshwright',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2025-01-01T00:00:00Z',
  goVersion: 'go1.23.4',
  compiler: 'gc',
  platform: 'linux/amd64',
};

/** Kubernetes version priority: GA > beta > alpha, higher numbers first; others alphabetically last. */
export function compareVersions(a: string, b: string): number {
  const rank = (v: string): [number, number, number, string] => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (!m) return [3, 0, 0, v];
    const kind = m[2] === undefined ? 0 : m[2] === 'beta' ? 1 : 2;
    return [kind, -Number(m[1]), -Number(m[3] ?? 0), v];
  };
  const ra = rank(a);
  const rb = rank(b);
  for (let i = 0; i < 3; i++) if (ra[i] !== rb[i]) return (ra[i] as number) - (rb[i] as number);
  return ra[3] < rb[3] ? -1 : ra[3] > rb[3] ? 1 : 0;
}

/** Types served by the API server itself besides stored resources. */
export const VIRTUAL_RESOURCES: {
  group: string;
  version: string;
  name: string;
  kind: string;
  verbs: string[];
}[] = [
  {
    group: 'authorization.k8s.io',
    version: 'v1',
    name: 'selfsubjectaccessreviews',
    kind: 'SelfSubjectAccessReview',
    verbs: ['create'],
  },
  {
    group: 'authentication.k8s.io',
    version: 'v1',
    name: 'selfsubjectreviews',
    kind: 'SelfSubjectReview',
    verbs: ['create'],
  },
];

function groupVersions(types: ResourceType[]): Map<string, string[]> {
  const groups = new Map<string, Set<string>>();
  for (const t of types) {
    if (!groups.has(t.group)) groups.set(t.group, new Set());
    groups.get(t.group)!.add(t.version);
  }
  for (const v of VIRTUAL_RESOURCES) {
    if (!groups.has(v.group)) groups.set(v.group, new Set());
    groups.get(v.group)!.add(v.version);
  }
  return new Map([...groups].map(([g, vs]) => [g, [...vs].sort(compareVersions)]));
}

export function apiVersions(serverAddress: string): Obj {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

export function apiGroupList(types: ResourceType[]): Obj {
  const groups = [...groupVersions(types)]
    .filter(([g]) => g !== '')
    .map(([name, versions]) => ({
      name,
      versions: versions.map((version) => ({ groupVersion: `${name}/${version}`, version })),
      preferredVersion: { groupVersion: `${name}/${versions[0]}`, version: versions[0] },
    }));
  return { kind: 'APIGroupList', apiVersion: 'v1', groups };
}

export function apiGroup(types: ResourceType[], group: string): Obj | undefined {
  const versions = groupVersions(types).get(group);
  if (!versions || !group) return undefined;
  return {
    kind: 'APIGroup',
    apiVersion: 'v1',
    name: group,
    versions: versions.map((version) => ({ groupVersion: `${group}/${version}`, version })),
    preferredVersion: { groupVersion: `${group}/${versions[0]}`, version: versions[0] },
  };
}

export function apiResourceList(types: ResourceType[], group: string, version: string): Obj | undefined {
  const inGv = types.filter((t) => t.group === group && t.version === version);
  const virtual = VIRTUAL_RESOURCES.filter((v) => v.group === group && v.version === version);
  if (!inGv.length && !virtual.length) return undefined;
  const resources: Obj[] = [];
  for (const t of inGv.sort((a, b) => (a.plural < b.plural ? -1 : 1))) {
    resources.push({
      name: t.plural,
      singularName: t.singular,
      namespaced: t.namespaced,
      kind: t.kind,
      verbs: t.verbs,
      ...(t.shortNames.length ? { shortNames: t.shortNames } : {}),
      ...(t.categories.length ? { categories: t.categories } : {}),
      storageVersionHash: createHash('sha256')
        .update(`${t.group}/${t.version}/${t.kind}`)
        .digest('base64')
        .slice(0, 11),
    });
    if (t.statusSubresource) {
      resources.push({
        name: `${t.plural}/status`,
        singularName: '',
        namespaced: t.namespaced,
        kind: t.kind,
        verbs: ['get', 'patch', 'update'],
      });
    }
  }
  for (const v of virtual)
    resources.push({
      name: v.name,
      singularName: v.kind.toLowerCase(),
      namespaced: false,
      kind: v.kind,
      verbs: v.verbs,
    });
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group ? `${group}/${version}` : version,
    resources,
  };
}

// ---------------------------------------------------------------- OpenAPI

const OBJECT_META_REF = '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';

const OBJECT_META = {
  description:
    'ObjectMeta is metadata that all persisted resources must have, which includes all objects users must create.',
  type: 'object',
  properties: {
    name: { type: 'string', description: 'Name must be unique within a namespace.' },
    generateName: {
      type: 'string',
      description:
        'GenerateName is an optional prefix, used by the server, to generate a unique name ONLY IF the Name field has not been provided.',
    },
    namespace: {
      type: 'string',
      description: 'Namespace defines the space within which each name must be unique.',
    },
    uid: { type: 'string', description: 'UID is the unique in time and space value for this object.' },
    resourceVersion: {
      type: 'string',
      description: 'An opaque value that represents the internal version of this object.',
    },
    generation: {
      type: 'integer',
      format: 'int64',
      description: 'A sequence number representing a specific generation of the desired state.',
    },
    creationTimestamp: {
      type: 'string',
      format: 'date-time',
      description:
        'CreationTimestamp is a timestamp representing the server time when this object was created.',
    },
    deletionTimestamp: {
      type: 'string',
      format: 'date-time',
      description: 'DeletionTimestamp is RFC 3339 date and time at which this resource will be deleted.',
    },
    deletionGracePeriodSeconds: {
      type: 'integer',
      format: 'int64',
      description: 'Number of seconds allowed for this object to gracefully terminate.',
    },
    labels: {
      type: 'object',
      additionalProperties: { type: 'string', default: '' },
      description:
        'Map of string keys and values that can be used to organize and categorize (scope and select) objects.',
    },
    annotations: {
      type: 'object',
      additionalProperties: { type: 'string', default: '' },
      description: 'Annotations is an unstructured key value map stored with a resource.',
    },
    finalizers: {
      type: 'array',
      items: { type: 'string', default: '' },
      description: 'Must be empty before the object is deleted from the registry.',
      'x-kubernetes-list-type': 'set',
    },
    ownerReferences: {
      type: 'array',
      description: 'List of objects depended by this object.',
      items: {
        type: 'object',
        required: ['apiVersion', 'kind', 'name', 'uid'],
        properties: {
          apiVersion: { type: 'string', description: 'API version of the referent.' },
          kind: { type: 'string', description: 'Kind of the referent.' },
          name: { type: 'string', description: 'Name of the referent.' },
          uid: { type: 'string', description: 'UID of the referent.' },
          controller: {
            type: 'boolean',
            description: 'If true, this reference points to the managing controller.',
          },
          blockOwnerDeletion: {
            type: 'boolean',
            description:
              'If true, AND if the owner has the "foregroundDeletion" finalizer, then the owner cannot be deleted from the key-value store until this reference is removed.',
          },
        },
      },
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['uid'],
    },
    managedFields: {
      type: 'array',
      items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
      description:
        'ManagedFields maps workflow-id and version to the set of fields that are managed by that workflow.',
    },
  },
};

const reverseGroup = (group: string): string => (group ? group.split('.').reverse().join('.') : 'core');

export function schemaName(t: ResourceType): string {
  if (t.custom) return `${reverseGroup(t.group)}.${t.version}.${t.kind}`;
  if (t.group === 'apiextensions.k8s.io')
    return `io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.${t.version}.${t.kind}`;
  const g = t.group ? t.group.replace(/\.k8s\.io$/, '').replace(/\.authorization$/, '') : 'core';
  return `io.k8s.api.${g.split('.')[0]}.${t.version}.${t.kind}`;
}

function withMetadataRef(schema: Obj): Obj {
  const out = structuredClone(schema);
  out.properties = { ...(out.properties ?? {}) };
  out.properties.metadata = {
    description:
      "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
    allOf: [{ $ref: OBJECT_META_REF }],
  };
  out.properties.apiVersion ??= {
    type: 'string',
    description: 'APIVersion defines the versioned schema of this representation of an object.',
  };
  out.properties.kind ??= {
    type: 'string',
    description: 'Kind is a string value representing the REST resource this object represents.',
  };
  return out;
}

function kindSchema(t: ResourceType): Obj {
  const gvk = [{ group: t.group, kind: t.kind, version: t.version }];
  if (t.custom?.openAPIV3Schema)
    return { ...withMetadataRef(t.custom.openAPIV3Schema), 'x-kubernetes-group-version-kind': gvk };
  return {
    ...withMetadataRef({
      description: `${t.kind} (${apiVersionOf(t)}).`,
      type: 'object',
      properties: {
        spec: {
          type: 'object',
          description: `Spec of the ${t.kind}.`,
          'x-kubernetes-preserve-unknown-fields': true,
        },
        status: {
          type: 'object',
          description: `Status of the ${t.kind}.`,
          'x-kubernetes-preserve-unknown-fields': true,
        },
      },
    }),
    'x-kubernetes-group-version-kind': gvk,
  };
}

const gvPath = (group: string, version: string): string =>
  group ? `apis/${group}/${version}` : `api/${version}`;

/** `/openapi/v3`: the index of per-group-version documents. */
export function openapiV3Index(types: ResourceType[]): Obj {
  const paths: Obj = {};
  for (const [group, versions] of groupVersions(types)) {
    for (const version of versions) {
      const doc = openapiV3Doc(types, group, version);
      const hash = createHash('sha512').update(JSON.stringify(doc)).digest('hex').slice(0, 64).toUpperCase();
      paths[gvPath(group, version)] = {
        serverRelativeURL: `/openapi/v3/${gvPath(group, version)}?hash=${hash}`,
      };
    }
  }
  return { paths };
}

/** `/openapi/v3/apis/<g>/<v>`: schemas, and a PATCH operation per resource naming `fieldValidation` (kubectl checks it). */
export function openapiV3Doc(types: ResourceType[], group: string, version: string): Obj | undefined {
  const inGv = types.filter((t) => t.group === group && t.version === version);
  if (!inGv.length && !VIRTUAL_RESOURCES.some((v) => v.group === group && v.version === version))
    return undefined;
  const schemas: Obj = { 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta': OBJECT_META };
  const paths: Obj = {};
  for (const t of inGv) {
    schemas[schemaName(t)] = kindSchema(t);
    const base = `/${gvPath(group, version)}/${t.namespaced ? 'namespaces/{namespace}/' : ''}${t.plural}/{name}`;
    const gvk = { group: t.group, version: t.version, kind: t.kind };
    const ref = { $ref: `#/components/schemas/${schemaName(t)}` };
    const response = { '200': { description: 'OK', content: { 'application/json': { schema: ref } } } };
    const params = ['dryRun', 'fieldManager', 'fieldValidation', 'force'].map((name) => ({
      name,
      in: 'query',
      schema: { type: name === 'force' ? 'boolean' : 'string' },
      uniqueItems: true,
    }));
    paths[base] = {
      get: {
        operationId: `read${t.kind}`,
        responses: response,
        'x-kubernetes-action': 'get',
        'x-kubernetes-group-version-kind': gvk,
      },
      put: {
        operationId: `replace${t.kind}`,
        requestBody: { content: { '*/*': { schema: ref } } },
        responses: response,
        'x-kubernetes-action': 'put',
        'x-kubernetes-group-version-kind': gvk,
        parameters: params.slice(0, 3),
      },
      patch: {
        operationId: `patch${t.kind}`,
        responses: response,
        'x-kubernetes-action': 'patch',
        'x-kubernetes-group-version-kind': gvk,
        parameters: params,
      },
      parameters: [
        { name: 'name', in: 'path', required: true, schema: { type: 'string', uniqueItems: true } },
      ],
    };
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: SERVER_VERSION.gitVersion },
    paths,
    components: { schemas },
  };
}

/** `/openapi/v2` (JSON): the same schemas as swagger definitions. */
export function openapiV2(types: ResourceType[]): Obj {
  const definitions: Obj = { 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta': OBJECT_META };
  for (const t of types)
    definitions[schemaName(t)] = JSON.parse(
      JSON.stringify(kindSchema(t)).replaceAll('#/components/schemas/', '#/definitions/'),
    ) as Obj;
  return {
    swagger: '2.0',
    info: { title: 'Kubernetes', version: SERVER_VERSION.gitVersion },
    paths: {},
    definitions,
  };
}
