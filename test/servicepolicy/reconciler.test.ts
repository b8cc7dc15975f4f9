/**
 * The ServicePolicy controller on a Manager against an API server (the local cluster, or
 * MESHWRIGHT_TEST_KUBECONFIG): the CRDs from crds/ are installed first, everything else lives in a
 * namespace of this test. Waits are bounded polls, never sleeps.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { API_VERSION } from '../../operator/api/index.js';
import {
  Manager,
  silentLogger,
  type Condition,
  type Kube,
  type KubeObject,
} from '../../operator/runtime/index.js';
import { networkPolicyName, SERVED_GENERATION_ANNOTATION } from '../../operator/servicepolicy/names.js';
import { ServicePolicies, setupServicePolicyController } from '../../operator/servicepolicy/reconciler.js';
import type { Controller } from '../../operator/runtime/index.js';
import { REAL, setup, waitFor, type Env } from '../runtime/support.js';

const ROOT = join(import.meta.dirname, '..', '..');

let env: Env;
let kube: Kube;
let mgr: Manager;
let controller: Controller;
let ns: string;
let stop: AbortController;
let running: Promise<void>;

interface NetworkPolicyJson extends KubeObject {
  spec: {
    podSelector: { matchLabels?: Record<string, string> };
    ingress: { from?: Record<string, unknown>[]; ports?: { port: number | string; protocol: string }[] }[];
  };
}
interface PolicyJson extends KubeObject {
  status?: { conditions?: Condition[]; generatedResources?: { name: string }[] };
}

/** Applies every CRD in crds/ and waits until the API serves ServicePolicies. */
async function installCrds(k: Kube): Promise<void> {
  for (const file of (await readdir(join(ROOT, 'crds'))).filter((f) => f.endsWith('.yaml')))
    await k.apply(parse(await readFile(join(ROOT, 'crds', file), 'utf8')) as KubeObject, {
      fieldManager: 'meshwright-test',
    });
  await waitFor(() => k.list(ServicePolicies, { namespace: 'default' }).then(() => true), 15_000, 'the CRDs');
}

const service = (name: string, selector: Record<string, string> = { app: name }): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: ns },
  spec: { selector, ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] },
});

const policy = (name: string, target: string, access: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: API_VERSION,
  kind: 'ServicePolicy',
  metadata: { name, namespace: ns },
  spec: {
    targetRef: { kind: 'Service', name: target },
    access: {
      defaultAction: 'Deny',
      rules: [
        {
          name: 'storefront',
          action: 'Allow',
          from: [{ serviceAccounts: [`${ns}/storefront`] }],
          to: [{ ports: ['http'] }],
        },
      ],
      ...access,
    },
  },
});

const policyRef = (name: string) => ({ apiVersion: API_VERSION, kind: 'ServicePolicy', name, namespace: ns });
const npRef = (policyName: string) => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  name: networkPolicyName({ metadata: { name: policyName } }),
  namespace: ns,
});
const getNp = (policyName: string) => kube.get<NetworkPolicyJson>(npRef(policyName)).catch(() => undefined);
const gone = async (policyName: string) => (await getNp(policyName)) === undefined;
const conditionOf = async (name: string, type: string) =>
  (await kube.get<PolicyJson>(policyRef(name))).status?.conditions?.find((c) => c.type === type);
/** Waits until condition `type` of policy `name` has `status` (and `reason`). */
const waitCondition = (name: string, type: string, status: string, reason?: string) =>
  waitFor(
    async () => {
      const c = await conditionOf(name, type);
      return c && c.status === status && (reason === undefined || c.reason === reason) ? c : undefined;
    },
    10_000,
    `${name}: ${type}=${status}${reason ? ` (${reason})` : ''}`,
  );

/**
 * Marks the current generation of policy `name` served, as the control plane's leader does once the
 * configuration it serves includes it (test/controlplane runs the real one): `Programmed` waits for it.
 */
