import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  assertAccepted,
  endpointSlice,
  grpcAccepts,
  roundTrip,
  service,
  servicePolicy,
  snapshot,
  trafficSplit,
} from './fixtures.js';
import { CERTIFICATE_PROVIDER_INSTANCE, serverListener } from './names.js';
import { TYPE, type Message } from './protos.js';
import {
  clusterLoadAssignments,
  clusters,
  listeners,
  resources,
  routeConfigurations,
  type Resource,
} from './resources.js';

const HOST = 'checkout.shop.svc.cluster.local';
const OUTBOUND = `${HOST}:8080`;
const CLUSTER = `outbound|8080||${HOST}`;

const named = (list: readonly Resource[], name: string): Message => {
  const found = list.find((r) => r.name === name);
  assert.ok(found, `no resource ${name} in ${list.map((r) => r.name).join(', ')}`);
  return found;
};

/** A snapshot with an apex Service split between stable and canary, each with one endpoint. */
const canarySnapshot = (weights?: { stable: number; canary: number } | null) =>
  snapshot({
    services: [service(), service('checkout-stable'), service('checkout-canary')],
    endpointSlices: [
      endpointSlice('checkout-stable', [{ ip: '10.1.0.2' }]),
      endpointSlice('checkout-canary', [{ ip: '10.1.0.3' }]),
    ],
    trafficSplits: [trafficSplit(weights === undefined ? { stable: 90, canary: 10 } : weights)],
  });

describe('listeners', () => {
  it('serves each Service port as an api_listener named as the xds:/// target, routes over ADS', () => {
    const listener = named(listeners(snapshot()), OUTBOUND);
    const hcm = (listener.api_listener as { api_listener: Message }).api_listener;
    assert.equal(hcm['@type'], TYPE.httpConnectionManager);
    assert.deepEqual(hcm.rds, {
      route_config_name: OUTBOUND,
      config_source: { ads: {}, resource_api_version: 'V3' },
    });
    assert.deepEqual(
      (hcm.http_filters as { name: string }[]).map((f) => f.name),
      ['envoy.filters.http.router'],
    );
  });

  it('serves every endpoint address of a selected Service a server Listener with mTLS', () => {
    const all = listeners(
      snapshot({
        endpointSlices: [endpointSlice('checkout', [{ ip: '10.1.0.1' }, { ip: '10.1.0.7', ready: false }])],
      }),
    );
    // a server gets its Listener before it is ready: not-ready endpoints are served too
    const names = all.map((l) => l.name);
    assert.deepEqual(names, [
      OUTBOUND,
      'grpc/server?xds.resource.listening_address=10.1.0.1:50051',
      'grpc/server?xds.resource.listening_address=10.1.0.7:50051',
    ]);
    const server = named(all, serverListener('10.1.0.1', 50051));
    assert.deepEqual(server.address, { socket_address: { address: '10.1.0.1', port_value: 50051 } });
    const chain = (server.filter_chains as Message[])[0]!;
    // gRPC drops a chain matching on destination_port, and sees IPv4 peers of its dual-stack
    // listener as ::ffff:a.b.c.d (no IPv4 prefix_range matches): the one chain matches everything.
    assert.equal(chain.filter_chain_match, undefined);
    const tls = (chain.transport_socket as { typed_config: Message }).typed_config;
    assert.equal(tls['@type'], TYPE.downstreamTlsContext);
    assert.deepEqual(tls.require_client_certificate, { value: true });
    assert.deepEqual(tls.common_tls_context, {
      tls_certificate_provider_instance: { instance_name: CERTIFICATE_PROVIDER_INSTANCE },
      validation_context: {
        ca_certificate_provider_instance: { instance_name: CERTIFICATE_PROVIDER_INSTANCE },
      },
    });
  });

  it('requests but does not require a client certificate under Permissive mTLS', () => {
    const server = named(
      listeners(snapshot({}, { mtlsMode: 'Permissive' })),
      serverListener('10.1.0.1', 50051),
    );
    const chain = (server.filter_chains as Message[])[0]!;
    const tls = (chain.transport_socket as { typed_config: Message }).typed_config;
    assert.equal(tls.require_client_certificate, undefined);
  });

  it('gives the server route the non-forwarding action xDS-enabled gRPC servers require', () => {
    const server = named(listeners(snapshot()), serverListener('10.1.0.1', 50051));
    const hcm = ((server.filter_chains as Message[])[0]!.filters as { typed_config: Message }[])[0]!
      .typed_config;
    const vhost = ((hcm.route_config as Message).virtual_hosts as Message[])[0]!;
    assert.deepEqual(vhost.routes, [{ name: 'default', match: { prefix: '/' }, non_forwarding_action: {} }]);
  });

  it('brackets IPv6 addresses in the server listener name', () => {
    assert.equal(
      serverListener('fd00::1', 8080),
      'grpc/server?xds.resource.listening_address=[fd00::1]:8080',
    );
  });

  it('skips ExternalName Services and Services without ports', () => {
    const all = listeners(
      snapshot({
        services: [
          service('ext', { type: 'ExternalName', ports: [{ port: 80 }] }),
          service('none', { ports: [] }),
        ],
        endpointSlices: [],
      }),
    );
    assert.deepEqual(all, []);
  });

  it('every Listener round-trips through the Envoy protos and passes gRPC validation', () => {
    const s = canarySnapshot();
    assertAccepted(TYPE.listener, listeners(s));
  });
});

