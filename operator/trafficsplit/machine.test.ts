import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CheckResult } from './analysis.js';
import { MINUTE, Rollout, SECOND, results, spec, specWithoutAnalysis, T0 } from './fixtures.js';
import { next, PROMOTION_SETTLE_MS, validate } from './machine.js';

const iso = (ms: number) => new Date(ms).toISOString();

/** Drives a fresh rollout to its first step (ready backends, known revision). */
function started(s = specWithoutAnalysis()): Rollout {
  const r = new Rollout(s);
  r.reconcile();
  return r;
}

describe('starting a rollout', () => {
  it('starts step 1 at once when the canary revision is known and the backends are ready', () => {
    const r = new Rollout(specWithoutAnalysis());
    const d = r.reconcile();
    assert.equal(r.status!.phase, 'Progressing');
    assert.equal(r.status!.currentStepIndex, 0);
    assert.equal(r.status!.stepCount, 2);
    assert.deepEqual(r.status!.weights, { stable: 90, canary: 10 });
    assert.equal(r.status!.stepStartedAt, iso(T0));
    assert.equal(r.status!.canaryRevision, 'rev-1');
    assert.equal(r.status!.failedChecks, 0);
    assert.equal(r.status!.consecutiveErrors, 0);
    assert.equal(r.status!.observedGeneration, 1);
    assert.equal(d.requeueAfterMs, MINUTE);
    assert.deepEqual(r.reasons(), ['RolloutStarted', 'StepAdvanced']);
    assert.match(d.events[1]!.message, /step 1\/2 \(setWeight 10\): canary 10%, stable 90%/);
  });

  it('waits in Initializing with all traffic on stable while the canary revision is unknown', () => {
    const r = new Rollout(specWithoutAnalysis());
    r.canaryRevision = undefined;
    const d = r.reconcile();
    assert.equal(r.status!.phase, 'Initializing');
    assert.equal(r.status!.currentStepIndex, undefined);
    assert.deepEqual(r.status!.weights, { stable: 100, canary: 0 });
    assert.equal(r.condition('Ready')!.status, 'False');
    assert.equal(r.condition('Ready')!.reason, 'CanaryRevisionUnknown');
    assert.equal(r.condition('Progressing')!.status, 'True');
    assert.equal(r.condition('Progressing')!.reason, 'WaitingForBackends');
    assert.ok(d.requeueAfterMs! <= 600 * SECOND);

    r.canaryRevision = 'rev-1';
    r.after(5 * SECOND);
    assert.equal(r.status!.phase, 'Progressing');
    assert.equal(r.status!.canaryRevision, 'rev-1');
    assert.equal(r.status!.stepStartedAt, iso(T0 + 5 * SECOND), 'step 1 starts when the canary is there');
    assert.equal(r.condition('Ready')!.status, 'True');
  });

  it('waits in Initializing while a backend is not ready, with one event, not one per reconcile', () => {
    const r = new Rollout(specWithoutAnalysis());
    r.backendsReady = false;
    r.reconcile();
    assert.equal(r.status!.phase, 'Initializing');
    assert.equal(r.condition('Ready')!.reason, 'BackendsNotReady');
    assert.ok(r.reasons().includes('WaitingForBackends'));
    r.after(10 * SECOND);
    assert.deepEqual(r.reasons(), []);
    r.backendsReady = true;
    r.after(10 * SECOND);
    assert.equal(r.status!.phase, 'Progressing');
    assert.deepEqual(r.status!.weights, { stable: 90, canary: 10 });
  });

  it('treats a status without phase as a new TrafficSplit', () => {
    const d = next({
      spec: specWithoutAnalysis(),
      status: {},
      generation: 3,
      now: T0,
      canaryRevision: 'rev-1',
      backendsReady: true,
    });
    assert.equal(d.status.phase, 'Progressing');
    assert.equal(d.status.observedGeneration, 3);
  });
});