async function serve(name: string): Promise<void> {
  const p = await kube.get<PolicyJson>(policyRef(name));
  await kube.mergePatch(policyRef(name), {
    metadata: { annotations: { [SERVED_GENERATION_ANNOTATION]: String(p.metadata!.generation) } },
  });
}

before(async () => {
  env = await setup();
  kube = env.kube();
  await installCrds(kube);
  ns = await env.h.namespace('svcpol');
  mgr = new Manager({
    kube: env.kube(),
    logger: silentLogger(),
    informers: { initialBackoffMs: 20, maxBackoffMs: 500 },
  });
  controller = setupServicePolicyController(mgr, { namespace: ns });
  stop = new AbortController();
  running = mgr.start(stop.signal);
});

after(async () => {
  stop?.abort();
  await running;
  await env?.h.close();
});

describe('ServicePolicy controller', () => {
  it('generates the NetworkPolicy, owned by the policy, and reports Ready', async () => {
    await kube.create(service('checkout'));
    await kube.create(policy('checkout', 'checkout'));
    const np = await waitFor(() => getNp('checkout'), 10_000, 'the NetworkPolicy');
    const p = await kube.get<PolicyJson>(policyRef('checkout'));
    assert.deepEqual(
      np.metadata!.ownerReferences!.map((r) => [r.kind, r.name, r.uid, r.controller]),
      [['ServicePolicy', 'checkout', p.metadata!.uid, true]],
    );
    assert.equal(np.metadata!.labels!['app.kubernetes.io/managed-by'], 'meshwright');
    assert.deepEqual(np.spec.podSelector, { matchLabels: { app: 'checkout' } });
    assert.deepEqual(np.spec.ingress, [
      {
        from: [
          {
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } },
            podSelector: { matchLabels: { 'meshwright.io/service-account': 'storefront' } },
          },
        ],
        ports: [{ port: 8080, protocol: 'TCP' }],
      },
    ]);
    await waitCondition('checkout', 'Programmed', 'False', 'NotServed');
    await serve('checkout');
    await waitCondition('checkout', 'Ready', 'True', 'Ready');
    const status = (await kube.get<PolicyJson>(policyRef('checkout'))).status!;
    assert.deepEqual(
      status.generatedResources!.map((r) => r.name),
      [npRef('checkout').name],
    );
  });

  it('follows a change of the Service selector', async () => {
    await kube.mergePatch(
      { apiVersion: 'v1', kind: 'Service', name: 'checkout', namespace: ns },
      { spec: { selector: { app: 'checkout', tier: 'web' } } },
    );
    await waitFor(
      async () => (await getNp('checkout'))?.spec.podSelector.matchLabels?.tier === 'web',
      10_000,
      'the podSelector to follow the Service',
    );
  });

  it('puts back a NetworkPolicy deleted by hand', async () => {
    const before = (await getNp('checkout'))!.metadata!.uid;
    await kube.delete(npRef('checkout'));
    await waitFor(
      async () => {
        const uid = (await getNp('checkout'))?.metadata?.uid;
        return uid !== undefined && uid !== before;
      },
      10_000,
      'the NetworkPolicy to come back',
    );
  });

  it('a second policy on the same Service is Conflicted; it takes over when the first is deleted', async () => {
    await kube.create(service('orders'));
    await kube.create(policy('orders-a', 'orders'));
    await waitFor(() => getNp('orders-a'), 10_000, 'the first NetworkPolicy');
    await kube.create(policy('orders-b', 'orders'));
    const c = await waitCondition('orders-b', 'Accepted', 'False', 'Conflicted');
    assert.match(c.message, /orders-a/);
    assert.ok(await gone('orders-b'), 'a conflicted policy generates nothing');

    await kube.delete(policyRef('orders-a'));
    await serve('orders-b');
    await waitCondition('orders-b', 'Ready', 'True');
    await waitFor(() => getNp('orders-b'), 10_000, 'the second NetworkPolicy');
    await waitFor(() => gone('orders-a'), 10_000, 'the first NetworkPolicy to be collected');
  });

  it('networkPolicy.mode Disabled removes the NetworkPolicy', async () => {
    await kube.create(service('payments'));
    await kube.create(policy('payments', 'payments'));
    await waitFor(() => getNp('payments'), 10_000, 'the NetworkPolicy');
    await kube.mergePatch(policyRef('payments'), {
      spec: { access: { networkPolicy: { mode: 'Disabled' } } },
    });
    await waitFor(() => gone('payments'), 10_000, 'the NetworkPolicy to be removed');
    await serve('payments');
    await waitCondition('payments', 'Programmed', 'True', 'NetworkPolicyDisabled');
  });

  it('Audit applies no NetworkPolicy and says what it would in an Event', async () => {
    await kube.create(service('audit'));
    await kube.create(policy('audit', 'audit', { enforcement: 'Audit' }));
    await serve('audit');
    await waitCondition('audit', 'Programmed', 'True', 'AuditOnly');
    assert.ok(await gone('audit'));
    const events = { apiVersion: 'events.k8s.io/v1', kind: 'Event', plural: 'events', namespaced: true };
    const ev = await waitFor(
      async () =>
        (
          await kube.list<KubeObject & { reason?: string; note?: string; regarding?: { name?: string } }>(
            events,
            {
              namespace: ns,
            },
          )
        ).items.find((e) => e.reason === 'AuditOnly' && e.regarding?.name === 'audit'),
      10_000,
      'the AuditOnly Event',
    );
    assert.match(ev.note ?? '', /^would allow 1 peer on 8080\/TCP/);
  });

  it('a deleted Service: ResolvedRefs=False (TargetNotFound), and the NetworkPolicy is removed', async () => {
    await kube.delete({ apiVersion: 'v1', kind: 'Service', name: 'checkout', namespace: ns });
    await waitCondition('checkout', 'ResolvedRefs', 'False', 'TargetNotFound');
    await waitFor(() => gone('checkout'), 10_000, 'the NetworkPolicy to be removed');
    const status = (await kube.get<PolicyJson>(policyRef('checkout'))).status!;
    assert.deepEqual(status.generatedResources, []);
  });

  it('makes zero writes in a steady state, through a resync', async () => {
    const idle = () => controller.queue.len() === 0 && controller.queue.inFlight() === 0;
    const reconciles = async () => {
      const metric = mgr.metrics.registry.getSingleMetric('controller_runtime_reconcile_total');
      const values = (await metric!.get()).values;
      return values.filter((v) => v.labels.controller === 'servicepolicy').reduce((n, v) => n + v.value, 0);
    };
    // settled: every policy's status is current and nothing is queued
    await waitFor(
      async () => {
        if (!idle()) return false;
        const list = await kube.list<PolicyJson>(ServicePolicies, { namespace: ns });
        return list.items.every((p) =>
          p.status?.conditions?.some(
            (c) => c.type === 'Ready' && c.observedGeneration === p.metadata!.generation,
          ),
        );
      },
      10_000,
      'the controller to settle',
    );
    await mgr.events.flush();
    const clientWrites = mgr.kube.requests.writes();
    env.h.local?.faults.resetLog();
    const before = await reconciles();

    mgr.informers.resync(); // every object re-delivered: every policy reconciled again
    const policies = (await kube.list(ServicePolicies, { namespace: ns })).items.length;
    await waitFor(
      async () => idle() && (await reconciles()) >= before + policies,
      10_000,
      'the resync reconciles',
    );
    await mgr.events.flush();

    assert.equal(mgr.kube.requests.writes() - clientWrites, 0, 'no write sent by the operator');
    if (!REAL) {
      const writes = ['POST', 'PUT', 'PATCH', 'DELETE'].reduce(
        (n, method) => n + env.h.local!.faults.count({ method }),
        0,
      );
      assert.equal(writes, 0, 'no write seen by the API server');
    }
  });
});