describe('routeConfigurations', () => {
  it('routes every name of the Service, with and without the port, to its cluster', () => {
    const route = named(routeConfigurations(snapshot()), OUTBOUND);
    const vhost = (route.virtual_hosts as Message[])[0]!;
    assert.deepEqual(vhost.domains, [
      HOST,
      `${HOST}:8080`,
      'checkout.shop.svc',
      'checkout.shop.svc:8080',
      'checkout.shop',
      'checkout.shop:8080',
      'checkout',
      'checkout:8080',
      '10.96.0.10',
      '10.96.0.10:8080',
    ]);
    assert.deepEqual(vhost.routes, [
      { name: 'default', match: { prefix: '/' }, route: { cluster: CLUSTER } },
    ]);
  });

  it('turns the weights of a 90/10 TrafficSplit into weighted_clusters on the apex route', () => {
    const route = named(routeConfigurations(canarySnapshot({ stable: 90, canary: 10 })), OUTBOUND);
    const action = ((route.virtual_hosts as Message[])[0]!.routes as { route: Message }[])[0]!.route;
    assert.deepEqual(action, {
      weighted_clusters: {
        clusters: [
          { name: 'outbound|8080||checkout-stable.shop.svc.cluster.local', weight: { value: 90 } },
          { name: 'outbound|8080||checkout-canary.shop.svc.cluster.local', weight: { value: 10 } },
        ],
      },
    });
    const decoded = roundTrip(TYPE.routeConfiguration, route);
    const clustersDecoded = (
      (decoded.virtual_hosts as Message[])[0]!.routes as {
        route: { weighted_clusters: { clusters: { weight: { value: number } }[] } };
      }[]
    )[0]!.route.weighted_clusters.clusters;
    assert.equal(
      clustersDecoded.reduce((sum, c) => sum + c.weight.value, 0),
      100,
    );
  });

  it('sends everything to one backend when the other has weight 0, and to stable before any status', () => {
    const action = (weights: { stable: number; canary: number } | null) =>
      (
        (named(routeConfigurations(canarySnapshot(weights)), OUTBOUND).virtual_hosts as Message[])[0]!
          .routes as { route: Message }[]
      )[0]!.route;
    assert.deepEqual(action({ stable: 0, canary: 100 }), {
      cluster: 'outbound|8080||checkout-canary.shop.svc.cluster.local',
    });
    assert.deepEqual(action(null), { cluster: 'outbound|8080||checkout-stable.shop.svc.cluster.local' });
  });

  it('maps the apex port to the backend port of the same name', () => {
    const s = snapshot({
      services: [
        service(),
        service('checkout-stable', {
          ports: [
            { name: 'metrics', port: 9090 },
            { name: 'grpc', port: 9000 },
          ],
        }),
        service('checkout-canary', { ports: [{ name: 'grpc', port: 9001 }] }),
      ],
      trafficSplits: [trafficSplit({ stable: 50, canary: 50 })],
    });
    const action = (
      (named(routeConfigurations(s), OUTBOUND).virtual_hosts as Message[])[0]!.routes as { route: Message }[]
    )[0]!.route;
    assert.deepEqual(
      (action.weighted_clusters as { clusters: { name: string }[] }).clusters.map((c) => c.name),
      [
        'outbound|9000||checkout-stable.shop.svc.cluster.local',
        'outbound|9001||checkout-canary.shop.svc.cluster.local',
      ],
    );
  });

  it('every RouteConfiguration round-trips and passes gRPC validation', () => {
    const s = {
      ...canarySnapshot(),
      servicePolicies: [
        servicePolicy({ resilience: { timeouts: { request: '2s' }, retries: { attempts: 3 } } }),
      ],
    };
    assertAccepted(TYPE.routeConfiguration, routeConfigurations(s));
  });
});

