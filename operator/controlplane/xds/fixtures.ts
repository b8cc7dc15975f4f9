/**
 * Test fixtures (functions with overrides) and the two acceptance checks every generated resource
 * goes through:
 * - `roundTrip`: encoded with the Envoy protos and decoded again, it equals what the builder returned
 *   (minus proto3 defaults): every field exists in the Envoy API with the type the builder gave it;
 * - `grpcAccepts`: `@grpc/grpc-js-xds`' own resource validation (what its xDS client runs before it
 *   ACKs a resource) finds no error.
 */
import assert from 'node:assert/strict';
import './grpc-env.js'; // before @grpc/grpc-js-xds
import { Metadata } from '@grpc/grpc-js';
import * as grpcXds from '@grpc/grpc-js-xds';
import { parseConfig } from '@grpc/grpc-js-xds/build/src/rbac.js';
import { ClusterResourceType } from '@grpc/grpc-js-xds/build/src/xds-resource-type/cluster-resource-type.js';
import { EndpointResourceType } from '@grpc/grpc-js-xds/build/src/xds-resource-type/endpoint-resource-type.js';
import { ListenerResourceType } from '@grpc/grpc-js-xds/build/src/xds-resource-type/listener-resource-type.js';
import { RouteConfigurationResourceType } from '@grpc/grpc-js-xds/build/src/xds-resource-type/route-config-resource-type.js';
import type { XdsDecodeContext } from '@grpc/grpc-js-xds/build/src/xds-resource-type/xds-resource-type.js';
import type { z } from 'zod';
import { servicePolicySpec } from '../../api/index.js';
import { CERTIFICATE_PROVIDER_INSTANCE, FILTER } from './names.js';
import { decode, encode, envoyProtos, toAny, TYPE, type Message, type ResourceTypeUrl } from './protos.js';
import {
  DEFAULT_MESH,
  SERVICE_NAME_LABEL,
  type EndpointSlice,
  type MeshSettings,
  type Service,
  type ServicePolicy,
  type Snapshot,
  type TrafficSplit,
} from './snapshot.js';

// ---------------------------------------------------------------------------------------------
// Fixtures

export function service(
  name = 'checkout',
  overrides: Partial<Service['spec']> = {},
  namespace = 'shop',
): Service {
  return {
    metadata: { name, namespace },
    spec: {
      clusterIP: '10.96.0.10',
      selector: { app: name },
      ports: [{ name: 'grpc', port: 8080, targetPort: 50051, protocol: 'TCP' }],
      ...overrides,
    },
  };
}

export interface EndpointFixture {
  ip: string;
  ready?: boolean;
  zone?: string;
}

export function endpointSlice(
  serviceName = 'checkout',
  endpoints: EndpointFixture[] = [{ ip: '10.1.0.1' }],
  overrides: Partial<EndpointSlice> = {},
  namespace = 'shop',
): EndpointSlice {
  return {
    metadata: { name: `${serviceName}-abcde`, namespace, labels: { [SERVICE_NAME_LABEL]: serviceName } },
    addressType: 'IPv4',
    endpoints: endpoints.map((e) => ({
      addresses: [e.ip],
      conditions: { ready: e.ready ?? true },
      ...(e.zone ? { zone: e.zone } : {}),
    })),
    ports: [{ name: 'grpc', port: 50051, protocol: 'TCP' }],
    ...overrides,
  };
}

/** A ServicePolicy spec as written in YAML (defaults may be left out). */
export type ServicePolicyInput = z.input<typeof servicePolicySpec>;

/** A ServicePolicy with defaults filled as the API server would (the spec goes through zod). */
export function servicePolicy(spec: Partial<ServicePolicyInput> = {}, name = 'checkout'): ServicePolicy {
  return {
    metadata: { name, namespace: 'shop', creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: servicePolicySpec.parse({ targetRef: { name: 'checkout' }, ...spec }),
  };
}

/** A TrafficSplit of `checkout` between `checkout-stable` and `checkout-canary`; `null`: no status yet. */
export function trafficSplit(
  weights: { stable: number; canary: number } | null = { stable: 90, canary: 10 },
): TrafficSplit {
  return {
    metadata: { name: 'checkout', namespace: 'shop' },
    spec: {
      targetRef: { name: 'checkout' },
      backends: { stable: { name: 'checkout-stable' }, canary: { name: 'checkout-canary' } },
    },
    ...(weights ? { status: { weights } } : {}),
  };
}

export function snapshot(overrides: Partial<Snapshot> = {}, mesh: Partial<MeshSettings> = {}): Snapshot {
  return {
    services: [service()],
    endpointSlices: [endpointSlice()],
    servicePolicies: [],
    trafficSplits: [],
    ...overrides,
    mesh: { ...DEFAULT_MESH, ...mesh },
  };
}

// ---------------------------------------------------------------------------------------------
// Acceptance checks

/**
 * `value` without proto3 default scalars (0, false, '', empty lists), which the wire format drops —
 * except the `value` of a wrapper (`{value: 0}`), which protobufjs gives back.
 */
export function withoutDefaults(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutDefaults);
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length === 1 && entries[0]![0] === 'value') return value;
    const out: Message = {};
    for (const [k, v] of entries) {
      if (v === 0 || v === false || v === '' || (Array.isArray(v) && v.length === 0) || v === undefined)
        continue;
      out[k] = withoutDefaults(v);
    }
    return out;
  }
  return value;
}