describe('steps and time', () => {
  it('holds a setWeight step exactly one interval when there are no metrics', () => {
    const r = started();
    let d = r.after(MINUTE - 1);
    assert.equal(r.status!.currentStepIndex, 0);
    assert.equal(d.requeueAfterMs, 1);
    assert.deepEqual(r.reasons(), []);
    d = r.after(1);
    assert.equal(r.status!.currentStepIndex, 1);
    assert.deepEqual(r.status!.weights, { stable: 50, canary: 50 });
    assert.equal(r.status!.stepStartedAt, iso(T0 + MINUTE));
    assert.equal(d.requeueAfterMs, MINUTE);
  });

  it('asks for one check at the end of a setWeight interval, changing nothing until it has the results', () => {
    const r = started(spec());
    r.now += MINUTE;
    const before = r.status;
    const d = r.call();
    assert.equal(d.runAnalysis, true);
    assert.equal(d.requeueAfterMs, undefined);
    assert.deepEqual(d.events, []);
    assert.deepEqual(r.status, before);
  });

  it('advances on a Passed check and puts the analysis values in the events', () => {
    const r = started(spec());
    r.after(MINUTE, 'Passed');
    assert.equal(r.status!.currentStepIndex, 1);
    assert.deepEqual(r.status!.weights, { stable: 50, canary: 50 });
    assert.deepEqual(r.reasons(), ['AnalysisPassed', 'StepAdvanced']);
    assert.match(r.last.events[0]!.message, /step 1\/2 \(setWeight 10\): success-rate=99\.9 Passed/);
    assert.match(r.last.events[1]!.message, /last check: success-rate=99\.9 Passed/);
    assert.deepEqual(r.status!.analysis, [
      { name: 'success-rate', result: 'Passed', value: 99.9, message: 'x', time: iso(T0 + MINUTE) },
    ]);
  });

  it('goes through Promoting (all traffic to canary) to Succeeded after the last step', () => {
    const r = started(spec());
    r.after(MINUTE, 'Passed');
    let d = r.after(MINUTE, 'Passed');
    assert.equal(r.status!.phase, 'Promoting');
    assert.deepEqual(r.status!.weights, { stable: 0, canary: 100 });
    assert.equal(r.status!.currentStepIndex, 2);
    assert.equal(d.requeueAfterMs, PROMOTION_SETTLE_MS);
    assert.equal(r.condition('Promoted')!.status, 'False');
    assert.equal(r.condition('Progressing')!.reason, 'Promoting');
    d = r.after(PROMOTION_SETTLE_MS);
    assert.equal(r.status!.phase, 'Succeeded');
    assert.deepEqual(r.status!.weights, { stable: 0, canary: 100 });
    assert.equal(d.requeueAfterMs, undefined);
    assert.deepEqual(r.reasons(), ['Succeeded']);
    assert.match(r.status!.message!, /canary revision rev-1 promoted/);
  });

  it('walks the stepWeight shorthand one interval per weight, each with a check, then promotes', () => {
    const r = started(spec({ strategy: { stepWeight: 30 } }));
    const weights = [r.status!.weights!.canary];
    for (let i = 0; i < 3; i++) {
      r.after(MINUTE, 'Passed');
      weights.push(r.status!.weights!.canary);
    }
    assert.deepEqual(weights, [30, 60, 90, 100]);
    assert.equal(r.status!.stepCount, 4);
    r.after(MINUTE, 'Passed');
    assert.equal(r.status!.phase, 'Promoting');
  });

  it('holds a timed pause for its duration without any check, then goes on', () => {
    const r = started(
      spec({ strategy: { steps: [{ setWeight: 20 }, { pause: { duration: '5m' } }, { setWeight: 40 }] } }),
    );
    r.after(MINUTE, 'Passed');
    assert.equal(r.status!.currentStepIndex, 1);
    assert.deepEqual(r.status!.weights, { stable: 80, canary: 20 }, 'a pause keeps the weight');
    let d = r.after(2 * MINUTE); // reconcile() fails the test if a check is asked for
    assert.equal(d.requeueAfterMs, 3 * MINUTE);
    d = r.after(3 * MINUTE - 1);
    assert.equal(r.status!.currentStepIndex, 1);
    assert.equal(d.requeueAfterMs, 1);
    r.after(1);
    assert.equal(r.status!.currentStepIndex, 2);
    assert.deepEqual(r.status!.weights, { stable: 60, canary: 40 });
    assert.equal(r.status!.failedChecks, 0);
  });

  it('goes straight through a zero-length pause', () => {
    const r = started(
      specWithoutAnalysis({
        strategy: { steps: [{ setWeight: 20 }, { pause: { duration: '0s' } }, { setWeight: 40 }] },
      }),
    );
    r.after(MINUTE);
    assert.equal(r.status!.currentStepIndex, 2);
    assert.deepEqual(r.status!.weights, { stable: 60, canary: 40 });
  });

  it('holds an indefinite pause until a Promote action, whatever the time', () => {
    const r = started(spec({ strategy: { steps: [{ setWeight: 20 }, { pause: {} }, { setWeight: 50 }] } }));
    r.after(MINUTE, 'Passed');
    assert.equal(r.status!.phase, 'Paused');
    assert.equal(r.status!.currentStepIndex, 1);
    assert.equal(r.condition('Paused')!.status, 'True');
    assert.equal(r.condition('Paused')!.reason, 'AwaitingPromotion');
    assert.equal(r.condition('Progressing')!.status, 'False');
    assert.ok(r.reasons().includes('AwaitingPromotion'));
    const d = r.after(24 * 60 * MINUTE);
    assert.equal(d.requeueAfterMs, undefined);
    assert.equal(r.status!.phase, 'Paused');
    assert.deepEqual(r.reasons(), []);

    r.act('Promote', 'p-1');
    assert.equal(r.status!.phase, 'Progressing');
    assert.equal(r.status!.currentStepIndex, 2);
    assert.deepEqual(r.status!.weights, { stable: 50, canary: 50 });
    assert.equal(r.status!.lastHandledActionID, 'p-1');
    assert.equal(r.condition('Paused')!.status, 'False');
  });

  it('runs analysis iterations one per interval at the current weight, each having to pass', () => {
    const r = started(
      spec({ strategy: { steps: [{ setWeight: 20 }, { analysis: { iterations: 3 } }, { setWeight: 60 }] } }),
    );
    r.after(MINUTE, 'Passed');
    assert.equal(r.status!.currentStepIndex, 1);
    r.after(MINUTE, 'Passed');
    assert.equal(r.status!.currentStepIndex, 2);
    r.after(MINUTE, 'Failed'); // does not count as an iteration
    assert.equal(r.status!.currentStepIndex, 2);
    assert.equal(r.status!.failedChecks, 1);
    r.after(MINUTE, 'Passed');
    assert.equal(r.status!.currentStepIndex, 3);
    assert.deepEqual(r.status!.weights, { stable: 80, canary: 20 }, 'analysis steps keep the weight');
    r.after(MINUTE, 'Passed');
    assert.equal(r.status!.currentStepIndex, 4);
    assert.deepEqual(r.status!.weights, { stable: 40, canary: 60 });
  });
});

