/**
 * The wire side of ADS: the `AggregatedDiscoveryService` definition loaded from the Envoy protos
 * `@grpc/grpc-js-xds` ships, the request and response shapes as `@grpc/proto-loader` gives them
 * (`keepCase`: snake_case fields; `google.protobuf.Struct` keeps proto-loader's camelCase), and the
 * pre-encoding of responses.
 *
 * A DiscoveryResponse is encoded by concatenation: each resource is encoded once per publish into
 * the bytes of one `resources` field (tag, length, `Any`), and a response is the bytes of its three
 * scalar fields followed by those chunks — protobuf allows fields in any order and a repeated field
 * in any number of pieces. So pushing one change to a thousand streams encodes every resource once,
 * and each stream only concatenates buffers.
 */
import type { ServiceDefinition } from '@grpc/grpc-js';
import { loadSync, type MethodDefinition, type Options } from '@grpc/proto-loader';
import { envoyIncludeDirs, TYPE } from '../xds/protos.js';

export const ADS_PROTO = 'envoy/service/discovery/v3/ads.proto';
export const ADS_SERVICE = 'envoy.service.discovery.v3.AggregatedDiscoveryService';

/** The options both the server and the test client load the service with. */
export const loaderOptions = (): Options => ({
  keepCase: true,
  longs: String,
  enums: String,
  defaults: false,
  oneofs: true,
  includeDirs: envoyIncludeDirs(),
});

/** `envoy.config.core.v3.Node`, the fields the server reads. */
export interface ProtoNode {
  id?: string;
  cluster?: string;
  metadata?: ProtoStruct | null;
  user_agent_name?: string;
  user_agent_version?: string;
}

/** `google.protobuf.Struct` as proto-loader decodes it (camelCase, the `kind` oneof named). */
export interface ProtoStruct {
  fields?: Record<string, ProtoValue>;
}
export type ProtoValue = { kind?: string } & Record<string, unknown>;

export interface DiscoveryRequest {
  version_info?: string;
  node?: ProtoNode | null;
  resource_names?: string[];
  type_url?: string;
  response_nonce?: string;
  error_detail?: { code?: number; message?: string } | null;
}

export interface DiscoveryResponse {
  version_info?: string;
  resources?: { type_url: string; value: Buffer }[];
  type_url?: string;
  nonce?: string;
}

type AdsMethod = MethodDefinition<DiscoveryRequest, DiscoveryResponse>;

let loaded: AdsMethod | undefined;

/** The StreamAggregatedResources method as proto-loader defines it (loaded once per process). */
export function streamAggregatedResources(): AdsMethod {
  if (loaded === undefined) {
    const pkg = loadSync(ADS_PROTO, loaderOptions());
    const service = pkg[ADS_SERVICE] as Record<string, AdsMethod>;
    loaded = service.StreamAggregatedResources!;
  }
  return loaded;
}

/**
 * The service definition the server registers: its responses are written as bytes already encoded
 * (`encodeResponse`), so grpc-js passes them through instead of encoding them again per stream.
 */
export function adsServiceDefinition(): ServiceDefinition {
  const method = streamAggregatedResources();
  return {
    StreamAggregatedResources: {
      ...method,
      responseSerialize: (value: Buffer | DiscoveryResponse) =>
        Buffer.isBuffer(value) ? value : method.responseSerialize(value),
    },
  };
}

/** One resource as the bytes of one `resources` field of a DiscoveryResponse. */
export function resourceChunk(typeUrl: string, encoded: Uint8Array): Buffer {
  return streamAggregatedResources().responseSerialize({
    resources: [
      { type_url: typeUrl, value: Buffer.from(encoded.buffer, encoded.byteOffset, encoded.length) },
    ],
  });
}

/** A whole DiscoveryResponse: its scalar fields, then the pre-encoded resources. */
export function encodeResponse(
  head: { version_info: string; type_url: string; nonce: string },
  chunks: readonly Buffer[],
): Buffer {
  return Buffer.concat([streamAggregatedResources().responseSerialize(head), ...chunks]);
}

/** For Listener and Cluster an empty first request means "everything" (xDS wildcard). */
export const WILDCARD_TYPES: ReadonlySet<string> = new Set([TYPE.listener, TYPE.cluster]);

/** The name `*` subscribes to everything (explicit wildcard). */
export const WILDCARD = '*';

const SHORT: Record<string, string> = {
  [TYPE.listener]: 'lds',
  [TYPE.routeConfiguration]: 'rds',
  [TYPE.cluster]: 'cds',
  [TYPE.clusterLoadAssignment]: 'eds',
};

/** The `type` label of the metrics and logs: `lds`, `rds`, `cds`, `eds`, else the message name. */
export const typeLabel = (typeUrl: string): string =>
  SHORT[typeUrl] ?? typeUrl.slice(typeUrl.lastIndexOf('/') + 1);

/**
 * The order a change reaching several types is pushed in on one stream: clusters and endpoints before
 * the listeners and routes that refer to them (the protocol's make-before-break order).
 */
const PUSH_ORDER = [TYPE.cluster, TYPE.clusterLoadAssignment, TYPE.listener, TYPE.routeConfiguration];
export const pushOrder = (a: string, b: string): number => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0);
const rank = (typeUrl: string): number => {
  const i = PUSH_ORDER.indexOf(typeUrl as (typeof PUSH_ORDER)[number]);
  return i === -1 ? PUSH_ORDER.length : i;
};
