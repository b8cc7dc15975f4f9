/**
 * The cluster state the xDS builders read: plain objects as the informers cache them. Only the
 * fields the builders use are typed, so client-node's objects and raw JSON both fit.
 */
import type {
  LabelSelector,
  MeshInstallationSpec,
  ServicePolicySpec,
  TrafficSplitSpec,
  TrafficSplitStatus,
} from '../../api/index.js';
import { targetKey } from '../../servicepolicy/names.js';
import { conflictWinner } from '../../servicepolicy/status.js';
import { DEFAULT_CLUSTER_DOMAIN } from './names.js';

/** A type, not an interface: the conflict resolver takes metadata with an index signature. */
export type ObjectMeta = {
  name: string;
  namespace: string;
  labels?: Record<string, string>;
  creationTimestamp?: string;
  deletionTimestamp?: string;
};

export interface ServicePort {
  name?: string;
  port: number;
  targetPort?: number | string;
  protocol?: string;
  /** The application protocol (`http`, `grpc`, `kubernetes.io/h2c`, …); Envoy sidecars read it (see envoy.ts). */
  appProtocol?: string;
}

export interface Service {
  metadata: ObjectMeta;
  spec?: {
    type?: string;
    clusterIP?: string;
    selector?: Record<string, string>;
    ports?: ServicePort[];
  };
}

export interface EndpointSlice {
  metadata: ObjectMeta;
  addressType?: string;
  endpoints?: {
    addresses: string[];
    conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean };
    zone?: string;
  }[];
  ports?: { name?: string; port?: number; protocol?: string }[];
}

export interface Namespace {
  metadata: { name: string; labels?: Record<string, string> };
}

export interface ServicePolicy {
  metadata: ObjectMeta;
  spec: ServicePolicySpec;
}

export interface TrafficSplit {
  metadata: ObjectMeta;
  spec: Pick<TrafficSplitSpec, 'targetRef' | 'backends'>;
  status?: Pick<TrafficSplitStatus, 'weights'>;
}

/** The mesh settings the builders need (from the MeshInstallation / mesh ConfigMap). */
export interface MeshSettings {
  trustDomain: string;
  mtlsMode: MeshInstallationSpec['mtls']['mode'];
  defaultInboundPolicy: MeshInstallationSpec['dataPlane']['defaultInboundPolicy'];
}

export interface Snapshot {
  services: readonly Service[];
  endpointSlices: readonly EndpointSlice[];
  servicePolicies: readonly ServicePolicy[];
  trafficSplits: readonly TrafficSplit[];
  /** Namespaces with their labels, for `namespaceSelector` callers; a selector matches none when absent. */
  namespaces?: readonly Namespace[];
  mesh: MeshSettings;
}

export interface Options {
  /** The cluster DNS domain of Service host names; `cluster.local` by default. */
  clusterDomain?: string;
}

/** The MeshInstallation defaults, for a snapshot taken before any MeshInstallation exists. */
export const DEFAULT_MESH: MeshSettings = {
  trustDomain: 'cluster.local',
  mtlsMode: 'Strict',
  defaultInboundPolicy: 'AllowAuthenticated',
};

/** The label EndpointSlices carry with the name of their Service. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

export const clusterDomainOf = (options: Options): string => options.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN;

/** Code-unit order, the same in every locale. */
export const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Lookups over a snapshot, computed once per build. */
export interface Index {
  service(namespace: string, name: string): Service | undefined;
  slices(service: Service): EndpointSlice[];
  /** The policy that governs a Service (the oldest of those targeting it; see `conflictWinner`). */
  policy(service: Service): ServicePolicy | undefined;
  /** The TrafficSplit whose apex is this Service (the first by name when several claim it). */
  split(service: Service): TrafficSplit | undefined;
  namespaces: readonly Namespace[];
}

export function index(snapshot: Snapshot): Index {
  const key = (namespace: string, name: string) => targetKey(namespace, name);
  const services = new Map(snapshot.services.map((s) => [key(s.metadata.namespace, s.metadata.name), s]));
  const slices = new Map<string, EndpointSlice[]>();
  for (const slice of snapshot.endpointSlices) {
    const service = slice.metadata.labels?.[SERVICE_NAME_LABEL];
    if (service === undefined) continue;
    const k = key(slice.metadata.namespace, service);
    slices.set(k, [...(slices.get(k) ?? []), slice]);
  }
  const winners = conflictWinner(snapshot.servicePolicies);
  const policies = new Map<string, ServicePolicy>();
  for (const policy of snapshot.servicePolicies) {
    const k = key(policy.metadata.namespace, policy.spec.targetRef.name);
    if (winners.get(k) === policy.metadata.name) policies.set(k, policy);
  }
  const splits = new Map<string, TrafficSplit>();
  const byName = [...snapshot.trafficSplits].sort((a, b) => compareStrings(a.metadata.name, b.metadata.name));
  for (const split of byName) {
    const k = key(split.metadata.namespace, split.spec.targetRef.name);
    if (!splits.has(k)) splits.set(k, split);
  }
  const of = (s: Service) => key(s.metadata.namespace, s.metadata.name);
  return {
    service: (namespace, name) => services.get(key(namespace, name)),
    slices: (s) => slices.get(of(s)) ?? [],
    policy: (s) => policies.get(of(s)),
    split: (s) => splits.get(of(s)),
    namespaces: snapshot.namespaces ?? [],
  };
}

/** The Services the mesh routes to: those with ports, except ExternalName ones; sorted. */
export function routableServices(snapshot: Snapshot): Service[] {
  return snapshot.services
    .filter((s) => s.spec?.type !== 'ExternalName' && (s.spec?.ports?.length ?? 0) > 0)
    .sort(
      (a, b) =>
        compareStrings(a.metadata.namespace, b.metadata.namespace) ||
        compareStrings(a.metadata.name, b.metadata.name),
    );
}

/** Whether `labels` satisfy a Kubernetes label selector. */
export function selectorMatches(selector: LabelSelector, labels: Record<string, string> = {}): boolean {
  const byLabels = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const byExpressions = (selector.matchExpressions ?? []).every((e) => {
    const has = Object.hasOwn(labels, e.key);
    switch (e.operator) {
      case 'In':
        return has && (e.values ?? []).includes(labels[e.key]!);
      case 'NotIn':
        return !has || !(e.values ?? []).includes(labels[e.key]!);
      case 'Exists':
        return has;
      case 'DoesNotExist':
        return !has;
    }
  });
  return byLabels && byExpressions;
}