describe('analysis results', () => {
  it('counts a Failed check, stays on the step and checks again one interval later', () => {
    const r = started(spec());
    const d = r.after(MINUTE, 'Failed');
    assert.equal(r.status!.phase, 'Progressing');
    assert.equal(r.status!.currentStepIndex, 0);
    assert.equal(r.status!.failedChecks, 1);
    assert.equal(r.status!.stepStartedAt, iso(T0 + MINUTE));
    assert.equal(d.requeueAfterMs, MINUTE);
    assert.deepEqual(r.reasons(), ['AnalysisFailed']);
    assert.match(r.last.events[0]!.message, /success-rate=80 Failed \(x\) \(failed checks 1\/2\)/);
  });

  it('rolls back when failed checks reach failureThreshold', () => {
    const r = started(spec());
    r.after(MINUTE, 'Failed');
    r.after(MINUTE, 'Failed');
    assert.equal(r.status!.phase, 'RolledBack');
    assert.deepEqual(r.status!.weights, { stable: 100, canary: 0 });
    assert.equal(r.status!.failedChecks, 2);
    assert.equal(r.condition('RolledBack')!.status, 'True');
    assert.equal(r.condition('RolledBack')!.reason, 'AnalysisFailed');
    assert.equal(r.condition('Promoted')!.status, 'False');
    assert.equal(r.condition('Progressing')!.status, 'False');
    assert.deepEqual(r.reasons(), ['AnalysisFailed', 'RolledBack']);
    const d = r.after(60 * MINUTE);
    assert.equal(d.requeueAfterMs, undefined);
    assert.equal(r.status!.phase, 'RolledBack');
  });

  it('counts failed checks across steps: a pass does not reset them', () => {
    const r = started(spec());
    r.after(MINUTE, 'Failed');
    r.after(MINUTE, 'Passed');
    assert.equal(r.status!.currentStepIndex, 1);
    assert.equal(r.status!.failedChecks, 1);
    r.after(MINUTE, 'Failed');
    assert.equal(r.status!.phase, 'RolledBack');
  });

  it('freezes instead of rolling back with onFailure Freeze, keeping the weights', () => {
    const r = started(spec({ onFailure: 'Freeze' }));
    r.after(MINUTE, 'Failed');
    r.after(MINUTE, 'Failed');
    assert.equal(r.status!.phase, 'Frozen');
    assert.deepEqual(r.status!.weights, { stable: 90, canary: 10 });
    assert.equal(r.condition('Progressing')!.reason, 'AnalysisFailed');
    assert.equal(r.condition('RolledBack')!.status, 'False');
    assert.equal(r.condition('Promoted')!.reason, 'Frozen');
    assert.deepEqual(r.reasons(), ['AnalysisFailed', 'Frozen']);
    const d = r.after(60 * MINUTE);
    assert.equal(d.requeueAfterMs, undefined, 'a frozen rollout waits for an action');
    assert.equal(r.status!.phase, 'Frozen');
  });

  it('counts an Inconclusive check as an error, not a failure, and checks again', () => {
    const r = started(spec({ analysis: { ...spec().analysis, consecutiveErrorLimit: 3 } }));
    const d = r.after(MINUTE, 'Inconclusive');
    assert.equal(r.status!.phase, 'Progressing');
    assert.equal(r.status!.consecutiveErrors, 1);
    assert.equal(r.status!.failedChecks, 0);
    assert.equal(d.requeueAfterMs, MINUTE);
    assert.deepEqual(r.status!.analysis, [
      {
        name: 'success-rate',
        result: 'Inconclusive',
        message: 'no data: the query returned no series',
        time: iso(T0 + MINUTE),
      },
    ]);
  });

  it('pauses with AnalysisInconclusive at consecutiveErrorLimit and never promotes on missing data', () => {
    const r = started(spec());
    r.after(MINUTE, 'Inconclusive');
    r.after(MINUTE, 'Inconclusive');
    assert.equal(r.status!.phase, 'Paused');
    assert.equal(r.status!.consecutiveErrors, 2);
    assert.equal(r.condition('Paused')!.reason, 'AnalysisInconclusive');
    assert.equal(r.condition('Progressing')!.reason, 'AnalysisInconclusive');
    assert.deepEqual(r.reasons(), ['AnalysisInconclusive', 'Paused']);
    assert.deepEqual(r.status!.weights, { stable: 90, canary: 10 });
    for (let i = 0; i < 10; i++) {
      const d = r.after(10 * MINUTE); // reconcile() fails the test if a check is asked for
      assert.equal(d.requeueAfterMs, undefined);
    }
    assert.equal(r.status!.phase, 'Paused');
    assert.equal(r.status!.currentStepIndex, 0);
  });

  it('resets the error count on a Passed check', () => {
    const r = started(spec({ analysis: { ...spec().analysis, consecutiveErrorLimit: 3 } }));
    r.after(MINUTE, 'Inconclusive');
    r.after(MINUTE, 'Inconclusive');
    assert.equal(r.status!.consecutiveErrors, 2);
    r.after(MINUTE, 'Passed');
    assert.equal(r.status!.consecutiveErrors, 0);
    r.after(MINUTE, 'Inconclusive');
    r.after(MINUTE, 'Inconclusive');
    assert.equal(r.status!.phase, 'Progressing', 'the errors before the pass no longer count');
  });

  it('resets the error count on a Failed check too (it is data)', () => {
    const r = started(spec({ analysis: { ...spec().analysis, failureThreshold: 5 } }));
    r.after(MINUTE, 'Inconclusive');
    r.after(MINUTE, 'Failed');
    assert.equal(r.status!.consecutiveErrors, 0);
    r.after(MINUTE, 'Inconclusive');
    assert.equal(r.status!.phase, 'Progressing');
  });

  it('judges a check by all metrics: Failed wins over Inconclusive, a missing result is Inconclusive', () => {
    const s = spec({
      analysis: {
        ...spec().analysis,
        metrics: [
          { name: 'success-rate', type: 'RequestSuccessRate', thresholdRange: { min: 99 } },
          { name: 'latency', type: 'RequestDuration', thresholdRange: { max: 500 } },
        ],
      },
    });
    const at = (now: number, a: string, b: string): CheckResult[] => [
      { ...results(s, a as 'Passed', now)[0]! },
      { ...results(s, b as 'Passed', now)[1]! },
    ];
    const r = started(s);
    r.after(MINUTE, at(r.now + MINUTE, 'Failed', 'Inconclusive'));
    assert.equal(r.status!.failedChecks, 1);
    assert.equal(r.status!.consecutiveErrors, 0);
    r.after(MINUTE, [results(s, 'Passed', r.now + MINUTE)[0]!]);
    assert.equal(r.status!.currentStepIndex, 0, 'one metric without a result: not passed');
    assert.equal(r.status!.consecutiveErrors, 1);
    assert.deepEqual(
      r.status!.analysis!.map((a) => [a.name, a.result]),
      [
        ['success-rate', 'Passed'],
        ['latency', 'Inconclusive'],
      ],
    );
    r.after(MINUTE, at(r.now + MINUTE, 'Passed', 'Passed'));
    assert.equal(r.status!.currentStepIndex, 1);
  });

  it('ignores results nobody asked for (the step is not due)', () => {
    const r = started(spec());
    r.now += 10 * SECOND;
    const before = r.status;
    r.call({ analysis: results(r.spec, 'Failed', r.now) });
    assert.deepEqual(r.status, before);
    assert.deepEqual(r.last.events, []);
  });
});

