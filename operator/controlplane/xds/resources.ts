/**
 * The xDS resources of a cluster snapshot: pure, deterministic builders `(snapshot, options) =>
 * resources`, sorted by name, so equal snapshots give deep-equal resources (and the ADS server can
 * version them by content).
 *
 * Outbound, per port of every routable Service:
 * - a Listener named as the gRPC target (`checkout.shop.svc.cluster.local:8080`) whose
 *   `api_listener` is an HttpConnectionManager fetching its routes over RDS (ADS), with the fault
 *   filter when the Service's policy injects faults, then the router;
 * - a RouteConfiguration of the same name: one virtual host (every name a client may use for the
 *   Service, with and without the port), one route to the Service's Cluster — or, when a TrafficSplit
 *   has this Service as apex, `weighted_clusters` over the stable and canary Clusters with the weights
 *   of its status — with the policy's timeouts and retries;
 * - a Cluster `outbound|<port>||<host>` of type EDS (over ADS) with the policy's circuit breakers and
 *   outlier detection, and mTLS (UpstreamTlsContext from the mesh certificate provider);
 * - a ClusterLoadAssignment of the same name: the ready endpoints of the Service's EndpointSlices on
 *   the port the slice gives for that Service port's name, by zone.
 *
 * Inbound, per endpoint address and port of every Service with a selector: a server Listener
 * `grpc/server?xds.resource.listening_address=<ip>:<port>` (the name an xDS-enabled gRPC server bound
 * to that address asks for) with one filter chain: downstream mTLS, and an HttpConnectionManager whose
 * inline route configuration has the non-forwarding route servers require, behind the RBAC filters
 * of the policy (or of the mesh default) and the local rate limit.
 */
import {
  CERTIFICATE_PROVIDER_INSTANCE,
  FILTER,
  inboundRoute,
  outboundCluster,
  outboundListener,
  outboundRoute,
  serverListener,
  serviceHost,
} from './names.js';
import { TYPE, type Message } from './protos.js';
import { rbacFilters, type HttpFilter, type PortRef } from './rbac.js';
import { clusterResilience, faultConfig, localRateLimitConfig, routeResilience } from './resilience.js';
import {
  clusterDomainOf,
  compareStrings,
  index,
  routableServices,
  type EndpointSlice,
  type Index,
  type Options,
  type Service,
  type ServicePort,
  type Snapshot,
} from './snapshot.js';

/** A named xDS resource (Listener, RouteConfiguration, Cluster). */
export type Resource = Message & { name: string };
/** A ClusterLoadAssignment (named by `cluster_name`). */
export type LoadAssignment = Message & { cluster_name: string };

/** A config source meaning "over the ADS stream this came on". */
export const ADS: Message = { ads: {}, resource_api_version: 'V3' };

const byName = <T extends Resource>(resources: T[]): T[] =>
  resources.sort((a, b) => compareStrings(a.name, b.name));

const portsOf = (service: Service): ServicePort[] => service.spec?.ports ?? [];

const ns = (s: Service) => s.metadata.namespace;
const nameOf = (s: Service) => s.metadata.name;

function clusterName(service: Service, port: ServicePort, options: Options): string {
  return outboundCluster(ns(service), nameOf(service), port.port, clusterDomainOf(options));
}

// ---------------------------------------------------------------------------------------------
// Listeners

const router = (): HttpFilter => ({ name: FILTER.router, typed_config: { '@type': TYPE.router } });

function tlsContext(): Message {
  const provider = { instance_name: CERTIFICATE_PROVIDER_INSTANCE };
  return {
    tls_certificate_provider_instance: provider,
    validation_context: { ca_certificate_provider_instance: provider },
  };
}

function outboundListenerOf(idx: Index, service: Service, port: ServicePort, options: Options) {
  const name = outboundListener(ns(service), nameOf(service), port.port, clusterDomainOf(options));
  const fault = idx.policy(service)?.spec.resilience?.faultInjection;
  const filters: HttpFilter[] = [
    ...(fault !== undefined ? [{ name: FILTER.fault, typed_config: faultConfig(fault) }] : []),
    router(),
  ];
  return {
    name,
    api_listener: {
      api_listener: {
        '@type': TYPE.httpConnectionManager,
        stat_prefix: `outbound_${nameOf(service)}_${ns(service)}_${port.port}`,
        rds: {
          route_config_name: outboundRoute(ns(service), nameOf(service), port.port, clusterDomainOf(options)),
          config_source: ADS,
        },
        http_filters: filters,
      },
    },
  };
}

