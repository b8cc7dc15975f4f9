import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatInvalid, type Cause } from './index.js';

const required: Cause = { reason: 'FieldValueRequired', field: 'spec.targetRef', message: 'Required value' };
const invalid: Cause = {
  reason: 'FieldValueInvalid',
  field: 'spec.replicas',
  message: 'Invalid value: 0: spec.replicas in body should be greater than or equal to 1',
};

describe('formatInvalid', () => {
  it('shows a single cause without brackets', () => {
    assert.equal(
      formatInvalid('TrafficSplit.mesh.meshwright.io', 'x', [required]),
      'TrafficSplit.mesh.meshwright.io "x" is invalid: spec.targetRef: Required value',
    );
  });

  it('joins several causes in brackets', () => {
    assert.equal(
      formatInvalid('TrafficSplit.mesh.meshwright.io', 'x', [invalid, required]),
      'TrafficSplit.mesh.meshwright.io "x" is invalid: [spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1, spec.targetRef: Required value]',
    );
  });

  it('lists a repeated cause once', () => {
    assert.equal(
      formatInvalid('TrafficSplit.mesh.meshwright.io', 'x', [required, required]),
      'TrafficSplit.mesh.meshwright.io "x" is invalid: spec.targetRef: Required value',
    );
  });

  it('says only "is invalid" without causes and quotes the name like Go', () => {
    assert.equal(formatInvalid('ConfigMap', 'a"b', []), 'ConfigMap "a\\"b" is invalid');
  });
});