describe('actions', () => {
  it('Abort sends all traffic back to stable, and the same requestID again does nothing', () => {
    const r = started(spec());
    r.after(MINUTE, 'Passed');
    r.act('Abort', 'a-1');
    assert.equal(r.status!.phase, 'Aborted');
    assert.deepEqual(r.status!.weights, { stable: 100, canary: 0 });
    assert.equal(r.status!.lastHandledActionID, 'a-1');
    assert.equal(r.condition('RolledBack')!.status, 'True');
    assert.equal(r.condition('RolledBack')!.reason, 'Aborted');
    assert.equal(r.condition('Promoted')!.reason, 'Aborted');
    assert.deepEqual(r.reasons(), ['Aborted']);
    const before = r.status;
    r.generation += 1; // re-applied by GitOps: a new generation, the same requestID
    r.after(MINUTE);
    assert.deepEqual(r.reasons(), []);
    assert.deepEqual(
      { ...r.status, observedGeneration: 0, conditions: [] },
      { ...before, observedGeneration: 0, conditions: [] },
    );
  });

  it('Abort with a new requestID on an aborted rollout is ignored with a Warning', () => {
    const r = started(spec());
    r.act('Abort', 'a-1');
    r.act('Abort', 'a-2');
    assert.equal(r.status!.phase, 'Aborted');
    assert.equal(r.status!.lastHandledActionID, 'a-2');
    assert.deepEqual(r.reasons(), ['ActionIgnored']);
  });

  it('Abort after Succeeded is an instant rollback to stable', () => {
    const r = started(specWithoutAnalysis());
    r.after(MINUTE);
    r.after(MINUTE);
    r.after(PROMOTION_SETTLE_MS);
    assert.equal(r.status!.phase, 'Succeeded');
    r.act('Abort', 'oops');
    assert.equal(r.status!.phase, 'Aborted');
    assert.deepEqual(r.status!.weights, { stable: 100, canary: 0 });
    assert.equal(r.condition('Promoted')!.status, 'False');
  });

  it('Abort works from Initializing, Paused and Frozen', () => {
    const init = new Rollout(spec());
    init.backendsReady = false;
    init.reconcile();
    init.act('Abort', 'a');
    assert.equal(init.status!.phase, 'Aborted');

    const paused = started(spec());
    paused.setPaused(true);
    paused.act('Abort', 'a');
    assert.equal(paused.status!.phase, 'Aborted', 'Abort acts even while spec.paused holds the rollout');

    const frozen = started(spec({ onFailure: 'Freeze' }));
    frozen.after(MINUTE, 'Failed');
    frozen.after(MINUTE, 'Failed');
    frozen.act('Abort', 'a');
    assert.equal(frozen.status!.phase, 'Aborted');
    assert.deepEqual(frozen.status!.weights, { stable: 100, canary: 0 });
  });

  it('Promote ends the current step early (a setWeight interval)', () => {
    const r = started(spec());
    r.now += 10 * SECOND;
    r.act('Promote', 'p-1');
    assert.equal(r.status!.currentStepIndex, 1);
    assert.equal(r.status!.stepStartedAt, iso(T0 + 10 * SECOND));
    assert.deepEqual(r.reasons(), ['ActionHandled', 'StepAdvanced']);
  });

  it('Promote on the last step goes to Promoting', () => {
    const r = started(spec({ strategy: { steps: [{ setWeight: 10 }, { pause: {} }] } }));
    r.after(MINUTE, 'Passed');
    r.act('Promote', 'p');
    assert.equal(r.status!.phase, 'Promoting');
    assert.deepEqual(r.status!.weights, { stable: 0, canary: 100 });
  });

  it('Promote unfreezes a frozen rollout: the next step, failed checks reset', () => {
    const r = started(spec({ onFailure: 'Freeze' }));
    r.after(MINUTE, 'Failed');
    r.after(MINUTE, 'Failed');
    r.act('Promote', 'p');
    assert.equal(r.status!.phase, 'Progressing');
    assert.equal(r.status!.currentStepIndex, 1);
    assert.equal(r.status!.failedChecks, 0);
    assert.deepEqual(r.status!.weights, { stable: 50, canary: 50 });
  });

  it('Promote continues a rollout paused on inconclusive analysis (a person decides on missing data)', () => {
    const r = started(spec());
    r.after(MINUTE, 'Inconclusive');
    r.after(MINUTE, 'Inconclusive');
    r.act('Promote', 'p');
    assert.equal(r.status!.phase, 'Progressing');
    assert.equal(r.status!.currentStepIndex, 1);
    assert.equal(r.status!.consecutiveErrors, 0);
  });

  it('Retry on a rollout paused on inconclusive analysis checks the same step again one interval later', () => {
    const r = started(spec());
    r.after(MINUTE, 'Inconclusive');
    r.after(MINUTE, 'Inconclusive');
    r.now += 5 * MINUTE;
    const d = r.act('Retry', 'r');
    assert.equal(r.status!.phase, 'Progressing');
    assert.equal(r.status!.currentStepIndex, 0);
    assert.equal(r.status!.consecutiveErrors, 0);
    assert.equal(d.requeueAfterMs, MINUTE);
    r.after(MINUTE, 'Passed');
    assert.equal(r.status!.currentStepIndex, 1);
  });

  it('PromoteFull skips the remaining steps: Promoting, then Succeeded', () => {
    const r = started(spec({ strategy: { stepWeight: 10 } }));
    r.act('PromoteFull', 'pf');
    assert.equal(r.status!.phase, 'Promoting');
    assert.deepEqual(r.status!.weights, { stable: 0, canary: 100 });
    assert.equal(r.status!.currentStepIndex, 10);
    r.after(PROMOTION_SETTLE_MS);
    assert.equal(r.status!.phase, 'Succeeded');
    assert.equal(r.condition('Promoted')!.status, 'True');
  });

  it('PromoteFull from a paused (indefinite) step and from Frozen', () => {
    const p = started(spec({ strategy: { steps: [{ pause: {} }, { setWeight: 50 }] } }));
    assert.equal(p.status!.phase, 'Paused');
    p.act('PromoteFull', 'x');
    assert.equal(p.status!.phase, 'Promoting');

    const f = started(spec({ onFailure: 'Freeze' }));
    f.after(MINUTE, 'Failed');
    f.after(MINUTE, 'Failed');
    f.act('PromoteFull', 'x');
    assert.equal(f.status!.phase, 'Promoting');
  });

  it('Retry restarts a rolled-back rollout at step 1 from stable 100%', () => {
    const r = started(spec());
    r.after(MINUTE, 'Passed');
    r.after(MINUTE, 'Failed');
    r.after(MINUTE, 'Failed');
    assert.equal(r.status!.phase, 'RolledBack');
    r.now += 10 * MINUTE;
    r.act('Retry', 'r-1');
    assert.equal(r.status!.phase, 'Progressing');
    assert.equal(r.status!.currentStepIndex, 0);
    assert.deepEqual(r.status!.weights, { stable: 90, canary: 10 });
    assert.equal(r.status!.failedChecks, 0);
    assert.equal(r.status!.analysis, undefined);
    assert.equal(r.status!.stepStartedAt, iso(r.now));
    assert.equal(r.condition('RolledBack')!.status, 'False');
    assert.deepEqual(r.reasons(), ['ActionHandled', 'StepAdvanced']);
    // the same Retry re-applied does not restart again
    r.after(30 * SECOND);
    assert.equal(r.status!.stepStartedAt, iso(r.now - 30 * SECOND));
  });

  it('Retry restarts an aborted rollout and a frozen one', () => {
    const a = started(spec());
    a.act('Abort', 'a');
    a.act('Retry', 'r');
    assert.equal(a.status!.phase, 'Progressing');
    assert.equal(a.status!.currentStepIndex, 0);

    const f = started(spec({ onFailure: 'Freeze' }));
    f.after(MINUTE, 'Failed');
    f.after(MINUTE, 'Failed');
    f.act('Retry', 'r');
    assert.equal(f.status!.phase, 'Progressing');
    assert.equal(f.status!.failedChecks, 0);
  });

  it('ignores an action that does not apply, with a Warning, and records its requestID', () => {
    const r = started(spec());
    r.act('Retry', 'r-1');
    assert.equal(r.status!.phase, 'Progressing');
    assert.equal(r.status!.lastHandledActionID, 'r-1');
    assert.deepEqual(r.reasons(), ['ActionIgnored']);
    // the Retry is not kept for later: rolling back afterwards does not trigger it
    r.after(MINUTE, 'Failed');
    r.after(MINUTE, 'Failed');
    assert.equal(r.status!.phase, 'RolledBack');
  });

  it('ignores Promote and PromoteFull on a finished rollout', () => {
    const r = started(spec());
    r.after(MINUTE, 'Failed');
    r.after(MINUTE, 'Failed');
    r.act('Promote', 'p');
    assert.equal(r.status!.phase, 'RolledBack');
    r.act('PromoteFull', 'pf');
    assert.equal(r.status!.phase, 'RolledBack');
    assert.deepEqual(r.reasons(), ['ActionIgnored']);
  });

  it('records, but does not act on, an action already set when the TrafficSplit is first seen', () => {
    const r = new Rollout(
      spec({
        strategy: { steps: [{ pause: {} }, { setWeight: 50 }] },
        action: { type: 'Promote', requestID: 'old' },
      }),
    );
    r.reconcile();
    assert.equal(r.status!.phase, 'Paused');
    assert.equal(r.status!.currentStepIndex, 0);
    assert.equal(r.status!.lastHandledActionID, 'old');
    assert.ok(r.reasons().includes('ActionIgnored'));
  });

  it('ignores Promote while spec.paused holds the rollout', () => {
    const r = started(spec({ strategy: { steps: [{ pause: {} }, { setWeight: 50 }] } }));
    r.setPaused(true);
    r.act('Promote', 'p');
    assert.equal(r.status!.phase, 'Paused');
    assert.equal(r.status!.currentStepIndex, 0);
    assert.deepEqual(r.reasons(), ['ActionIgnored']);
    r.setPaused(false);
    assert.equal(r.status!.phase, 'Paused', 'the ignored Promote does not fire on unpause');
    assert.equal(r.condition('Paused')!.reason, 'AwaitingPromotion');
  });
});

