/**
 * The names only the injector writes into pods (the ones other parts of the control plane read
 * live in `../names.ts`): container, port and volume names, and the static resource names of the
 * Envoy bootstrap.
 */

/** The Envoy sidecar (a native sidecar: an init container with `restartPolicy: Always`). */
export const PROXY_CONTAINER = 'meshwright-proxy';
/** The init container that installs the traffic capture rules (`meshwright capture`). */
export const INIT_CONTAINER = 'meshwright-init';
/** Container names the injector owns: a pod that already has one, unannotated, is refused. */
export const INJECTED_CONTAINERS = [INIT_CONTAINER, PROXY_CONTAINER] as const;

/** Container port names of the sidecar (IANA_SVC_NAME: at most 15 characters). */
export const PROXY_PORT_NAMES = { health: 'mw-proxy-health', metrics: 'mw-proxy-stats' } as const;

/**
 * The Envoy SDS file that points at the workload certificate, projected from a pod annotation by
 * the downward API (see `envoySdsSecret` for why).
 */
export const PROXY_SDS_ANNOTATION = 'meshwright.io/proxy-sds';
export const PROXY_SDS_VOLUME = 'meshwright-proxy-sds';
export const PROXY_SDS_DIR = '/etc/meshwright/proxy-sds';
export const PROXY_SDS_FILE = 'identity.json';

/** Static resources of the Envoy bootstrap. */
export const ENVOY = {
  /** The cluster Envoy reaches the control plane's ADS server through. */
  xdsCluster: 'meshwright-xds',
  /** Envoy's own admin interface, behind the health and stats listeners. */
  adminCluster: 'meshwright-admin',
  healthListener: 'meshwright-health',
  statsListener: 'meshwright-stats',
  /** The SDS secret holding the workload certificate and key. */
  identitySecret: 'meshwright-identity',
} as const;

/** The environment a container gets from the downward API, for `$(VAR)` expansion in bootstraps. */
export const POD_ENV = {
  name: { name: 'POD_NAME', fieldPath: 'metadata.name' },
  namespace: { name: 'POD_NAMESPACE', fieldPath: 'metadata.namespace' },
  ip: { name: 'POD_IP', fieldPath: 'status.podIP' },
} as const;

/** `$(NAME)`: expanded by the kubelet in a container's args and env values from its own env. */
export const expand = (variable: string): string => `$(${variable})`;

/** The gRPC environment variables the injector sets on proxyless containers. */
export const GRPC_ENV = {
  bootstrapConfig: 'GRPC_XDS_BOOTSTRAP_CONFIG',
  /** Read by `@grpc/grpc-js-xds`; see operator/controlplane/xds/grpc-env.ts. */
  rbac: 'GRPC_XDS_EXPERIMENTAL_RBAC',
} as const;

/** How often a proxyless gRPC application re-reads its certificate files (`file_watcher` plugin). */
export const CERTIFICATE_REFRESH_INTERVAL = '60s';

/** Prometheus' conventional scrape annotations, put on sidecar pods that carry none. */
export const PROMETHEUS_ANNOTATIONS = {
  scrape: 'prometheus.io/scrape',
  port: 'prometheus.io/port',
  path: 'prometheus.io/path',
} as const;
export const PROXY_STATS_PATH = '/stats/prometheus';
export const PROXY_READY_PATH = '/ready';

/** File names cert-manager writes into a certificate Secret. */
export const IDENTITY_FILES = { certificate: 'tls.crt', privateKey: 'tls.key', ca: 'ca.crt' } as const;
