/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-unsafe-call -- resources built as proto3 JSON are untyped here (Obj) */
import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import { describe, it } from 'node:test';
import { envoyBootstrap, envoySdsSecret } from '../injector/bootstrap.js';
import { sidecarMesh } from '../injector/fixtures.test.js';
import {
  envoyClusterLoadAssignments,
  envoyClusters,
  envoyListeners,
  envoyResources,
  envoyRouteConfigurations,
  injectedSidecarSds,
  portProtocol,
  type EnvoyOptions,
  type SidecarSds,
} from './envoy.js';
import {
  endpointSlice,
  grpcAuthorizes,
  roundTrip,
  serverHttpFilters,
  service,
  servicePolicy,
  snapshot,
  trafficSplit,
  type ServicePolicyInput,
} from './fixtures.js';
import { FILTER, SIDECAR, serverListener } from './names.js';
import { envoyProtos, TYPE, type Message, type ResourceTypeUrl } from './protos.js';
import { clusterLoadAssignments, listeners, resources } from './resources.js';
import type { Snapshot } from './snapshot.js';

const HOST = 'checkout.shop.svc.cluster.local';
const CLUSTER = `sidecar~outbound|8080||${HOST}`;
const ROUTE = `sidecar~${HOST}:8080`;
const OPTIONS: EnvoyOptions = { sdsConfig: injectedSidecarSds() };

// ---------------------------------------------------------------------------------------------
// Helpers

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const named = (list: readonly Message[], name: string): Obj => {
  const found = list.find((r) => r.name === name);
  assert.ok(found, `no ${name} in ${list.map((r) => r.name).join(', ')}`);
  return found;
};

const listener = (s: Snapshot, name: string, options = OPTIONS): Obj =>
  named(envoyListeners(s, options), name);
const outbound = (s: Snapshot, options = OPTIONS) => listener(s, SIDECAR.outboundListener, options);
const inbound = (s: Snapshot, options = OPTIONS) => listener(s, SIDECAR.inboundListener, options);
const chainNames = (l: Obj): string[] => (l.filter_chains as Obj[]).map((c) => c.name);
const hcmOf = (chain: Obj): Obj => chain.filters[0].typed_config;

/** A policy for `checkout`, its spec as written in YAML. */
const policy = (spec: Partial<ServicePolicyInput>) => servicePolicy(spec);

/**
 * The protoc-gen-validate rules of the Envoy API (`(validate.rules)` field options and
 * `(validate.required)` oneofs): what Envoy checks before it even looks at a resource, and why it
 * NACKs one with an empty `stat_prefix` or a port out of range. Anys are checked as their type.
 */
function assertValid(typeName: string, value: Obj, path = typeName): void {
  const type = envoyProtos().lookupType(typeName);
  const fail = (field: string, why: string) => assert.fail(`${path}.${field}: ${why}`);
  for (const field of type.fieldsArray) {
    field.resolve();
    const rules = (field.options ?? {}) as Record<string, unknown>;
    const rule = (key: string) => rules[`(validate.rules).${key}`];
    const v = value[field.name];
    const resolved = field.resolvedType as { fieldsArray?: unknown; fullName: string } | null;
    const isMessage = resolved !== null && 'fieldsArray' in resolved;
    const checkNumber = (n: number, prefix: string) => {
      for (const kind of ['uint32', 'uint64', 'double']) {
        const gt = rule(`${kind}.${prefix}gt`) as number | undefined;
        const gte = rule(`${kind}.${prefix}gte`) as number | undefined;
        const lt = rule(`${kind}.${prefix}lt`) as number | undefined;
        const lte = rule(`${kind}.${prefix}lte`) as number | undefined;
        if (gt !== undefined && !(n > gt)) fail(field.name, `${n} is not > ${gt}`);
        if (gte !== undefined && !(n >= gte)) fail(field.name, `${n} is not >= ${gte}`);
        if (lt !== undefined && !(n < lt)) fail(field.name, `${n} is not < ${lt}`);
        if (lte !== undefined && !(n <= lte)) fail(field.name, `${n} is not <= ${lte}`);
      }
    };
    const checkString = (s: string, prefix: string) => {
      if (rule(`${prefix}string.ignore_empty`) === true && s === '') return;
      const min = rule(`${prefix}string.min_len`) as number | undefined;
      if (min !== undefined && [...s].length < min) fail(field.name, `"${s}" is shorter than ${min}`);
      const max = rule(`${prefix}string.max_bytes`) as number | undefined;
      if (max !== undefined && Buffer.byteLength(s) > max)
        fail(field.name, `"${s}" is longer than ${max} bytes`);
      const pattern = rule(`${prefix}string.pattern`) as string | undefined;
      if (pattern !== undefined && !new RegExp(pattern, 'u').test(s))
        fail(field.name, `"${s}" !~ ${pattern}`);
      const allowed = rule(`${prefix}string.in`) as string | string[] | undefined;
      if (allowed !== undefined && ![allowed].flat().includes(s))
        fail(field.name, `"${s}" is not one of ${[allowed].flat().join(', ')}`);
    };
    const recurse = (item: unknown, at: string) => {
      if (!isMessage || item === null || typeof item !== 'object') return;
      if (resolved.fullName === '.google.protobuf.Any') {
        const url = (item as Obj)['@type'] as string;
        assertValid(url.slice(url.lastIndexOf('/') + 1), item, `${at}<${url}>`);
      } else if (!resolved.fullName.startsWith('.google.protobuf.')) {
        assertValid(resolved.fullName.slice(1), item, at);
      }
    };
    if (field.map) {
      const pairs = Object.entries((v ?? {}) as Obj);
      const min = rule('map.min_pairs') as number | undefined;
      if (min !== undefined && pairs.length < min) fail(field.name, `fewer than ${min} entries`);
      for (const [k, item] of pairs) recurse(item, `${path}.${field.name}[${k}]`);
    } else if (field.repeated) {
      const items = (v ?? []) as unknown[];
      const min = rule('repeated.min_items') as number | undefined;
      if (min !== undefined && items.length < min) fail(field.name, `fewer than ${min} items`);
      if (
        rule('repeated.unique') === true &&
        new Set(items.map((i) => JSON.stringify(i))).size !== items.length
      )
        fail(field.name, 'items are not unique');
      items.forEach((item, i) => {
        if (typeof item === 'string') checkString(item, 'repeated.items.');
        if (typeof item === 'number') checkNumber(item, 'items.');
        recurse(item, `${path}.${field.name}[${i}]`);
      });
    } else {
      const required = ['message.required', 'any.required', 'duration.required'].some(
        (k) => rule(k) === true,
      );
      // a oneof member's rules apply only when it is the one set
      if (field.partOf !== null && v === undefined) continue;
      if (required && v === undefined) fail(field.name, 'is required');
      if (field.type === 'string') checkString((v as string | undefined) ?? '', '');
      const isWrapper = isMessage && /^\.google\.protobuf\.\w+Value$/.test(resolved.fullName);
      if (isWrapper && v !== undefined) checkNumber(Number((v as Obj).value ?? 0), '');
      if (!isMessage && typeof (v ?? 0) === 'number') checkNumber(Number(v ?? 0), '');
      recurse(v, `${path}.${field.name}`);
    }
  }
  for (const oneof of type.oneofsArray) {
    if ((oneof.options ?? {})['(validate.required)'] !== true) continue;
    if (!oneof.fieldsArray.some((f) => value[f.name] !== undefined))
      assert.fail(`${path}: one of ${oneof.fieldsArray.map((f) => f.name).join(', ')} is required`);
  }
}

