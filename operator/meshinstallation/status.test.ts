import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MeshInstallationStatus } from '../api/meshinstallation.js';
import { meshInstallation, observations } from './fixtures.test.js';
import {
  CONDITIONS,
  computeStatus,
  conflictLoser,
  memberNamespaces,
  observeUpgrade,
  selectorMatches,
  type MeshObservations,
} from './status.js';

const NOW = new Date('2025-03-01T12:00:00.000Z');
const LATER = new Date('2025-03-01T12:05:00.000Z');

const condition = (status: MeshInstallationStatus, type: string) => {
  const c = status.conditions?.find((x) => x.type === type);
  assert.ok(c, `condition ${type} is set`);
  return c;
};
const summary = (status: MeshInstallationStatus, type: string) => {
  const c = condition(status, type);
  return `${c.status}/${c.reason}`;
};
const statusOf = (obs: (mi: ReturnType<typeof meshInstallation>) => Partial<MeshObservations>, spec = {}) => {
  const mi = meshInstallation({ spec });
  return computeStatus(mi, observations(mi, obs(mi)), NOW);
};

describe('computeStatus: a healthy mesh', () => {
  it('is Ready, with every condition true, the version, components, proxies, members and CA expiry', () => {
    const mi = meshInstallation({ generation: 4 });
    const status = computeStatus(
      mi,
      observations(mi, { memberNamespaces: ['shop', 'payments', 'shop'] }),
      NOW,
    );
    for (const type of [
      'Reconciled',
      'CertificatesReady',
      'ControlPlaneReady',
      'WebhookReady',
      'DataPlaneUpToDate',
      'Ready',
    ]) {
      assert.equal(condition(status, type).status, 'True', type);
      assert.equal(condition(status, type).observedGeneration, 4, type);
      assert.equal(condition(status, type).lastTransitionTime, '2025-03-01T12:00:00Z', type);
    }
    assert.equal(summary(status, 'Upgrading'), 'False/UpToDate');
    assert.equal(status.observedGeneration, 4);
    assert.equal(status.version, '1.1.0');
    assert.deepEqual(status.components, [
      { name: 'control-plane', desiredReplicas: 2, availableReplicas: 2, version: '1.1.0' },
    ]);
    assert.deepEqual(status.proxies, { total: 10, upToDate: 10, outdated: 0 });
    assert.deepEqual(status.memberNamespaces, ['payments', 'shop']);
    assert.equal(status.caNotAfter, '2035-01-01T00:00:00Z');
  });

  it('reports no CA expiry when the user’s issuer signs (the root is not the operator’s)', () => {
    const status = statusOf(() => ({}), { mtls: { issuer: { issuerRef: { name: 'corp-ca' } } } });
    assert.equal(status.caNotAfter, undefined);
  });
});

describe('computeStatus: metav1 semantics', () => {
  it('keeps lastTransitionTime while a status holds and moves it when the status flips', () => {
    const mi = meshInstallation();
    const first = computeStatus(mi, observations(mi), NOW);
    const again = computeStatus(meshInstallation({ status: first }), observations(mi), LATER);
    assert.deepEqual(again.conditions, first.conditions);
    const flipped = computeStatus(
      meshInstallation({ status: first }),
      observations(mi, { webhook: { exists: true, caBundlePresent: false } }),
      LATER,
    );
    assert.equal(condition(flipped, 'WebhookReady').lastTransitionTime, '2025-03-01T12:05:00Z');
    assert.equal(condition(flipped, 'Ready').lastTransitionTime, '2025-03-01T12:05:00Z');
    assert.equal(condition(flipped, 'ControlPlaneReady').lastTransitionTime, '2025-03-01T12:00:00Z');
  });
});

