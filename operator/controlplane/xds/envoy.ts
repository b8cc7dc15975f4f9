/**
 * The xDS resources of an Envoy sidecar: what a proxy injected in Sidecar mode (node metadata
 * `PROXY_TYPE: envoy`) is served, from the same snapshot as the proxyless gRPC resources
 * (`resources.ts`) and with the same policy semantics. Pure and deterministic, sorted by name.
 *
 * The injector's iptables rules send every TCP connection the application opens to `0.0.0.0:15001`
 * and every connection to the pod to `0.0.0.0:15006`. Envoy gets, Istio's way:
 *
 * - `virtualOutbound` (15001): the `original_dst` listener filter restores the address the
 *   application dialled; one filter chain per captured Service port, matched on its ClusterIP
 *   (`prefix_ranges`, /32 or /128) and port. An HTTP port gets an HttpConnectionManager with RDS
 *   (over ADS) and the fault filter of the Service's policy; a TCP port a `tcp_proxy`. Everything
 *   else (the Internet, the Kubernetes API, Services outside the mesh) takes the default chain to
 *   `PassthroughCluster` (ORIGINAL_DST): it leaves as the application sent it. A chain for port
 *   15001 itself goes to `BlackHoleCluster`: a connection to `127.0.0.1:15001` would otherwise pass
 *   through to the same listener, forever.
 * - `sidecar~<host>:<port>` RouteConfigurations: the gRPC flavor's route (same weighted_clusters from
 *   TrafficSplit status, same timeouts and retries) to the Envoy Clusters. One virtual host with
 *   domain `*`: the filter chain already chose the Service by the address dialled, as kube-proxy
 *   would, so a request with an unexpected Host header is not turned into a 404.
 * - `sidecar~outbound|<port>||<host>` Clusters (EDS over ADS, the policy's circuit breakers and
 *   outlier detection) with mTLS: the workload certificate from SDS, the peer checked against the
 *   mesh CA and its SPIFFE ID — `spiffe://<td>/ns/<ns>/sa/` as a prefix for a Service with a
 *   selector (its pods run in its namespace), the trust domain otherwise — and ClusterLoadAssignments
 *   of the same names with the gRPC flavor's endpoints.
 * - `virtualInbound` (15006): `original_dst` and `tls_inspector`; per Service with a selector and
 *   pod port, a chain matched on the pod port and on the pod addresses of the Service's
 *   EndpointSlices, terminating mTLS (client certificate required under Strict; under Permissive a
 *   second chain matched by `transport_protocol: raw_buffer` takes plaintext) in front of the RBAC
 *   filters of the policy (or the mesh default) and its local rate limit, then a route to
 *   `inbound|<podPort>||`, a STATIC cluster to `127.0.0.1:<podPort>`: the application on localhost.
 *
 * **Protocols.** Every port is captured, so what is not HTTP must not meet an HTTP parser. A Service
 * port is HTTP when its `appProtocol`, else its name up to the first `-` (Istio's explicit protocol
 * selection), is `http`, `http2`, `grpc`, `grpc-web`, `h2c` or `kubernetes.io/h2c`; any other TCP
 * port (unnamed ones included) is proxied as TCP, with mTLS and the L4 part of the policy (network
 * RBAC: identities, addresses and ports; rules on paths or methods fail closed, see `networkRbac`);
 * UDP and SCTP ports are not captured at all.
 *
 * **Conflicts.** The inbound listener is the same for every pod (per-node scoping comes later), so
 * chains are told apart by destination address as well as port. A pod port served to two Services
 * of the same pods is defined by the first by namespace and name, as the gRPC server listeners are;
 * the other is skipped for those addresses. The cost, until each proxy gets only its own address:
 * an endpoint change alters that Service's chain in every sidecar, and Envoy drains (gracefully) the
 * connections of a chain that changed.
 *
 * **Names** (`SIDECAR` and `sidecar*` in names.ts): Istio's where the gRPC flavor has no resource of
 * that name, the gRPC flavor's name prefixed with `sidecar~` where it has one, so the one ADS server
 * can hold both flavors without a name meaning two things.
 *
 * `use_original_dst` is not set: it hands a connection to the listener bound to its original
 * address, and the bootstrap's own listeners on `0.0.0.0:15021` and `:15090` would then take the
 * application's connections to those ports on any host.
 */