/** Every resource round-trips through the Envoy protos, passes their validation rules, and has a unique name. */
function assertEnvoyAccepts(all: ReturnType<typeof envoyResources>): void {
  for (const [typeUrl, list] of Object.entries(all) as [ResourceTypeUrl, Message[]][]) {
    const names = list.map((r) => (r.name ?? r.cluster_name) as string);
    assert.equal(new Set(names).size, names.length, `duplicate names in ${typeUrl}: ${names.join(', ')}`);
    for (const resource of list) {
      roundTrip(typeUrl, resource);
      assertValid(typeUrl.slice(typeUrl.lastIndexOf('/') + 1), resource);
    }
  }
}

/** What Envoy refuses in a listener: two filter chains with the same match, or two chains of one name. */
function assertChainsDistinct(l: Obj): void {
  const keys = new Set<string>();
  for (const chain of l.filter_chains as Obj[]) {
    const m = chain.filter_chain_match ?? {};
    const prefixes = (m.prefix_ranges ?? [undefined]) as (Obj | undefined)[];
    for (const prefix of prefixes) {
      const key = JSON.stringify([m.destination_port?.value, prefix, m.transport_protocol]);
      assert.ok(!keys.has(key), `${l.name}: two filter chains match ${key}`);
      keys.add(key);
    }
  }
  assert.equal(new Set(chainNames(l)).size, chainNames(l).length);
}

/**
 * The filter chain Envoy picks for a connection: by destination port (an exact match before
 * none), then destination address (the longest prefix before none), then transport protocol (an
 * exact match before none) — each stage keeps only the most specific candidates — else the default
 * chain. Prefixes here are single addresses (/32, /128), which is all the builders write.
 */
function pickChain(
  l: Obj,
  to: { ip: string; port: number; transport?: 'tls' | 'raw_buffer' },
): string | undefined {
  let candidates = l.filter_chains as Obj[];
  const stage = (matches: (c: Obj) => boolean, unset: (c: Obj) => boolean) => {
    const exact = candidates.filter(matches);
    candidates = exact.length > 0 ? exact : candidates.filter(unset);
  };
  stage(
    (c) => c.filter_chain_match?.destination_port?.value === to.port,
    (c) => c.filter_chain_match?.destination_port === undefined,
  );
  stage(
    (c) => (c.filter_chain_match?.prefix_ranges ?? []).some((r: Obj) => r.address_prefix === to.ip),
    (c) => (c.filter_chain_match?.prefix_ranges ?? []).length === 0,
  );
  stage(
    (c) => c.filter_chain_match?.transport_protocol === (to.transport ?? 'raw_buffer'),
    (c) => c.filter_chain_match?.transport_protocol === undefined,
  );
  assert.ok(candidates.length <= 1, `ambiguous: ${candidates.map((c) => c.name).join(', ')}`);
  return candidates[0]?.name ?? l.default_filter_chain?.name;
}

/** A snapshot with an apex Service split between stable and canary, each with one endpoint. */
const canarySnapshot = (weights: { stable: number; canary: number } | null = { stable: 90, canary: 10 }) =>
  snapshot({
    services: [
      service(),
      service('checkout-stable', { clusterIP: '10.96.0.11' }),
      service('checkout-canary', { clusterIP: '10.96.0.12' }),
    ],
    endpointSlices: [
      endpointSlice('checkout-stable', [{ ip: '10.1.0.2' }]),
      endpointSlice('checkout-canary', [{ ip: '10.1.0.3' }]),
    ],
    trafficSplits: [trafficSplit(weights)],
  });

// ---------------------------------------------------------------------------------------------

describe('the certificates an Envoy sidecar is given', () => {
  it('are the SDS secret the injector projects into the pod and the bootstrap uses, and the mounted CA', () => {
    const sds = injectedSidecarSds();
    const bootstrap: Obj = envoyBootstrap({
      mesh: sidecarMesh(),
      serviceAccount: 'checkout',
      namespace: 'shop',
    });
    const xdsTls = bootstrap.static_resources.clusters[0].transport_socket.typed_config.common_tls_context;
    assert.deepEqual(sds.certificate, xdsTls.tls_certificate_sds_secret_configs[0]);
    assert.deepEqual(sds.trustedCa, { file: xdsTls.validation_context.trusted_ca.filename });
    const file: Obj = envoySdsSecret();
    assert.deepEqual(
      file.resources.map((r: Obj) => r.name),
      [sds.certificate.name],
    );
  });
});