/** Every (address, port) a Service's pods serve a Service port on, from its EndpointSlices, ready or not. */
export function servingAddresses(
  slices: readonly EndpointSlice[],
  port: ServicePort,
): { ip: string; port: number }[] {
  const out = new Map<string, { ip: string; port: number }>();
  for (const slice of slices) {
    if (slice.addressType === 'FQDN') continue;
    const target = slicePort(slice, port);
    if (target === undefined) continue;
    for (const endpoint of slice.endpoints ?? []) {
      for (const ip of endpoint.addresses) out.set(`${ip}:${target}`, { ip, port: target });
    }
  }
  return [...out.values()];
}

/** The pod port of `port` in `slice`: the slice port with the Service port's name (`''` when unnamed). */
export function slicePort(slice: EndpointSlice, port: ServicePort): number | undefined {
  return slice.ports?.find((p) => (p.name ?? '') === (port.name ?? ''))?.port;
}

/**
 * The pod port a Service port (by number or name) of `service` stands for, as RBAC rules name
 * ports: the port its EndpointSlices give, else a numeric `targetPort`, else the port itself.
 */
export function destinationPorts(idx: Index, service: Service): (ref: PortRef) => number | undefined {
  const slices = idx.slices(service);
  return (ref) => {
    const servicePort = portsOf(service).find((p) =>
      typeof ref === 'number' ? p.port === ref : p.name === ref,
    );
    if (servicePort === undefined) return undefined;
    for (const slice of slices) {
      const found = slicePort(slice, servicePort);
      if (found !== undefined) return found;
    }
    return typeof servicePort.targetPort === 'number' ? servicePort.targetPort : servicePort.port;
  };
}

function inboundListenerOf(
  snapshot: Snapshot,
  idx: Index,
  service: Service,
  port: ServicePort,
  address: { ip: string; port: number },
  options: Options,
): Resource {
  const policy = idx.policy(service);
  const destinationPort = destinationPorts(idx, service);
  const rateLimit = policy?.spec.resilience?.rateLimit;
  const filters: HttpFilter[] = [
    ...rbacFilters(policy?.spec.access, { mesh: snapshot.mesh, namespaces: idx.namespaces, destinationPort }),
    ...(rateLimit !== undefined
      ? [{ name: FILTER.localRateLimit, typed_config: localRateLimitConfig(rateLimit), is_optional: true }]
      : []),
    router(),
  ];
  const routeName = inboundRoute(ns(service), nameOf(service), port.port, clusterDomainOf(options));
  return {
    name: serverListener(address.ip, address.port),
    address: { socket_address: { address: address.ip, port_value: address.port } },
    filter_chains: [
      {
        name: routeName,
        // No filter_chain_match: the Listener is already per address and port, and gRPC never
        // matches a chain that names a destination_port, nor an IPv4 prefix_range (its server
        // listens dual-stack, so IPv4 connections arrive as ::ffff:a.b.c.d).
        filters: [
          {
            name: FILTER.httpConnectionManager,
            typed_config: {
              '@type': TYPE.httpConnectionManager,
              stat_prefix: `inbound_${nameOf(service)}_${ns(service)}_${port.port}`,
              route_config: {
                name: routeName,
                virtual_hosts: [
                  {
                    name: routeName,
                    domains: ['*'],
                    routes: [{ name: 'default', match: { prefix: '/' }, non_forwarding_action: {} }],
                  },
                ],
              },
              http_filters: filters,
            },
          },
        ],
        transport_socket: {
          name: FILTER.tls,
          typed_config: {
            '@type': TYPE.downstreamTlsContext,
            common_tls_context: tlsContext(),
            ...(snapshot.mesh.mtlsMode === 'Strict' ? { require_client_certificate: { value: true } } : {}),
          },
        },
      },
    ],
  };
}

/**
 * Outbound Listeners (one per Service port) and server Listeners (one per endpoint address and port
 * of Services with a selector). Two Services selecting the same pod port share its server Listener:
 * the first by namespace and name defines it.
 */
