/**
 * The builders of `resources.ts` and `envoy.ts`, paying only for what changed since the last build.
 *
 * With a thousand Services a whole build takes tens of milliseconds, and the ADS store would then
 * serialise and hash every resource again, when a TrafficSplit weight change alters one route. The
 * informers keep the same object for an object that did not change (model.ts), so what a Service
 * contributes can be kept from the last build as long as everything it is built from is the same
 * object as last time: the Service, its EndpointSlices, its governing ServicePolicy (after the
 * conflict rule), the TrafficSplit whose apex it is and that split's backend Services (or their
 * absence). Everything else a resource reads is global — the mesh settings, the options, the
 * Namespaces (RBAC `namespaceSelector`, member namespaces) — and any change there starts afresh.
 *
 * What Services share is never kept, only recombined each build with the pure builders' rules: a
 * server Listener or an inbound chain claimed by an earlier Service (first by namespace and name
 * wins), a captured ClusterIP and port, the order by name, the two Envoy listeners (kept as the same
 * object only when every chain in them is). A Service that loses an inbound claim to another is
 * built afresh. The resources handed back are the kept objects themselves, so the ADS store skips
 * them at once (`ResourceStore` remembers each object's entry); nothing here mutates them.
 *
 * Same output as the pure builders for the same snapshot (deep-equal, same order): incremental.test.ts.
 */
import {
  envoyClusterOf,
  envoyRouteOf,
  fixedClusters,
  inboundChains,
  inboundClusterOf,
  inboundListenerOf,
  meshServices,
  outboundChain,
  outboundListenerOf,
  outboundPortKey,
  serviceInboundPorts,
  serviceOutboundPorts,
  sidecarLoadAssignment,
  type EnvoyOptions,
  type InboundPort,
} from './envoy.js';
import { TYPE } from './protos.js';
import {
  clusterOf,
  loadAssignmentOf,
  routeConfigurationOf,
  serviceListeners,
  type LoadAssignment,
  type Resource,
} from './resources.js';
import {
  compareStrings,
  index,
  routableServices,
  type Index,
  type Options,
  type Service,
  type Snapshot,
} from './snapshot.js';

const portsOf = (service: Service) => service.spec?.ports ?? [];
const keyOf = (service: Service) => `${service.metadata.namespace}/${service.metadata.name}`;
const byName = <T extends Resource>(list: T[]): T[] => list.sort((a, b) => compareStrings(a.name, b.name));
const byClusterName = (list: LoadAssignment[]): LoadAssignment[] =>
  list.sort((a, b) => compareStrings(a.cluster_name, b.cluster_name));

/**
 * Every object one Service's resources are built from (besides the global inputs). `routing`: also
 * what its routes read, the TrafficSplit whose apex it is and that split's backends (or their absence).
 */
export function serviceInputs(idx: Index, service: Service, routing = false): readonly unknown[] {
  const inputs: unknown[] = [service, idx.policy(service), ...idx.slices(service)];
  const split = routing ? idx.split(service) : undefined;
  if (split !== undefined) {
    const namespace = service.metadata.namespace;
    inputs.push(
      split,
      idx.service(namespace, split.spec.backends.stable.name),
      idx.service(namespace, split.spec.backends.canary.name),
    );
  }
  return inputs;
}

const same = (a: readonly unknown[], b: readonly unknown[]): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * What is global to a build: a change of any of it rebuilds every Service. Namespaces by object
 * (the informer keeps unchanged ones), the rest by content.
 */
class Globals {
  private namespaces: readonly unknown[] = [];
  private settings: string | undefined;

  /** Whether these are the globals of the last call. */
  same(snapshot: Snapshot, options: object): boolean {
    const namespaces = snapshot.namespaces ?? [];
    const settings = JSON.stringify([snapshot.mesh, options]);
    const unchanged = settings === this.settings && same(namespaces, this.namespaces);
    this.namespaces = [...namespaces];
    this.settings = settings;
    return unchanged;
  }
}

/** The Services kept from the last build, by `namespace/name`, with what they were built from. */
class Memo<T> {
  private previous = new Map<string, { inputs: readonly unknown[]; value: T }>();
  private next = new Map<string, { inputs: readonly unknown[]; value: T }>();
  /** Services built afresh in the last build (for tests and logs). */
  built = 0;