describe('virtualOutbound', () => {
  it('listens on 15001 and restores the original destination', () => {
    const l = outbound(snapshot());
    assert.deepEqual(l.address, { socket_address: { address: '0.0.0.0', port_value: 15001 } });
    assert.equal(l.traffic_direction, 'OUTBOUND');
    assert.deepEqual(
      l.listener_filters.map((f: Obj) => [f.name, f.typed_config['@type']]),
      [[FILTER.originalDst, TYPE.originalDst]],
    );
    assert.equal(l.use_original_dst, undefined);
  });

  it('captures each Service port on its ClusterIP and sends it to the port route over RDS', () => {
    const s = snapshot({
      services: [
        service('checkout', {
          ports: [
            { name: 'grpc', port: 8080, targetPort: 50051 },
            { name: 'http-admin', port: 9000 },
          ],
        }),
        service('payments', { clusterIP: 'fd00::20', ports: [{ name: 'grpc-api', port: 8080 }] }),
      ],
    });
    const l = outbound(s);
    assert.deepEqual(chainNames(l), [
      `outbound|8080||${HOST}`,
      `outbound|8080||payments.shop.svc.cluster.local`,
      `outbound|9000||${HOST}`,
      SIDECAR.outboundBlackHoleChain,
    ]);
    const chain = named(l.filter_chains, `outbound|9000||${HOST}`);
    assert.deepEqual(chain.filter_chain_match, {
      prefix_ranges: [{ address_prefix: '10.96.0.10', prefix_len: { value: 32 } }],
      destination_port: { value: 9000 },
    });
    assert.deepEqual(
      named(l.filter_chains, 'outbound|8080||payments.shop.svc.cluster.local').filter_chain_match
        .prefix_ranges,
      [{ address_prefix: 'fd00::20', prefix_len: { value: 128 } }],
    );
    const hcm = hcmOf(chain);
    assert.equal(hcm['@type'], TYPE.httpConnectionManager);
    assert.deepEqual(hcm.rds, {
      route_config_name: `sidecar~${HOST}:9000`,
      config_source: { ads: {}, resource_api_version: 'V3' },
    });
    assert.deepEqual(
      hcm.http_filters.map((f: Obj) => f.name),
      [FILTER.router],
    );
    assertChainsDistinct(l);
    // which chain a connection meets, by where the application sent it
    assert.equal(pickChain(l, { ip: '10.96.0.10', port: 9000 }), `outbound|9000||${HOST}`);
    assert.equal(
      pickChain(l, { ip: 'fd00::20', port: 8080 }),
      'outbound|8080||payments.shop.svc.cluster.local',
    );
  });

  it('lets everything outside the mesh pass through, and black-holes connections to itself', () => {
    const l = outbound(snapshot());
    assert.equal(pickChain(l, { ip: '93.184.216.34', port: 443 }), SIDECAR.passthroughChain);
    assert.equal(pickChain(l, { ip: '10.96.0.10', port: 9999 }), SIDECAR.passthroughChain);
    assert.equal(pickChain(l, { ip: '127.0.0.1', port: 15001 }), SIDECAR.outboundBlackHoleChain);
    const tcp = (name: string) =>
      (name === SIDECAR.passthroughChain ? l.default_filter_chain : named(l.filter_chains, name)).filters[0];
    assert.deepEqual(tcp(SIDECAR.passthroughChain).typed_config, {
      '@type': TYPE.tcpProxy,
      stat_prefix: SIDECAR.passthroughCluster,
      cluster: SIDECAR.passthroughCluster,
    });
    assert.equal(tcp(SIDECAR.outboundBlackHoleChain).typed_config.cluster, SIDECAR.blackHoleCluster);
    const passthrough = named(envoyClusters(snapshot(), OPTIONS), SIDECAR.passthroughCluster);
    assert.equal(passthrough.type, 'ORIGINAL_DST');
    assert.equal(passthrough.lb_policy, 'CLUSTER_PROVIDED');
    assert.equal(
      named(envoyClusters(snapshot(), OPTIONS), SIDECAR.blackHoleCluster).load_assignment,
      undefined,
    );
  });

  it('puts the fault filter of the Service policy before the router', () => {
    const s = snapshot({
      servicePolicies: [
        policy({ resilience: { faultInjection: { abort: { grpcStatus: 'UNAVAILABLE', percentage: 5 } } } }),
      ],
    });
    const filters = hcmOf(named(outbound(s).filter_chains, `outbound|8080||${HOST}`)).http_filters as Obj[];
    assert.deepEqual(
      filters.map((f) => f.name),
      [FILTER.fault, FILTER.router],
    );
    // the same config the gRPC outbound listener carries
    const grpc = named(listeners(s), `${HOST}:8080`).api_listener.api_listener.http_filters[0];
    assert.deepEqual(filters[0], grpc);
  });

  it('proxies non-HTTP ports as TCP, and leaves UDP, headless, selectorless and non-member Services alone', () => {
    const s = snapshot({
      services: [
        service('db', { clusterIP: '10.96.0.30', ports: [{ name: 'postgres', port: 5432 }] }),
        service('dns', {
          clusterIP: '10.96.0.31',
          ports: [
            { name: 'dns', port: 53, protocol: 'UDP' },
            { name: 'dns-tcp', port: 53, protocol: 'TCP' },
          ],
        }),
        service('stateful', { clusterIP: 'None', ports: [{ name: 'grpc', port: 8080 }] }),
        service('kubernetes', {
          clusterIP: '10.96.0.1',
          selector: {},
          ports: [{ name: 'https', port: 443 }],
        }),
        service('elsewhere', { clusterIP: '10.96.0.40' }, 'other'),
      ],
      endpointSlices: [],
    });
    const l = outbound(s, { ...OPTIONS, memberNamespaces: ['shop'] });
    assert.deepEqual(chainNames(l), [
      'outbound|53||dns.shop.svc.cluster.local',
      'outbound|5432||db.shop.svc.cluster.local',
      SIDECAR.outboundBlackHoleChain,
    ]);
    const tcp = named(l.filter_chains, 'outbound|5432||db.shop.svc.cluster.local').filters[0];
    assert.deepEqual(tcp.typed_config, {
      '@type': TYPE.tcpProxy,
      stat_prefix: 'outbound_db_shop_5432',
      cluster: 'sidecar~outbound|5432||db.shop.svc.cluster.local',
    });
    for (const [ip, port] of [
      ['10.96.0.1', 443],
      ['10.96.0.40', 8080],
    ] as const) {
      assert.equal(pickChain(l, { ip, port }), SIDECAR.passthroughChain);
    }
    // no Clusters for the Services of other namespaces either
    assert.ok(
      !envoyClusters(s, { ...OPTIONS, memberNamespaces: ['shop'] }).some((c) => c.name.includes('.other.')),
    );
    assert.ok(envoyClusters(s, OPTIONS).some((c) => c.name.includes('elsewhere.other.')));
  });

  it('classifies ports by appProtocol, else by the name up to the first dash', () => {
    const kinds = [
      { name: 'grpc', port: 1 },
      { name: 'grpc-web', port: 1 },
      { name: 'http2-internal', port: 1 },
      { name: 'HTTP', port: 1 },
      { name: 'h2c', port: 1 },
      { name: 'tcp', port: 1, appProtocol: 'kubernetes.io/h2c' },
      { name: 'grpc', port: 1, appProtocol: 'mysql' },
      { name: 'https', port: 1 },
      { name: 'web', port: 1 },
      { port: 1 },
      { name: 'grpc', port: 1, protocol: 'SCTP' },
    ].map(portProtocol);
    assert.deepEqual(kinds, [
      'http',
      'http',
      'http',
      'http',
      'http',
      'http',
      'tcp',
      'tcp',
      'tcp',
      'tcp',
      undefined,
    ]);
  });
});

