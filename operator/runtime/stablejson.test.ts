import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { desiredHash, jsonEqual, stableJson } from './reconcile.js';

// The general algorithms `stableJson` and `jsonEqual` had before their fast paths: the desired
// hash annotation on every applied child depends on this exact text.
const generalStableJson = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>)
            .filter(([, x]) => x !== undefined)
            .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
const generalJsonEqual = (a: unknown, b: unknown): boolean =>
  isDeepStrictEqual(JSON.parse(generalStableJson(a ?? null)), JSON.parse(generalStableJson(b ?? null)));

const anything = fc.anything({
  withDate: true,
  withNullPrototype: true,
  withSparseArray: true,
  withBoxedValues: false,
  maxDepth: 3,
});
const options = { numRuns: 3000, seed: 42 };

describe('stableJson', () => {
  it('sorts keys, drops undefined, and lists integer-like keys first as the general algorithm does', () => {
    assert.equal(
      stableJson({ b: 1, a: undefined, '10': 'x', '9': 'y', c: [undefined] }),
      '{"9":"y","10":"x","b":1,"c":[null]}',
    );
  });

  it('gives the general algorithm’s text for any value', () => {
    fc.assert(
      fc.property(anything, (v) => {
        let want: string;
        try {
          want = generalStableJson(v);
        } catch {
          return; // e.g. a BigInt: both throw
        }
        assert.equal(stableJson(v), want);
      }),
      options,
    );
  });

  it('keeps the desired hash of a child unchanged', () => {
    const child = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'a', namespace: 'ns', labels: { z: '1', a: '2' } },
      data: { k: 'v' },
    };
    assert.equal(desiredHash(child), '8621d33b9a697021');
  });
});

describe('jsonEqual', () => {
  it('agrees with comparing the general stable JSON of both values', () => {
    fc.assert(
      fc.property(anything, anything, (a, b) => {
        let want: boolean;
        try {
          want = generalJsonEqual(a, b);
        } catch {
          return;
        }
        assert.equal(jsonEqual(a, b), want);
        assert.equal(jsonEqual(a, structuredClone(a)), generalJsonEqual(a, structuredClone(a)));
      }),
      options,
    );
  });

  it('ignores key order and undefined keys, not array order', () => {
    assert.equal(jsonEqual({ a: 1, b: [1, 2], c: undefined }, { b: [1, 2], a: 1 }), true);
    assert.equal(jsonEqual([1, 2], [2, 1]), false);
    assert.equal(jsonEqual(undefined, null), true);
  });
});
