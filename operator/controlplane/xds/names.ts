/**
 * Every xDS resource name the control plane serves, in one place: the builders, the ADS server
 * (which parses the names proxies ask for) and the injector (which writes the gRPC bootstrap's
 * `server_listener_resource_name_template`) all come here.
 *
 * | resource | name |
 * | --- | --- |
 * | outbound Listener (gRPC `xds:///` target) and its RouteConfiguration | `<svc>.<ns>.svc.<clusterDomain>:<port>` |
 * | Cluster and ClusterLoadAssignment | `outbound|<port>||<svc>.<ns>.svc.<clusterDomain>` (Istio's form) |
 * | inbound (server) Listener | `grpc/server?xds.resource.listening_address=<ip>:<port>` |
 * | inbound RouteConfiguration (inline) | `inbound|<port>||<svc>.<ns>.svc.<clusterDomain>` |
 *
 * Envoy sidecars (`envoy.ts`) get their own resources from the same ADS server. They carry Istio's
 * names where the gRPC flavor has no resource of that name (`virtualOutbound`, `virtualInbound`,
 * `PassthroughCluster`, `BlackHoleCluster`, `inbound|<podPort>||`), and the gRPC flavor's name
 * prefixed with `sidecar~` where it has one (`sidecar~outbound|<port>||<host>` Clusters and
 * ClusterLoadAssignments, `sidecar~<host>:<port>` RouteConfigurations), so no name means two things.
 *
 * A gRPC client dialling `xds:///checkout.shop.svc.cluster.local:8080` asks for the Listener of that
 * exact name, so the outbound name is the target a user writes. An xDS-enabled gRPC server bound to
 * `10.1.2.3:8080` asks for its template with `%s` replaced by `10.1.2.3:8080`.
 */

export const DEFAULT_CLUSTER_DOMAIN = 'cluster.local';

/** The `server_listener_resource_name_template` the injector writes into every gRPC bootstrap. */
export const SERVER_LISTENER_TEMPLATE = 'grpc/server?xds.resource.listening_address=%s';

/** The certificate provider instance (gRPC bootstrap `certificate_providers`) holding the workload certificate and the mesh CA. */
export const CERTIFICATE_PROVIDER_INSTANCE = 'meshwright';

/** The HTTP filter names in a connection manager (unique per HttpConnectionManager). */
export const FILTER = {
  fault: 'envoy.filters.http.fault',
  rbacDeny: 'meshwright.rbac.deny',
  rbacAllow: 'meshwright.rbac.allow',
  localRateLimit: 'envoy.filters.http.local_ratelimit',
  router: 'envoy.filters.http.router',
  httpConnectionManager: 'envoy.filters.network.http_connection_manager',
  tls: 'envoy.transport_sockets.tls',
  tcpProxy: 'envoy.filters.network.tcp_proxy',
  originalDst: 'envoy.filters.listener.original_dst',
  tlsInspector: 'envoy.filters.listener.tls_inspector',
} as const;

/** `checkout.shop.svc.cluster.local`. */
export const serviceHost = (
  namespace: string,
  name: string,
  clusterDomain = DEFAULT_CLUSTER_DOMAIN,
): string => `${name}.${namespace}.svc.${clusterDomain}`;

/** The outbound Listener and RouteConfiguration of one Service port: `checkout.shop.svc.cluster.local:8080`. */
export const outboundListener = (
  namespace: string,
  name: string,
  port: number,
  clusterDomain = DEFAULT_CLUSTER_DOMAIN,
): string => `${serviceHost(namespace, name, clusterDomain)}:${port}`;
export const outboundRoute = outboundListener;

/** The Cluster and ClusterLoadAssignment of one Service port: `outbound|8080||checkout.shop.svc.cluster.local`. */
export const outboundCluster = (
  namespace: string,
  name: string,
  port: number,
  clusterDomain = DEFAULT_CLUSTER_DOMAIN,
): string => `outbound|${port}||${serviceHost(namespace, name, clusterDomain)}`;

