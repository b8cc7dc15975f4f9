import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ConflictError,
  isConflictError,
  isPanic,
  isTerminalError,
  RequeueError,
  TerminalError,
} from './errors.js';

describe('error classes', () => {
  it('finds a TerminalError or ConflictError anywhere in the cause chain', () => {
    assert.equal(isTerminalError(new TerminalError('bad spec')), true);
    assert.equal(
      isTerminalError(new Error('outer', { cause: new Error('mid', { cause: new TerminalError('x') }) })),
      true,
    );
    assert.equal(isTerminalError(new Error('plain')), false);
    assert.equal(isConflictError(new Error('apply', { cause: new ConflictError('409') })), true);
  });

  it('does not hang on a cause cycle', () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    (a as { cause?: unknown }).cause = b;
    assert.equal(isTerminalError(a), false);
  });

  it('subclasses keep their own name (client.ts extends ConflictError)', () => {
    class KubeConflict extends ConflictError {
      override readonly name = 'KubeConflict';
    }
    const e = new KubeConflict('x');
    assert.equal(e.name, 'KubeConflict');
    assert.equal(isConflictError(e), true);
    assert.equal(new RequeueError(500).requeueAfterMs, 500);
  });

  it('calls bugs panics, but not failures of the world', () => {
    assert.equal(isPanic('string'), true);
    assert.equal(isPanic(undefined), true);
    assert.equal(isPanic(new TypeError("Cannot read properties of undefined (reading 'spec')")), true);
    assert.equal(isPanic(new ReferenceError('x is not defined')), true);
    assert.equal(isPanic(new RangeError('Maximum call stack size exceeded')), true);
    assert.equal(isPanic(new TypeError('fetch failed', { cause: new Error('ECONNRESET') })), false);
    assert.equal(isPanic(new Error('500 from the API server')), false);
    assert.equal(isPanic(new DOMException('timed out', 'TimeoutError')), false);
  });
});
