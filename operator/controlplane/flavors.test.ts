import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { meshConfigText } from '../meshinstallation/desired.js';
import { meshInstallation } from '../meshinstallation/fixtures.test.js';
import type { NodeInfo } from './ads/server.js';
import { flavorView, memberNamespaces, withSidecarResources } from './flavors.js';
import { parseMeshConfig } from './meshconfig.js';
import { resources } from './xds/resources.js';
import { TYPE } from './xds/protos.js';
import type { Snapshot } from './xds/snapshot.js';
import { DEFAULT_MESH } from './xds/snapshot.js';

const mesh = parseMeshConfig(meshConfigText(meshInstallation()));
const ns = (name: string, labels: Record<string, string> = {}) => ({ metadata: { name, labels } });
const snapshot = (): Snapshot => ({
  services: [
    {
      metadata: { name: 'checkout', namespace: 'shop' },
      spec: { clusterIP: '10.0.0.7', selector: { app: 'checkout' }, ports: [{ name: 'grpc', port: 8080 }] },
    },
  ],
  endpointSlices: [],
  servicePolicies: [],
  trafficSplits: [],
  namespaces: [
    ns('shop', { 'meshwright.io/inject': 'enabled' }),
    ns('legacy'),
    ns('meshwright-system', { 'meshwright.io/inject': 'enabled' }),
    ns('kube-system', { 'meshwright.io/inject': 'enabled' }),
  ],
  mesh: DEFAULT_MESH,
});
const node = (proxyType?: string): NodeInfo => ({
  id: 'p.shop',
  cluster: '',
  metadata: proxyType ? { PROXY_TYPE: proxyType } : {},
});

describe('memberNamespaces', () => {
  it('the namespaces the injection selector picks, never the control plane’s or the system ones', () => {
    assert.deepEqual(memberNamespaces(mesh, snapshot()), ['shop']);
  });

  it('without a selector in mesh.yaml (an older operator): every namespace but those', () => {
    const old = { ...mesh, dataPlane: { ...mesh.dataPlane, namespaceSelector: undefined } };
    assert.deepEqual(memberNamespaces(old, snapshot()), ['shop', 'legacy']);
  });
});

describe('withSidecarResources and flavorView', () => {
  const grpc = resources(snapshot());
  const both = withSidecarResources(grpc, snapshot(), mesh);

  it('publishes both sets, and no name is in both', () => {
    for (const [typeUrl, list] of Object.entries(grpc)) {
      for (const r of list) {
        const name = String('name' in r ? r.name : r.cluster_name);
        assert.ok(!both.sidecarNames.has(typeUrl, name), name);
        assert.ok(both.resources[typeUrl]!.includes(r));
      }
    }
    assert.ok(both.sidecarNames.has(TYPE.listener, 'virtualOutbound'));
  });

  it('a sidecar sees the sidecar set, any other node the gRPC set', () => {
    const view = flavorView(() => both.sidecarNames);
    const grpcListener = 'checkout.shop.svc.cluster.local:8080';
    assert.equal(view(node('envoy'))(TYPE.listener, 'virtualOutbound'), true);
    assert.equal(view(node('envoy'))(TYPE.listener, grpcListener), false);
    assert.equal(view(node('grpc'))(TYPE.listener, 'virtualOutbound'), false);
    assert.equal(view(node('grpc'))(TYPE.listener, grpcListener), true);
    assert.equal(view(node())(TYPE.listener, grpcListener), true, 'no PROXY_TYPE: a gRPC client');
  });
});