describe('clusters', () => {
  it('builds an EDS cluster over ADS per Service port, with upstream mTLS from the certificate provider', () => {
    const cluster = named(clusters(snapshot()), CLUSTER);
    assert.equal(cluster.type, 'EDS');
    assert.deepEqual(cluster.eds_cluster_config, {
      eds_config: { ads: {}, resource_api_version: 'V3' },
      service_name: CLUSTER,
    });
    const tls = cluster.transport_socket as { name: string; typed_config: Message };
    assert.equal(tls.name, 'envoy.transport_sockets.tls');
    assert.equal(tls.typed_config['@type'], TYPE.upstreamTlsContext);
  });

  it('every Cluster round-trips and passes gRPC validation', () => {
    assertAccepted(TYPE.cluster, clusters(canarySnapshot()));
  });
});

describe('clusterLoadAssignments', () => {
  it('lists the ready endpoints on the pod port of the named Service port, by zone, sorted', () => {
    const s = snapshot({
      endpointSlices: [
        endpointSlice('checkout', [
          { ip: '10.1.0.9', zone: 'b' },
          { ip: '10.1.0.1', zone: 'a' },
          { ip: '10.1.0.5', zone: 'a', ready: false },
        ]),
        // another slice of the same Service, with one endpoint repeated (slices overlap during updates)
        endpointSlice('checkout', [
          { ip: '10.1.0.1', zone: 'a' },
          { ip: '10.1.0.4', zone: 'a' },
        ]),
        // an FQDN slice and another Service's slice are not endpoints of this Service
        endpointSlice('checkout', [{ ip: 'db.example.com' }], { addressType: 'FQDN' }),
        endpointSlice('payments', [{ ip: '10.9.9.9' }]),
      ],
    });
    const [cla] = clusterLoadAssignments(s);
    const lb = (ip: string) => ({
      endpoint: { address: { socket_address: { address: ip, port_value: 50051 } } },
      health_status: 'HEALTHY',
    });
    assert.deepEqual(cla, {
      cluster_name: CLUSTER,
      endpoints: [
        {
          locality: { zone: 'a' },
          lb_endpoints: [lb('10.1.0.1'), lb('10.1.0.4')],
          load_balancing_weight: { value: 1 },
        },
        { locality: { zone: 'b' }, lb_endpoints: [lb('10.1.0.9')], load_balancing_weight: { value: 1 } },
      ],
    });
  });

  it('ignores slice ports of another name, and gives an endpoint-less assignment without endpoints', () => {
    const s = snapshot({
      endpointSlices: [
        endpointSlice('checkout', [{ ip: '10.1.0.1' }], { ports: [{ name: 'http', port: 80 }] }),
      ],
    });
    assert.deepEqual(clusterLoadAssignments(s), [{ cluster_name: CLUSTER, endpoints: [] }]);
  });

  it('every ClusterLoadAssignment round-trips and passes gRPC validation', () => {
    const s = snapshot({
      endpointSlices: [endpointSlice('checkout', [{ ip: '10.1.0.1', zone: 'a' }, { ip: '10.1.0.2' }])],
    });
    for (const cla of clusterLoadAssignments(s)) {
      roundTrip(TYPE.clusterLoadAssignment, cla);
      grpcAccepts(TYPE.clusterLoadAssignment, cla);
    }
  });
});

describe('resources', () => {
  it('is deterministic: input order does not change the output', () => {
    const a = canarySnapshot();
    const b = { ...a, services: [...a.services].reverse(), endpointSlices: [...a.endpointSlices].reverse() };
    assert.deepEqual(resources(a), resources(b));
  });

  it('names every resource of one Service port consistently', () => {
    const all = resources(snapshot());
    assert.deepEqual(
      all[TYPE.listener].map((l) => l.name).filter((n) => !n.startsWith('grpc/server')),
      all[TYPE.routeConfiguration].map((r) => r.name),
    );
    assert.deepEqual(
      all[TYPE.cluster].map((c) => c.name),
      all[TYPE.clusterLoadAssignment].map((c) => c.cluster_name),
    );
  });
});