/** The inbound route configuration (inline in the server Listener) of one Service port. */
export const inboundRoute = (
  namespace: string,
  name: string,
  port: number,
  clusterDomain = DEFAULT_CLUSTER_DOMAIN,
): string => `inbound|${port}||${serviceHost(namespace, name, clusterDomain)}`;

/** `ip:port`, with brackets around an IPv6 address as gRPC formats the bound address. */
export const hostPort = (ip: string, port: number): string =>
  ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;

/** The server Listener an xDS-enabled gRPC server bound to `ip:port` asks for. */
export const serverListener = (ip: string, port: number): string =>
  SERVER_LISTENER_TEMPLATE.replace('%s', hostPort(ip, port));

/** The SPIFFE identity of a service account in the mesh (one definition, shared with the installation). */
export { spiffeId } from '../../meshinstallation/names.js';

/** The prefix every identity of a namespace starts with. */
export const spiffeNamespacePrefix = (trustDomain: string, namespace: string): string =>
  `spiffe://${trustDomain}/ns/${namespace}/sa/`;

/** The Envoy sidecar's resources and filter chains that exist once per proxy (Istio's names). */
export const SIDECAR = {
  /** The outbound capture listener (`0.0.0.0:15001`). */
  outboundListener: 'virtualOutbound',
  /** The inbound capture listener (`0.0.0.0:15006`). */
  inboundListener: 'virtualInbound',
  /** Connections to anything outside the mesh go to their original destination. */
  passthroughCluster: 'PassthroughCluster',
  passthroughChain: 'PassthroughFilterChain',
  /** A cluster without hosts: connections sent there are closed. */
  blackHoleCluster: 'BlackHoleCluster',
  outboundBlackHoleChain: 'virtualOutbound-blackhole',
  inboundBlackHoleChain: 'virtualInbound-blackhole',
} as const;

/** Marks an Envoy sidecar resource whose gRPC-flavor counterpart has the rest of the name. */
export const SIDECAR_PREFIX = 'sidecar~';

/** The Envoy sidecar's Cluster and ClusterLoadAssignment of one Service port: `sidecar~outbound|8080||checkout.shop.svc.cluster.local`. */
export const sidecarOutboundCluster = (
  namespace: string,
  name: string,
  port: number,
  clusterDomain = DEFAULT_CLUSTER_DOMAIN,
): string => `${SIDECAR_PREFIX}${outboundCluster(namespace, name, port, clusterDomain)}`;

/** The Envoy sidecar's RouteConfiguration of one Service port: `sidecar~checkout.shop.svc.cluster.local:8080`. */
export const sidecarOutboundRoute = (
  namespace: string,
  name: string,
  port: number,
  clusterDomain = DEFAULT_CLUSTER_DOMAIN,
): string => `${SIDECAR_PREFIX}${outboundRoute(namespace, name, port, clusterDomain)}`;

/** The Envoy sidecar's outbound filter chain of one Service port (unique within `virtualOutbound`). */
export const sidecarOutboundChain = outboundCluster;

/** The Envoy sidecar's cluster of the application's own port, on localhost: `inbound|50051||` (Istio's form). */
export const sidecarInboundCluster = (podPort: number): string => `inbound|${podPort}||`;

/**
 * The inbound filter chain of one Service on one pod port (unique within `virtualInbound`):
 * `inbound|50051||checkout.shop.svc.cluster.local`, and `…~plaintext` for the plaintext one of
 * Permissive mode.
 */
export const sidecarInboundChain = (
  namespace: string,
  name: string,
  podPort: number,
  plaintext: boolean,
  clusterDomain = DEFAULT_CLUSTER_DOMAIN,
): string =>
  `inbound|${podPort}||${serviceHost(namespace, name, clusterDomain)}${plaintext ? '~plaintext' : ''}`;
