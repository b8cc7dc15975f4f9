/**
 * The ServicePolicy kind on the standard path, against a recording fake `Kube` and recorder: what it
 * applies, prunes, keeps, and says in status and Events. No API server.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import {
  FakeClock,
  Informer,
  keyOf,
  RecordingRecorder,
  silentLogger,
  standardReconciler,
  withDesiredHash,
  type Condition,
  type KubeObject,
} from '../runtime/index.js';
import { RecordingKube } from '../runtime/recording-kube.js';
import { networkPolicy } from './desired.js';
import { service, servicePolicy, type PolicyOverrides } from './fixtures.js';
import { networkPolicyName, SERVED_GENERATION_ANNOTATION } from './names.js';
import { BY_TARGET, NetworkPolicies, ServicePolicies, servicePolicyKind, Services } from './reconciler.js';

let kube: RecordingKube;
let recorder: RecordingRecorder;
let policies: Informer;
let services: Informer;
let networkPolicies: Informer;
const clock = new FakeClock(Date.UTC(2025, 3, 1));

beforeEach(() => {
  kube = new RecordingKube();
  recorder = new RecordingRecorder();
  policies = new Informer(kube, ServicePolicies);
  policies.addIndex(BY_TARGET, (p) => [
    `${p.metadata!.namespace}/${(p.spec as { targetRef: { name: string } }).targetRef.name}`,
  ]);
  services = new Informer(kube, Services);
  networkPolicies = new Informer(kube, NetworkPolicies);
});

const put = (inf: Informer, obj: object): void =>
  void inf.store.put(keyOf(obj as KubeObject), obj as KubeObject);
/** A cached policy; `served: false` leaves out the annotation the control plane writes once it serves the policy. */
const policy = (o: PolicyOverrides & { served?: boolean } = {}) => {
  const { served = true, ...overrides } = o;
  const p = servicePolicy(overrides);
  const annotations = served ? { [SERVED_GENERATION_ANNOTATION]: String(p.metadata.generation) } : {};
  put(policies, { ...p, metadata: { ...p.metadata, annotations, resourceVersion: '1' } });
  return p;
};
const reconcile = (name = 'checkout') =>
  standardReconciler(
    { kube, events: recorder, clock },
    servicePolicyKind({ policies, services, networkPolicies }),
    policies,
  )(`shop/${name}`, {
    reconcileID: 'r',
    log: silentLogger(),
    signal: new AbortController().signal,
    namespace: 'shop',
    name,
  });
const writes = () => kube.calls.map((c) => `${c.verb} ${c.ref}`);
const statusWritten = () =>
  kube.calls.find((c) => c.verb === 'status')?.body as {
    conditions: Condition[];
    generatedResources: { name: string }[];
  };
const condition = (type: string) => {
  const c = statusWritten().conditions.find((x) => x.type === type)!;
  return [c.status, c.reason];
};
/** The NetworkPolicy of `p` as the API server stores it after our apply. */
const storedNetworkPolicy = (p = servicePolicy()) => {
  const np = withDesiredHash(networkPolicy(p, service()) as unknown as KubeObject);
  return { ...np, metadata: { ...np.metadata, uid: 'uid-np', resourceVersion: '5' } };
};