describe('rarer transitions', () => {
  it('PromoteFull from Initializing waits in Promoting for the backends, then succeeds', () => {
    const r = new Rollout(spec());
    r.backendsReady = false;
    r.reconcile();
    r.act('PromoteFull', 'pf');
    assert.equal(r.status!.phase, 'Promoting');
    assert.equal(r.condition('Progressing')!.reason, 'WaitingForBackends');
    r.after(5 * SECOND);
    assert.equal(r.status!.phase, 'Promoting', 'no Succeeded while a backend is not ready');
    r.backendsReady = true;
    r.after(SECOND);
    assert.equal(r.status!.phase, 'Succeeded');
  });

  it('a Promoting that cannot finish fails on the deadline; Freeze keeps 100% canary, Promote tries again', () => {
    const r = started(specWithoutAnalysis({ onFailure: 'Freeze', progressDeadlineSeconds: 60 }));
    r.after(MINUTE);
    r.after(MINUTE);
    assert.equal(r.status!.phase, 'Promoting');
    r.backendsReady = false;
    r.after(SECOND);
    assert.equal(r.status!.phase, 'Promoting');
    r.after(MINUTE);
    assert.equal(r.status!.phase, 'Frozen');
    assert.deepEqual(r.status!.weights, { stable: 0, canary: 100 });
    r.backendsReady = true;
    r.act('Promote', 'p');
    assert.equal(r.status!.phase, 'Promoting');
    r.after(PROMOTION_SETTLE_MS);
    assert.equal(r.status!.phase, 'Succeeded');
  });

  it('Promote on a rollout frozen during initialization goes back to Initializing with a fresh deadline', () => {
    const r = new Rollout(spec({ onFailure: 'Freeze', progressDeadlineSeconds: 60 }));
    r.canaryRevision = undefined;
    r.reconcile();
    r.after(MINUTE);
    assert.equal(r.status!.phase, 'Frozen');
    r.act('Promote', 'p');
    assert.equal(r.status!.phase, 'Initializing');
    assert.equal(r.status!.stepStartedAt, iso(r.now));
    r.canaryRevision = 'rev-1';
    r.after(SECOND);
    assert.equal(r.status!.phase, 'Progressing');
  });

  it('Retry of a rolled-back rollout while spec.paused restarts it held by the pause', () => {
    const r = started(spec());
    r.after(MINUTE, 'Failed');
    r.after(MINUTE, 'Failed');
    r.setPaused(true);
    r.act('Retry', 'r');
    assert.equal(r.status!.phase, 'Paused');
    assert.equal(r.condition('Paused')!.reason, 'PausedBySpec');
    assert.deepEqual(r.status!.weights, { stable: 100, canary: 0 });
    assert.equal(r.status!.failedChecks, 0);
    r.now += MINUTE;
    r.setPaused(false);
    assert.equal(r.status!.phase, 'Progressing');
    assert.equal(r.status!.currentStepIndex, 0);
  });

  it('a new canary revision while spec.paused starts the new rollout held', () => {
    const r = started(spec());
    r.after(MINUTE, 'Passed');
    r.setPaused(true);
    r.canaryRevision = 'rev-2';
    r.after(SECOND);
    assert.equal(r.status!.phase, 'Paused');
    assert.equal(r.status!.canaryRevision, 'rev-2');
    assert.deepEqual(r.status!.weights, { stable: 100, canary: 0 });
  });
});