describe('Envoy route configurations', () => {
  const action = (s: Snapshot, name = ROUTE): Obj =>
    named(envoyRouteConfigurations(s, OPTIONS), name).virtual_hosts[0].routes[0].route;

  it('has one per captured HTTP port, named by the chain RDS, matching any Host on the chosen address', () => {
    const s = snapshot({
      services: [
        service('checkout', {
          ports: [
            { name: 'grpc', port: 8080 },
            { name: 'redis', port: 6379 },
          ],
        }),
      ],
    });
    const routes = envoyRouteConfigurations(s, OPTIONS);
    assert.deepEqual(
      routes.map((r) => r.name),
      [ROUTE],
    );
    const vhost = (routes[0] as Obj).virtual_hosts[0];
    assert.deepEqual(vhost.domains, ['*']);
    // Envoy's default route timeout is 15 s (streams would be cut); gRPC's is none: 0 disables it
    assert.deepEqual(vhost.routes, [
      { name: 'default', match: { prefix: '/' }, route: { cluster: CLUSTER, timeout: {} } },
    ]);
  });

  it('turns TrafficSplit weights into weighted Envoy clusters, and to one backend when the other has none', () => {
    const weighted = action(canarySnapshot({ stable: 90, canary: 10 }));
    assert.deepEqual(weighted.weighted_clusters, {
      clusters: [
        { name: 'sidecar~outbound|8080||checkout-stable.shop.svc.cluster.local', weight: { value: 90 } },
        { name: 'sidecar~outbound|8080||checkout-canary.shop.svc.cluster.local', weight: { value: 10 } },
      ],
    });
    const decoded: Obj = roundTrip(
      TYPE.routeConfiguration,
      named(envoyRouteConfigurations(canarySnapshot(), OPTIONS), ROUTE),
    );
    const sum = decoded.virtual_hosts[0].routes[0].route.weighted_clusters.clusters.reduce(
      (total: number, c: Obj) => total + c.weight.value,
      0,
    );
    assert.equal(sum, 100);
    assert.equal(
      action(canarySnapshot({ stable: 0, canary: 100 })).cluster,
      'sidecar~outbound|8080||checkout-canary.shop.svc.cluster.local',
    );
    assert.equal(
      action(canarySnapshot(null)).cluster,
      'sidecar~outbound|8080||checkout-stable.shop.svc.cluster.local',
    );
    // every Cluster a route names exists
    const clusters = new Set(envoyClusters(canarySnapshot(), OPTIONS).map((c) => c.name));
    for (const c of weighted.weighted_clusters.clusters) assert.ok(clusters.has(c.name), c.name);
  });

  it('splits TCP ports with tcp_proxy weights', () => {
    const tcpPort = { ports: [{ name: 'postgres', port: 5432 }] };
    const s = snapshot({
      services: [
        service('checkout', tcpPort),
        service('checkout-stable', { ...tcpPort, clusterIP: '10.96.0.11' }),
        service('checkout-canary', { ...tcpPort, clusterIP: '10.96.0.12' }),
      ],
      trafficSplits: [trafficSplit({ stable: 70, canary: 30 })],
    });
    const tcp = named(outbound(s).filter_chains, `outbound|5432||${HOST}`).filters[0].typed_config;
    assert.deepEqual(tcp.weighted_clusters, {
      clusters: [
        { name: 'sidecar~outbound|5432||checkout-stable.shop.svc.cluster.local', weight: 70 },
        { name: 'sidecar~outbound|5432||checkout-canary.shop.svc.cluster.local', weight: 30 },
      ],
    });
  });

  it('carries the policy timeouts and retries as the gRPC routes do', () => {
    const s = snapshot({
      servicePolicies: [
        policy({
          resilience: { timeouts: { request: '2s' }, retries: { attempts: 3, perTryTimeout: '500ms' } },
        }),
      ],
    });
    const route = action(s);
    const grpc = resources(s)[TYPE.routeConfiguration][0] as Obj;
    const grpcRoute = grpc.virtual_hosts[0].routes[0].route;
    assert.deepEqual(route.timeout, { seconds: 2 });
    assert.deepEqual(route.max_stream_duration, grpcRoute.max_stream_duration);
    assert.deepEqual(route.retry_policy, grpcRoute.retry_policy);
    assert.equal(route.retry_policy.num_retries.value, 3);
  });
});

