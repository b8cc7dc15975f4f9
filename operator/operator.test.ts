import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { API_VERSION } from './api/common.js';
import { installedMesh, operatorOptions, UsageError } from './operator.js';

describe('operatorOptions', () => {
  it('defaults: leader election on the operator namespace, metrics 8080, health 8081, localhost outside a pod', () => {
    assert.deepEqual(operatorOptions([], {}), {
      namespace: 'meshwright-system',
      leaderElection: true,
      metricsPort: 8080,
      healthPort: 8081,
      bindAddress: '127.0.0.1',
    });
  });

  it('reads the environment (POD_NAMESPACE, KUBECONFIG, ports, in-cluster bind address), flags win', () => {
    const o = operatorOptions(['--metrics-port', '9090', '--leader-elect=false', '--health-port=-1'], {
      POD_NAMESPACE: 'ops',
      KUBECONFIG: '/tmp/kc',
      METRICS_PORT: '1234',
      KUBERNETES_SERVICE_HOST: '10.0.0.1',
      CERT_MANAGER_NAMESPACE: 'certs',
    });
    assert.equal(o.namespace, 'ops');
    assert.equal(o.kubeconfig, '/tmp/kc');
    assert.equal(o.metricsPort, 9090);
    assert.equal(o.healthPort, false);
    assert.equal(o.leaderElection, false);
    assert.equal(o.bindAddress, '0.0.0.0');
    assert.equal(o.certManagerNamespace, 'certs');
  });

  it('refuses unknown flags, bad ports and a lone image flag', () => {
    assert.throws(() => operatorOptions(['--nope'], {}), UsageError);
    assert.throws(() => operatorOptions(['--metrics-port', 'x'], {}), UsageError);
    assert.throws(() => operatorOptions(['--proxy-image', 'envoy:1'], {}), UsageError);
    assert.deepEqual(
      operatorOptions(['--proxy-image', 'envoy:1', '--control-plane-image', 'cp:1'], {}).image,
      { controlPlane: 'cp:1', proxy: 'envoy:1' },
    );
  });
});

describe('installedMesh', () => {
  const mi = (name: string, created: string, spec: object = {}) => ({
    apiVersion: API_VERSION,
    kind: 'MeshInstallation',
    metadata: { name, uid: `uid-${name}`, creationTimestamp: created },
    spec,
  });

  it('is the oldest installation (what ServicePolicies need of it), or none', () => {
    assert.equal(installedMesh([]), undefined);
    assert.deepEqual(
      installedMesh([
        mi('b', '2025-02-01T00:00:00Z', { namespace: 'newer' }),
        mi('a', '2025-01-01T00:00:00Z', { namespace: 'mesh', mtls: { trustDomain: 'example.org' } }),
      ]),
      { controlPlaneNamespace: 'mesh', metricsPort: 15090, trustDomain: 'example.org' },
    );
  });
});
