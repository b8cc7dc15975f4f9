import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { meshInstallationSpec, servicePolicySpec, trafficSplitSpec, trafficSplitStatus } from './index.js';

const issuesOf = (result: {
  success: boolean;
  error?: { issues: { path: PropertyKey[]; message: string }[] };
}) => result.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];

describe('MeshInstallation spec', () => {
  it('fills every default from an empty spec, nested defaults included', () => {
    const spec = meshInstallationSpec.parse({});
    assert.equal(spec.version, '1.1.0');
    assert.equal(spec.namespace, 'meshwright-system');
    assert.equal(spec.controlPlane.replicas, 2);
    assert.deepEqual(spec.dataPlane.namespaceSelector, {
      matchLabels: { 'meshwright.io/inject': 'enabled' },
    });
    assert.equal(spec.mtls.mode, 'Strict');
    assert.deepEqual(spec.mtls.issuer, { bootstrap: { caDuration: '87600h' } });
    assert.deepEqual(spec.mtls.workloadCertificate, { duration: '24h', renewBefore: '8h' });
    assert.equal(spec.observability.metrics.port, 15090);
  });

  it('does not add a bootstrap CA when the user names an issuer', () => {
    const spec = meshInstallationSpec.parse({ mtls: { issuer: { issuerRef: { name: 'corp-ca' } } } });
    assert.deepEqual(spec.mtls.issuer, {
      issuerRef: { name: 'corp-ca', kind: 'ClusterIssuer', group: 'cert-manager.io' },
    });
  });
});

describe('ServicePolicy spec', () => {
  it('accepts a named port and a numbered one, and refuses a port name longer than 15 characters', () => {
    const spec = (ports: unknown[]) => ({
      targetRef: { name: 'web' },
      access: { rules: [{ name: 'r', to: [{ ports }] }] },
    });
    assert.ok(servicePolicySpec.safeParse(spec(['http', 8080])).success);
    assert.deepEqual(issuesOf(servicePolicySpec.safeParse(spec(['a-very-long-port-name']))).length, 1);
  });
});

describe('TrafficSplit', () => {
  const base = {
    targetRef: { name: 'web' },
    backends: { stable: { name: 'web-v1' }, canary: { name: 'web-v2' } },
  };

  it('accepts the stepWeight shorthand and defaults interval, onFailure and deadline', () => {
    const spec = trafficSplitSpec.parse({ ...base, strategy: { stepWeight: 10, maxWeight: 50 } });
    assert.equal(spec.strategy.interval, '1m');
    assert.equal(spec.onFailure, 'Rollback');
    assert.equal(spec.progressDeadlineSeconds, 600);
    assert.equal(spec.paused, false);
  });

  it('refuses a stepWeight above maxWeight at the stepWeight field', () => {
    const issues = issuesOf(
      trafficSplitSpec.safeParse({ ...base, strategy: { stepWeight: 60, maxWeight: 50 } }),
    );
    assert.deepEqual(issues, ['strategy.stepWeight: stepWeight must not be greater than maxWeight']);
  });

  it('refuses status weights that do not add up to 100', () => {
    assert.ok(trafficSplitStatus.safeParse({ weights: { stable: 90, canary: 10 } }).success);
    assert.deepEqual(issuesOf(trafficSplitStatus.safeParse({ weights: { stable: 90, canary: 20 } })), [
      'weights: weights must add up to 100',
    ]);
  });

  it('does not report a rule on a value whose own field is already refused', () => {
    const issues = issuesOf(
      trafficSplitSpec.safeParse({ ...base, strategy: { stepWeight: 10, interval: 'soon' } }),
    );
    assert.equal(issues.length, 1, issues.join('\n'));
    assert.match(issues[0]!, /^strategy\.interval: /);
  });
});
