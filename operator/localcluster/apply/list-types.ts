/**
 * Where list (and atomic map) types come from: the markers of the built-in kinds
 * (`+listType`, `+listMapKey`, `+mapType=atomic`, `+structType=atomic`, as k8s.io/api declares
 * them) and a CRD's structural schema (`x-kubernetes-list-type`, `x-kubernetes-list-map-keys`,
 * `x-kubernetes-map-type`).
 */
import { isObject } from './json.js';
import type { ListType, ListTypeLookup } from './typed.js';

const ATOMIC: ListType = { type: 'atomic' };
const SET: ListType = { type: 'set' };
const mapBy = (keys: string[], defaults?: Record<string, unknown>): ListType =>
  defaults ? { type: 'map', keys, defaults } : { type: 'map', keys };
const BY_NAME = mapBy(['name']);
/** `protocol` is a key with a default (TCP), so an item that leaves it out still has a key. */
const PROTOCOL_TCP = { protocol: 'TCP' };

/** Lists addressed by their full path, whatever the kind. */
const BY_PATH: Record<string, ListType> = {
  'metadata.ownerReferences': mapBy(['uid']),
  'metadata.finalizers': SET,
  'status.conditions': mapBy(['type']),
  // Service
  'spec.ports': mapBy(['port', 'protocol'], PROTOCOL_TCP),
  // MutatingWebhookConfiguration, ValidatingWebhookConfiguration
  webhooks: BY_NAME,
  // ServiceAccount
  secrets: BY_NAME,
  // Pod status
  'status.podIPs': mapBy(['ip']),
  'status.hostIPs': mapBy(['ip']),
  // Node
  'status.addresses': mapBy(['type']),
  'spec.podCIDRs': SET,
};

/** LabelSelector and NodeSelector are `+structType=atomic`; label maps used as selectors are `+mapType=atomic`. */
const ATOMIC_BY_NAME = new Set([
  'selector',
  'labelSelector',
  'namespaceSelector',
  'objectSelector',
  'podSelector',
]);

/** Where a PodSpec sits: Pod, PodTemplate, the workload kinds, CronJob. Longest first. */
const POD_SPEC_AT: string[][] = [
  ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
  ['spec', 'template', 'spec'],
  ['template', 'spec'],
  ['spec'],
];

const POD_SPEC: Record<string, ListType> = {
  containers: BY_NAME,
  initContainers: BY_NAME,
  ephemeralContainers: BY_NAME,
  volumes: BY_NAME,
  imagePullSecrets: BY_NAME,
  hostAliases: mapBy(['ip']),
  topologySpreadConstraints: mapBy(['topologyKey', 'whenUnsatisfiable']),
  resourceClaims: BY_NAME,
  schedulingGates: BY_NAME,
  nodeSelector: ATOMIC,
  'affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution': ATOMIC,
};

const CONTAINER: Record<string, ListType> = {
  ports: mapBy(['containerPort', 'protocol'], PROTOCOL_TCP),
  env: BY_NAME,
  volumeMounts: mapBy(['mountPath']),
  volumeDevices: mapBy(['devicePath']),
  'resources.claims': BY_NAME,
};

const CONTAINER_LISTS = new Set(['containers', 'initContainers', 'ephemeralContainers']);

/**
 * The list types of the built-in kinds, looked up by path alone (the kinds do not share a path
 * with different meanings). Lists not named here are atomic, as they are in Kubernetes.
 */
export const BUILTIN_LIST_TYPES: ListTypeLookup = (path) => {
  const exact = BY_PATH[path.join('.')];
  if (exact) return exact;
  const last = path[path.length - 1];
  if (last !== undefined && ATOMIC_BY_NAME.has(last)) return ATOMIC;
  const at = POD_SPEC_AT.find(
    (prefix) => prefix.length < path.length && prefix.every((p, i) => path[i] === p),
  );
  if (!at) return undefined;
  const rest = path.slice(at.length);
  const inPod = POD_SPEC[rest.join('.')];
  if (inPod) return inPod;
  if (CONTAINER_LISTS.has(rest[0]!)) return CONTAINER[rest.slice(1).join('.')];
  return undefined;
};

interface SchemaNode {
  type?: unknown;
  items?: unknown;
  properties?: unknown;
  additionalProperties?: unknown;
  default?: unknown;
  'x-kubernetes-list-type'?: unknown;
  'x-kubernetes-list-map-keys'?: unknown;
  'x-kubernetes-map-type'?: unknown;
}

const asNode = (v: unknown): SchemaNode | undefined => (isObject(v) ? v : undefined);

function childSchema(node: SchemaNode, name: string): SchemaNode | undefined {
  let at: SchemaNode | undefined = node;
  // A list's items are addressed by the list's own path.
  while (at && (at.type === 'array' || at.items !== undefined)) at = asNode(at.items);
  if (!at) return undefined;
  const props = isObject(at.properties) ? at.properties : undefined;
  if (props && Object.hasOwn(props, name)) return asNode(props[name]);
  return asNode(at.additionalProperties);
}

const isStringList = (v: unknown): v is string[] =>
  Array.isArray(v) && v.length > 0 && v.every((k) => typeof k === 'string');

function describe(node: SchemaNode): ListType {
  if (node.type === 'array' || node.items !== undefined) {
    const listType = node['x-kubernetes-list-type'];
    if (listType === 'set') return SET;
    if (listType === 'map') {
      const keys = node['x-kubernetes-list-map-keys'];
      if (!isStringList(keys)) return ATOMIC;
      const itemProps = asNode(node.items)?.properties;
      const props = isObject(itemProps) ? itemProps : undefined;
      const defaults: Record<string, unknown> = {};
      for (const key of keys) {
        const d = props && Object.hasOwn(props, key) ? asNode(props[key])?.default : undefined;
        if (d !== undefined) defaults[key] = d;
      }
      return mapBy([...keys], Object.keys(defaults).length > 0 ? defaults : undefined);
    }
    return listType === 'atomic' ? ATOMIC : undefined;
  }
  return node['x-kubernetes-map-type'] === 'atomic' ? ATOMIC : undefined;
}

/**
 * The list types a CRD version's openAPIV3Schema declares: `x-kubernetes-list-type` map (with
 * `x-kubernetes-list-map-keys`, and a key's `default` used for items that leave it out), set or
 * atomic (the default), and `x-kubernetes-map-type: atomic` objects. `metadata` follows ObjectMeta,
 * as the API server grafts ObjectMeta's schema onto every custom resource.
 */
export function listTypeFromSchema(openAPIV3Schema: object): ListTypeLookup {
  const root = asNode(openAPIV3Schema) ?? {};
  const cache = new Map<string, ListType>();
  return (path) => {
    if (path[0] === 'metadata') return BUILTIN_LIST_TYPES(path);
    const key = path.join('\u0000');
    if (cache.has(key)) return cache.get(key);
    let node: SchemaNode | undefined = root;
    for (const name of path) {
      node = childSchema(node, name);
      if (!node) break;
    }
    const found = node ? describe(node) : undefined;
    cache.set(key, found);
    return found;
  };
}