import { isIP } from 'node:net';
import { ENVOY, IDENTITY_FILES, PROXY_SDS_DIR, PROXY_SDS_FILE } from '../injector/names.js';
import { IDENTITY_DIR, PROXY_PORTS } from '../names.js';
import {
  FILTER,
  outboundCluster,
  SIDECAR,
  SIDECAR_PREFIX,
  sidecarInboundChain,
  sidecarInboundCluster,
  sidecarOutboundChain,
  sidecarOutboundCluster,
  sidecarOutboundRoute,
  spiffeNamespacePrefix,
} from './names.js';
import { TYPE, type Message } from './protos.js';
import { rbacFilters, type HttpFilter } from './rbac.js';
import {
  clusterResilience,
  faultConfig,
  localRateLimitConfig,
  protoDuration,
  routeResilience,
  type Resilience,
} from './resilience.js';
import {
  ADS,
  clusterLoadAssignments,
  destinationPorts,
  routeAction,
  servingAddresses,
  type LoadAssignment,
  type Resource,
} from './resources.js';
import {
  clusterDomainOf,
  compareStrings,
  index,
  routableServices,
  type Index,
  type Options,
  type Service,
  type ServicePort,
  type Snapshot,
} from './snapshot.js';

/** An `SdsSecretConfig`: a secret by name, and where Envoy fetches it. */
export interface SdsSecretConfig {
  name: string;
  sds_config: Message;
}

/** Where an Envoy sidecar finds its workload certificate and the mesh CA. */
export interface SidecarSds {
  /** The workload certificate and key (`tls_certificate_sds_secret_configs`). */
  certificate: SdsSecretConfig;
  /**
   * The mesh CA peers are checked against: an SDS secret holding a `validation_context`, or a file
   * Envoy reads when it builds the Cluster or filter chain.
   */
  trustedCa: { sds: SdsSecretConfig } | { file: string };
}

export interface EnvoyOptions extends Options {
  sdsConfig: SidecarSds;
  /**
   * The namespaces whose pods run the data plane (the MeshInstallation's member namespaces). Only
   * their Services are captured and get Clusters: the pods of another Service have no sidecar to
   * answer mTLS, so traffic to them passes through as the application sent it. Every namespace
   * when absent.
   */
  memberNamespaces?: readonly string[];
}

/**
 * The certificates as the injector gives them to every sidecar: the SDS file projected from the
 * pod annotation (`envoySdsSecret`, the secret `meshwright-identity`, which the bootstrap's xDS
 * cluster uses too), and the CA file of the mounted identity Secret. The injector's SDS file holds
 * no CA secret (an SDS file carries exactly one), so the CA is the file, read when Envoy builds a
 * Cluster or filter chain.
 */
export function injectedSidecarSds(): SidecarSds {
  return {
    certificate: {
      name: ENVOY.identitySecret,
      sds_config: {
        path_config_source: {
          path: `${PROXY_SDS_DIR}/${PROXY_SDS_FILE}`,
          watched_directory: { path: PROXY_SDS_DIR },
        },
        resource_api_version: 'V3',
      },
    },
    trustedCa: { file: `${IDENTITY_DIR}/${IDENTITY_FILES.ca}` },
  };
}

// ---------------------------------------------------------------------------------------------
// What is captured

export type PortProtocol = 'http' | 'tcp';

const HTTP_PROTOCOLS = new Set(['http', 'http2', 'grpc', 'grpc-web', 'h2c', 'kubernetes.io/h2c']);

/** How the sidecar proxies a Service port: `http`, `tcp`, or undefined when it is not TCP at all. */
export function portProtocol(port: ServicePort): PortProtocol | undefined {
  if ((port.protocol ?? 'TCP') !== 'TCP') return undefined;
  const declared = (port.appProtocol ?? (port.name ?? '').split('-')[0]!).toLowerCase();
  return HTTP_PROTOCOLS.has(declared) ? 'http' : 'tcp';
}

const validPort = (port: number): boolean => Number.isInteger(port) && port >= 1 && port <= 65_535;

const ns = (s: Service) => s.metadata.namespace;
const nameOf = (s: Service) => s.metadata.name;
const portsOf = (s: Service): ServicePort[] => s.spec?.ports ?? [];
const hasSelector = (s: Service) => Object.keys(s.spec?.selector ?? {}).length > 0;

const cidr = (ip: string): Message => ({
  address_prefix: ip,
  prefix_len: { value: isIP(ip) === 6 ? 128 : 32 },
});

