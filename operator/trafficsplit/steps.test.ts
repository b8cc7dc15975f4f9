import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeStep, expandSteps, isCheckStep, isIndefinitePause, shorthandWeights } from './steps.js';
import { spec } from './fixtures.js';

describe('expandSteps', () => {
  it('expands stepWeight up to maxWeight, the last step being exactly maxWeight', () => {
    const plan = expandSteps(spec({ strategy: { stepWeight: 30, maxWeight: 80 } }).strategy);
    assert.deepEqual(
      plan.map((s) => [s.kind, s.weight]),
      [
        ['SetWeight', 30],
        ['SetWeight', 60],
        ['SetWeight', 80],
      ],
    );
  });

  it('defaults maxWeight to 100', () => {
    assert.deepEqual(
      expandSteps(spec({ strategy: { stepWeight: 25 } }).strategy).map((s) => s.weight),
      [25, 50, 75, 100],
    );
  });

  it('gives a single step when stepWeight equals maxWeight', () => {
    assert.deepEqual(shorthandWeights(40, 40), [40]);
    assert.deepEqual(shorthandWeights(100, 100), [100]);
  });

  it('does not repeat maxWeight when it is a multiple of stepWeight', () => {
    assert.deepEqual(shorthandWeights(10, 30), [10, 20, 30]);
  });

  it('keeps explicit steps in order and carries the weight in force into pauses and analyses', () => {
    const plan = expandSteps(
      spec({
        strategy: {
          steps: [
            { analysis: {} },
            { setWeight: 5 },
            { pause: { duration: '5m' } },
            { setWeight: 20 },
            { pause: {} },
          ],
        },
      }).strategy,
    );
    assert.deepEqual(
      plan.map((s) => [s.kind, s.weight, s.source]),
      [
        ['Analysis', 0, 0],
        ['SetWeight', 5, 1],
        ['Pause', 5, 2],
        ['SetWeight', 20, 3],
        ['Pause', 20, 4],
      ],
    );
    assert.deepEqual(plan[2], { kind: 'Pause', weight: 5, durationMs: 300_000, source: 2 });
    assert.equal(isIndefinitePause(plan[4]!), true);
    assert.equal(isIndefinitePause(plan[2]), false);
  });

  it('expands analysis iterations into one step per iteration', () => {
    const plan = expandSteps(
      spec({ strategy: { steps: [{ setWeight: 20 }, { analysis: { iterations: 3 } }] } }).strategy,
    );
    assert.deepEqual(
      plan.map((s) => (s.kind === 'Analysis' ? `${s.iteration}/${s.iterations}@${s.weight}` : s.kind)),
      ['SetWeight', '1/3@20', '2/3@20', '3/3@20'],
    );
    assert.ok(plan.every(isCheckStep));
  });

  it('describes steps for messages', () => {
    const plan = expandSteps(
      spec({
        strategy: {
          steps: [
            { setWeight: 20 },
            { analysis: { iterations: 2 } },
            { pause: { duration: '90s' } },
            { pause: {} },
          ],
        },
      }).strategy,
    );
    assert.deepEqual(plan.map(describeStep), [
      'setWeight 20',
      'analysis 1/2',
      'analysis 2/2',
      'pause 1m30s',
      'pause (until Promote)',
    ]);
  });
});