describe('spec.paused', () => {
  it('holds the rollout: phase Paused, no check, no timer', () => {
    const r = started(spec());
    r.now += 20 * SECOND;
    const d = r.setPaused(true);
    assert.equal(r.status!.phase, 'Paused');
    assert.equal(r.condition('Paused')!.reason, 'PausedBySpec');
    assert.equal(r.condition('Paused')!.status, 'True');
    assert.equal(r.condition('Progressing')!.status, 'False');
    assert.equal(d.requeueAfterMs, undefined);
    assert.deepEqual(r.reasons(), ['Paused']);
    r.after(10 * MINUTE); // reconcile() fails the test if a check is asked for
    assert.equal(r.status!.currentStepIndex, 0);
    assert.deepEqual(r.status!.weights, { stable: 90, canary: 10 });
  });

  it('resumes with the time the step had left', () => {
    const r = started(spec());
    r.now += 20 * SECOND;
    r.setPaused(true);
    r.now += 10 * MINUTE;
    const d = r.setPaused(false);
    assert.equal(r.status!.phase, 'Progressing');
    assert.equal(d.requeueAfterMs, 40 * SECOND);
    assert.deepEqual(r.reasons(), ['Resumed']);
    assert.equal(r.status!.stepStartedAt, iso(T0 + 10 * MINUTE), 'shifted by the time paused');
    let e = r.after(40 * SECOND - 1);
    assert.equal(e.requeueAfterMs, 1);
    e = r.call();
    r.now += 1;
    e = r.call();
    assert.equal(e.runAnalysis, true);
  });

  it('does not count checks while paused, and keeps the counts', () => {
    const r = started(spec({ analysis: { ...spec().analysis, consecutiveErrorLimit: 3 } }));
    r.after(MINUTE, 'Inconclusive');
    r.setPaused(true);
    r.call({ analysis: results(r.spec, 'Inconclusive', r.now) });
    assert.equal(r.status!.consecutiveErrors, 1);
  });

  it('holds Initializing: step 1 does not start until unpaused', () => {
    const r = new Rollout(spec({ paused: true }));
    r.reconcile();
    assert.equal(r.status!.phase, 'Paused');
    assert.equal(r.status!.currentStepIndex, undefined);
    assert.deepEqual(r.status!.weights, { stable: 100, canary: 0 });
    r.now += 5 * MINUTE;
    r.setPaused(false);
    assert.equal(r.status!.phase, 'Progressing');
    assert.equal(r.status!.stepStartedAt, iso(T0 + 5 * MINUTE));
  });

  it('goes back to an indefinite pause and to an inconclusive pause on unpause', () => {
    const a = started(spec({ strategy: { steps: [{ pause: {} }, { setWeight: 50 }] } }));
    a.setPaused(true);
    assert.equal(a.condition('Paused')!.reason, 'PausedBySpec');
    a.setPaused(false);
    assert.equal(a.condition('Paused')!.reason, 'AwaitingPromotion');

    const b = started(spec());
    b.after(MINUTE, 'Inconclusive');
    b.after(MINUTE, 'Inconclusive');
    b.setPaused(true);
    b.setPaused(false);
    assert.equal(b.status!.phase, 'Paused');
    assert.equal(b.condition('Paused')!.reason, 'AnalysisInconclusive');
  });

  it('holds Promoting', () => {
    const r = started(specWithoutAnalysis());
    r.after(MINUTE);
    r.after(MINUTE);
    assert.equal(r.status!.phase, 'Promoting');
    r.setPaused(true);
    r.after(MINUTE);
    assert.equal(r.status!.phase, 'Paused');
    assert.deepEqual(r.status!.weights, { stable: 0, canary: 100 });
    const d = r.setPaused(false);
    assert.equal(r.status!.phase, 'Promoting', 'Promoting resumes with the settle time it had left');
    assert.equal(d.requeueAfterMs, PROMOTION_SETTLE_MS);
    r.after(PROMOTION_SETTLE_MS);
    assert.equal(r.status!.phase, 'Succeeded');
  });

  it('does not touch a finished or frozen rollout', () => {
    const r = started(spec());
    r.after(MINUTE, 'Failed');
    r.after(MINUTE, 'Failed');
    r.setPaused(true);
    assert.equal(r.status!.phase, 'RolledBack');
    assert.equal(r.condition('Paused')!.status, 'False');
  });
});

describe('progress deadline', () => {
  it('rolls back when the backends stay unready longer than progressDeadlineSeconds', () => {
    const r = started(spec({ progressDeadlineSeconds: 120 }));
    r.backendsReady = false;
    let d = r.after(30 * SECOND);
    assert.equal(r.status!.phase, 'Progressing');
    assert.equal(r.condition('Ready')!.reason, 'BackendsNotReady');
    assert.equal(r.condition('Progressing')!.reason, 'WaitingForBackends');
    assert.equal(d.requeueAfterMs, MINUTE, 'polls at the interval while the deadline is further');
    d = r.after(MINUTE); // no check while blocked, even though the step is due
    assert.equal(d.requeueAfterMs, MINUTE);
    d = r.after(MINUTE - 1);
    assert.equal(d.requeueAfterMs, 1);
    r.after(1);
    assert.equal(r.status!.phase, 'RolledBack');
    assert.deepEqual(r.status!.weights, { stable: 100, canary: 0 });
    assert.equal(r.condition('RolledBack')!.reason, 'ProgressDeadlineExceeded');
    assert.deepEqual(r.reasons(), ['ProgressDeadlineExceeded', 'RolledBack']);
  });

  it('freezes instead with onFailure Freeze', () => {
    const r = started(spec({ progressDeadlineSeconds: 60, onFailure: 'Freeze' }));
    r.backendsReady = false;
    r.after(SECOND);
    r.after(MINUTE);
    assert.equal(r.status!.phase, 'Frozen');
    assert.deepEqual(r.status!.weights, { stable: 90, canary: 10 });
    assert.equal(r.condition('Progressing')!.reason, 'ProgressDeadlineExceeded');
    r.after(MINUTE);
    assert.equal(
      r.condition('Progressing')!.reason,
      'ProgressDeadlineExceeded',
      'the reason survives reconciles',
    );
  });

  it('fails an initialization whose canary revision never resolves', () => {
    const r = new Rollout(spec({ progressDeadlineSeconds: 60 }));
    r.canaryRevision = undefined;
    r.reconcile();
    r.after(MINUTE);
    assert.equal(r.status!.phase, 'RolledBack');
    assert.equal(r.status!.currentStepIndex, undefined);
  });

  it('does not fail when the backends come back in time, and the step goes on', () => {
    const r = started(spec({ progressDeadlineSeconds: 120 }));
    r.backendsReady = false;
    r.after(30 * SECOND);
    r.backendsReady = true;
    r.after(30 * SECOND, 'Passed'); // the step was due while blocked: checked at once
    assert.equal(r.status!.currentStepIndex, 1);
    assert.equal(r.condition('Ready')!.status, 'True');
  });

  it('does not count time paused', () => {
    const r = started(spec({ progressDeadlineSeconds: 60 }));
    r.backendsReady = false;
    r.after(10 * SECOND);
    r.setPaused(true);
    r.now += 10 * MINUTE;
    r.setPaused(false);
    assert.equal(r.status!.phase, 'Progressing');
    r.after(59 * SECOND);
    assert.equal(r.status!.phase, 'Progressing');
    r.after(SECOND);
    assert.equal(r.status!.phase, 'RolledBack');
  });

  it('treats a revision that disappears mid-rollout as blocked, not as a new rollout', () => {
    const r = started(spec());
    r.after(MINUTE, 'Passed');
    r.canaryRevision = undefined;
    r.after(10 * SECOND);
    assert.equal(r.status!.currentStepIndex, 1);
    assert.equal(r.status!.canaryRevision, 'rev-1');
    assert.equal(r.condition('Ready')!.reason, 'CanaryRevisionUnknown');
  });
});