describe('ServicePolicy reconciler (fake Kube)', () => {
  it('applies the NetworkPolicy but is not Programmed while the control plane does not serve this generation', async () => {
    policy({ served: false });
    put(services, service());
    await reconcile();
    assert.deepEqual(writes(), [
      'apply NetworkPolicy/meshwright-svcpol-checkout',
      'status ServicePolicy/checkout',
    ]);
    assert.deepEqual(condition('Programmed'), ['False', 'NotServed']);
    assert.deepEqual(condition('Ready'), ['False', 'NotServed']);
  });

  it('applies the NetworkPolicy owned by the policy, then reports it Ready', async () => {
    policy();
    put(services, service());
    await reconcile();
    assert.deepEqual(writes(), [
      'apply NetworkPolicy/meshwright-svcpol-checkout',
      'status ServicePolicy/checkout',
    ]);
    const np = kube.calls[0]!.body as {
      metadata: { ownerReferences: { uid: string; controller: boolean }[] };
      spec: { ingress: { from?: unknown[] }[] };
    };
    assert.deepEqual(
      np.metadata.ownerReferences.map((r) => [r.uid, r.controller]),
      [['uid-checkout', true]],
    );
    assert.ok(np.spec.ingress.every((r) => Array.isArray(r.from) && r.from.length > 0));
    assert.deepEqual(condition('Ready'), ['True', 'Ready']);
    assert.deepEqual(condition('Programmed'), ['True', 'NetworkPolicyApplied']);
    assert.deepEqual(
      statusWritten().generatedResources.map((r) => r.name),
      [networkPolicyName(servicePolicy())],
    );
    assert.deepEqual(
      recorder.events.map((e) => e.reason),
      ['NetworkPolicyApplied'],
    );
  });

  it('a second policy on the same Service is Conflicted and applies nothing', async () => {
    policy({ name: 'first', creationTimestamp: '2025-01-01T00:00:00Z' });
    policy({ name: 'second', creationTimestamp: '2025-01-02T00:00:00Z' });
    put(services, service());
    await reconcile('second');
    assert.deepEqual(writes(), ['status ServicePolicy/second']);
    assert.deepEqual(condition('Accepted'), ['False', 'Conflicted']);
    assert.deepEqual(
      recorder.events.map((e) => [e.type, e.reason]),
      [['Warning', 'Conflicted']],
    );
  });

  it('Service gone: TargetNotFound, and the NetworkPolicy is pruned', async () => {
    const p = policy();
    put(networkPolicies, storedNetworkPolicy(p));
    await reconcile();
    assert.deepEqual(writes(), [
      'delete NetworkPolicy/meshwright-svcpol-checkout',
      'status ServicePolicy/checkout',
    ]);
    assert.deepEqual(condition('ResolvedRefs'), ['False', 'TargetNotFound']);
    assert.deepEqual(statusWritten().generatedResources, []);
  });

  it('InvalidSpec (a port the Service lacks) keeps the last applied NetworkPolicy', async () => {
    const p = policy({
      rules: [{ name: 'r', action: 'Allow', from: [{ namespaces: ['web'] }], to: [{ ports: ['nope'] }] }],
    });
    put(services, service());
    put(networkPolicies, storedNetworkPolicy(servicePolicy()));
    await reconcile();
    assert.deepEqual(writes(), ['status ServicePolicy/checkout']);
    assert.deepEqual(condition('Accepted'), ['False', 'InvalidSpec']);
    assert.deepEqual(
      statusWritten().generatedResources.map((r) => r.name),
      [networkPolicyName(p)],
    );
    assert.equal(recorder.events[0]?.type, 'Warning');
  });

  it('Audit: no NetworkPolicy, an Event with what would be applied', async () => {
    policy({ access: { enforcement: 'Audit' } });
    put(services, service());
    await reconcile();
    assert.deepEqual(writes(), ['status ServicePolicy/checkout']);
    assert.deepEqual(condition('Programmed'), ['True', 'AuditOnly']);
    const audit = recorder.events.find((e) => e.reason === 'AuditOnly');
    assert.match(audit?.note ?? '', /^would allow 1 peer on 8080\/TCP/);
  });

  it('Disabled: the NetworkPolicy is pruned', async () => {
    policy({ access: { networkPolicy: { mode: 'Disabled' } } });
    put(services, service());
    put(networkPolicies, storedNetworkPolicy());
    await reconcile();
    assert.deepEqual(writes(), [
      'delete NetworkPolicy/meshwright-svcpol-checkout',
      'status ServicePolicy/checkout',
    ]);
    assert.deepEqual(condition('Programmed'), ['True', 'NetworkPolicyDisabled']);
  });

  it('an object zod refuses: Accepted, Programmed and Ready False with InvalidSpec, nothing applied', async () => {
    const p = servicePolicy();
    put(policies, { ...p, spec: { ...p.spec, targetRef: { kind: 'Pod', name: 'checkout' } } });
    put(services, service());
    await assert.rejects(reconcile(), /invalid spec: spec\.targetRef\.kind/);
    assert.deepEqual(writes(), ['status ServicePolicy/checkout']);
    assert.deepEqual(condition('Accepted'), ['False', 'InvalidSpec']);
    assert.deepEqual(condition('Ready'), ['False', 'InvalidSpec']);
  });

  it('makes no write when the NetworkPolicy and the status are current', async () => {
    policy();
    put(services, service());
    await reconcile();
    const status = statusWritten();
    kube.calls.length = 0;
    policy();
    put(policies, {
      ...policies.get('shop/checkout')!,
      metadata: { ...policies.get('shop/checkout')!.metadata, resourceVersion: '2' },
      status,
    });
    put(networkPolicies, storedNetworkPolicy());
    await reconcile();
    assert.deepEqual(writes(), []);
  });
});