describe('computeStatus: CertificatesReady', () => {
  it('says cert-manager is not installed, and how to fix it, and Ready carries the reason', () => {
    const status = statusOf(() => ({ certManagerInstalled: false, certificates: [] }));
    const c = condition(status, 'CertificatesReady');
    assert.equal(`${c.status}/${c.reason}`, 'False/CertManagerNotInstalled');
    assert.match(c.message, /certificates\.cert-manager\.io/);
    assert.match(c.message, /install cert-manager >= 1\.12/);
    assert.equal(summary(status, 'Ready'), 'False/CertManagerNotInstalled');
  });

  it('is Issuing while a certificate is not ready, naming it with cert-manager’s message', () => {
    const status = statusOf(() => ({
      certificates: [
        { name: 'meshwright-default-root-ca', ready: true },
        {
          name: 'meshwright-default-serving',
          ready: false,
          message: 'Issuing certificate as Secret does not exist',
        },
      ],
    }));
    const c = condition(status, 'CertificatesReady');
    assert.equal(`${c.status}/${c.reason}`, 'False/Issuing');
    assert.match(c.message, /meshwright-default-serving: Issuing certificate as Secret does not exist/);
    assert.doesNotMatch(c.message, /root-ca/);
  });

  it('is Issuing while cert-manager has not reported at all', () => {
    const status = statusOf(() => ({
      certificates: [{ name: 'meshwright-default-serving', ready: undefined }],
    }));
    assert.equal(summary(status, 'CertificatesReady'), 'False/Issuing');
  });
});

describe('computeStatus: ControlPlaneReady', () => {
  it('DeploymentNotFound before the Deployment exists', () => {
    assert.equal(
      summary(
        statusOf(() => ({ deployment: undefined })),
        'ControlPlaneReady',
      ),
      'False/DeploymentNotFound',
    );
  });

  it('RollingOut while the Deployment controller has not seen the spec or replicas are not updated', () => {
    const d = observations(meshInstallation()).deployment!;
    assert.equal(
      summary(
        statusOf(() => ({ deployment: { ...d, observedGeneration: 2, generation: 3 } })),
        'ControlPlaneReady',
      ),
      'False/RollingOut',
    );
    assert.equal(
      summary(
        statusOf(() => ({ deployment: { ...d, updatedReplicas: 1 } })),
        'ControlPlaneReady',
      ),
      'False/RollingOut',
    );
  });

  it('Unavailable when replicas are missing, hinting at the serving certificate when it is not issued', () => {
    const d = observations(meshInstallation()).deployment!;
    const status = statusOf(() => ({
      deployment: { ...d, availableReplicas: 0 },
      certificates: [{ name: 'meshwright-default-serving', ready: false }],
    }));
    const c = condition(status, 'ControlPlaneReady');
    assert.equal(`${c.status}/${c.reason}`, 'False/Unavailable');
    assert.match(c.message, /0\/2 replicas available \(the pods wait for the serving certificate Secret\)/);
    assert.equal(status.components![0]!.availableReplicas, 0);
  });
});

describe('computeStatus: WebhookReady', () => {
  it('WebhookNotFound, then CABundleMissing until cert-manager injects the CA', () => {
    assert.equal(
      summary(
        statusOf(() => ({ webhook: undefined })),
        'WebhookReady',
      ),
      'False/WebhookNotFound',
    );
    const missing = statusOf(() => ({ webhook: { exists: true, caBundlePresent: false } }));
    assert.equal(summary(missing, 'WebhookReady'), 'False/CABundleMissing');
    assert.match(condition(missing, 'WebhookReady').message, /meshwright-system\/meshwright-default-serving/);
    assert.equal(summary(missing, 'Ready'), 'False/CABundleMissing');
  });
});

