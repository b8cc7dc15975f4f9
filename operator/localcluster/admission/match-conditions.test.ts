import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { evaluateMatchConditions } from './match-conditions.js';

const variables = {
  object: { metadata: { name: 'web', labels: { app: 'web' } }, spec: { replicas: 3 } },
  oldObject: null,
  request: {
    operation: 'CREATE',
    userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller' },
  },
};
const conditions = (...expressions: string[]) =>
  expressions.map((expression, i) => ({ name: `c${i}`, expression }));

describe('evaluateMatchConditions', () => {
  it('matches when every condition is true, reading object, oldObject and request', () => {
    const verdict = evaluateMatchConditions(
      conditions(
        "object.metadata.labels['app'] == 'web'",
        'object.spec.replicas > 2',
        'oldObject == null',
        "request.operation == 'CREATE'",
      ),
      variables,
      true,
    );
    assert.deepEqual(verdict, { matches: true });
  });

  it('skips when any condition is false, even if another one fails to evaluate', () => {
    assert.deepEqual(
      evaluateMatchConditions(
        conditions('object.spec.missing == 1', "!request.userInfo.username.startsWith('system:')"),
        variables,
        true,
      ),
      {
        matches: false,
      },
    );
  });

  it('reports evaluation errors under Fail and skips the webhook under Ignore', () => {
    assert.deepEqual(evaluateMatchConditions(conditions('object.spec.missing == 1'), variables, true), {
      error: "expression 'object.spec.missing == 1' resulted in error: No such key: missing",
    });
    assert.deepEqual(evaluateMatchConditions(conditions('object.spec.missing == 1'), variables, false), {
      matches: false,
    });
  });

  it('treats a non-boolean result and the unavailable authorizer as errors', () => {
    const verdict = evaluateMatchConditions(
      conditions("'yes'", "authorizer.group('apps').check('get')"),
      variables,
      true,
    );
    assert.ok('error' in verdict);
    assert.match(
      verdict.error,
      /^\[expression ''yes'' resulted in error: no such overload: want bool, expression 'authorizer/,
    );
  });
});
