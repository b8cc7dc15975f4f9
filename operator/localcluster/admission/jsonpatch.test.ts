import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyJsonPatch, JsonPatchError, jsonEqual, parsePointer } from './jsonpatch.js';

const pod = () => ({
  metadata: { name: 'web', labels: { app: 'web' }, annotations: { 'mesh.io/inject': 'true' } },
  spec: { containers: [{ name: 'app' }] },
});

describe('applyJsonPatch', () => {
  it('adds a member, replacing one that exists, and inserts into or appends to arrays', () => {
    const out = applyJsonPatch(pod(), [
      { op: 'add', path: '/metadata/labels/version', value: 'v1' },
      { op: 'add', path: '/metadata/labels/app', value: 'api' },
      { op: 'add', path: '/spec/containers/-', value: { name: 'proxy' } },
      { op: 'add', path: '/spec/containers/0', value: { name: 'init' } },
    ]);
    assert.deepEqual(out, {
      ...pod(),
      metadata: { ...pod().metadata, labels: { app: 'api', version: 'v1' } },
      spec: { containers: [{ name: 'init' }, { name: 'app' }, { name: 'proxy' }] },
    });
  });

  it('unescapes ~1 to "/" and ~0 to "~" in pointer tokens', () => {
    const out = applyJsonPatch(pod(), [
      { op: 'replace', path: '/metadata/annotations/mesh.io~1inject', value: 'false' },
      { op: 'add', path: '/metadata/annotations/a~0b', value: 'tilde' },
    ]) as ReturnType<typeof pod>;
    assert.deepEqual(out.metadata.annotations, { 'mesh.io/inject': 'false', 'a~b': 'tilde' });
    assert.deepEqual(parsePointer('/a~01'), ['a~1'], '~01 is "~" then "1", not "/"');
  });

  it('removes, moves and copies values', () => {
    const out = applyJsonPatch(pod(), [
      { op: 'copy', from: '/metadata/labels/app', path: '/metadata/labels/copied' },
      { op: 'move', from: '/metadata/annotations', path: '/metadata/moved' },
      { op: 'remove', path: '/spec/containers/0' },
    ]);
    assert.deepEqual(out, {
      metadata: { name: 'web', labels: { app: 'web', copied: 'web' }, moved: { 'mesh.io/inject': 'true' } },
      spec: { containers: [] },
    });
  });

  it('passes a test that matches regardless of key order and fails the whole patch on one that does not', () => {
    assert.doesNotThrow(() =>
      applyJsonPatch(pod(), [{ op: 'test', path: '/metadata/labels', value: { app: 'web' } }]),
    );
    assert.throws(
      () =>
        applyJsonPatch(pod(), [
          { op: 'add', path: '/metadata/labels/x', value: 'y' },
          { op: 'test', path: '/metadata/name', value: 'other' },
        ]),
      JsonPatchError,
    );
  });

  it('replaces the whole document through the empty pointer', () => {
    assert.deepEqual(applyJsonPatch(pod(), [{ op: 'replace', path: '', value: { kind: 'Pod' } }]), {
      kind: 'Pod',
    });
  });

  it('refuses paths that do not exist, out-of-range or malformed indexes, and unknown ops', () => {
    const refused: unknown[][] = [
      [{ op: 'add', path: '/metadata/missing/x', value: 1 }],
      [{ op: 'remove', path: '/metadata/labels/absent' }],
      [{ op: 'replace', path: '/spec/absent', value: 1 }],
      [{ op: 'add', path: '/spec/containers/2', value: {} }],
      [{ op: 'remove', path: '/spec/containers/-' }],
      [{ op: 'replace', path: '/spec/containers/01', value: {} }],
      [{ op: 'add', path: 'metadata', value: 1 }],
      [{ op: 'add', path: '/metadata/labels/x' }],
      [{ op: 'move', from: '/metadata', path: '/metadata/inner' }],
      [{ op: 'merge', path: '/metadata' }],
    ];
    for (const operations of refused) {
      assert.throws(() => applyJsonPatch(pod(), operations), JsonPatchError, JSON.stringify(operations));
    }
  });

  it('leaves the input document untouched and never changes a prototype through "__proto__"', () => {
    const input = pod();
    const out = applyJsonPatch(input, [
      { op: 'add', path: '/metadata/__proto__', value: { polluted: true } },
    ]) as {
      metadata: Record<string, unknown>;
    };
    assert.deepEqual(input, pod());
    assert.equal(Object.getPrototypeOf(out.metadata), Object.prototype);
    assert.deepEqual(Object.getOwnPropertyDescriptor(out.metadata, '__proto__')?.value, { polluted: true });
  });
});

describe('jsonEqual', () => {
  it('ignores key order but not array order or extra keys', () => {
    assert.equal(jsonEqual({ a: 1, b: [1, 2] }, { b: [1, 2], a: 1 }), true);
    assert.equal(jsonEqual([1, 2], [2, 1]), false);
    assert.equal(jsonEqual({ a: 1 }, { a: 1, b: undefined }), false);
    assert.equal(jsonEqual(null, {}), false);
  });
});
