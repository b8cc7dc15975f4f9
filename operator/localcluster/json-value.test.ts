import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { cloneJson, jsonEqual, parseJsonObjectText, stableJson } from './json-value.js';

const object = () => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'x', labels: { a: 'b' }, managedFields: [{ manager: 'm', fieldsV1: { 'f:data': {} } }] },
  data: { k: 'v', n: 1.5, z: null, t: true, list: [1, 'two', { three: 3 }] },
});

describe('cloneJson', () => {
  it('copies plain JSON deeply, as structuredClone does', () => {
    const original = object();
    const copy = cloneJson(original);
    assert.deepEqual(copy, structuredClone(original));
    copy.metadata.labels.a = 'changed';
    copy.data.list.push(4);
    assert.deepEqual(original, object());
  });

  it('keeps keys holding undefined and a __proto__ key as own properties', () => {
    const parsed = JSON.parse('{"__proto__":{"x":1},"a":1}') as Record<string, unknown>;
    assert.deepEqual(Object.keys(cloneJson({ a: 1, u: undefined })), ['a', 'u']);
    assert.ok(Object.hasOwn(cloneJson(parsed), '__proto__'));
    assert.equal(Object.getPrototypeOf(cloneJson(parsed)), Object.prototype);
  });

  it('hands anything else to structuredClone', () => {
    const when = new Date(0);
    const copy = cloneJson({ when });
    assert.ok(copy.when instanceof Date);
    assert.notEqual(copy.when, when);
    assert.throws(() => cloneJson({ f: () => 1 }), { name: 'DataCloneError' });
  });
});

describe('jsonEqual', () => {
  const cases: [unknown, unknown][] = [
    [object(), object()],
    [
      { a: 1, b: 2 },
      { b: 2, a: 1 },
    ],
    [{ a: 1, u: undefined }, { a: 1 }],
    [
      [1, 2],
      [2, 1],
    ],
    [{ a: [1, { b: 1 }] }, { a: [1, { b: 2 }] }],
    [{ a: 1 }, { a: '1' }],
    [{ a: null }, {}],
    [[undefined], [null]],
    [{ a: NaN }, { a: null }],
    [{ f: () => 1, a: 1 }, { a: 1 }],
    [{ d: new Date(0) }, { d: '1970-01-01T00:00:00.000Z' }],
    [[], {}],
    ['x', 'x'],
  ];
  for (const [a, b] of cases) {
    it(`agrees with comparing stable JSON: ${stableJson(a)} vs ${stableJson(b)}`, () => {
      assert.equal(jsonEqual(a, b), stableJson(a) === stableJson(b));
    });
  }
});

describe('parseJsonObjectText', () => {
  it('decodes a JSON object as the YAML parser does', () => {
    const text = JSON.stringify(object(), null, 2);
    assert.deepEqual(parseJsonObjectText(text)?.value, parseYaml(text));
    const escapes = '{"a":"\\/x\\ud83d\\ude00\\u0000","b":-0,"c":1e400,"d":"k: v # not a comment"}';
    assert.deepEqual(parseJsonObjectText(escapes)?.value, parseYaml(escapes));
  });

  it('leaves repeated keys, other YAML and invalid JSON to the YAML parser', () => {
    assert.equal(parseJsonObjectText('{"a":1,"a":2}'), undefined);
    assert.equal(parseJsonObjectText('{"a":{"b":1,"b":1}}'), undefined);
    assert.equal(parseJsonObjectText('a: 1'), undefined);
    assert.equal(parseJsonObjectText('{a: 1}'), undefined);
    assert.equal(parseJsonObjectText('[1]'), undefined);
  });

  it('counts colons inside strings as text, not as keys', () => {
    assert.deepEqual(parseJsonObjectText('{"a:b":"c:\\"d:"}')?.value, { 'a:b': 'c:"d:' });
  });
});
