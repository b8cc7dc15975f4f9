/**
 * The bootstraps the injector gives a meshed pod: how its proxy (Envoy) or its gRPC library finds
 * the control plane, who it says it is, and where its workload certificate lives. Pure functions
 * of the mesh configuration and the pod's service account.
 *
 * The pod's name, namespace and address are not known when the injector runs (a ReplicaSet's pods
 * are named by the API server after admission), so the bootstraps carry `$(POD_NAME)`,
 * `$(POD_NAMESPACE)` and `$(POD_IP)`: the kubelet expands them in a container's args and env values
 * from the downward-API env the injector adds beside them.
 *
 * Both are written in proto3 JSON, the form Envoy's `--config-yaml` and gRPC's bootstrap parser
 * read: snake_case names, enums by name, `{'@type': …}` for Any, plain objects for Struct.
 */
import { stringify } from 'yaml';
import type { MeshConfig } from '../meshconfig.js';
import { IDENTITY_DIR, NODE_METADATA, nodeId, PROXY_PORTS } from '../names.js';
import { CERTIFICATE_PROVIDER_INSTANCE, FILTER, SERVER_LISTENER_TEMPLATE } from '../xds/names.js';
import { TYPE, TYPE_URL_PREFIX, type Message } from '../xds/protos.js';
import {
  CERTIFICATE_REFRESH_INTERVAL,
  ENVOY,
  expand,
  IDENTITY_FILES,
  POD_ENV,
  PROXY_SDS_DIR,
  PROXY_READY_PATH,
  PROXY_SDS_FILE,
  PROXY_STATS_PATH,
} from './names.js';

export const BOOTSTRAP_TYPE = {
  bootstrap: `${TYPE_URL_PREFIX}envoy.config.bootstrap.v3.Bootstrap`,
  secret: `${TYPE_URL_PREFIX}envoy.extensions.transport_sockets.tls.v3.Secret`,
  httpProtocolOptions: `${TYPE_URL_PREFIX}envoy.extensions.upstreams.http.v3.HttpProtocolOptions`,
} as const;

export interface BootstrapInput {
  mesh: MeshConfig;
  /** The pod's ServiceAccount (`default` when the pod names none). */
  serviceAccount: string;
  /** The pod's namespace (the admission request's). */
  namespace: string;
}

const identityFile = (file: keyof typeof IDENTITY_FILES): string => `${IDENTITY_DIR}/${IDENTITY_FILES[file]}`;

/**
 * Node id and metadata, with the pod's name and address left for the kubelet to expand. The node's
 * `cluster` is the workload, `<serviceAccount>.<namespace>`: Envoy names itself by it in traces.
 */
function node({ serviceAccount, namespace }: BootstrapInput, proxyType: 'envoy' | 'grpc'): Message {
  return {
    id: nodeId(expand(POD_ENV.name.name), expand(POD_ENV.namespace.name)),
    cluster: `${serviceAccount}.${namespace}`,
    metadata: {
      [NODE_METADATA.namespace]: expand(POD_ENV.namespace.name),
      [NODE_METADATA.serviceAccount]: serviceAccount,
      [NODE_METADATA.podIp]: expand(POD_ENV.ip.name),
      [NODE_METADATA.proxyType]: proxyType,
    },
  };
}

/** Splits `host:port` (`[v6]:port` allowed); the mesh configuration's schema has checked the form. */
export function splitAddress(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  return {
    host: address.slice(0, colon).replace(/^\[(.*)\]$/, '$1'),
    port: Number(address.slice(colon + 1)),
  };
}

const socketAddress = (address: string, port: number): Message => ({
  socket_address: { address, port_value: port },
});

const staticEndpoint = (cluster: string, address: string, port: number): Message => ({
  cluster_name: cluster,
  endpoints: [{ lb_endpoints: [{ endpoint: { address: socketAddress(address, port) } }] }],
});

/** A listener on every address whose only route sends `path` to Envoy's admin interface. */
function adminPathListener(name: string, port: number, path: string): Message {
  return {
    name,
    address: socketAddress('0.0.0.0', port),
    filter_chains: [
      {
        filters: [
          {
            name: FILTER.httpConnectionManager,
            typed_config: {
              '@type': TYPE.httpConnectionManager,
              stat_prefix: name,
              route_config: {
                name,
                virtual_hosts: [
                  {
                    name,
                    domains: ['*'],
                    routes: [{ match: { path }, route: { cluster: ENVOY.adminCluster } }],
                  },
                ],
              },
              http_filters: [{ name: FILTER.router, typed_config: { '@type': TYPE.router } }],
            },
          },
        ],
      },
    ],
  };
}

/** The port the sidecar serves Prometheus stats on, or undefined when proxy metrics are off. */
export const metricsPort = (mesh: MeshConfig): number | undefined =>
  mesh.observability.metrics.enabled ? mesh.observability.metrics.port : undefined;

/**
 * The Envoy sidecar's bootstrap:
 * - node id `<pod>.<namespace>`, cluster `<serviceAccount>.<namespace>`, and metadata (`NAMESPACE`, `SERVICE_ACCOUNT`, `POD_IP`, `PROXY_TYPE: envoy`);
 * - ADS (Listeners and Clusters, the rest through them) from the control plane's TLS xDS address;
 *   Envoy presents the workload certificate and checks the control plane's serving certificate
 *   against the mesh CA and the Service's DNS name (a SAN of the serving certificate);
 * - admin on 127.0.0.1 only (it can stop the proxy: nothing outside the pod may reach it);
 * - two static listeners in front of admin that expose only `/ready` (the probes' port) and
 *   `/stats/prometheus` (the metrics port, when metrics are on) — Istio's layout.
 *
 * The workload certificate comes through SDS from a file (`envoySdsSecret`), not as a static file
 * name: Envoy re-reads a certificate only when SDS delivered it, and a static one would still be
 * presented on reconnects after cert-manager renewed (and the old one expired). The CA is read
 * once: a new mesh CA needs a restart of the meshed pods anyway.
 */