const socketAddress = (address: string, port: number): Message => ({
  socket_address: { address, port_value: port },
});

/** A Duration of 0: Envoy's route timeout is 15 s unless set, gRPC's is none; 0 disables it. */
const NO_TIMEOUT: Message = {};

/** Envoy's default circuit breakers (1024 connections, 3 concurrent retries…) are lifted: only what a policy sets limits. */
const UNLIMITED = 4_294_967_295;

const byName = <T extends Resource>(resources: T[]): T[] =>
  resources.sort((a, b) => compareStrings(a.name, b.name));

/** The Services of the mesh: routable, in a member namespace. */
export function meshServices(snapshot: Snapshot, options: EnvoyOptions): Service[] {
  const members = options.memberNamespaces && new Set(options.memberNamespaces);
  return routableServices(snapshot).filter((s) => members === undefined || members.has(ns(s)));
}

export interface OutboundPort {
  service: Service;
  port: ServicePort;
  protocol: PortProtocol;
  clusterIP: string;
}

/**
 * The Service ports `virtualOutbound` captures: TCP ports of mesh Services that have a selector (the
 * endpoints of one without are whatever someone listed, with no sidecar to vouch for) and a ClusterIP
 * (headless Services are dialled by pod address). One per ClusterIP and port, the first Service wins.
 */
function outboundPorts(snapshot: Snapshot, options: EnvoyOptions): OutboundPort[] {
  const out: OutboundPort[] = [];
  const seen = new Set<string>();
  for (const service of meshServices(snapshot, options)) {
    for (const p of serviceOutboundPorts(service)) {
      const key = outboundPortKey(p);
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(p);
    }
  }
  return out;
}

/** The ports of one Service `virtualOutbound` would capture, before the first-Service-wins rule. */
export function serviceOutboundPorts(service: Service): OutboundPort[] {
  const clusterIP = service.spec?.clusterIP ?? '';
  if (!hasSelector(service) || isIP(clusterIP) === 0) return [];
  const out: OutboundPort[] = [];
  for (const port of portsOf(service)) {
    const protocol = portProtocol(port);
    if (protocol === undefined || !validPort(port.port)) continue;
    out.push({ service, port, protocol, clusterIP });
  }
  return out;
}

/** What makes two captured ports the same chain: ClusterIP and port. */
export const outboundPortKey = (p: OutboundPort): string => `${p.clusterIP}|${p.port.port}`;

export interface InboundPort {
  service: Service;
  port: ServicePort;
  protocol: PortProtocol;
  podPort: number;
  /** The pod addresses this chain is for, sorted. */
  addresses: string[];
}

/**
 * The pod ports `virtualInbound` serves: per mesh Service with a selector and per pod port of its
 * captured Service ports, the addresses its EndpointSlices list (ready or not: a pod is served
 * before it is ready). An address and pod port already claimed by an earlier Service (by namespace
 * and name) stays with it.
 */
function inboundPorts(snapshot: Snapshot, idx: Index, options: EnvoyOptions): InboundPort[] {
  const claimed = new Set<string>();
  return meshServices(snapshot, options).flatMap((service) => serviceInboundPorts(idx, service, claimed));
}

/**
 * The pod ports of one Service `virtualInbound` serves, leaving out the addresses and pod ports
 * already in `claimed` (`address|podPort`), and adding those it takes to it.
 */
