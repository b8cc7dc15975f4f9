/**
 * One ADS server, two kinds of proxies. Proxyless gRPC applications and Envoy sidecars read the
 * same cluster differently (a gRPC client asks for a Listener named after its target; an Envoy
 * sidecar for the capture listeners, with its certificates through SDS), so each build produces
 * both resource sets — their names never collide (xds/names.ts) — and each proxy sees only its own
 * set: the node metadata `PROXY_TYPE` (`envoy` or `grpc`, written by the injector) decides.
 *
 * Envoy sidecars capture the Services of the mesh's member namespaces only: the pods elsewhere have
 * no sidecar to answer mutual TLS, so traffic to them passes through as the application sent it.
 */
import { SYSTEM_NAMESPACES } from '../meshinstallation/names.js';
import type { MeshConfig } from './meshconfig.js';
import { NODE_METADATA } from './names.js';
import type { NodeInfo, XdsResources } from './ads/server.js';
import { envoyResources, injectedSidecarSds, type EnvoyOptions } from './xds/envoy.js';
import { selectorMatches, type Options, type Snapshot } from './xds/snapshot.js';

/** The namespaces whose pods the injector meshes (every namespace the mesh config does not rule out). */
export function memberNamespaces(mesh: MeshConfig, snapshot: Snapshot): string[] {
  const selector = mesh.dataPlane.namespaceSelector;
  const excluded = new Set<string>([mesh.controlPlane.namespace, ...SYSTEM_NAMESPACES]);
  return (snapshot.namespaces ?? [])
    .filter((n) => !excluded.has(n.metadata.name))
    .filter((n) => selector === undefined || selectorMatches(selector, n.metadata.labels))
    .map((n) => n.metadata.name);
}

/** The names of every Envoy sidecar resource, by type URL. */
export class SidecarNames {
  private readonly byType = new Map<string, Set<string>>();

  add(typeUrl: string, name: string): void {
    let names = this.byType.get(typeUrl);
    if (names === undefined) this.byType.set(typeUrl, (names = new Set()));
    names.add(name);
  }

  /** The names of one type: what a stream's view looks up, once per resource. */
  of(typeUrl: string): ReadonlySet<string> {
    return this.byType.get(typeUrl) ?? NONE;
  }

  has(typeUrl: string, name: string): boolean {
    return this.of(typeUrl).has(name);
  }
}

const NONE: ReadonlySet<string> = new Set();

export interface FlavoredResources {
  /** Both sets, for `AdsServer.publish`. */
  resources: XdsResources;
  /** Every Envoy sidecar resource. */
  sidecarNames: SidecarNames;
}

const nameOf = (r: { name?: unknown; cluster_name?: unknown }): string =>
  typeof r.name === 'string' ? r.name : typeof r.cluster_name === 'string' ? r.cluster_name : '';

/** How the Envoy resources are built from a snapshot: `envoyResources`, or an `IncrementalEnvoyResources`. */
export type EnvoyBuilder = (snapshot: Snapshot, options: EnvoyOptions) => XdsResources;

/** The gRPC resources of a build plus the Envoy sidecar resources of the same snapshot. */
export function withSidecarResources(
  grpc: XdsResources,
  snapshot: Snapshot,
  mesh: MeshConfig,
  options: Options = {},
  build: EnvoyBuilder = envoyResources,
): FlavoredResources {
  const envoy = build(snapshot, {
    ...options,
    sdsConfig: injectedSidecarSds(),
    memberNamespaces: memberNamespaces(mesh, snapshot),
  });
  const out: Record<string, NonNullable<XdsResources[string]>> = {};
  const sidecarNames = new SidecarNames();
  for (const [typeUrl, list] of Object.entries(envoy)) {
    for (const r of list ?? []) sidecarNames.add(typeUrl, nameOf(r));
  }
  for (const typeUrl of new Set([...Object.keys(grpc), ...Object.keys(envoy)])) {
    out[typeUrl] = [...(grpc[typeUrl] ?? []), ...(envoy[typeUrl] ?? [])];
  }
  return { resources: out, sidecarNames };
}

/** Whether a node is an Envoy sidecar (else a proxyless gRPC application). */
export const isSidecar = (node: NodeInfo): boolean => node.metadata[NODE_METADATA.proxyType] === 'envoy';

/**
 * The ADS `view`: an Envoy sidecar sees the sidecar resources, anything else the gRPC ones.
 * `sidecarNames` is read at every call, so it follows each publish; a lookup is one Map and one Set
 * probe, nothing allocated (it runs for every resource of every response of every stream).
 */
export function flavorView(
  sidecarNames: () => SidecarNames,
): (node: NodeInfo) => (typeUrl: string, name: string) => boolean {
  return (node) => {
    const sidecar = isSidecar(node);
    return (typeUrl, name) => sidecarNames().has(typeUrl, name) === sidecar;
  };
}