describe('Envoy clusters', () => {
  const cluster = (s: Snapshot, options = OPTIONS) => named(envoyClusters(s, options), CLUSTER);
  const context = (c: Obj): Obj => c.transport_socket.typed_config.common_tls_context;

  it('are EDS over ADS with mTLS: the SDS certificate, the mesh CA, and the server pinned to its namespace', () => {
    const c = cluster(snapshot());
    assert.equal(c.type, 'EDS');
    assert.deepEqual(c.eds_cluster_config, {
      eds_config: { ads: {}, resource_api_version: 'V3' },
      service_name: CLUSTER,
    });
    assert.equal(c.transport_socket.typed_config['@type'], TYPE.upstreamTlsContext);
    assert.deepEqual(context(c), {
      tls_certificate_sds_secret_configs: [OPTIONS.sdsConfig.certificate],
      validation_context: {
        trusted_ca: { filename: '/var/run/meshwright/identity/ca.crt' },
        match_typed_subject_alt_names: [
          { san_type: 'URI', matcher: { prefix: 'spiffe://cluster.local/ns/shop/sa/' } },
        ],
      },
    });
  });

  it('check a selectorless Service against the trust domain only, in the mesh trust domain', () => {
    const s = snapshot(
      { services: [service('checkout', { selector: {} })] },
      { trustDomain: 'corp.example' },
    );
    assert.deepEqual(context(cluster(s)).validation_context.match_typed_subject_alt_names, [
      { san_type: 'URI', matcher: { prefix: 'spiffe://corp.example/' } },
    ]);
  });

  it('read the CA from an SDS secret when one is given', () => {
    const caSecret = {
      name: 'meshwright-ca',
      sds_config: {
        path_config_source: { path: '/etc/meshwright/proxy-sds/ca.json' },
        resource_api_version: 'V3',
      },
    };
    const sds: SidecarSds = { ...OPTIONS.sdsConfig, trustedCa: { sds: caSecret } };
    const c = cluster(snapshot(), { sdsConfig: sds });
    assert.deepEqual(context(c).combined_validation_context, {
      default_validation_context: {
        match_typed_subject_alt_names: [
          { san_type: 'URI', matcher: { prefix: 'spiffe://cluster.local/ns/shop/sa/' } },
        ],
      },
      validation_context_sds_secret_config: caSecret,
    });
    assert.equal(context(c).validation_context, undefined);
    const inboundTls = named(inbound(snapshot(), { sdsConfig: sds }).filter_chains, `inbound|50051||${HOST}`)
      .transport_socket.typed_config.common_tls_context;
    assert.deepEqual(inboundTls.combined_validation_context, {
      default_validation_context: {},
      validation_context_sds_secret_config: caSecret,
    });
    assertEnvoyAccepts(envoyResources(snapshot(), { sdsConfig: sds }));
  });

  it("keep the policy's circuit breakers and outlier detection, and lift Envoy's default limits otherwise", () => {
    const s = snapshot({
      servicePolicies: [
        policy({
          resilience: {
            circuitBreaker: {
              maxConnections: 10,
              outlierDetection: { consecutive5xxErrors: 3, interval: '10s', baseEjectionTime: '30s' },
            },
          },
        }),
      ],
    });
    const c = cluster(s);
    assert.deepEqual(c.circuit_breakers, {
      thresholds: [
        {
          max_connections: { value: 10 },
          max_pending_requests: { value: 4_294_967_295 },
          max_requests: { value: 4_294_967_295 },
          max_retries: { value: 4_294_967_295 },
        },
      ],
    });
    const grpc = resources(s)[TYPE.cluster][0] as Obj;
    assert.deepEqual(c.outlier_detection, grpc.outlier_detection);
    assert.equal(cluster(snapshot()).circuit_breakers.thresholds[0].max_retries.value, 4_294_967_295);
  });

  it('hand the application its own protocol upstream', () => {
    const options = cluster(snapshot()).typed_extension_protocol_options;
    assert.deepEqual(options, {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': TYPE.httpProtocolOptions,
        use_downstream_protocol_config: { http_protocol_options: {}, http2_protocol_options: {} },
      },
    });
  });

  it('have the endpoints of the gRPC flavor under their own names', () => {
    const s = snapshot({
      services: [service(), service('payments', { clusterIP: '10.96.0.20' })],
      endpointSlices: [
        endpointSlice('checkout', [
          { ip: '10.1.0.1', zone: 'a' },
          { ip: '10.1.0.2', ready: false },
        ]),
        endpointSlice('payments', [{ ip: '10.1.1.1' }]),
      ],
    });
    const envoy = envoyClusterLoadAssignments(s, OPTIONS);
    const grpc = clusterLoadAssignments(s);
    assert.deepEqual(
      envoy,
      grpc.map((cla) => ({ ...cla, cluster_name: `sidecar~${cla.cluster_name}` })),
    );
    assert.deepEqual(
      envoy.map((c) => c.cluster_name),
      envoyClusters(s, OPTIONS)
        .filter((c) => c.type === 'EDS')
        .map((c) => c.name),
    );
  });
});