export function serviceInboundPorts(idx: Index, service: Service, claimed: Set<string>): InboundPort[] {
  const out: InboundPort[] = [];
  if (!hasSelector(service)) return out;
  for (const port of portsOf(service)) {
    const protocol = portProtocol(port);
    if (protocol === undefined) continue;
    const byPodPort = new Map<number, string[]>();
    for (const address of servingAddresses(idx.slices(service), port)) {
      const key = `${address.ip}|${address.port}`;
      if (isIP(address.ip) === 0 || !validPort(address.port) || claimed.has(key)) continue;
      claimed.add(key);
      byPodPort.set(address.port, [...(byPodPort.get(address.port) ?? []), address.ip]);
    }
    for (const [podPort, addresses] of [...byPodPort].sort(([a], [b]) => a - b)) {
      out.push({ service, port, protocol, podPort, addresses: addresses.sort(compareStrings) });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Filters

const router = (): HttpFilter => ({ name: FILTER.router, typed_config: { '@type': TYPE.router } });

const listenerFilter = (name: string, type: string): Message => ({ name, typed_config: { '@type': type } });

function tcpProxy(statPrefix: string, target: Message, idleTimeout?: string): Message {
  return {
    name: FILTER.tcpProxy,
    typed_config: {
      '@type': TYPE.tcpProxy,
      stat_prefix: statPrefix,
      ...target,
      ...(idleTimeout !== undefined ? { idle_timeout: protoDuration(idleTimeout) } : {}),
    },
  };
}

/** A route action (`cluster` or `weighted_clusters`) as tcp_proxy's cluster specifier. */
function tcpTarget(action: Message): Message {
  const weighted = action.weighted_clusters as
    { clusters: { name: string; weight: { value: number } }[] } | undefined;
  if (weighted === undefined) return { cluster: action.cluster };
  return {
    weighted_clusters: { clusters: weighted.clusters.map((c) => ({ name: c.name, weight: c.weight.value })) },
  };
}

/**
 * An HTTP RBAC filter as a network filter, evaluated once per connection. A condition on methods or
 * paths cannot be checked on a TCP connection: in an ALLOW filter it matches nothing (the caller is
 * refused), and in a DENY filter it is dropped, so the rule denies every connection the rest of it
 * matches. Both fail closed, as Istio does.
 */
function networkRbac(filter: HttpFilter, statPrefix: string): Message {
  const { rules, shadow_rules } = filter.typed_config as { rules?: Message; shadow_rules?: Message };
  return {
    name: filter.name,
    typed_config: {
      ...filter.typed_config,
      '@type': TYPE.networkRbac,
      stat_prefix: statPrefix,
      ...(rules !== undefined ? { rules: connectionRules(rules) } : {}),
      ...(shadow_rules !== undefined ? { shadow_rules: connectionRules(shadow_rules) } : {}),
    },
  };
}

const L7_PERMISSIONS = ['header', 'url_path'];

function connectionRules(rules: Message): Message {
  const policies = rules.policies as Record<string, Message> | undefined;
  if (rules.action !== 'DENY' || policies === undefined) return rules;
  // rbac.ts only ever puts these leaves under and/or, never under a `not_rule`: widening them widens the rule
  const widen = (permission: unknown): unknown => {
    if (Array.isArray(permission)) return permission.map(widen);
    if (permission === null || typeof permission !== 'object') return permission;
    if (L7_PERMISSIONS.some((k) => k in permission)) return { any: true };
    return Object.fromEntries(Object.entries(permission).map(([k, v]) => [k, widen(v)]));
  };
  return {
    ...rules,
    policies: Object.fromEntries(
      Object.entries(policies).map(([name, policy]) => [
        name,
        { ...policy, permissions: widen(policy.permissions) },
      ]),
    ),
  };
}

// ---------------------------------------------------------------------------------------------
// TLS

function commonTls(sds: SidecarSds, peer: Message, alpn: readonly string[] = []): Message {
  return {
    tls_certificate_sds_secret_configs: [sds.certificate],
    ...('sds' in sds.trustedCa
      ? {
          combined_validation_context: {
            default_validation_context: peer,
            validation_context_sds_secret_config: sds.trustedCa.sds,
          },
        }
      : { validation_context: { trusted_ca: { filename: sds.trustedCa.file }, ...peer } }),
    ...(alpn.length > 0 ? { alpn_protocols: [...alpn] } : {}),
  };
}

/** The identities a Service's pods may present: those of its namespace when it selects its pods. */
function serverIdentity(snapshot: Snapshot, service: Service): Message {
  const td = snapshot.mesh.trustDomain;
  const prefix = hasSelector(service) ? spiffeNamespacePrefix(td, ns(service)) : `spiffe://${td}/`;
  return { match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { prefix } }] };
}

// ---------------------------------------------------------------------------------------------
// Listeners

export function outboundChain(idx: Index, p: OutboundPort, options: EnvoyOptions): Resource {
  const { service, port } = p;
  const statPrefix = `outbound_${nameOf(service)}_${ns(service)}_${port.port}`;
  const resilience = idx.policy(service)?.spec.resilience;
  const fault = resilience?.faultInjection;
  const terminal =
    p.protocol === 'http'
      ? {
          name: FILTER.httpConnectionManager,
          typed_config: {
            '@type': TYPE.httpConnectionManager,
            stat_prefix: statPrefix,
            rds: {
              route_config_name: sidecarOutboundRoute(
                ns(service),
                nameOf(service),
                port.port,
                clusterDomainOf(options),
              ),
              config_source: ADS,
            },
            http_filters: [
              ...(fault !== undefined ? [{ name: FILTER.fault, typed_config: faultConfig(fault) }] : []),
              router(),
            ],
          },
        }
      : tcpProxy(
          statPrefix,
          tcpTarget(routeAction(idx, service, port, options, sidecarClusterOf)),
          resilience?.timeouts?.idle,
        );
  return {
    name: sidecarOutboundChain(ns(service), nameOf(service), port.port, clusterDomainOf(options)),
    filter_chain_match: { prefix_ranges: [cidr(p.clusterIP)], destination_port: { value: port.port } },
    filters: [terminal],
  };
}

function outboundListener(snapshot: Snapshot, idx: Index, options: EnvoyOptions): Resource {
  return outboundListenerOf(outboundPorts(snapshot, options).map((p) => outboundChain(idx, p, options)));
}

/** `virtualOutbound` with these chains of captured ports. */
export function outboundListenerOf(captured: readonly Resource[]): Resource {
  const chains = [...captured];
  chains.push({
    name: SIDECAR.outboundBlackHoleChain,
    filter_chain_match: { destination_port: { value: PROXY_PORTS.outbound } },
    filters: [tcpProxy(SIDECAR.blackHoleCluster, { cluster: SIDECAR.blackHoleCluster })],
  });
  return {
    name: SIDECAR.outboundListener,
    address: socketAddress('0.0.0.0', PROXY_PORTS.outbound),
    traffic_direction: 'OUTBOUND',
    listener_filters: [listenerFilter(FILTER.originalDst, TYPE.originalDst)],
    filter_chains: byName(chains),
    default_filter_chain: {
      name: SIDECAR.passthroughChain,
      filters: [tcpProxy(SIDECAR.passthroughCluster, { cluster: SIDECAR.passthroughCluster })],
    },
  };
}

export function inboundChains(
  snapshot: Snapshot,
  idx: Index,
  p: InboundPort,
  options: EnvoyOptions,
): Resource[] {
  const { service, podPort } = p;
  const policy = idx.policy(service);
  const statPrefix = `inbound_${podPort}`;
  const cluster = sidecarInboundCluster(podPort);
  const rbac = rbacFilters(policy?.spec.access, {
    mesh: snapshot.mesh,
    namespaces: idx.namespaces,
    destinationPort: destinationPorts(idx, service),
  });
  const rateLimit = policy?.spec.resilience?.rateLimit;
  const chain = (plaintext: boolean): Resource => {
    const name = sidecarInboundChain(
      ns(service),
      nameOf(service),
      podPort,
      plaintext,
      clusterDomainOf(options),
    );
    const filters =
      p.protocol === 'http'
        ? [
            {
              name: FILTER.httpConnectionManager,
              typed_config: {
                '@type': TYPE.httpConnectionManager,
                stat_prefix: statPrefix,
                route_config: {
                  name,
                  virtual_hosts: [
                    {
                      name,
                      domains: ['*'],
                      routes: [
                        { name: 'default', match: { prefix: '/' }, route: { cluster, timeout: NO_TIMEOUT } },
                      ],
                    },
                  ],
                },
                http_filters: [
                  ...rbac,
                  ...(rateLimit !== undefined
                    ? [{ name: FILTER.localRateLimit, typed_config: localRateLimitConfig(rateLimit) }]
                    : []),
                  router(),
                ],
                // RBAC path rules must see the path the application will: `/a/../b` and `//b` as `/b`.
                normalize_path: { value: true },
                merge_slashes: true,
                // The application learns who called (the caller's SPIFFE ID); a caller cannot forge it.
                forward_client_cert_details: 'SANITIZE_SET',
                set_current_client_cert_details: { uri: true },
              },
            },
          ]
        : [...rbac.map((f) => networkRbac(f, `${statPrefix}_`)), tcpProxy(statPrefix, { cluster })];
    return {
      name,
      filter_chain_match: {
        destination_port: { value: podPort },
        prefix_ranges: p.addresses.map(cidr),
        transport_protocol: plaintext ? 'raw_buffer' : 'tls',
      },
      filters,
      ...(plaintext
        ? {}
        : {
            transport_socket: {
              name: FILTER.tls,
              typed_config: {
                '@type': TYPE.downstreamTlsContext,
                common_tls_context: commonTls(
                  options.sdsConfig,
                  {},
                  p.protocol === 'http' ? ['h2', 'http/1.1'] : [],
                ),
                ...(snapshot.mesh.mtlsMode === 'Strict'
                  ? { require_client_certificate: { value: true } }
                  : {}),
              },
            },
          }),
    };
  };
  return snapshot.mesh.mtlsMode === 'Permissive' ? [chain(false), chain(true)] : [chain(false)];
}

function inboundListener(snapshot: Snapshot, idx: Index, options: EnvoyOptions): Resource {
  return inboundListenerOf(
    inboundPorts(snapshot, idx, options).flatMap((p) => inboundChains(snapshot, idx, p, options)),
  );
}

/** `virtualInbound` with these chains of served pod ports. */
export function inboundListenerOf(served: readonly Resource[]): Resource {
  const chains = [...served];
  // Also what keeps the listener valid with no Service at all (Envoy refuses one without chains).
  chains.push({
    name: SIDECAR.inboundBlackHoleChain,
    filter_chain_match: { destination_port: { value: PROXY_PORTS.inbound } },
    filters: [tcpProxy(SIDECAR.blackHoleCluster, { cluster: SIDECAR.blackHoleCluster })],
  });
  return {
    name: SIDECAR.inboundListener,
    address: socketAddress('0.0.0.0', PROXY_PORTS.inbound),
    traffic_direction: 'INBOUND',
    listener_filters: [
      listenerFilter(FILTER.originalDst, TYPE.originalDst),
      // always present, so switching the mesh between Strict and Permissive changes filter chains
      // only, which Envoy updates without draining the listener
      listenerFilter(FILTER.tlsInspector, TYPE.tlsInspector),
    ],
    filter_chains: byName(chains),
  };
}

/** `virtualOutbound` and `virtualInbound`. */
export function envoyListeners(snapshot: Snapshot, options: EnvoyOptions): Resource[] {
  const idx = index(snapshot);
  return byName([outboundListener(snapshot, idx, options), inboundListener(snapshot, idx, options)]);
}

// ---------------------------------------------------------------------------------------------
// Routes

const sidecarClusterOf = (service: Service, port: ServicePort, options: Options): string =>
  sidecarOutboundCluster(ns(service), nameOf(service), port.port, clusterDomainOf(options));

/** One RouteConfiguration per captured HTTP Service port, named by its outbound chain's RDS. */
export function envoyRouteConfigurations(snapshot: Snapshot, options: EnvoyOptions): Resource[] {
  const idx = index(snapshot);
  return byName(
    outboundPorts(snapshot, options)
      .filter((p) => p.protocol === 'http')
      .map((p) => envoyRouteOf(idx, p, options)),
  );
}

/** The RouteConfiguration of one captured HTTP Service port. */
export function envoyRouteOf(idx: Index, p: OutboundPort, options: EnvoyOptions): Resource {
  const { service, port } = p;
  const name = sidecarOutboundRoute(ns(service), nameOf(service), port.port, clusterDomainOf(options));
  return {
    name,
    virtual_hosts: [
      {
        name,
        domains: ['*'],
        routes: [
          {
            name: 'default',
            match: { prefix: '/' },
            route: {
              ...routeAction(idx, service, port, options, sidecarClusterOf),
              timeout: NO_TIMEOUT,
              ...routeResilience(idx.policy(service)?.spec.resilience),
            },
          },
        ],
      },
    ],
  };
}

// ---------------------------------------------------------------------------------------------
// Clusters and endpoints

/** The application's protocol goes upstream unchanged: HTTP/1.1 as HTTP/1.1, h2 and gRPC as h2. */
const HTTP_PROTOCOL_OPTIONS: Message = {
  [TYPE.httpProtocolOptions.slice(TYPE.httpProtocolOptions.lastIndexOf('/') + 1)]: {
    '@type': TYPE.httpProtocolOptions,
    use_downstream_protocol_config: { http_protocol_options: {}, http2_protocol_options: {} },
  },
};

function limits(resilience: Resilience | undefined): Message {
  const fields = clusterResilience(resilience);
  const given = (fields.circuit_breakers as { thresholds: Message[] } | undefined)?.thresholds[0];
  return {
    ...fields,
    circuit_breakers: {
      thresholds: [
        {
          max_connections: { value: UNLIMITED },
          max_pending_requests: { value: UNLIMITED },
          max_requests: { value: UNLIMITED },
          max_retries: { value: UNLIMITED },
          ...given,
        },
      ],
    },
  };
}

/**
 * An EDS Cluster (mTLS, the policy's limits) per port of every mesh Service, like the gRPC flavor's;
 * `PassthroughCluster`, `BlackHoleCluster`, and a STATIC `inbound|<podPort>||` to the application
 * on localhost per pod port `virtualInbound` serves.
 */
export function envoyClusters(snapshot: Snapshot, options: EnvoyOptions): Resource[] {
  const idx = index(snapshot);
  const outbound = meshServices(snapshot, options).flatMap((service) =>
    portsOf(service).map((port) => envoyClusterOf(snapshot, idx, service, port, options)),
  );
  const podPorts = [...new Set(inboundPorts(snapshot, idx, options).map((p) => p.podPort))];
  return byName([...outbound, ...podPorts.map(inboundClusterOf), ...fixedClusters()]);
}

/** The EDS Cluster of one port of a mesh Service. */
export function envoyClusterOf(
  snapshot: Snapshot,
  idx: Index,
  service: Service,
  port: ServicePort,
  options: EnvoyOptions,
): Resource {
  const name = sidecarClusterOf(service, port, options);
  return {
    name,
    type: 'EDS',
    eds_cluster_config: { eds_config: ADS, service_name: name },
    ...limits(idx.policy(service)?.spec.resilience),
    typed_extension_protocol_options: HTTP_PROTOCOL_OPTIONS,
    transport_socket: {
      name: FILTER.tls,
      typed_config: {
        '@type': TYPE.upstreamTlsContext,
        common_tls_context: commonTls(options.sdsConfig, serverIdentity(snapshot, service)),
      },
    },
  };
}

/** The STATIC `inbound|<podPort>||` Cluster: the application on localhost. */
export function inboundClusterOf(podPort: number): Resource {
  return {
    name: sidecarInboundCluster(podPort),
    type: 'STATIC',
    load_assignment: {
      cluster_name: sidecarInboundCluster(podPort),
      endpoints: [{ lb_endpoints: [{ endpoint: { address: socketAddress('127.0.0.1', podPort) } }] }],
    },
    ...limits(undefined),
    typed_extension_protocol_options: HTTP_PROTOCOL_OPTIONS,
  };
}

/** `PassthroughCluster` and `BlackHoleCluster`. */
export function fixedClusters(): Resource[] {
  return [
    {
      name: SIDECAR.passthroughCluster,
      type: 'ORIGINAL_DST',
      lb_policy: 'CLUSTER_PROVIDED',
      ...limits(undefined),
    },
    { name: SIDECAR.blackHoleCluster, type: 'STATIC' },
  ];
}

/** The gRPC flavor's ClusterLoadAssignments of the mesh Services, under the Envoy Clusters' names. */
export function envoyClusterLoadAssignments(snapshot: Snapshot, options: EnvoyOptions): LoadAssignment[] {
  const mesh = new Set(
    meshServices(snapshot, options).flatMap((s) =>
      portsOf(s).map((p) => outboundCluster(ns(s), nameOf(s), p.port, clusterDomainOf(options))),
    ),
  );
  return clusterLoadAssignments(snapshot, options)
    .filter((cla) => mesh.has(cla.cluster_name))
    .map(sidecarLoadAssignment)
    .sort((a, b) => compareStrings(a.cluster_name, b.cluster_name));
}

/** A gRPC flavor's ClusterLoadAssignment under its Envoy Cluster's name. */
export const sidecarLoadAssignment = (cla: LoadAssignment): LoadAssignment => ({
  ...cla,
  cluster_name: `${SIDECAR_PREFIX}${cla.cluster_name}`,
});

/** Every resource an Envoy sidecar is served, by type URL (the shape `resources()` has). */
export function envoyResources(snapshot: Snapshot, options: EnvoyOptions) {
  return {
    [TYPE.listener]: envoyListeners(snapshot, options),
    [TYPE.routeConfiguration]: envoyRouteConfigurations(snapshot, options),
    [TYPE.cluster]: envoyClusters(snapshot, options),
    [TYPE.clusterLoadAssignment]: envoyClusterLoadAssignments(snapshot, options),
  };
}
