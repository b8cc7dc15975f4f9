/**
 * What the server serves: one `ResourceType` per group/version/resource. Built-in kinds come from
 * the table below; custom resources are added when their CRD becomes Established.
 */

/** What ./schema's `compileSchema` returns (structurally; kept here so this table has no dependency). */
export interface CompiledSchema {
  prune(obj: unknown): unknown;
  applyDefaults(obj: unknown): unknown;
  validate(obj: unknown, old?: unknown): { reason: string; field: string; message: string }[];
}

/** Which fields count as "spec" when deciding whether a write bumps `metadata.generation`. */
export type GenerationFields = 'none' | 'all' | readonly string[];

/** How a name is validated (apimachinery's `ValidateNameFunc`s). */
export type NameRule = 'subdomain' | 'label' | 'dns1035' | 'path';

export interface PrinterColumn {
  name: string;
  type: string;
  format?: string;
  description?: string;
  priority?: number;
  jsonPath: string;
}

export interface CustomInfo {
  crdName: string;
  schema: CompiledSchema | undefined;
  openAPIV3Schema: object | undefined;
  printerColumns: PrinterColumn[];
  scaleSubresource?: object;
}

export interface ResourceType {
  group: string;
  version: string;
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  /** Whether `<plural>/status` is served (and the main endpoint then ignores status changes). */
  statusSubresource: boolean;
  generation: GenerationFields;
  nameRule: NameRule;
  verbs: string[];
  /** Objects of every version of a resource share one store, keyed by this. */
  storageKey: string;
  custom?: CustomInfo;
}

export const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

type Row = [
  group: string,
  version: string,
  kind: string,
  plural: string,
  namespaced: boolean,
  shortNames: string[],
  categories: string[],
  status: boolean,
  generation: GenerationFields,
  nameRule: NameRule,
];

/** group, version, kind, plural, namespaced, short names, categories, /status, generation, names. */
const BUILTINS: Row[] = [
  ['', 'v1', 'Namespace', 'namespaces', false, ['ns'], [], true, 'none', 'label'],
  ['', 'v1', 'Service', 'services', true, ['svc'], ['all'], true, 'none', 'dns1035'],
  ['', 'v1', 'Endpoints', 'endpoints', true, ['ep'], [], false, 'none', 'subdomain'],
  ['', 'v1', 'Pod', 'pods', true, ['po'], ['all'], true, ['spec'], 'subdomain'],
  ['', 'v1', 'ConfigMap', 'configmaps', true, ['cm'], [], false, 'none', 'subdomain'],
  ['', 'v1', 'Secret', 'secrets', true, [], [], false, 'none', 'subdomain'],
  ['', 'v1', 'ServiceAccount', 'serviceaccounts', true, ['sa'], [], false, 'none', 'subdomain'],
  ['', 'v1', 'Event', 'events', true, ['ev'], [], false, 'none', 'subdomain'],
  ['events.k8s.io', 'v1', 'Event', 'events', true, ['ev'], [], false, 'none', 'subdomain'],
  ['apps', 'v1', 'Deployment', 'deployments', true, ['deploy'], ['all'], true, ['spec'], 'subdomain'],
  [
    'networking.k8s.io',
    'v1',
    'NetworkPolicy',
    'networkpolicies',
    true,
    ['netpol'],
    [],
    false,
    ['spec'],
    'subdomain',
  ],
  ['coordination.k8s.io', 'v1', 'Lease', 'leases', true, [], [], false, 'none', 'subdomain'],
  ['rbac.authorization.k8s.io', 'v1', 'Role', 'roles', true, [], [], false, 'none', 'path'],
  ['rbac.authorization.k8s.io', 'v1', 'RoleBinding', 'rolebindings', true, [], [], false, 'none', 'path'],
  ['rbac.authorization.k8s.io', 'v1', 'ClusterRole', 'clusterroles', false, [], [], false, 'none', 'path'],
  [
    'rbac.authorization.k8s.io',
    'v1',
    'ClusterRoleBinding',
    'clusterrolebindings',
    false,
    [],
    [],
    false,
    'none',
    'path',
  ],
  [
    'admissionregistration.k8s.io',
    'v1',
    'MutatingWebhookConfiguration',
    'mutatingwebhookconfigurations',
    false,
    [],
    ['api-extensions'],
    false,
    ['webhooks'],
    'subdomain',
  ],
  ['discovery.k8s.io', 'v1', 'EndpointSlice', 'endpointslices', true, [], [], false, 'all', 'subdomain'],
  [
    'policy',
    'v1',
    'PodDisruptionBudget',
    'poddisruptionbudgets',
    true,
    ['pdb'],
    [],
    true,
    ['spec'],
    'subdomain',
  ],
  [
    'apiextensions.k8s.io',
    'v1',
    'CustomResourceDefinition',
    'customresourcedefinitions',
    false,
    ['crd', 'crds'],
    ['api-extensions'],
    true,
    ['spec'],
    'subdomain',
  ],
];

/** The storage shared by versions of one resource (core and events.k8s.io Events are one store). */
const SHARED_STORAGE: Record<string, string> = { 'events.k8s.io/events': '/events' };

export function builtinTypes(): ResourceType[] {
  return BUILTINS.map(
    ([group, version, kind, plural, namespaced, shortNames, categories, status, generation, nameRule]) => {
      const key = `${group}/${plural}`;
      return {
        group,
        version,
        kind,
        listKind: `${kind}List`,
        plural,
        singular: kind.toLowerCase(),
        namespaced,
        shortNames,
        categories,
        statusSubresource: status,
        generation,
        nameRule,
        verbs: ALL_VERBS,
        storageKey: SHARED_STORAGE[key] ?? key,
      };
    },
  );
}

export const apiVersionOf = (t: { group: string; version: string }): string =>
  t.group ? `${t.group}/${t.version}` : t.version;

/** `ConfigMap`, `Deployment.apps`: the qualified kind used in 422 messages. */
export const qualifiedKind = (t: ResourceType): string => (t.group ? `${t.kind}.${t.group}` : t.kind);
