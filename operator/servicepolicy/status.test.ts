import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Condition } from '../runtime/conditions.js';
import { project } from './desired.js';
import { mesh, service, servicePolicy, type PolicyOverrides } from './fixtures.js';
import {
  computeStatus,
  conflictWinner,
  networkPolicyState,
  targetState,
  type Observation,
} from './status.js';

const T0 = new Date('2025-03-01T10:00:00Z');
const T1 = new Date('2025-03-01T11:00:00Z');

const applied: Observation = {
  target: 'Found',
  networkPolicy: {
    state: 'Applied',
    resource: {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      name: 'meshwright-svcpol-checkout',
      namespace: 'shop',
    },
    summary: '1 peer on 8080/TCP',
  },
  generatedResources: [
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      name: 'meshwright-svcpol-checkout',
      namespace: 'shop',
    },
  ],
  // The fixture policy's generation: the control plane serves it.
  servedGeneration: 1,
};

const observe = (o: Partial<Observation> = {}): Observation => ({ ...applied, ...o });

function conditionsOf(obs: Observation, policy: PolicyOverrides = {}, now = T0): Map<string, Condition> {
  const status = computeStatus(servicePolicy(policy), obs, now);
  return new Map((status.conditions ?? []).map((c) => [c.type, c]));
}

function expectCondition(
  conditions: Map<string, Condition>,
  type: string,
  status: Condition['status'],
  reason: string,
  message?: RegExp,
) {
  const c = conditions.get(type);
  assert.ok(c, `no ${type} condition`);
  assert.equal(c.status, status, `${type}: ${c.message}`);
  assert.equal(c.reason, reason);
  if (message) assert.match(c.message, message);
}

describe('computeStatus: the happy path', () => {
  const conditions = conditionsOf(observe({ servedGeneration: 4 }), { generation: 4 });

  it('sets the four conditions in order, all True', () => {
    assert.deepEqual([...conditions.keys()], ['Accepted', 'ResolvedRefs', 'Programmed', 'Ready']);
    expectCondition(conditions, 'Accepted', 'True', 'Accepted', /^the policy is valid$/);
    expectCondition(conditions, 'ResolvedRefs', 'True', 'ResolvedRefs', /^Service checkout found$/);
    expectCondition(
      conditions,
      'Programmed',
      'True',
      'NetworkPolicyApplied',
      /^NetworkPolicy meshwright-svcpol-checkout admits 1 peer on 8080\/TCP\./,
    );
    expectCondition(conditions, 'Ready', 'True', 'Ready');
  });

  it('says the control plane serves the L7 part', () => {
    assert.match(conditions.get('Programmed')!.message, /The control plane serves the L7 part/);
  });

  it('is not Programmed (NotServed) until the control plane serves this very generation', () => {
    const never = conditionsOf(observe({ servedGeneration: undefined }), { generation: 4 });
    expectCondition(never, 'Programmed', 'False', 'NotServed', /has not served generation 4 of this policy/);
    expectCondition(never, 'Ready', 'False', 'NotServed');
    assert.match(never.get('Programmed')!.message, /^NetworkPolicy meshwright-svcpol-checkout admits/);
    const older = conditionsOf(observe({ servedGeneration: 3 }), { generation: 4 });
    expectCondition(older, 'Programmed', 'False', 'NotServed', /\(it serves generation 3\)/);
    const audit = conditionsOf(
      observe({ servedGeneration: 3, networkPolicy: { state: 'AuditOnly', summary: 'would admit 1 peer' } }),
      { generation: 4 },
    );
    expectCondition(audit, 'Programmed', 'False', 'NotServed', /^enforcement is Audit/);
  });

  it('stamps observedGeneration on the status and every condition, and lists generated resources', () => {
    const status = computeStatus(servicePolicy({ generation: 4 }), observe({ servedGeneration: 4 }), T0);
    assert.equal(status.observedGeneration, 4);
    assert.ok(status.conditions!.every((c) => c.observedGeneration === 4));
    assert.deepEqual(status.generatedResources, applied.generatedResources);
    assert.ok(status.conditions!.every((c) => c.lastTransitionTime === '2025-03-01T10:00:00Z'));
  });
});