  /** Starts a build; `reset` forgets everything kept. */
  begin(reset: boolean): void {
    if (reset) this.previous.clear();
    this.next = new Map();
    this.built = 0;
  }

  get(service: Service, inputs: readonly unknown[], build: () => T): T {
    const key = keyOf(service);
    const kept = this.previous.get(key);
    if (kept !== undefined && same(kept.inputs, inputs)) {
      this.next.set(key, kept);
      return kept.value;
    }
    const value = build();
    this.built++;
    this.next.set(key, { inputs, value });
    return value;
  }

  /** Ends a build: what was not asked for this time (deleted Services) is forgotten. */
  end(): void {
    this.previous = this.next;
  }
}

interface GrpcParts {
  listeners: { listener: Resource; shared: boolean }[];
  clusters: Resource[];
  loadAssignments: LoadAssignment[];
}

/** `resources(snapshot, options)` (resources.ts), incrementally. One instance per stream of snapshots. */
export class IncrementalResources {
  private readonly globals = new Globals();
  private readonly memo = new Memo<GrpcParts>();
  private readonly routes = new Memo<Resource[]>();

  constructor(private readonly options: Options = {}) {}

  /** Services built afresh by the last `build` (some of their resources, or all). */
  get rebuilt(): number {
    return Math.max(this.memo.built, this.routes.built);
  }

  build(snapshot: Snapshot) {
    const options = this.options;
    const reset = !this.globals.same(snapshot, options);
    this.memo.begin(reset);
    this.routes.begin(reset);
    const idx = index(snapshot);
    const listeners = new Map<string, Resource>();
    const routes: Resource[] = [];
    const clusters: Resource[] = [];
    const loadAssignments: LoadAssignment[] = [];
    for (const service of routableServices(snapshot)) {
      const parts = this.memo.get(service, serviceInputs(idx, service), () => ({
        listeners: serviceListeners(snapshot, idx, service, options),
        clusters: portsOf(service).map((port) => clusterOf(idx, service, port, options)),
        loadAssignments: portsOf(service).map((port) => loadAssignmentOf(idx, service, port, options)),
      }));
      for (const { listener, shared } of parts.listeners) {
        if (!shared || !listeners.has(listener.name)) listeners.set(listener.name, listener);
      }
      routes.push(
        ...this.routes.get(service, serviceInputs(idx, service, true), () =>
          portsOf(service).map((port) => routeConfigurationOf(idx, service, port, options)),
        ),
      );
      clusters.push(...parts.clusters);
      loadAssignments.push(...parts.loadAssignments);
    }
    this.memo.end();
    this.routes.end();
    return {
      [TYPE.listener]: byName([...listeners.values()]),
      [TYPE.routeConfiguration]: byName(routes),
      [TYPE.cluster]: byName(clusters),
      [TYPE.clusterLoadAssignment]: byClusterName(loadAssignments),
    };
  }
}

interface EnvoyParts {
  /** Served pod ports and their chains as if no other Service claimed any of its addresses. */
  inbound: InboundPort[];
  inboundChains: Resource[];
  /** `address|podPort` of every inbound claim. */
  claims: string[];
  clusters: Resource[];
  loadAssignments: LoadAssignment[];
}

/** `envoyResources(snapshot, options)` (envoy.ts), incrementally. One instance per stream of snapshots. */
export class IncrementalEnvoyResources {
  private readonly globals = new Globals();
  private readonly memo = new Memo<EnvoyParts>();
  /** Per captured port (before the first-Service-wins rule): its filter chain, and its route. */
  private readonly chains = new Memo<Resource[]>();
  private readonly routes = new Memo<(Resource | undefined)[]>();
  /** The STATIC inbound Clusters by pod port, while the globals stay. */
  private inboundClusters = new Map<number, Resource>();
  private fixed: Resource[] = [];
  private outboundListener: Resource | undefined;
  private inboundListener: Resource | undefined;

  /** Services built afresh by the last `build` (some of their resources, or all). */
  get rebuilt(): number {
    return Math.max(this.memo.built, this.chains.built, this.routes.built);
  }