export function listeners(snapshot: Snapshot, options: Options = {}): Resource[] {
  const idx = index(snapshot);
  const out = new Map<string, Resource>();
  for (const service of routableServices(snapshot)) {
    for (const { listener, shared } of serviceListeners(snapshot, idx, service, options)) {
      if (!shared || !out.has(listener.name)) out.set(listener.name, listener);
    }
  }
  return byName([...out.values()]);
}

/**
 * The Listeners one Service defines, in order: per port its outbound Listener, then (with a
 * selector) its server Listeners, which are `shared`: an earlier Service that defines the same name
 * keeps it.
 */
export function serviceListeners(
  snapshot: Snapshot,
  idx: Index,
  service: Service,
  options: Options,
): { listener: Resource; shared: boolean }[] {
  const out: { listener: Resource; shared: boolean }[] = [];
  for (const port of portsOf(service)) {
    out.push({ listener: outboundListenerOf(idx, service, port, options), shared: false });
    if (Object.keys(service.spec?.selector ?? {}).length === 0) continue;
    for (const address of servingAddresses(idx.slices(service), port)) {
      out.push({ listener: inboundListenerOf(snapshot, idx, service, port, address, options), shared: true });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Routes

/** The port of `backend` that serves what `apexPort` of the apex Service does: same name, else same number, else its only port. */
export function backendPort(backend: Service, apexPort: ServicePort): ServicePort | undefined {
  const ports = portsOf(backend);
  return (
    (apexPort.name ? ports.find((p) => p.name === apexPort.name) : undefined) ??
    ports.find((p) => p.port === apexPort.port) ??
    (ports.length === 1 ? ports[0] : undefined)
  );
}

/** Every name a client in the cluster may call the Service by, with and without the port. */
function domains(service: Service, port: ServicePort, options: Options): string[] {
  const names = [
    serviceHost(ns(service), nameOf(service), clusterDomainOf(options)),
    `${nameOf(service)}.${ns(service)}.svc`,
    `${nameOf(service)}.${ns(service)}`,
    nameOf(service),
  ];
  const clusterIP = service.spec?.clusterIP;
  if (clusterIP && clusterIP !== 'None') names.push(clusterIP.includes(':') ? `[${clusterIP}]` : clusterIP);
  return names.flatMap((n) => [n, `${n}:${port.port}`]);
}

/** What a Cluster of one Service port is called (the gRPC flavor's `outbound|…` by default). */
export type ClusterNamer = (service: Service, port: ServicePort, options: Options) => string;

/**
 * The route action of a Service port: its Cluster, or the stable and canary Clusters weighted as the
 * status of the TrafficSplit whose apex it is.
 */
export function routeAction(
  idx: Index,
  service: Service,
  port: ServicePort,
  options: Options,
  nameCluster: ClusterNamer = clusterName,
): Message {
  const own = nameCluster(service, port, options);
  const split = idx.split(service);
  if (split === undefined) return { cluster: own };
  const weights = split.status?.weights ?? { stable: 100, canary: 0 };
  const backend = (name: string, weight: number) => {
    const svc = idx.service(ns(service), name);
    const p = svc && backendPort(svc, port);
    return svc && p ? { name: nameCluster(svc, p, options), weight } : undefined;
  };
  const stable = backend(split.spec.backends.stable.name, weights.stable);
  const canary = backend(split.spec.backends.canary.name, weights.canary);
  const served = [stable, canary].filter((b) => b !== undefined && b.weight > 0) as {
    name: string;
    weight: number;
  }[];
  if (served.length === 0) return { cluster: (stable ?? canary)?.name ?? own };
  if (served.length === 1) return { cluster: served[0]!.name };
  return {
    weighted_clusters: { clusters: served.map((b) => ({ name: b.name, weight: { value: b.weight } })) },
  };
}

/** The RouteConfiguration of one Service port, named like its outbound Listener. */
export function routeConfigurationOf(
  idx: Index,
  service: Service,
  port: ServicePort,
  options: Options,
): Resource {
  const name = outboundRoute(ns(service), nameOf(service), port.port, clusterDomainOf(options));
  return {
    name,
    virtual_hosts: [
      {
        name,
        domains: domains(service, port, options),
        routes: [
          {
            name: 'default',
            match: { prefix: '/' },
            route: {
              ...routeAction(idx, service, port, options),
              ...routeResilience(idx.policy(service)?.spec.resilience),
            },
          },
        ],
      },
    ],
  };
}

/** One RouteConfiguration per Service port, named like its outbound Listener. */
export function routeConfigurations(snapshot: Snapshot, options: Options = {}): Resource[] {
  const idx = index(snapshot);
  return byName(
    routableServices(snapshot).flatMap((service) =>
      portsOf(service).map((port) => routeConfigurationOf(idx, service, port, options)),
    ),
  );
}

// ---------------------------------------------------------------------------------------------
// Clusters and endpoints

/** The EDS Cluster of one Service port, with the circuit breakers and outlier detection of the Service's own policy. */
export function clusterOf(idx: Index, service: Service, port: ServicePort, options: Options): Resource {
  const name = clusterName(service, port, options);
  return {
    name,
    type: 'EDS',
    eds_cluster_config: { eds_config: ADS, service_name: name },
    ...clusterResilience(idx.policy(service)?.spec.resilience),
    transport_socket: {
      name: FILTER.tls,
      typed_config: { '@type': TYPE.upstreamTlsContext, common_tls_context: tlsContext() },
    },
  };
}

/** One EDS Cluster per Service port (`clusterOf`). */
export function clusters(snapshot: Snapshot, options: Options = {}): Resource[] {
  const idx = index(snapshot);
  return byName(
    routableServices(snapshot).flatMap((service) =>
      portsOf(service).map((port) => clusterOf(idx, service, port, options)),
    ),
  );
}

/**
 * One ClusterLoadAssignment per Service port: the ready endpoints (`conditions.ready` true or unset,
 * as Kubernetes defines it) of the Service's IPv4/IPv6 EndpointSlices, on the pod port the slice
 * gives for the Service port's name, grouped by zone (one locality each, weight 1), deduplicated and
 * sorted. A Service without ready endpoints gets an assignment with no endpoints, so clients fail
 * fast instead of waiting for one.
 */
export function clusterLoadAssignments(snapshot: Snapshot, options: Options = {}): LoadAssignment[] {
  const idx = index(snapshot);
  const out: LoadAssignment[] = [];
  for (const service of routableServices(snapshot)) {
    for (const port of portsOf(service)) out.push(loadAssignmentOf(idx, service, port, options));
  }
  return out.sort((a, b) => compareStrings(a.cluster_name, b.cluster_name));
}

/** The ClusterLoadAssignment of one Service port (see `clusterLoadAssignments`). */
export function loadAssignmentOf(
  idx: Index,
  service: Service,
  port: ServicePort,
  options: Options,
): LoadAssignment {
  const byZone = new Map<string, Map<string, Message>>();
  for (const slice of idx.slices(service)) {
    if (slice.addressType === 'FQDN') continue;
    const target = slicePort(slice, port);
    if (target === undefined) continue;
    for (const endpoint of slice.endpoints ?? []) {
      if (endpoint.conditions?.ready === false) continue;
      const zone = endpoint.zone ?? '';
      const endpoints = byZone.get(zone) ?? new Map<string, Message>();
      for (const ip of endpoint.addresses) {
        endpoints.set(`${ip}:${target}`, {
          endpoint: { address: { socket_address: { address: ip, port_value: target } } },
          health_status: 'HEALTHY',
        });
      }
      byZone.set(zone, endpoints);
    }
  }
  const localities = [...byZone.keys()].sort(compareStrings).map((zone) => {
    const endpoints = byZone.get(zone)!;
    return {
      locality: zone ? { zone } : {}, // gRPC refuses a locality-less group
      lb_endpoints: [...endpoints.keys()].sort(compareStrings).map((k) => endpoints.get(k)!),
      load_balancing_weight: { value: 1 },
    };
  });
  return { cluster_name: clusterName(service, port, options), endpoints: localities };
}

/** Every resource of a snapshot, by type URL: what the ADS server serves. */
export function resources(snapshot: Snapshot, options: Options = {}) {
  return {
    [TYPE.listener]: listeners(snapshot, options),
    [TYPE.routeConfiguration]: routeConfigurations(snapshot, options),
    [TYPE.cluster]: clusters(snapshot, options),
    [TYPE.clusterLoadAssignment]: clusterLoadAssignments(snapshot, options),
  };
}