describe('virtualInbound', () => {
  const CHAIN = `inbound|50051||${HOST}`;

  it('listens on 15006 with original_dst and tls_inspector, one mTLS chain per pod port and addresses', () => {
    const s = snapshot({
      endpointSlices: [endpointSlice('checkout', [{ ip: '10.1.0.2' }, { ip: '10.1.0.1', ready: false }])],
    });
    const l = inbound(s);
    assert.deepEqual(l.address, { socket_address: { address: '0.0.0.0', port_value: 15006 } });
    assert.equal(l.traffic_direction, 'INBOUND');
    assert.deepEqual(
      l.listener_filters.map((f: Obj) => f.name),
      [FILTER.originalDst, FILTER.tlsInspector],
    );
    assert.deepEqual(chainNames(l), [CHAIN, SIDECAR.inboundBlackHoleChain]);
    const chain = named(l.filter_chains, CHAIN);
    // a pod is served before it is ready (its probes, its first connections)
    assert.deepEqual(chain.filter_chain_match, {
      destination_port: { value: 50051 },
      prefix_ranges: [
        { address_prefix: '10.1.0.1', prefix_len: { value: 32 } },
        { address_prefix: '10.1.0.2', prefix_len: { value: 32 } },
      ],
      transport_protocol: 'tls',
    });
    const tls = chain.transport_socket.typed_config;
    assert.equal(tls['@type'], TYPE.downstreamTlsContext);
    assert.deepEqual(tls.require_client_certificate, { value: true });
    assert.deepEqual(tls.common_tls_context, {
      tls_certificate_sds_secret_configs: [OPTIONS.sdsConfig.certificate],
      validation_context: { trusted_ca: { filename: '/var/run/meshwright/identity/ca.crt' } },
      alpn_protocols: ['h2', 'http/1.1'],
    });
    assert.equal(pickChain(l, { ip: '10.1.0.2', port: 50051, transport: 'tls' }), CHAIN);
    // Strict: plaintext meets no chain (Envoy closes the connection); nor does a port no Service declares
    assert.equal(pickChain(l, { ip: '10.1.0.2', port: 50051 }), undefined);
    assert.equal(pickChain(l, { ip: '10.1.0.2', port: 9999, transport: 'tls' }), undefined);
    assert.equal(pickChain(l, { ip: '10.1.0.2', port: 15006 }), SIDECAR.inboundBlackHoleChain);
  });

  it('forwards to the application on localhost through a STATIC inbound cluster, with no route timeout', () => {
    const hcm = hcmOf(named(inbound(snapshot()).filter_chains, CHAIN));
    assert.deepEqual(hcm.route_config.virtual_hosts[0].routes, [
      { name: 'default', match: { prefix: '/' }, route: { cluster: 'inbound|50051||', timeout: {} } },
    ]);
    assert.equal(hcm.forward_client_cert_details, 'SANITIZE_SET');
    assert.deepEqual(hcm.normalize_path, { value: true });
    const c = named(envoyClusters(snapshot(), OPTIONS), 'inbound|50051||');
    assert.equal(c.type, 'STATIC');
    assert.deepEqual(c.load_assignment, {
      cluster_name: 'inbound|50051||',
      endpoints: [
        {
          lb_endpoints: [
            { endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 50051 } } } },
          ],
        },
      ],
    });
  });

  it('takes plaintext too under Permissive: a raw_buffer chain beside the mTLS one, same filters', () => {
    const s = snapshot({}, { mtlsMode: 'Permissive' });
    const l = inbound(s);
    assert.deepEqual(chainNames(l), [CHAIN, `${CHAIN}~plaintext`, SIDECAR.inboundBlackHoleChain]);
    const tls = named(l.filter_chains, CHAIN);
    const plain = named(l.filter_chains, `${CHAIN}~plaintext`);
    assert.equal(tls.transport_socket.typed_config.require_client_certificate, undefined);
    assert.equal(plain.transport_socket, undefined);
    assert.equal(plain.filter_chain_match.transport_protocol, 'raw_buffer');
    assert.deepEqual(hcmOf(plain).http_filters, hcmOf(tls).http_filters);
    assert.equal(pickChain(l, { ip: '10.1.0.1', port: 50051 }), `${CHAIN}~plaintext`);
    assert.equal(pickChain(l, { ip: '10.1.0.1', port: 50051, transport: 'tls' }), CHAIN);
    assertChainsDistinct(l);
  });

  it('enforces the same RBAC filters and rate limit as the gRPC server listener', () => {
    const s = snapshot({
      servicePolicies: [
        policy({
          access: {
            defaultAction: 'Deny',
            rules: [{ name: 'frontend', action: 'Allow', from: [{ serviceAccounts: ['shop/frontend'] }] }],
          },
          resilience: { rateLimit: { requestsPerSecond: 100 } },
        }),
      ],
    });
    const chain = named(inbound(s).filter_chains, CHAIN);
    const filters = hcmOf(chain).http_filters as Obj[];
    assert.deepEqual(
      filters.map((f) => f.name),
      [FILTER.rbacAllow, FILTER.localRateLimit, FILTER.router],
    );
    const grpcFilters = serverHttpFilters(named(listeners(s), serverListener('10.1.0.1', 50051)));
    assert.deepEqual(
      filters.slice(0, 2),
      grpcFilters.slice(0, 2).map(({ name, typed_config }) => ({ name, typed_config })),
    );
    // evaluated by an RBAC engine: only the allowed identity gets through
    const asListener = { filter_chains: [chain] };
    assert.equal(
      grpcAuthorizes(asListener, { identity: 'spiffe://cluster.local/ns/shop/sa/frontend' }),
      true,
    );
    assert.equal(grpcAuthorizes(asListener, { identity: 'spiffe://cluster.local/ns/shop/sa/other' }), false);
    assert.equal(grpcAuthorizes(asListener, {}), false);
  });

  it('applies the mesh default policy to Services without one', () => {
    const filters = (defaultInboundPolicy: 'Deny' | 'AllowAuthenticated' | 'AllowAll') =>
      (
        hcmOf(named(inbound(snapshot({}, { defaultInboundPolicy })).filter_chains, CHAIN))
          .http_filters as Obj[]
      ).map((f) => f.name);
    assert.deepEqual(filters('AllowAuthenticated'), [FILTER.rbacAllow, FILTER.router]);
    assert.deepEqual(filters('AllowAll'), [FILTER.router]);
    const chain = named(
      inbound(snapshot({}, { defaultInboundPolicy: 'AllowAuthenticated' })).filter_chains,
      CHAIN,
    );
    assert.equal(
      grpcAuthorizes({ filter_chains: [chain] }, { identity: 'spiffe://cluster.local/ns/any/sa/x' }),
      true,
    );
    assert.equal(grpcAuthorizes({ filter_chains: [chain] }, {}), false);
  });

  it('guards TCP ports with the same rules as network RBAC in front of tcp_proxy', () => {
    const s = snapshot({
      services: [service('checkout', { ports: [{ name: 'postgres', port: 5432, targetPort: 5432 }] })],
      endpointSlices: [
        endpointSlice('checkout', [{ ip: '10.1.0.1' }], { ports: [{ name: 'postgres', port: 5432 }] }),
      ],
      servicePolicies: [
        policy({
          access: {
            defaultAction: 'Deny',
            rules: [{ name: 'app', action: 'Allow', from: [{ namespaces: ['shop'] }] }],
          },
        }),
      ],
    });
    const chain = named(inbound(s).filter_chains, `inbound|5432||${HOST}`);
    const [rbac, proxy] = chain.filters as Obj[];
    assert.equal(rbac!.typed_config['@type'], TYPE.networkRbac);
    assert.equal(rbac!.typed_config.stat_prefix, 'inbound_5432_');
    const grpcRbac = serverHttpFilters(named(listeners(s), serverListener('10.1.0.1', 5432)))[0]!
      .typed_config;
    assert.deepEqual(rbac!.typed_config.rules, grpcRbac.rules);
    assert.deepEqual(proxy!.typed_config, {
      '@type': TYPE.tcpProxy,
      stat_prefix: 'inbound_5432',
      cluster: 'inbound|5432||',
    });
    assert.equal(chain.transport_socket.typed_config.common_tls_context.alpn_protocols, undefined);
  });

  it('fails closed on TCP ports for rules about paths or methods, which a connection does not have', () => {
    const s = snapshot({
      services: [service('checkout', { ports: [{ port: 5432, targetPort: 5432 }] })],
      endpointSlices: [endpointSlice('checkout', [{ ip: '10.1.0.1' }], { ports: [{ port: 5432 }] })],
      servicePolicies: [
        policy({
          access: {
            defaultAction: 'Deny',
            rules: [
              {
                name: 'no-admin',
                action: 'Deny',
                from: [{ serviceAccounts: ['shop/intruder'] }],
                to: [{ paths: ['/admin*'] }],
              },
              {
                name: 'reads',
                action: 'Allow',
                from: [{ serviceAccounts: ['shop/reader'] }],
                to: [{ methods: ['GET'] }],
              },
              { name: 'app', action: 'Allow', from: [{ serviceAccounts: ['shop/app', 'shop/intruder'] }] },
            ],
          },
        }),
      ],
    });
    const chain = named(inbound(s).filter_chains, `inbound|5432||${HOST}`);
    const rbac = (chain.filters as Obj[]).filter((f) => f.typed_config['@type'] === TYPE.networkRbac);
    // evaluated by an RBAC engine, one connection at a time (whatever path it would carry)
    const connection = { filter_chains: [{ filters: [{ typed_config: { http_filters: rbac } }] }] };
    const allowed = (sa: string) =>
      grpcAuthorizes(connection, { identity: `spiffe://cluster.local/ns/shop/sa/${sa}`, path: '/public' });
    assert.equal(allowed('app'), true);
    assert.equal(allowed('intruder'), false); // denied on /admin*: denied on TCP altogether
    assert.equal(allowed('reader'), false); // allowed for GET only: not on TCP
    assert.equal(allowed('stranger'), false);
  });

  it('keeps two Services apart by pod address, and gives a shared pod port to the first by namespace and name', () => {
    const s = snapshot({
      services: [
        service('b-open', { clusterIP: '10.96.0.21' }),
        service('a-closed', { clusterIP: '10.96.0.20' }),
        service('elsewhere', { clusterIP: '10.96.0.22' }),
      ],
      endpointSlices: [
        // a-closed and b-open select the same pod 10.1.0.1; elsewhere's pod has the same port
        endpointSlice('a-closed', [{ ip: '10.1.0.1' }]),
        endpointSlice('b-open', [{ ip: '10.1.0.1' }, { ip: '10.1.0.5' }]),
        endpointSlice('elsewhere', [{ ip: '10.1.0.9' }]),
      ],
      servicePolicies: [
        servicePolicy({ targetRef: { name: 'b-open' }, access: { defaultAction: 'Allow' } }, 'b-open'),
        servicePolicy({ targetRef: { name: 'a-closed' }, access: { defaultAction: 'Deny' } }, 'a-closed'),
      ],
    });
    const l = inbound(s);
    assertChainsDistinct(l);
    assert.equal(
      pickChain(l, { ip: '10.1.0.1', port: 50051, transport: 'tls' }),
      'inbound|50051||a-closed.shop.svc.cluster.local',
    );
    assert.equal(
      pickChain(l, { ip: '10.1.0.5', port: 50051, transport: 'tls' }),
      'inbound|50051||b-open.shop.svc.cluster.local',
    );
    assert.equal(
      pickChain(l, { ip: '10.1.0.9', port: 50051, transport: 'tls' }),
      'inbound|50051||elsewhere.shop.svc.cluster.local',
    );
    const prefixes = (name: string) =>
      named(l.filter_chains, name).filter_chain_match.prefix_ranges.map((r: Obj) => r.address_prefix);
    assert.deepEqual(prefixes('inbound|50051||b-open.shop.svc.cluster.local'), ['10.1.0.5']);
    // the same as the gRPC server listener of that pod: the first Service's policy
    const chain = named(l.filter_chains, 'inbound|50051||a-closed.shop.svc.cluster.local');
    assert.equal(
      grpcAuthorizes({ filter_chains: [chain] }, { identity: 'spiffe://cluster.local/ns/shop/sa/x' }),
      false,
    );
    assert.equal(
      grpcAuthorizes(named(listeners(s), serverListener('10.1.0.1', 50051)), {
        identity: 'spiffe://cluster.local/ns/shop/sa/x',
      }),
      false,
    );
    // one localhost cluster per pod port, however many Services use it
    assert.deepEqual(
      envoyClusters(s, OPTIONS)
        .filter((c) => c.name.startsWith('inbound|'))
        .map((c) => c.name),
      ['inbound|50051||'],
    );
  });

  it('is valid with no Service at all', () => {
    const s = snapshot({ services: [], endpointSlices: [] });
    assert.deepEqual(chainNames(inbound(s)), [SIDECAR.inboundBlackHoleChain]);
    assertEnvoyAccepts(envoyResources(s, OPTIONS));
  });
});