describe('computeStatus: DataPlaneUpToDate', () => {
  const outdated = { proxies: { total: 10, upToDate: 7, outdated: 3 } };

  it('with Manual migration, reports outdated proxies but the mesh stays Ready', () => {
    const status = statusOf(() => outdated);
    const c = condition(status, 'DataPlaneUpToDate');
    assert.equal(`${c.status}/${c.reason}`, 'False/OutdatedProxies');
    assert.match(c.message, /3 of 10 proxies/);
    assert.match(c.message, /workloadMigration: Manual/);
    assert.equal(summary(status, 'Ready'), 'True/Ready');
  });

  it('with Automatic migration, Ready waits for the proxies', () => {
    const status = statusOf(
      () => ({ ...outdated, migration: { action: 'Restart', message: 'restarting Deployment shop/web' } }),
      { updateStrategy: { workloadMigration: 'Automatic' } },
    );
    assert.match(condition(status, 'DataPlaneUpToDate').message, /restarting Deployment shop\/web/);
    assert.equal(summary(status, 'Ready'), 'False/OutdatedProxies');
  });

  it('MigrationStopped when a batch failed', () => {
    const status = statusOf(
      () => ({
        ...outdated,
        migration: { action: 'Stop', message: 'migration stopped: Deployment shop/web …' },
      }),
      { updateStrategy: { workloadMigration: 'Automatic' } },
    );
    assert.equal(summary(status, 'DataPlaneUpToDate'), 'False/MigrationStopped');
    assert.equal(summary(status, 'Ready'), 'False/MigrationStopped');
  });
});

describe('computeStatus: Upgrading', () => {
  const previous = (): MeshInstallationStatus => {
    const old = meshInstallation({ spec: { version: '1.0.0' } });
    return computeStatus(old, observations(old), NOW);
  };

  it('shows progress while the control plane rolls to the new version, and keeps reporting the old one', () => {
    const mi = meshInstallation({ spec: { version: '1.1.0' }, status: previous() });
    const deployment = {
      replicas: 2,
      availableReplicas: 2,
      updatedReplicas: 1,
      observedGeneration: 4,
      generation: 4,
      version: '1.1.0',
    };
    const upgrading = observeUpgrade(mi, deployment);
    assert.deepEqual(upgrading, {
      from: '1.0.0',
      to: '1.1.0',
      progress: { updatedReplicas: 1, desiredReplicas: 2 },
    });
    const status = computeStatus(mi, observations(mi, { deployment, upgrading }), LATER);
    const c = condition(status, 'Upgrading');
    assert.equal(`${c.status}/${c.reason}`, 'True/Upgrading');
    assert.match(c.message, /from 1\.0\.0 to 1\.1\.0: 1\/2/);
    assert.equal(status.version, '1.0.0');
    assert.equal(status.components![0]!.version, '1.0.0');
    assert.equal(summary(status, 'Ready'), 'False/RollingOut');
  });

  it('reports the new version once every replica runs it', () => {
    const mi = meshInstallation({ spec: { version: '1.1.0' }, status: previous() });
    const obs = observations(mi);
    const status = computeStatus(mi, { ...obs, upgrading: observeUpgrade(mi, obs.deployment) }, LATER);
    assert.equal(summary(status, 'Upgrading'), 'False/UpToDate');
    assert.equal(status.version, '1.1.0');
    assert.equal(observeUpgrade(meshInstallation({ status }), obs.deployment), undefined);
  });

  it('counts no progress before the Deployment controller has seen the new spec', () => {
    const mi = meshInstallation({ spec: { version: '1.1.0' }, status: previous() });
    const stale = {
      replicas: 2,
      availableReplicas: 2,
      updatedReplicas: 2,
      observedGeneration: 3,
      generation: 4,
      version: '1.1.0',
    };
    assert.equal(observeUpgrade(mi, stale)!.progress.updatedReplicas, 0);
  });
});