describe('computeStatus: Accepted', () => {
  it('Conflicted names the older policy; nothing is programmed', () => {
    const conditions = conditionsOf(observe({ conflictWinner: 'checkout-old' }));
    expectCondition(
      conditions,
      'Accepted',
      'False',
      'Conflicted',
      /already governed by ServicePolicy checkout-old, which is older/,
    );
    expectCondition(conditions, 'Programmed', 'False', 'Conflicted', /Accepted is False/);
    expectCondition(conditions, 'Ready', 'False', 'Conflicted', /checkout-old/);
  });

  it('InvalidSpec lists the semantic errors', () => {
    const conditions = conditionsOf(observe({ errors: ['rule "a": bad port', 'rule "b": nobody'] }));
    expectCondition(conditions, 'Accepted', 'False', 'InvalidSpec', /^rule "a": bad port; rule "b": nobody$/);
    expectCondition(conditions, 'Programmed', 'False', 'InvalidSpec');
    expectCondition(conditions, 'Ready', 'False', 'InvalidSpec', /bad port/);
  });

  it('a conflict outranks semantic errors', () => {
    expectCondition(
      conditionsOf(observe({ conflictWinner: 'old', errors: ['x'] })),
      'Accepted',
      'False',
      'Conflicted',
    );
  });

  it('lists at most ten errors', () => {
    const errors = Array.from({ length: 13 }, (_, i) => `error ${i}`);
    const message = conditionsOf(observe({ errors })).get('Accepted')!.message;
    assert.match(message, /error 9; and 3 more$/);
    assert.ok(!message.includes('error 10'));
  });

  it('warnings keep the policy accepted and are said', () => {
    const conditions = conditionsOf(observe({ warnings: ['rule "p": identity from elsewhere'] }));
    expectCondition(
      conditions,
      'Accepted',
      'True',
      'Accepted',
      /^accepted with warnings: rule "p": identity from elsewhere$/,
    );
    expectCondition(conditions, 'Ready', 'True', 'Ready');
  });
});

describe('computeStatus: ResolvedRefs', () => {
  it('TargetNotFound when the Service is absent', () => {
    const conditions = conditionsOf(observe({ target: 'NotFound' }));
    expectCondition(
      conditions,
      'ResolvedRefs',
      'False',
      'TargetNotFound',
      /^Service checkout not found in namespace shop$/,
    );
    expectCondition(conditions, 'Programmed', 'False', 'TargetNotFound');
    expectCondition(conditions, 'Ready', 'False', 'TargetNotFound');
  });

  it('NoSelector when the Service selects no pods', () => {
    const conditions = conditionsOf(observe({ target: 'NoSelector' }));
    expectCondition(conditions, 'ResolvedRefs', 'False', 'NoSelector', /has no pod selector/);
    expectCondition(conditions, 'Ready', 'False', 'NoSelector');
  });

  it('Accepted is judged apart from the target', () => {
    expectCondition(conditionsOf(observe({ target: 'NotFound' })), 'Accepted', 'True', 'Accepted');
  });
});

describe('computeStatus: Programmed', () => {
  it('NetworkPolicyDisabled says the rules are left to the proxies', () => {
    const conditions = conditionsOf(
      observe({ networkPolicy: { state: 'Disabled' }, generatedResources: [] }),
    );
    expectCondition(
      conditions,
      'Programmed',
      'True',
      'NetworkPolicyDisabled',
      /networkPolicy\.mode is Disabled.*left to the proxies/,
    );
    expectCondition(conditions, 'Ready', 'True', 'Ready');
  });

  it('NetworkPolicyNotNeeded carries the reason', () => {
    const conditions = conditionsOf(
      observe({ networkPolicy: { state: 'NotNeeded', message: 'defaultAction is Allow' } }),
    );
    expectCondition(conditions, 'Programmed', 'True', 'NetworkPolicyNotNeeded', /^defaultAction is Allow\./);
  });

  it('AuditOnly says nothing is applied, and what would be', () => {
    const conditions = conditionsOf(
      observe({ networkPolicy: { state: 'AuditOnly', summary: 'would allow 1 peer on 8080/TCP' } }),
    );
    expectCondition(
      conditions,
      'Programmed',
      'True',
      'AuditOnly',
      /^enforcement is Audit: no NetworkPolicy is applied; it would allow 1 peer on 8080\/TCP\./,
    );
    expectCondition(conditions, 'Ready', 'True', 'Ready', /enforcement is Audit/);
  });

  it('Pending while the NetworkPolicy is not applied, or applying it failed', () => {
    expectCondition(conditionsOf(observe({ networkPolicy: undefined })), 'Programmed', 'False', 'Pending');
    const failed = conditionsOf(
      observe({ networkPolicy: { state: 'Pending', message: 'applying NetworkPolicy x failed: timeout' } }),
    );
    expectCondition(failed, 'Programmed', 'False', 'Pending', /^applying NetworkPolicy x failed: timeout$/);
    expectCondition(failed, 'Ready', 'False', 'Pending', /timeout/);
  });

  it('the notes of what only the proxies enforce are in the message', () => {
    const conditions = conditionsOf(observe({ notes: ['Deny rule "no-admin" applies at L7 only'] }));
    assert.match(
      conditions.get('Programmed')!.message,
      /admits 1 peer on 8080\/TCP\. Deny rule "no-admin" applies at L7 only\. The control plane serves the L7 part/,
    );
  });
});

