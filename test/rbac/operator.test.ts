/**
 * Every permission the operator is given is enough: the operator process (`startOperator`, leader
 * election on) runs as its service account against a local cluster with TLS and RBAC, holding only
 * the generated ClusterRole and leader-election Role, through the main scenarios — a
 * MeshInstallation becomes Ready (the test plays the Deployment controller, cert-manager and its CA
 * injector) and is deleted through its finalizer, a ServicePolicy generates its NetworkPolicy, a
 * TrafficSplit advances a step on a fake Prometheus — and the API server answers it no 403. The
 * counter-test removes one rule and sees 403s, so the check can fail.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import * as names from '../../operator/meshinstallation/names.js';
import { parse } from '../../operator/meshinstallation/reconciler.js';
import { networkPolicyName } from '../../operator/servicepolicy/names.js';
import { allows, OPERATOR_CLUSTER_RULES } from '../../operator/generate/rbac.js';
import { isNotFound, type KubeObject } from '../../operator/runtime/index.js';
import {
  injectCaBundle,
  makeAvailable,
  makeCertificateReady,
  meshInstallation,
  summary,
} from '../meshinstallation/support.js';
import { waitFor } from '../runtime/support.js';
import { canarySetup, trafficSplit, waitSplit } from '../trafficsplit/support.js';
import { CERT_MANAGER_NS, startRbacEnv, waitReady, type RbacEnv } from './support.js';

const MESH = 'mesh.meshwright.io/v1alpha1';

describe('the operator with only its generated RBAC', () => {
  let env: RbacEnv;
  let prometheus: Server;
  let address: string;

  before(async () => {
    prometheus = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          status: 'success',
          data: { resultType: 'vector', result: [{ metric: {}, value: [Date.now() / 1000, '100'] }] },
        }),
      );
    });
    await new Promise<void>((r) => prometheus.listen(0, '127.0.0.1', r));
    address = `http://127.0.0.1:${(prometheus.address() as AddressInfo).port}`;
    env = await startRbacEnv();
    await waitReady(env);
  });

  after(async () => {
    await env?.stop();
    await new Promise((r) => prometheus?.close(r));
  });

  it('holds the Lease and syncs every cache', () => {
    assert.equal(env.operator!.mgr.isLeader(), true);
    assert.deepEqual(env.forbidden(), []);
  });

  it('brings a MeshInstallation to Ready and finalizes its deletion', async () => {
    const kube = env.admin;
    await kube.create({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'shop', labels: { 'meshwright.io/inject': 'enabled' } },
    });
    const mi = parse(
      await kube.create(meshInstallation('default', { version: '1.1.0', namespace: 'mesh-cp' })),
    );
    const ref = { apiVersion: MESH, kind: 'MeshInstallation', name: 'default' };
    const webhook = {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      name: names.injectorWebhook(mi),
    };
    await waitFor(() => kube.get(webhook), 20_000, 'the webhook configuration (applied last)');
    await makeCertificateReady(kube, CERT_MANAGER_NS, names.rootCertificate(mi));
    await makeCertificateReady(kube, 'mesh-cp', names.servingCertificate(mi));
    await makeAvailable(kube, 'mesh-cp', names.controlPlane(mi));
    await injectCaBundle(kube, names.injectorWebhook(mi));
    await waitFor(
      async () => summary(await kube.get(ref), 'Ready') === 'True/Ready',
      20_000,
      'MeshInstallation Ready=True',
    );
    // the finalizer lists and deletes the Secrets cert-manager would have written
    await kube.create({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: names.servingSecret(mi), namespace: 'mesh-cp', labels: ownerLabels(mi) },
    });
    await kube.delete(ref);
    await waitFor(
      () =>
        kube.get(ref).then(
          () => false,
          (e: unknown) => isNotFound(e),
        ),
      20_000,
      'the MeshInstallation to be finalized',
    );
    assert.deepEqual(env.forbidden(), []);
  });

  it('generates the NetworkPolicy of a ServicePolicy', async () => {
    const kube = env.admin;
    await kube.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'payments' } });
    await kube.create({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'checkout', namespace: 'payments' },
      spec: { selector: { app: 'checkout' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
    });
    await kube.create(servicePolicy('payments', 'checkout'));
    await waitFor(
      () =>
        kube.get({
          apiVersion: 'networking.k8s.io/v1',
          kind: 'NetworkPolicy',
          name: networkPolicyName({ metadata: { name: 'checkout' } }),
          namespace: 'payments',
        }),
      20_000,
      'the NetworkPolicy',
    );
    await waitFor(
      async () =>
        summary(
          await kube.get({
            apiVersion: MESH,
            kind: 'ServicePolicy',
            name: 'checkout',
            namespace: 'payments',
          }),
          'Accepted',
        ).startsWith('True'),
      20_000,
      'Accepted',
    );
    assert.deepEqual(env.forbidden(), []);
  });

  it('advances a TrafficSplit a step after analysis, and writes its HTTPRoute', async () => {
    const kube = env.admin;
    await kube.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'canary' } });
    await canarySetup(kube, 'canary', 'web');
    await kube.create(
      trafficSplit('canary', 'web', {
        strategy: { interval: '10s', stepWeight: 50 },
        analysis: {
          prometheus: { address },
          failureThreshold: 1,
          metrics: [
            {
              name: 'success-rate',
              type: 'RequestSuccessRate',
              thresholdRange: { min: 99 },
              interval: '15s',
            },
          ],
        },
      }),
    );
    await waitSplit(kube, 'canary', 'web', (s) => s.status?.currentStepIndex === 0, 20_000, 'step 1');
    const next = await waitSplit(
      kube,
      'canary',
      'web',
      (s) => (s.status?.currentStepIndex ?? 0) >= 1 || s.status?.phase === 'Succeeded',
      30_000,
      'step 2',
    );
    assert.equal(next.status?.weights?.canary, 100);
    const routes = await kube.list(
      {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'HTTPRoute',
        plural: 'httproutes',
        namespaced: true,
      },
      { namespace: 'canary' },
    );
    assert.equal(routes.items.length, 1, 'the GAMMA HTTPRoute');
    assert.deepEqual(env.forbidden(), []);
  });
});

describe('the same operator with one rule less', () => {
  it('is refused (403) where that rule was needed: the check can fail', async () => {
    assert.ok(allows(OPERATOR_CLUSTER_RULES, 'networking.k8s.io', 'networkpolicies', 'patch'));
    const rules = OPERATOR_CLUSTER_RULES.filter((r) => !(r.apiGroups ?? []).includes('networking.k8s.io'));
    assert.equal(rules.length, OPERATOR_CLUSTER_RULES.length - 1);
    const env = await startRbacEnv({ rules });
    try {
      const refused = await waitFor(
        () => {
          const found = env.forbidden().filter((f) => f.includes('networkpolicies'));
          return found.length > 0 ? found : undefined;
        },
        20_000,
        'a 403 on networkpolicies',
      );
      assert.ok(refused.length > 0);
      assert.ok(
        env.forbidden().every((f) => f.includes('networkpolicies')),
        `only what the rule covered: ${env.forbidden().join(', ')}`,
      );
    } finally {
      await env.stop();
    }
  });
});

const ownerLabels = (mi: Parameters<typeof names.ownerLabels>[0]): Record<string, string> =>
  names.ownerLabels(mi);

const servicePolicy = (namespace: string, target: string): KubeObject => ({
  apiVersion: MESH,
  kind: 'ServicePolicy',
  metadata: { name: target, namespace },
  spec: {
    targetRef: { kind: 'Service', name: target },
    access: {
      defaultAction: 'Deny',
      rules: [
        {
          name: 'storefront',
          action: 'Allow',
          from: [{ serviceAccounts: [`${namespace}/storefront`] }],
          to: [{ ports: ['http'] }],
        },
      ],
    },
  },
});