describe('computeStatus: Reconciled', () => {
  it('InvalidSpec, reported by Ready too', () => {
    const status = statusOf(() => ({ invalid: 'tracing.collectorAddress does not resolve' }));
    const c = condition(status, 'Reconciled');
    assert.equal(`${c.status}/${c.reason}`, 'False/InvalidSpec');
    assert.equal(c.message, 'tracing.collectorAddress does not resolve');
    assert.equal(summary(status, 'Ready'), 'False/InvalidSpec');
  });

  it('Conflicted, naming the older installation, and the disputed namespaces leave memberNamespaces', () => {
    const status = statusOf(() => ({ conflict: { with: 'platform', namespaces: ['shop'] } }));
    const c = condition(status, 'Reconciled');
    assert.equal(`${c.status}/${c.reason}`, 'False/Conflicted');
    assert.match(c.message, /\(shop\) are also selected by the older MeshInstallation platform/);
    assert.equal(summary(status, 'Ready'), 'False/Conflicted');
    assert.deepEqual(status.memberNamespaces, ['payments']);
  });

  it('ApplyFailed with the error', () => {
    const status = statusOf(() => ({ applyError: 'Deployment: 403 forbidden' }));
    assert.equal(summary(status, 'Reconciled'), 'False/ApplyFailed');
    assert.equal(condition(status, 'Ready').message, 'Reconciled: Deployment: 403 forbidden');
  });

  it('sets every condition type once, Ready last', () => {
    const status = statusOf(() => ({}));
    assert.deepEqual(
      status.conditions!.map((c) => c.type),
      Object.values(CONDITIONS),
    );
  });
});

describe('membership and conflicts', () => {
  const ns = (name: string, labels: Record<string, string> = { 'meshwright.io/inject': 'enabled' }) => ({
    name,
    labels,
  });

  it('matches label selectors as Kubernetes does', () => {
    const labels = { team: 'shop', tier: 'web' };
    assert.equal(selectorMatches({}, labels), true);
    assert.equal(selectorMatches({ matchLabels: { team: 'shop' } }, labels), true);
    assert.equal(selectorMatches({ matchLabels: { team: 'pay' } }, labels), false);
    assert.equal(
      selectorMatches(
        { matchExpressions: [{ key: 'team', operator: 'In', values: ['shop', 'pay'] }] },
        labels,
      ),
      true,
    );
    assert.equal(
      selectorMatches({ matchExpressions: [{ key: 'team', operator: 'NotIn', values: ['shop'] }] }, labels),
      false,
    );
    assert.equal(
      selectorMatches({ matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['prod'] }] }, labels),
      true,
    );
    assert.equal(selectorMatches({ matchExpressions: [{ key: 'tier', operator: 'Exists' }] }, labels), true);
    assert.equal(
      selectorMatches({ matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] }, labels),
      false,
    );
  });

  it('never counts the control-plane, cert-manager or system namespaces as members, even when labelled', () => {
    const mi = meshInstallation();
    const all = [
      ns('shop'),
      ns('meshwright-system'),
      ns('cert-manager'),
      ns('kube-system'),
      ns('plain', {}),
      ns('api'),
    ];
    assert.deepEqual(memberNamespaces(mi, all), ['api', 'shop']);
  });

  it('the newer installation loses the namespaces both select; the older keeps them', () => {
    const older = meshInstallation({ name: 'platform', creationTimestamp: '2024-01-01T00:00:00Z' });
    const newer = meshInstallation({
      name: 'team',
      creationTimestamp: '2025-01-01T00:00:00Z',
      spec: { namespace: 'team-mesh', dataPlane: { namespaceSelector: { matchLabels: { team: 'a' } } } },
    });
    const namespaces = [
      ns('shop', { 'meshwright.io/inject': 'enabled', team: 'a' }),
      ns('api', { team: 'a' }),
      ns('payments'),
    ];
    const losers = conflictLoser([newer, older], namespaces);
    assert.deepEqual([...losers], [['team', { with: 'platform', namespaces: ['shop'] }]]);
  });

  it('breaks a creation-time tie by name, and finds no conflict between disjoint selectors', () => {
    const at = '2025-01-01T00:00:00Z';
    const a = meshInstallation({ name: 'a', creationTimestamp: at });
    const b = meshInstallation({ name: 'b', creationTimestamp: at, spec: { namespace: 'b-mesh' } });
    assert.deepEqual([...conflictLoser([b, a], [ns('shop')]).keys()], ['b']);
    const c = meshInstallation({
      name: 'c',
      spec: { namespace: 'c-mesh', dataPlane: { namespaceSelector: { matchLabels: { mesh: 'c' } } } },
    });
    assert.equal(conflictLoser([a, c], [ns('shop'), ns('other', { mesh: 'c' })]).size, 0);
  });
});