describe('new rollouts', () => {
  it('restarts at step 1 from stable 100% when the canary revision changes mid-rollout', () => {
    const r = started(spec());
    r.after(MINUTE, 'Failed');
    r.after(MINUTE, 'Passed');
    assert.equal(r.status!.currentStepIndex, 1);
    r.canaryRevision = 'rev-2';
    r.after(10 * SECOND);
    assert.equal(r.status!.canaryRevision, 'rev-2');
    assert.equal(r.status!.currentStepIndex, 0);
    assert.deepEqual(r.status!.weights, { stable: 90, canary: 10 });
    assert.equal(r.status!.failedChecks, 0);
    assert.equal(r.status!.consecutiveErrors, 0);
    assert.equal(r.status!.analysis, undefined);
    assert.deepEqual(r.reasons(), ['RolloutStarted', 'StepAdvanced']);
    assert.match(r.last.events[0]!.message, /from rev-1 to rev-2/);
  });

  it('starts a new rollout after Succeeded, RolledBack and Aborted', () => {
    for (const finish of ['Succeeded', 'RolledBack', 'Aborted'] as const) {
      const r = started(spec());
      if (finish === 'Succeeded') {
        r.after(MINUTE, 'Passed');
        r.after(MINUTE, 'Passed');
        r.after(PROMOTION_SETTLE_MS);
      } else if (finish === 'RolledBack') {
        r.after(MINUTE, 'Failed');
        r.after(MINUTE, 'Failed');
      } else {
        r.act('Abort', 'a');
      }
      assert.equal(r.status!.phase, finish);
      r.canaryRevision = 'rev-2';
      r.after(SECOND);
      assert.equal(r.status!.phase, 'Progressing', finish);
      assert.deepEqual(r.status!.weights, { stable: 90, canary: 10 });
      assert.equal(r.condition('Promoted')!.status, 'False');
      assert.equal(r.condition('RolledBack')!.status, 'False');
    }
  });

  it('restarts when the strategy changes so that it no longer fits the rollout in flight', () => {
    const r = started(spec());
    r.after(MINUTE, 'Passed');
    r.spec = spec({ strategy: { steps: [{ setWeight: 5 }, { setWeight: 25 }, { setWeight: 75 }] } });
    r.generation += 1;
    r.after(SECOND);
    assert.equal(r.status!.currentStepIndex, 0);
    assert.deepEqual(r.status!.weights, { stable: 95, canary: 5 });
    assert.equal(r.status!.stepCount, 3);
    assert.deepEqual(r.reasons(), ['RolloutRestarted', 'StepAdvanced']);
  });

  it('does not restart a promotion when the strategy changes, paused or not', () => {
    const r = started(spec());
    r.act('PromoteFull', 'pf');
    r.spec = spec({ strategy: { steps: [{ setWeight: 5 }, { setWeight: 25 }, { setWeight: 75 }] } });
    r.generation += 1;
    r.reconcile();
    assert.equal(r.status!.phase, 'Promoting');
    assert.equal(r.status!.currentStepIndex, 3);
    assert.equal(r.status!.stepCount, 3);
    r.setPaused(true);
    r.setPaused(false);
    assert.equal(r.status!.phase, 'Promoting');
    assert.deepEqual(r.status!.weights, { stable: 0, canary: 100 });
  });

  it('a frozen rollout keeps its step through a strategy change; Promote goes on with the new plan', () => {
    const r = started(spec({ onFailure: 'Freeze' }));
    r.after(MINUTE, 'Failed');
    r.after(MINUTE, 'Failed');
    assert.equal(r.status!.phase, 'Frozen');
    r.spec = spec({
      onFailure: 'Freeze',
      strategy: { steps: [{ setWeight: 10 }, { setWeight: 30 }, { setWeight: 60 }] },
    });
    r.generation += 1;
    r.reconcile();
    assert.equal(r.status!.phase, 'Frozen');
    assert.equal(r.status!.stepCount, 2, 'a frozen rollout is not re-planned');
    r.act('Promote', 'p');
    assert.equal(r.status!.currentStepIndex, 1);
    assert.equal(r.status!.stepCount, 3);
    assert.deepEqual(r.status!.weights, { stable: 70, canary: 30 });
    const again = r.reconcile();
    assert.deepEqual(again.events, [], 'the new plan fits: no restart');
  });

  it('does not restart on other spec changes (thresholds, onFailure, action, paused: all bump the generation)', () => {
    const r = started(spec());
    r.after(MINUTE, 'Passed');
    r.spec = spec({ onFailure: 'Freeze', analysis: { ...spec().analysis, failureThreshold: 9 } });
    r.generation += 1;
    r.after(SECOND);
    assert.equal(r.status!.currentStepIndex, 1);
    assert.equal(r.status!.observedGeneration, r.generation);
    assert.ok(r.status!.conditions!.every((c) => c.observedGeneration === r.generation));
    r.act('Retry', 'ignored');
    assert.equal(r.status!.currentStepIndex, 1);
  });
});

