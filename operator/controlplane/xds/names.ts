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