describe('envoyResources', () => {
  /** A snapshot with a bit of everything. */
  const everything = (mtlsMode: 'Strict' | 'Permissive') => {
    const base = canarySnapshot();
    return {
      ...base,
      services: [
        ...base.services,
        service('db', { clusterIP: '10.96.0.30', ports: [{ name: 'tcp-postgres', port: 5432 }] }),
        service('web', { clusterIP: 'fd00::40', ports: [{ name: 'http', port: 80, targetPort: 8080 }] }),
      ],
      endpointSlices: [
        ...base.endpointSlices,
        endpointSlice('checkout', [{ ip: '10.1.0.1' }]),
        endpointSlice('db', [{ ip: '10.1.0.30' }], { ports: [{ name: 'tcp-postgres', port: 5432 }] }),
        endpointSlice('web', [{ ip: 'fd00::1:40' }], {
          addressType: 'IPv6',
          ports: [{ name: 'http', port: 8080 }],
        }),
      ],
      servicePolicies: [
        policy({
          access: {
            defaultAction: 'Deny',
            enforcement: 'Audit',
            rules: [
              { name: 'deny-ip', action: 'Deny', from: [{ ipBlocks: [{ cidr: '10.9.0.0/16' }] }] },
              {
                name: 'paths',
                action: 'Allow',
                to: [{ paths: ['/shop.Checkout/*'], methods: ['POST'], ports: ['grpc'] }],
              },
            ],
          },
          resilience: {
            timeouts: { request: '1s', idle: '5m', connect: '2s' },
            retries: { attempts: 2, budget: { percent: 20, minRetriesPerSecond: 5 } },
            circuitBreaker: {
              maxRequests: 50,
              outlierDetection: { consecutive5xxErrors: 5, interval: '5s', baseEjectionTime: '30s' },
            },
            faultInjection: { delay: { fixedDelay: '100ms', percentage: 1.5 } },
            rateLimit: { requestsPerSecond: 10, burst: 20, scope: 'PerCaller' },
          },
        }),
      ],
      mesh: { ...base.mesh, mtlsMode },
    } satisfies Snapshot;
  };

  it('every resource round-trips through the Envoy protos, passes their validation rules, and is named once', () => {
    for (const mode of ['Strict', 'Permissive'] as const) {
      const all = envoyResources(everything(mode), OPTIONS);
      assertEnvoyAccepts(all);
      for (const l of all[TYPE.listener]) assertChainsDistinct(l);
    }
  });

  it('the validation rules catch what Envoy would refuse', () => {
    const l = structuredClone(outbound(snapshot()));
    l.default_filter_chain.filters[0].typed_config.stat_prefix = '';
    assert.throws(
      () => assertValid('envoy.config.listener.v3.Listener', l),
      /stat_prefix: "" is shorter than 1/,
    );
    const tooFar = structuredClone(outbound(snapshot()));
    tooFar.filter_chains[0].filter_chain_match.destination_port.value = 70_000;
    assert.throws(
      () => assertValid('envoy.config.listener.v3.Listener', tooFar),
      /destination_port: 70000 is not <= 65535/,
    );
  });

  it('names nothing the gRPC resources of the same snapshot name', () => {
    const s = everything('Strict');
    const grpc = resources(s);
    const envoy = envoyResources(s, OPTIONS);
    for (const type of Object.keys(grpc) as (keyof typeof grpc)[]) {
      const key = (r: Message) => (r.name ?? r.cluster_name) as string;
      const taken = new Set((grpc[type] as Message[]).map(key));
      for (const r of envoy[type] as Message[])
        assert.ok(!taken.has(key(r)), `${type}: ${key(r)} is also a gRPC name`);
    }
  });

  it('every Cluster a listener or route names exists, and every EDS Cluster has its assignment', () => {
    const all = envoyResources(everything('Permissive'), OPTIONS);
    const clusters = new Set(all[TYPE.cluster].map((c) => c.name));
    const named: string[] = [];
    const collect = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(collect);
      else if (v !== null && typeof v === 'object') {
        const o = v as Obj;
        if (typeof o.cluster === 'string') named.push(o.cluster);
        if (o.weighted_clusters) named.push(...o.weighted_clusters.clusters.map((c: Obj) => c.name));
        Object.values(o).forEach(collect);
      }
    };
    collect(all[TYPE.listener]);
    collect(all[TYPE.routeConfiguration]);
    assert.ok(named.length > 5);
    for (const name of named) assert.ok(clusters.has(name), `no Cluster ${name}`);
    const rds = new Set<string>();
    for (const l of all[TYPE.listener] as Obj[])
      for (const c of l.filter_chains) {
        const route = c.filters[0].typed_config.rds?.route_config_name;
        if (route) rds.add(route);
      }
    assert.deepEqual(
      [...rds].sort(),
      all[TYPE.routeConfiguration].map((r) => r.name),
    );
    assert.deepEqual(
      all[TYPE.clusterLoadAssignment].map((c) => c.cluster_name),
      all[TYPE.cluster].filter((c) => c.type === 'EDS').map((c) => c.name),
    );
  });

  it('is deterministic: input order does not change the output', () => {
    const a = everything('Permissive');
    const b = {
      ...a,
      services: [...a.services].reverse(),
      endpointSlices: [...a.endpointSlices].reverse(),
    };
    assert.deepEqual(envoyResources(a, OPTIONS), envoyResources(b, OPTIONS));
    for (const list of Object.values(envoyResources(a, OPTIONS)) as Message[][]) {
      const names = list.map((r) => (r.name ?? r.cluster_name) as string);
      assert.deepEqual(names, [...names].sort());
    }
  });

  it('skips addresses and ports Envoy would refuse instead of refusing the whole listener', () => {
    const s = snapshot({
      services: [
        service('checkout', { clusterIP: 'not-an-ip' }),
        service('payments', { clusterIP: '10.96.0.20' }),
      ],
      endpointSlices: [
        endpointSlice('payments', [{ ip: 'garbage' }, { ip: '10.1.0.7' }]),
        endpointSlice('checkout', [{ ip: '10.1.0.8' }], { ports: [{ name: 'grpc', port: 0 }] }),
      ],
    });
    // (the ClusterLoadAssignments carry the endpoints as the gRPC flavor's do)
    assertEnvoyAccepts({ ...envoyResources(s, OPTIONS), [TYPE.clusterLoadAssignment]: [] });
    assert.deepEqual(chainNames(outbound(s)), [
      'outbound|8080||payments.shop.svc.cluster.local',
      SIDECAR.outboundBlackHoleChain,
    ]);
    const chain = named(inbound(s).filter_chains, 'inbound|50051||payments.shop.svc.cluster.local');
    assert.deepEqual(
      chain.filter_chain_match.prefix_ranges.map((r: Obj) => [r.address_prefix, isIP(r.address_prefix)]),
      [['10.1.0.7', 4]],
    );
  });
});
