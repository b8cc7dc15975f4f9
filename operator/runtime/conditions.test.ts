import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  conditionsEqual,
  findCondition,
  formatTime,
  isFalse,
  isTrue,
  isUnknown,
  removeCondition,
  setCondition,
  setConditions,
  type Condition,
  type ConditionInput,
} from './conditions.js';

const t1 = new Date('2025-01-01T00:00:00.123Z');
const t2 = new Date('2025-01-01T00:05:00.999Z');
const ready = (o: Partial<ConditionInput> = {}): ConditionInput => ({
  type: 'Ready',
  status: 'True',
  reason: 'Reconciled',
  message: 'all good',
  observedGeneration: 1,
  ...o,
});

describe('setCondition', () => {
  it('appends a new condition with lastTransitionTime now, in whole seconds', () => {
    const out = setCondition(undefined, ready(), t1);
    assert.deepEqual(out, [
      {
        type: 'Ready',
        status: 'True',
        observedGeneration: 1,
        lastTransitionTime: '2025-01-01T00:00:00Z',
        reason: 'Reconciled',
        message: 'all good',
      },
    ]);
  });

  it('moves lastTransitionTime only when the status flips', () => {
    const first = setCondition([], ready(), t1);
    const sameStatus = setCondition(
      first,
      ready({ reason: 'StillFine', message: 'x', observedGeneration: 2 }),
      t2,
    );
    assert.equal(sameStatus[0]!.lastTransitionTime, '2025-01-01T00:00:00Z');
    assert.equal(sameStatus[0]!.reason, 'StillFine');
    assert.equal(sameStatus[0]!.observedGeneration, 2);
    const flipped = setCondition(sameStatus, ready({ status: 'False', reason: 'Failed' }), t2);
    assert.equal(flipped[0]!.lastTransitionTime, '2025-01-01T00:05:00Z');
  });

  it('returns the same condition objects when nothing changed, and never mutates its input', () => {
    const existing: readonly Condition[] = Object.freeze(
      setConditions(
        [],
        [ready(), { type: 'Accepted', status: 'True', reason: 'Accepted', message: '' }],
        t1,
      ).map((c) => Object.freeze(c)),
    );
    const out = setCondition(existing, ready(), t2);
    assert.notEqual(out, existing);
    assert.ok(out.every((c, i) => c === existing[i]));
    assert.ok(conditionsEqual(existing, out));
    const changed = setCondition(existing, ready({ message: 'new' }), t2);
    assert.equal(existing[0]!.message, 'all good');
    assert.equal(changed[1], existing[1], 'other conditions are untouched');
    assert.deepEqual(
      changed.map((c) => c.type),
      ['Ready', 'Accepted'],
      'updated in place',
    );
  });
});

describe('condition queries', () => {
  const conds = setConditions(
    [],
    [ready(), { type: 'Progressing', status: 'False', reason: 'Done', message: '' }],
    t1,
  );

  it('findCondition, isTrue, isFalse, isUnknown (missing counts as unknown)', () => {
    assert.equal(findCondition(conds, 'Ready')?.reason, 'Reconciled');
    assert.equal(findCondition(conds, 'Nope'), undefined);
    assert.deepEqual(
      [isTrue(conds, 'Ready'), isTrue(conds, 'Progressing'), isTrue(undefined, 'Ready')],
      [true, false, false],
    );
    assert.equal(isFalse(conds, 'Progressing'), true);
    assert.deepEqual([isUnknown(conds, 'Paused'), isUnknown(conds, 'Ready')], [true, false]);
  });

  it('removeCondition drops one type', () => {
    assert.deepEqual(
      removeCondition(conds, 'Ready').map((c) => c.type),
      ['Progressing'],
    );
  });

  it('conditionsEqual ignores order but no field', () => {
    assert.ok(conditionsEqual(conds, [...conds].reverse()));
    assert.ok(!conditionsEqual(conds, conds.slice(1)));
    assert.ok(!conditionsEqual(conds, [{ ...conds[0]!, lastTransitionTime: formatTime(t2) }, conds[1]!]));
    assert.ok(!conditionsEqual(conds, [{ ...conds[0]!, observedGeneration: 2 }, conds[1]!]));
    assert.ok(conditionsEqual(undefined, []));
  });
});
