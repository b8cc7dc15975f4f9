/**
 * The Envoy v3 API, loaded with `@grpc/proto-loader` from the protos `@grpc/grpc-js-xds` ships
 * (`deps/envoy-api`, `xds`, `googleapis`, `protoc-gen-validate`), and the codec between the plain
 * objects the builders return and protobuf bytes.
 *
 * The builders' objects are in the shape protobufjs' `fromObject` takes with `keepCase: true`:
 * snake_case field names (as in the .proto files and Envoy's docs), enums by name, `Duration` as
 * `{seconds, nanos}`, wrappers as `{value}`, and every `google.protobuf.Any` (`typed_config`,
 * `api_listener`) in its proto3 JSON form `{'@type': <type URL>, ...fields}`. protobufjs encodes such
 * an Any as `{type_url, value: <encoded message>}`, and decodes it back when asked for JSON
 * (`toObject({json: true})`), so `decode(encode(x))` gives `x` back, minus proto3 default values.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { addCommonProtos, loadProtosWithOptionsSync } from '@grpc/proto-loader/build/src/util.js';

/** The protobufjs Root proto-loader returns (protobufjs is proto-loader's, so its type comes through it). */
export type ProtoRoot = ReturnType<typeof loadProtosWithOptionsSync>;

/** A protobuf message as a plain object (see the module comment for its conventions). */
export type Message = { [field: string]: unknown };

export const TYPE_URL_PREFIX = 'type.googleapis.com/';

/** Type URLs of the resources and typed configs the builders produce. */
export const TYPE = {
  listener: `${TYPE_URL_PREFIX}envoy.config.listener.v3.Listener`,
  routeConfiguration: `${TYPE_URL_PREFIX}envoy.config.route.v3.RouteConfiguration`,
  cluster: `${TYPE_URL_PREFIX}envoy.config.cluster.v3.Cluster`,
  clusterLoadAssignment: `${TYPE_URL_PREFIX}envoy.config.endpoint.v3.ClusterLoadAssignment`,
  httpConnectionManager: `${TYPE_URL_PREFIX}envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager`,
  router: `${TYPE_URL_PREFIX}envoy.extensions.filters.http.router.v3.Router`,
  fault: `${TYPE_URL_PREFIX}envoy.extensions.filters.http.fault.v3.HTTPFault`,
  rbac: `${TYPE_URL_PREFIX}envoy.extensions.filters.http.rbac.v3.RBAC`,
  localRateLimit: `${TYPE_URL_PREFIX}envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit`,
  upstreamTlsContext: `${TYPE_URL_PREFIX}envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext`,
  downstreamTlsContext: `${TYPE_URL_PREFIX}envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext`,
  tcpProxy: `${TYPE_URL_PREFIX}envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy`,
  networkRbac: `${TYPE_URL_PREFIX}envoy.extensions.filters.network.rbac.v3.RBAC`,
  originalDst: `${TYPE_URL_PREFIX}envoy.extensions.filters.listener.original_dst.v3.OriginalDst`,
  tlsInspector: `${TYPE_URL_PREFIX}envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector`,
  httpProtocolOptions: `${TYPE_URL_PREFIX}envoy.extensions.upstreams.http.v3.HttpProtocolOptions`,
} as const;

export type ResourceTypeUrl =
  | typeof TYPE.listener
  | typeof TYPE.routeConfiguration
  | typeof TYPE.cluster
  | typeof TYPE.clusterLoadAssignment;

/** The .proto files that define every type in `TYPE` (their imports come along). */
const PROTO_FILES = [
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/filters/http/fault/v3/fault.proto',
  'envoy/extensions/filters/http/rbac/v3/rbac.proto',
  'envoy/extensions/filters/http/local_ratelimit/v3/local_rate_limit.proto',
  'envoy/extensions/transport_sockets/tls/v3/tls.proto',
  // the Envoy sidecar's (envoy.ts)
  'envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto',
  'envoy/extensions/filters/network/rbac/v3/rbac.proto',
  'envoy/extensions/filters/listener/original_dst/v3/original_dst.proto',
  'envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector.proto',
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
];

/** The include directories of the Envoy API inside `@grpc/grpc-js-xds`. */
export function envoyIncludeDirs(): string[] {
  const require = createRequire(import.meta.url);
  const packageRoot = path.dirname(require.resolve('@grpc/grpc-js-xds/package.json'));
  return ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((dir) =>
    path.join(packageRoot, 'deps', dir),
  );
}

let cached: ProtoRoot | undefined;

/** The Envoy API, loaded once per process (parsing the protos takes a few hundred milliseconds). */
export function envoyProtos(): ProtoRoot {
  if (cached === undefined) {
    addCommonProtos();
    cached = loadProtosWithOptionsSync(PROTO_FILES, { keepCase: true, includeDirs: envoyIncludeDirs() });
  }
  return cached;
}

const typeName = (typeUrl: string): string => typeUrl.slice(typeUrl.lastIndexOf('/') + 1);

/**
 * Encodes `message` as the type of `typeUrl`. Throws on a scalar where a message belongs; protobufjs
 * drops fields the type does not have and turns an unknown enum name into the first value, which is
 * why the tests decode again and compare.
 */
export function encode(typeUrl: string, message: Message, root: ProtoRoot = envoyProtos()): Uint8Array {
  const type = root.lookupType(typeName(typeUrl));
  return type.encode(type.fromObject(message)).finish();
}

/** Decodes bytes of type `typeUrl` into the builders' shape (Anys as `{'@type', ...}`, no defaults). */
export function decode(typeUrl: string, bytes: Uint8Array, root: ProtoRoot = envoyProtos()): Message {
  const type = root.lookupType(typeName(typeUrl));
  return type.toObject(type.decode(bytes), { json: true, enums: String, longs: Number });
}

/** A resource as a `google.protobuf.Any`, as a DiscoveryResponse carries it. */
export function toAny(
  typeUrl: ResourceTypeUrl,
  message: Message,
  root: ProtoRoot = envoyProtos(),
): { type_url: string; value: Buffer } {
  return { type_url: typeUrl, value: Buffer.from(encode(typeUrl, message, root)) };
}
