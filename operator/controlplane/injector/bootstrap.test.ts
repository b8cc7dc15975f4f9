/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-return -- JSON read back from the wire or built as proto3 JSON is untyped here (Obj) */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { IDENTITY_DIR, NODE_METADATA, nodeId, PROXY_PORTS } from '../names.js';
import { CERTIFICATE_PROVIDER_INSTANCE, FILTER, SERVER_LISTENER_TEMPLATE } from '../xds/names.js';
import type { Message } from '../xds/protos.js';
import {
  BOOTSTRAP_TYPE,
  envoyBootstrap,
  envoyBootstrapYaml,
  envoySdsSecret,
  grpcBootstrap,
  splitAddress,
} from './bootstrap.js';
import {
  assertEnvoyDecodes,
  expandVariables,
  grpcValidateBootstrap,
  POD_VARIABLES,
  proxylessMesh,
  sidecarMesh,
} from './fixtures.test.js';
import { ENVOY, PROXY_SDS_DIR, PROXY_SDS_FILE } from './names.js';

const BOOTSTRAP = 'envoy.config.bootstrap.v3.Bootstrap';
const XDS_HOST = 'meshwright-default-control-plane.meshwright-system.svc';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const named = (list: Obj[], name: string): Obj => {
  const found = list.find((x) => x.name === name);
  assert.ok(found, `no ${name} in ${list.map((x) => x.name as string).join(', ')}`);
  return found;
};

describe('envoyBootstrap', () => {
  const bootstrap: Obj = envoyBootstrap({
    mesh: sidecarMesh(),
    serviceAccount: 'checkout',
    namespace: 'shop',
  });

  it('decodes as an envoy.config.bootstrap.v3.Bootstrap, every field and Any with its type', () => {
    const decoded: Obj = assertEnvoyDecodes(BOOTSTRAP, bootstrap);
    const tls = named(decoded.static_resources.clusters, ENVOY.xdsCluster).transport_socket.typed_config;
    assert.equal(
      tls['@type'],
      'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
    );
  });

  it('is checked strictly: a field the Envoy API lacks, or a value of the wrong type, fails the check', () => {
    assert.throws(
      () => assertEnvoyDecodes(BOOTSTRAP, { ...bootstrap, admin: { adress: {} } }),
      /has no field adress/,
    );
    const wrongType: Obj = structuredClone(bootstrap);
    wrongType.admin.address.socket_address.port_value = '15000';
    assert.throws(() => assertEnvoyDecodes(BOOTSTRAP, wrongType), /port_value: expected a number/);
  });

  it('decodes from the YAML text Envoy is given, after the kubelet expands the pod variables', () => {
    const yaml = envoyBootstrapYaml({ mesh: sidecarMesh(), serviceAccount: 'checkout', namespace: 'shop' });
    const expanded = parse(expandVariables(yaml, POD_VARIABLES)) as Obj;
    assertEnvoyDecodes(BOOTSTRAP, expanded);
    assert.equal(expanded.node.id, nodeId(POD_VARIABLES.POD_NAME, POD_VARIABLES.POD_NAMESPACE));
    assert.equal(expanded.node.cluster, 'checkout.shop');
    assert.deepEqual(expanded.node.metadata, {
      [NODE_METADATA.namespace]: 'shop',
      [NODE_METADATA.serviceAccount]: 'checkout',
      [NODE_METADATA.podIp]: '10.1.0.7',
      [NODE_METADATA.proxyType]: 'envoy',
    });
  });

  it('gets Listeners and Clusters over ADS from the TLS xDS address of the mesh configuration', () => {
    const mesh = sidecarMesh();
    assert.deepEqual(splitAddress(mesh.controlPlane.xdsAddress), { host: XDS_HOST, port: 15012 });
    assert.deepEqual(bootstrap.dynamic_resources.ads_config.grpc_services, [
      { envoy_grpc: { cluster_name: ENVOY.xdsCluster } },
    ]);
    assert.deepEqual(bootstrap.dynamic_resources.lds_config, { ads: {}, resource_api_version: 'V3' });
    assert.deepEqual(bootstrap.dynamic_resources.cds_config, { ads: {}, resource_api_version: 'V3' });
    const xds = named(bootstrap.static_resources.clusters, ENVOY.xdsCluster);
    assert.deepEqual(xds.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address, {
      address: XDS_HOST,
      port_value: 15012,
    });
    assert.ok(
      xds.typed_extension_protocol_options[BOOTSTRAP_TYPE.httpProtocolOptions.split('/')[1]!]
        .explicit_http_config.http2_protocol_options,
    );
  });

  it('presents the workload certificate (through SDS, so renewals are picked up) and checks the control plane by CA and DNS name', () => {
    const tls = named(bootstrap.static_resources.clusters, ENVOY.xdsCluster).transport_socket;
    assert.equal(tls.name, FILTER.tls);
    assert.equal(tls.typed_config.sni, XDS_HOST);
    const context = tls.typed_config.common_tls_context;
    assert.deepEqual(context.tls_certificate_sds_secret_configs, [
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
    ]);
    assert.deepEqual(context.validation_context, {
      trusted_ca: { filename: `${IDENTITY_DIR}/ca.crt` },
      match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { exact: XDS_HOST } }],
    });
  });

  it('keeps admin on loopback and exposes only /ready and /stats/prometheus from it', () => {
    assert.deepEqual(bootstrap.admin.address.socket_address, {
      address: '127.0.0.1',
      port_value: PROXY_PORTS.admin,
    });
    const admin = named(bootstrap.static_resources.clusters, ENVOY.adminCluster);
    assert.equal(
      admin.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address,
      '127.0.0.1',
    );
    const routes = (listener: Obj): Obj[] => {
      const hcm = listener.filter_chains[0].filters[0].typed_config;
      return (hcm.route_config.virtual_hosts as Obj[]).flatMap((vh) => vh.routes as Obj[]);
    };
    const health = named(bootstrap.static_resources.listeners, ENVOY.healthListener);
    assert.equal(health.address.socket_address.port_value, PROXY_PORTS.health);
    assert.deepEqual(routes(health), [{ match: { path: '/ready' }, route: { cluster: ENVOY.adminCluster } }]);
    const stats = named(bootstrap.static_resources.listeners, ENVOY.statsListener);
    assert.equal(stats.address.socket_address.port_value, 15090);
    assert.deepEqual(routes(stats), [
      { match: { path: '/stats/prometheus' }, route: { cluster: ENVOY.adminCluster } },
    ]);
  });

  it('serves stats on the configured metrics port, and not at all with metrics off', () => {
    const on: Obj = envoyBootstrap({
      mesh: sidecarMesh({ observability: { metrics: { port: 19090 } } }),
      serviceAccount: 'a',
      namespace: 'shop',
    });
    assert.equal(
      named(on.static_resources.listeners, ENVOY.statsListener).address.socket_address.port_value,
      19090,
    );
    const off: Obj = envoyBootstrap({
      mesh: sidecarMesh({ observability: { metrics: { enabled: false } } }),
      serviceAccount: 'a',
      namespace: 'shop',
    });
    assert.deepEqual(
      (off.static_resources.listeners as Obj[]).map((l) => l.name),
      [ENVOY.healthListener],
    );
    assertEnvoyDecodes(BOOTSTRAP, off);
  });
});