describe('computeStatus: transitions', () => {
  it('lastTransitionTime stays when the status does not flip, even if reason and message change', () => {
    const first = computeStatus(servicePolicy(), observe(), T0);
    const again = computeStatus(
      servicePolicy({ status: first, generation: 2 }),
      observe({ networkPolicy: { state: 'Disabled' }, servedGeneration: 2 }),
      T1,
    );
    const programmed = again.conditions!.find((c) => c.type === 'Programmed')!;
    assert.equal(programmed.reason, 'NetworkPolicyDisabled');
    assert.equal(programmed.lastTransitionTime, '2025-03-01T10:00:00Z');
    assert.equal(programmed.observedGeneration, 2);
  });

  it('an unchanged observation gives an equal status', () => {
    const first = computeStatus(servicePolicy(), observe(), T0);
    assert.deepEqual(computeStatus(servicePolicy({ status: first }), observe(), T1), first);
  });

  it('lastTransitionTime moves when the status flips', () => {
    const first = computeStatus(servicePolicy(), observe(), T0);
    const flipped = computeStatus(servicePolicy({ status: first }), observe({ target: 'NotFound' }), T1);
    const byType = new Map(flipped.conditions!.map((c) => [c.type, c]));
    assert.equal(byType.get('ResolvedRefs')!.lastTransitionTime, '2025-03-01T11:00:00Z');
    assert.equal(byType.get('Ready')!.lastTransitionTime, '2025-03-01T11:00:00Z');
    assert.equal(byType.get('Accepted')!.lastTransitionTime, '2025-03-01T10:00:00Z');
  });
});

describe('networkPolicyState and targetState', () => {
  const ref = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    name: 'meshwright-svcpol-checkout',
    namespace: 'shop',
  };

  it('Generate: Pending until applied, Pending with the error when applying failed, then Applied', () => {
    const p = project(servicePolicy(), service());
    assert.deepEqual(networkPolicyState(p), {
      state: 'Pending',
      message: 'NetworkPolicy meshwright-svcpol-checkout is not applied yet',
    });
    assert.deepEqual(networkPolicyState(p, { error: 'forbidden' }), {
      state: 'Pending',
      message: 'applying NetworkPolicy meshwright-svcpol-checkout failed: forbidden',
    });
    assert.deepEqual(networkPolicyState(p, { resource: ref }), {
      state: 'Applied',
      resource: ref,
      summary: '1 peer on 8080/TCP',
    });
  });

  it('Audit: the summary of what would be applied', () => {
    const p = project(
      servicePolicy({ access: { enforcement: 'Audit' } }),
      service(),
      mesh({ metricsPort: 15090 }),
    );
    assert.deepEqual(networkPolicyState(p), {
      state: 'AuditOnly',
      summary: 'would allow 1 peer on 8080/TCP; 1 peer on 15090/TCP',
    });
  });

  it('Disabled, NotNeeded, and nothing for Invalid and NoSelector', () => {
    assert.deepEqual(
      networkPolicyState(
        project(servicePolicy({ access: { networkPolicy: { mode: 'Disabled' } } }), service()),
      ),
      {
        state: 'Disabled',
      },
    );
    assert.equal(
      networkPolicyState(project(servicePolicy({ access: { defaultAction: 'Allow' } }), service()))?.state,
      'NotNeeded',
    );
    assert.equal(networkPolicyState(project(servicePolicy(), service({ selector: null }))), undefined);
  });

  it('targetState', () => {
    assert.equal(targetState(undefined), 'NotFound');
    assert.equal(targetState(service({ selector: null })), 'NoSelector');
    assert.equal(targetState(service({ selector: {} })), 'NoSelector');
    assert.equal(targetState(service()), 'Found');
  });
});

describe('conflictWinner', () => {
  const at = (name: string, creationTimestamp: string, o: PolicyOverrides = {}) =>
    servicePolicy({ name, creationTimestamp, ...o });

  it('the oldest policy of a Service wins, whatever the list order', () => {
    const policies = [
      at('newer', '2025-02-01T00:00:00Z'),
      at('oldest', '2025-01-01T00:00:00Z'),
      at('middle', '2025-01-15T00:00:00Z'),
    ];
    assert.deepEqual(conflictWinner(policies), new Map([['shop/checkout', 'oldest']]));
    assert.deepEqual(conflictWinner([...policies].reverse()), new Map([['shop/checkout', 'oldest']]));
  });

  it('same creation time: the first by name wins', () => {
    const policies = [at('b', '2025-01-01T00:00:00Z'), at('a', '2025-01-01T00:00:00Z')];
    assert.equal(conflictWinner(policies).get('shop/checkout'), 'a');
  });

  it('one winner per Service and namespace', () => {
    const winners = conflictWinner([
      at('x', '2025-01-02T00:00:00Z'),
      at('y', '2025-01-01T00:00:00Z', { target: 'payments' }),
      at('z', '2025-01-01T00:00:00Z', { namespace: 'other' }),
    ]);
    assert.deepEqual(
      winners,
      new Map([
        ['shop/checkout', 'x'],
        ['shop/payments', 'y'],
        ['other/checkout', 'z'],
      ]),
    );
  });

  it('a policy being deleted hands over at once', () => {
    const policies = [
      at('old', '2025-01-01T00:00:00Z', { deletionTimestamp: '2025-03-01T00:00:00Z' }),
      at('new', '2025-02-01T00:00:00Z'),
    ];
    assert.equal(conflictWinner(policies).get('shop/checkout'), 'new');
  });
});