export function envoyBootstrap(input: BootstrapInput): Message {
  const { mesh } = input;
  const xds = splitAddress(mesh.controlPlane.xdsAddress);
  const metrics = metricsPort(mesh);
  return {
    node: node(input, 'envoy'),
    admin: { address: socketAddress('127.0.0.1', PROXY_PORTS.admin) },
    dynamic_resources: {
      ads_config: {
        api_type: 'GRPC',
        transport_api_version: 'V3',
        grpc_services: [{ envoy_grpc: { cluster_name: ENVOY.xdsCluster } }],
        set_node_on_first_message_only: true,
      },
      lds_config: { ads: {}, resource_api_version: 'V3' },
      cds_config: { ads: {}, resource_api_version: 'V3' },
    },
    static_resources: {
      listeners: [
        adminPathListener(ENVOY.healthListener, PROXY_PORTS.health, PROXY_READY_PATH),
        ...(metrics !== undefined ? [adminPathListener(ENVOY.statsListener, metrics, PROXY_STATS_PATH)] : []),
      ],
      clusters: [
        {
          name: ENVOY.xdsCluster,
          // The Service name resolves to its ClusterIP; kube-proxy spreads connections over replicas.
          type: 'STRICT_DNS',
          load_assignment: staticEndpoint(ENVOY.xdsCluster, xds.host, xds.port),
          typed_extension_protocol_options: {
            [BOOTSTRAP_TYPE.httpProtocolOptions.slice(TYPE_URL_PREFIX.length)]: {
              '@type': BOOTSTRAP_TYPE.httpProtocolOptions,
              explicit_http_config: { http2_protocol_options: {} },
            },
          },
          transport_socket: {
            name: FILTER.tls,
            typed_config: {
              '@type': TYPE.upstreamTlsContext,
              sni: xds.host,
              common_tls_context: {
                tls_certificate_sds_secret_configs: [
                  {
                    name: ENVOY.identitySecret,
                    sds_config: {
                      path_config_source: {
                        path: `${PROXY_SDS_DIR}/${PROXY_SDS_FILE}`,
                        watched_directory: { path: PROXY_SDS_DIR },
                      },
                      resource_api_version: 'V3',
                    },
                  },
                ],
                validation_context: {
                  trusted_ca: { filename: identityFile('ca') },
                  match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { exact: xds.host } }],
                },
              },
            },
          },
        },
        {
          name: ENVOY.adminCluster,
          type: 'STATIC',
          load_assignment: staticEndpoint(ENVOY.adminCluster, '127.0.0.1', PROXY_PORTS.admin),
        },
      ],
    },
  };
}

/** The bootstrap as the YAML text of Envoy's `--config-yaml` argument. */
export const envoyBootstrapYaml = (input: BootstrapInput): string =>
  stringify(envoyBootstrap(input), { lineWidth: 0 });

/**
 * The SDS file Envoy reads its workload certificate from: a DiscoveryResponse with one Secret whose
 * certificate and key are the files cert-manager keeps in the mounted identity Secret. The kubelet
 * updates a Secret volume by swapping a `..data` symlink inside `IDENTITY_DIR`; Envoy watches that
 * directory for the move and reloads both files together.
 *
 * The file has no writer in the pod (the proxy image is upstream Envoy, the root file system is
 * read-only), so the injector puts its text in a pod annotation and the downward API projects it
 * as a file: the same for every pod, and no agent process beside Envoy.
 */
export function envoySdsSecret(): Message {
  return {
    resources: [
      {
        '@type': BOOTSTRAP_TYPE.secret,
        name: ENVOY.identitySecret,
        tls_certificate: {
          certificate_chain: { filename: identityFile('certificate') },
          private_key: { filename: identityFile('privateKey') },
          watched_directory: { path: IDENTITY_DIR },
        },
      },
    ],
  };
}

/**
 * The gRPC xDS bootstrap of a proxyless application (`GRPC_XDS_BOOTSTRAP_CONFIG`):
 * - the control plane's plaintext xDS address with `insecure` channel credentials:
 *   `@grpc/grpc-js-xds` can only reach its xDS server with `insecure` or `google_default`;
 *   `server_features: ['xds_v3']` for the gRPC implementations that still ask for it (the others
 *   ignore features they do not know);
 * - node id and metadata as Envoy's, `PROXY_TYPE: grpc`, and the `locality` gRPC requires;
 * - the server Listener template the control plane names server Listeners by;
 * - the certificate provider the served TLS contexts name: `file_watcher` over the mounted workload
 *   certificate, re-read every `CERTIFICATE_REFRESH_INTERVAL`, so renewals need no restart.
 */
export function grpcBootstrap(input: BootstrapInput): Message {
  return {
    xds_servers: [
      {
        server_uri: input.mesh.controlPlane.xdsPlaintextAddress,
        channel_creds: [{ type: 'insecure' }],
        server_features: ['xds_v3'],
      },
    ],
    node: { ...node(input, 'grpc'), locality: {} },
    server_listener_resource_name_template: SERVER_LISTENER_TEMPLATE,
    certificate_providers: {
      [CERTIFICATE_PROVIDER_INSTANCE]: {
        plugin_name: 'file_watcher',
        config: {
          certificate_file: identityFile('certificate'),
          private_key_file: identityFile('privateKey'),
          ca_certificate_file: identityFile('ca'),
          refresh_interval: CERTIFICATE_REFRESH_INTERVAL,
        },
      },
    },
  };
}