describe('envoySdsSecret', () => {
  it('is a DiscoveryResponse with one Secret: the workload certificate files, reloaded when the Secret volume changes', () => {
    const sds = envoySdsSecret();
    const decoded: Obj = assertEnvoyDecodes('envoy.service.discovery.v3.DiscoveryResponse', sds);
    assert.equal(decoded.resources.length, 1);
    const secret = decoded.resources[0] as Obj;
    assert.equal(secret['@type'], BOOTSTRAP_TYPE.secret);
    assert.equal(secret.name, ENVOY.identitySecret);
    assert.deepEqual(secret.tls_certificate, {
      certificate_chain: { filename: `${IDENTITY_DIR}/tls.crt` },
      private_key: { filename: `${IDENTITY_DIR}/tls.key` },
      watched_directory: { path: IDENTITY_DIR },
    });
  });
});

describe('grpcBootstrap', () => {
  const mesh = proxylessMesh();
  const bootstrap = grpcBootstrap({ mesh, serviceAccount: 'checkout', namespace: 'shop' });
  const expanded = JSON.parse(expandVariables(JSON.stringify(bootstrap), POD_VARIABLES)) as Message;

  it("passes @grpc/grpc-js-xds' own bootstrap validation once the pod variables are expanded", () => {
    const info = grpcValidateBootstrap(expanded);
    assert.deepEqual(
      info.xdsServers.map((s) => ({ uri: s.server_uri, creds: s.channel_creds.map((c) => c.type) })),
      [{ uri: mesh.controlPlane.xdsPlaintextAddress, creds: ['insecure'] }],
    );
    assert.equal(info.node.id, nodeId(POD_VARIABLES.POD_NAME, POD_VARIABLES.POD_NAMESPACE));
    assert.equal(info.serverListenerResourceNameTemplate, SERVER_LISTENER_TEMPLATE);
    const provider = info.certificateProviders[CERTIFICATE_PROVIDER_INSTANCE]!;
    assert.equal(provider.pluginName, 'file_watcher');
    assert.deepEqual(provider.config, {
      certificateFile: `${IDENTITY_DIR}/tls.crt`,
      privateKeyFile: `${IDENTITY_DIR}/tls.key`,
      caCertificateFile: `${IDENTITY_DIR}/ca.crt`,
      refreshIntervalMs: 60_000,
    });
  });

  it('announces the node as a gRPC proxy of its namespace and service account', () => {
    const node = expanded.node as Obj;
    assert.equal(node.cluster, 'checkout.shop');
    assert.deepEqual(node.metadata, {
      [NODE_METADATA.namespace]: 'shop',
      [NODE_METADATA.serviceAccount]: 'checkout',
      [NODE_METADATA.podIp]: '10.1.0.7',
      [NODE_METADATA.proxyType]: 'grpc',
    });
  });

  it('is refused by the same validation when broken, so passing it means something', () => {
    const broken = structuredClone<Obj>(expanded);
    delete broken.node.locality;
    assert.throws(() => grpcValidateBootstrap(broken), /locality field missing/);
  });
});