/** Encodes and decodes `resource` with the Envoy protos and asserts nothing was lost or changed. */
export function roundTrip(typeUrl: ResourceTypeUrl, resource: Message): Message {
  const decoded = decode(typeUrl, encode(typeUrl, resource));
  assert.deepEqual(decoded, withoutDefaults(resource));
  return decoded;
}

let registered = false;

const TYPES = {
  [TYPE.listener]: () => ListenerResourceType.get(),
  [TYPE.routeConfiguration]: () => RouteConfigurationResourceType.get(),
  [TYPE.cluster]: () => ClusterResourceType.get(),
  [TYPE.clusterLoadAssignment]: () => EndpointResourceType.get(),
};

/** Asserts that `@grpc/grpc-js-xds` validates `resource` without error, as its client does before an ACK. */
export function grpcAccepts(typeUrl: ResourceTypeUrl, resource: Message): void {
  if (!registered) {
    grpcXds.register(); // registers the router, fault and RBAC HTTP filters the validation looks up
    registered = true;
  }
  const context = {
    server: { serverUri: 'control-plane:15010', channelCredentials: {}, serverFeatures: [] },
    bootstrap: { certificateProviders: { [CERTIFICATE_PROVIDER_INSTANCE]: {} } },
  } as unknown as XdsDecodeContext;
  const result = TYPES[typeUrl]().decode(context, toAny(typeUrl, resource));
  assert.equal(result.error, undefined, `gRPC refuses ${result.name}: ${result.error}`);
}

/** Both checks. */
export function assertAccepted(typeUrl: ResourceTypeUrl, resources: readonly Message[]): void {
  for (const resource of resources) {
    roundTrip(typeUrl, resource);
    grpcAccepts(typeUrl, resource);
  }
}

// ---------------------------------------------------------------------------------------------
// RBAC, evaluated by gRPC's own engine

export interface Request {
  /** The caller's SPIFFE ID (URI SAN of its certificate); no client certificate when absent. */
  identity?: string;
  sourceIp?: string;
  port?: number;
  path?: string;
  method?: string;
}

/** The HTTP filters of a server Listener's (single) filter chain. */
export function serverHttpFilters(listener: Message): { name: string; typed_config: Message }[] {
  const chains = listener.filter_chains as { filters: { typed_config: Message }[] }[];
  return chains[0]!.filters[0]!.typed_config.http_filters as { name: string; typed_config: Message }[];
}

/**
 * Whether a gRPC server given `listener` lets `request` through: every RBAC filter, encoded, decoded
 * as `@grpc/grpc-js-xds` decodes it and evaluated by its RBAC engine, must accept it.
 */
export function grpcAuthorizes(listener: Message, request: Request): boolean {
  const headers = new Metadata();
  headers.set(':method', request.method ?? 'POST');
  const info = {
    tls: request.identity !== undefined,
    peerCertificate:
      request.identity === undefined
        ? null
        : { subjectaltname: `URI:${request.identity}`, subject: { CN: 'workload' } as never },
    sourceIp: request.sourceIp ?? '10.2.0.9',
    headers,
    urlPath: request.path ?? '/shop.Checkout/Pay',
    destinationIp: '10.1.0.1',
    destinationPort: request.port ?? 50051,
  };
  const rbacType = envoyProtos().lookupType('envoy.extensions.filters.http.rbac.v3.RBAC');
  return serverHttpFilters(listener)
    .filter((f) => f.name === FILTER.rbacAllow || f.name === FILTER.rbacDeny)
    .every((f) => {
      const decoded = rbacType.toObject(rbacType.decode(encode(TYPE.rbac, f.typed_config)), {
        longs: String,
        enums: String,
        defaults: true,
        oneofs: true,
      }) as { rules: Parameters<typeof parseConfig>[0] };
      return parseConfig(decoded.rules).apply(info);
    });
}
