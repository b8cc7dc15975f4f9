import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { trafficSplitStatus, type TrafficSplitSpec, type TrafficSplitStatus } from '../api/trafficsplit.js';
import type { CheckOutcome } from './analysis.js';
import { MINUTE, results, spec, T0 } from './fixtures.js';
import { next, type Decision, type MachineInput } from './machine.js';

const ACTIONS = ['Promote', 'PromoteFull', 'Abort', 'Retry'] as const;
const OUTCOMES: CheckOutcome[] = ['Passed', 'Failed', 'Inconclusive'];

type Op =
  | { op: 'tick'; ms: number; ready: boolean; revision: 'rev-1' | 'rev-2' | undefined; outcome: CheckOutcome }
  | { op: 'pause'; paused: boolean }
  | { op: 'action'; type: (typeof ACTIONS)[number]; id: number }
  | { op: 'strategy'; variant: number }
  | { op: 'onFailure'; freeze: boolean };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant('tick' as const),
      ms: fc.oneof(fc.integer({ min: 0, max: 5 * MINUTE }), fc.constantFrom(MINUTE, 1000)),
      ready: fc.oneof(
        { weight: 4, arbitrary: fc.constant(true) },
        { weight: 1, arbitrary: fc.constant(false) },
      ),
      revision: fc.oneof(
        { weight: 8, arbitrary: fc.constant('rev-1' as const) },
        { weight: 1, arbitrary: fc.constant('rev-2' as const) },
        { weight: 1, arbitrary: fc.constant(undefined) },
      ),
      outcome: fc.constantFrom(...OUTCOMES),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('pause' as const), paused: fc.boolean() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('action' as const),
      type: fc.constantFrom(...ACTIONS, 'Promote', 'Retry', 'Retry'), // Abort is sticky: rarer
      id: fc.integer({ min: 0, max: 5 }), // small: requestIDs get re-applied
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('strategy' as const), variant: fc.integer({ min: 0, max: 2 }) }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('onFailure' as const), freeze: fc.boolean() }) },
);

const STRATEGIES = [
  {
    interval: '1m',
    steps: [{ setWeight: 10 }, { pause: { duration: '2m' } }, { setWeight: 50 }, { pause: {} }],
  },
  { interval: '1m', stepWeight: 30 },
  { interval: '30s', steps: [{ analysis: { iterations: 2 } }, { setWeight: 100 }] },
];

const specFor = (variant: number): TrafficSplitSpec =>
  spec({ strategy: STRATEGIES[variant], progressDeadlineSeconds: 120 });

/** Runs `ops` like the reconciler would, checking the invariants after every call. */
function simulate(ops: Op[], onDecision: (input: MachineInput, d: Decision) => void): void {
  let s = specFor(0);
  let status: TrafficSplitStatus | undefined;
  let now = T0;
  let ready = true;
  let revision: string | undefined = 'rev-1';
  let generation = 1;
  let outcome: CheckOutcome = 'Inconclusive';
  const call = (analysis?: MachineInput['analysis']): Decision => {
    const input: MachineInput = {
      spec: s,
      status,
      generation,
      now,
      canaryRevision: revision,
      backendsReady: ready,
    };
    if (analysis) input.analysis = analysis;
    const d = next(input);
    onDecision(input, d);
    status = JSON.parse(JSON.stringify(d.status)) as TrafficSplitStatus;
    return d;
  };
  const reconcile = (): void => {
    const d = call();
    if (d.runAnalysis) call(results(s, outcome, now));
  };
  reconcile();
  for (const op of ops) {
    switch (op.op) {
      case 'tick':
        now += op.ms;
        ready = op.ready;
        revision = op.revision;
        outcome = op.outcome;
        break;
      case 'pause':
        s = { ...s, paused: op.paused };
        generation++;
        break;
      case 'action':
        s = { ...s, action: { type: op.type, requestID: `id-${op.id}` } };
        generation++;
        break;
      case 'strategy':
        s = {
          ...specFor(op.variant),
          paused: s.paused,
          onFailure: s.onFailure,
          ...(s.action ? { action: s.action } : {}),
        };
        generation++;
        break;
      case 'onFailure':
        s = { ...s, onFailure: op.freeze ? 'Freeze' : 'Rollback' };
        generation++;
        break;
    }
    reconcile();
  }
}

function checkInvariants(input: MachineInput, d: Decision): void {
  const st = d.status;
  trafficSplitStatus.parse(JSON.parse(JSON.stringify(st)));
  const w = st.weights!;
  assert.ok(Number.isInteger(w.stable) && Number.isInteger(w.canary));
  assert.equal(w.stable + w.canary, 100, 'weights add up to 100');
  if (d.requeueAfterMs !== undefined) assert.ok(d.requeueAfterMs > 0);
  const cond = (type: string) => st.conditions!.find((c) => c.type === type)!;
  assert.equal(cond('Promoted').status === 'True', st.phase === 'Succeeded', 'Promoted only when Succeeded');
  assert.equal(cond('Paused').status === 'True', st.phase === 'Paused', 'Paused condition follows the phase');
  assert.equal(
    cond('RolledBack').status === 'True',
    st.phase === 'RolledBack' || st.phase === 'Aborted',
    'RolledBack condition follows the phase',
  );
  if (st.phase === 'RolledBack' || st.phase === 'Aborted') assert.deepEqual(w, { stable: 100, canary: 0 });
  if (st.phase === 'Promoting' || st.phase === 'Succeeded') assert.deepEqual(w, { stable: 0, canary: 100 });
  if (st.phase === 'Initializing') assert.deepEqual(w, { stable: 100, canary: 0 });
  if (st.currentStepIndex !== undefined) assert.ok(st.currentStepIndex <= st.stepCount!);
  for (const c of st.conditions!) assert.equal(c.observedGeneration, input.generation);
  assert.equal(st.observedGeneration, input.generation);
}

describe('state machine properties (random sequences of inputs)', () => {
  it('keeps every invariant: weights add up to 100, conditions follow the phase, the status is valid', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 5, maxLength: 80 }), (ops) => simulate(ops, checkInvariants)),
      { numRuns: 1000 },
    );
  });

  it('is idempotent: feeding a decision back with the same inputs changes nothing and emits nothing', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 5, maxLength: 60 }), (ops) =>
        simulate(ops, (input, d) => {
          const again = next({
            ...input,
            status: JSON.parse(JSON.stringify(d.status)) as TrafficSplitStatus,
          });
          assert.deepEqual(again.status, JSON.parse(JSON.stringify(d.status)));
          assert.deepEqual(again.events, []);
        }),
      ),
      { numRuns: 500 },
    );
  });

  it('never promotes on missing or failing data without a person promoting', () => {
    const noPromotion = fc.array(
      opArb
        .filter((op) => !(op.op === 'action' && (op.type === 'Promote' || op.type === 'PromoteFull')))
        .filter((op) => op.op !== 'strategy')
        .map((op): Op =>
          op.op === 'tick' && op.outcome === 'Passed' ? { ...op, outcome: 'Inconclusive' } : op,
        ),
      { minLength: 5, maxLength: 80 },
    );
    fc.assert(
      fc.property(noPromotion, (ops) =>
        simulate(ops, (_input, d) => {
          assert.notEqual(d.status.phase, 'Promoting');
          assert.notEqual(d.status.phase, 'Succeeded');
          // the first setWeight is the furthest it can get without a Passed check
          assert.ok(d.status.weights!.canary <= 10, `canary ${d.status.weights!.canary}%`);
        }),
      ),
      { numRuns: 1000 },
    );
  });
});