  build(snapshot: Snapshot, options: EnvoyOptions) {
    const reset = !this.globals.same(snapshot, options);
    this.memo.begin(reset);
    this.chains.begin(reset);
    this.routes.begin(reset);
    if (reset) {
      this.inboundClusters = new Map();
      this.fixed = fixedClusters();
      this.outboundListener = undefined;
      this.inboundListener = undefined;
    }
    const idx = index(snapshot);
    const seen = new Set<string>();
    const claimed = new Set<string>();
    const outboundChains: Resource[] = [];
    const inboundChainList: Resource[] = [];
    const podPorts = new Set<number>();
    const routes: Resource[] = [];
    const clusters: Resource[] = [];
    const loadAssignments: LoadAssignment[] = [];
    for (const service of meshServices(snapshot, options)) {
      const parts = this.memo.get(service, serviceInputs(idx, service), () => {
        const own = new Set<string>();
        const inbound = serviceInboundPorts(idx, service, own);
        return {
          inbound,
          inboundChains: inbound.flatMap((p) => inboundChains(snapshot, idx, p, options)),
          claims: [...own],
          clusters: portsOf(service).map((port) => envoyClusterOf(snapshot, idx, service, port, options)),
          loadAssignments: portsOf(service).map((port) =>
            sidecarLoadAssignment(loadAssignmentOf(idx, service, port, options)),
          ),
        };
      });
      const captured = serviceOutboundPorts(service);
      // an HTTP chain names its route (RDS); a TCP chain holds the split itself
      const tcp = captured.some((p) => p.protocol === 'tcp');
      const chains = this.chains.get(service, serviceInputs(idx, service, tcp), () =>
        captured.map((p) => outboundChain(idx, p, options)),
      );
      const ownRoutes = this.routes.get(service, serviceInputs(idx, service, true), () =>
        captured.map((p) => (p.protocol === 'http' ? envoyRouteOf(idx, p, options) : undefined)),
      );
      captured.forEach((p, i) => {
        const key = outboundPortKey(p);
        if (seen.has(key)) return;
        seen.add(key);
        outboundChains.push(chains[i]!);
        if (ownRoutes[i] !== undefined) routes.push(ownRoutes[i]);
      });
      let inbound = parts.inbound;
      if (parts.claims.every((claim) => !claimed.has(claim))) {
        for (const claim of parts.claims) claimed.add(claim);
        inboundChainList.push(...parts.inboundChains);
      } else {
        // an earlier Service holds some of its addresses: what is left is this build's alone
        inbound = serviceInboundPorts(idx, service, claimed);
        inboundChainList.push(...inbound.flatMap((p) => inboundChains(snapshot, idx, p, options)));
      }
      for (const p of inbound) podPorts.add(p.podPort);
      clusters.push(...parts.clusters);
      loadAssignments.push(...parts.loadAssignments);
    }
    this.memo.end();
    this.chains.end();
    this.routes.end();
    for (const podPort of podPorts) {
      let cluster = this.inboundClusters.get(podPort);
      if (cluster === undefined) {
        cluster = inboundClusterOf(podPort);
        this.inboundClusters.set(podPort, cluster);
      }
      clusters.push(cluster);
    }
    clusters.push(...this.fixed);
    this.outboundListener = kept(this.outboundListener, outboundChains, outboundListenerOf);
    this.inboundListener = kept(this.inboundListener, inboundChainList, inboundListenerOf);
    return {
      [TYPE.listener]: byName([this.outboundListener, this.inboundListener]),
      [TYPE.routeConfiguration]: byName(routes),
      [TYPE.cluster]: byName(clusters),
      [TYPE.clusterLoadAssignment]: byClusterName(loadAssignments),
    };
  }
}

/** The listener of last time when it has exactly these chains (the same objects, same order), else a new one. */
function kept(
  previous: Resource | undefined,
  chains: Resource[],
  build: (chains: readonly Resource[]) => Resource,
): Resource {
  const before = previous && CHAINS.get(previous);
  if (previous !== undefined && before !== undefined && same(before, chains)) return previous;
  const listener = build(chains);
  CHAINS.set(listener, chains);
  return listener;
}

/** The chains each listener built here was made of. */
const CHAINS = new WeakMap<Resource, readonly Resource[]>();