describe('restart and resume', () => {
  it('resumes a step from stepStartedAt after a restart: the remaining time, no step skipped or repeated', () => {
    const r = started(
      spec({ strategy: { steps: [{ setWeight: 10 }, { setWeight: 20 }, { setWeight: 30 }] } }),
    );
    r.after(MINUTE, 'Passed');
    const stored = r.status;
    // a new operator process: only the stored status, a later clock
    const restarted = new Rollout(r.spec);
    restarted.status = stored;
    restarted.now = T0 + MINUTE + 25 * SECOND;
    const d = restarted.reconcile();
    assert.equal(d.requeueAfterMs, 35 * SECOND);
    assert.deepEqual(d.events, []);
    assert.deepEqual(restarted.status, stored);
  });

  it('after a long outage it advances exactly one step, and the next step gets its full interval', () => {
    const r = started(
      spec({ strategy: { steps: [{ setWeight: 10 }, { setWeight: 20 }, { setWeight: 30 }] } }),
    );
    const restarted = new Rollout(r.spec);
    restarted.status = r.status;
    restarted.now = T0 + 30 * MINUTE;
    const d = restarted.reconcile('Passed');
    assert.equal(restarted.status!.currentStepIndex, 1, 'not step 3: step 2 was never served');
    assert.equal(restarted.status!.stepStartedAt, iso(T0 + 30 * MINUTE));
    assert.equal(d.requeueAfterMs, MINUTE);
  });

  it('a timed pause that ended during an outage ends once; the following step starts then', () => {
    const r = started(
      specWithoutAnalysis({
        strategy: { steps: [{ pause: { duration: '2m' } }, { setWeight: 50 }, { setWeight: 60 }] },
      }),
    );
    assert.equal(r.status!.currentStepIndex, 0);
    r.now += 20 * MINUTE;
    r.reconcile();
    assert.equal(r.status!.currentStepIndex, 1);
    assert.equal(r.status!.stepStartedAt, iso(r.now));
  });

  it('is idempotent: the same inputs again give the same status and no events', () => {
    const r = started(spec());
    r.now += MINUTE;
    const input = {
      spec: r.spec,
      generation: 1,
      now: r.now,
      canaryRevision: 'rev-1',
      backendsReady: true,
      analysis: results(r.spec, 'Failed', r.now),
    };
    const first = next({ ...input, status: r.status });
    const again = next({ ...input, status: first.status });
    assert.deepEqual(again.status, first.status);
    assert.deepEqual(again.events, []);
  });
});

describe('conditions', () => {
  it('sets Promoted=True only in Succeeded, naming the revision', () => {
    const r = started(specWithoutAnalysis());
    const seen: string[] = [];
    for (const dt of [MINUTE, MINUTE, PROMOTION_SETTLE_MS]) {
      seen.push(`${r.status!.phase}:${r.condition('Promoted')!.status}`);
      r.after(dt);
    }
    seen.push(`${r.status!.phase}:${r.condition('Promoted')!.status}`);
    assert.deepEqual(seen, ['Progressing:False', 'Progressing:False', 'Promoting:False', 'Succeeded:True']);
    assert.equal(r.condition('Promoted')!.message, 'canary revision rev-1 promoted');
    assert.equal(r.condition('Progressing')!.status, 'False');
    assert.equal(r.condition('Progressing')!.reason, 'RolloutCompleted');
  });

  it('keeps lastTransitionTime while a status does not flip', () => {
    const r = started(spec());
    const t = r.condition('Progressing')!.lastTransitionTime;
    r.after(MINUTE, 'Passed');
    assert.equal(r.condition('Progressing')!.lastTransitionTime, t);
    assert.equal(r.condition('Ready')!.lastTransitionTime, t);
  });

  it('carries all five conditions with the generation', () => {
    const r = started(spec());
    assert.deepEqual(
      r.status!.conditions!.map((c) => [c.type, c.status, c.observedGeneration]),
      [
        ['Ready', 'True', 1],
        ['Progressing', 'True', 1],
        ['Promoted', 'False', 1],
        ['RolledBack', 'False', 1],
        ['Paused', 'False', 1],
      ],
    );
  });
});

describe('invalid spec', () => {
  it('reports an analysis step without metrics as InvalidSpec and moves nothing', () => {
    const r = new Rollout(
      specWithoutAnalysis({ strategy: { steps: [{ setWeight: 10 }, { analysis: {} }] } }),
    );
    const d = r.reconcile();
    assert.equal(r.condition('Ready')!.status, 'False');
    assert.equal(r.condition('Ready')!.reason, 'InvalidSpec');
    assert.match(r.condition('Ready')!.message, /strategy\.steps\[1\]\.analysis/);
    assert.deepEqual(r.status!.weights, { stable: 100, canary: 0 });
    assert.equal(d.requeueAfterMs, undefined);
    assert.ok(r.reasons().includes('InvalidSpec'));
    r.after(MINUTE);
    assert.deepEqual(r.reasons(), [], 'reported once, not at every reconcile');
  });

  it('reports an unknown template variable, and goes on once the spec is fixed', () => {
    const bad = spec({
      analysis: {
        prometheus: { address: 'http://p:9090' },
        metrics: [{ name: 'x', type: 'Custom', query: 'up{a="{{ pod }}"}', thresholdRange: { min: 1 } }],
      },
    });
    assert.match(validate(bad).join(), /analysis\.metrics\[x\]\.query: unknown template variable "pod"/);
    const r = new Rollout(bad);
    r.reconcile();
    assert.equal(r.condition('Ready')!.reason, 'InvalidSpec');
    r.spec = spec();
    r.generation += 1;
    r.after(SECOND);
    assert.equal(r.status!.phase, 'Progressing');
    assert.equal(r.condition('Ready')!.status, 'True');
  });

  it('still honours Abort', () => {
    const r = started(spec());
    r.spec = {
      ...r.spec,
      strategy: { interval: '1m', steps: [{ analysis: { iterations: 1 } }] },
      analysis: undefined,
    };
    r.act('Abort', 'a');
    assert.equal(r.status!.phase, 'Aborted');
    assert.deepEqual(r.status!.weights, { stable: 100, canary: 0 });
  });
});
