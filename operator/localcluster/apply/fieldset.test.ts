import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FieldSet, fieldToken, keyToken, renderPath, valueToken } from './fieldset.js';
import { toFieldSet } from './typed.js';
import { BUILTIN_LIST_TYPES } from './list-types.js';

const f = fieldToken;

describe('FieldSet encoding (FieldsV1)', () => {
  it('writes nested maps as f: keys and owned leaves as {}', () => {
    const set = FieldSet.of([f('metadata'), f('labels'), f('app')], [f('data'), f('b')], [f('data'), f('a')]);
    assert.deepEqual(set.toFieldsV1(), {
      'f:data': { 'f:a': {}, 'f:b': {} },
      'f:metadata': { 'f:labels': { 'f:app': {} } },
    });
    assert.deepEqual(Object.keys(set.toFieldsV1()), ['f:data', 'f:metadata'], 'keys come out sorted');
  });

  it('marks with "." a path owned together with paths below it, and writes "." first', () => {
    const item = [f('spec'), f('containers'), keyToken([['name', 'web']])];
    const set = FieldSet.of(item, [...item, f('image')], [...item, f('name')]);
    const encoded = set.toFieldsV1() as Record<string, Record<string, Record<string, unknown>>>;
    assert.deepEqual(encoded, {
      'f:spec': { 'f:containers': { 'k:{"name":"web"}': { '.': {}, 'f:image': {}, 'f:name': {} } } },
    });
    assert.deepEqual(Object.keys(encoded['f:spec']?.['f:containers']?.['k:{"name":"web"}'] ?? {}), [
      '.',
      'f:image',
      'f:name',
    ]);
  });

  it('spells multi-field keys with the fields sorted by name', () => {
    assert.equal(
      keyToken([
        ['protocol', 'TCP'],
        ['containerPort', 80],
      ]),
      'k:{"containerPort":80,"protocol":"TCP"}',
    );
  });

  it('encodes what ToFieldSet owns for keyed lists with multi-field keys, and for sets', () => {
    const pod = {
      metadata: { finalizers: ['a.io/x'] },
      spec: { containers: [{ name: 'web', ports: [{ containerPort: 80, protocol: 'UDP' }] }] },
    };
    assert.deepEqual(toFieldSet(pod, BUILTIN_LIST_TYPES).toFieldsV1(), {
      'f:metadata': { 'f:finalizers': { 'v:"a.io/x"': {} } },
      'f:spec': {
        'f:containers': {
          'k:{"name":"web"}': {
            '.': {},
            'f:name': {},
            'f:ports': {
              'k:{"containerPort":80,"protocol":"UDP"}': { '.': {}, 'f:containerPort': {}, 'f:protocol': {} },
            },
          },
        },
      },
    });
  });

  it('orders field names, then keys, then values, as structured-merge-diff does', () => {
    const set = FieldSet.of(
      [valueToken('b')],
      [keyToken([['name', 'a']])],
      [f('z')],
      [valueToken(2)],
      [f('a')],
    );
    assert.deepEqual(Object.keys(set.toFieldsV1()), ['f:a', 'f:z', 'k:{"name":"a"}', 'v:2', 'v:"b"']);
  });

  it('reads FieldsV1 back into the same set, whatever order the key fields were written in', () => {
    const raw = {
      'f:spec': { 'f:ports': { 'k:{"protocol":"TCP","port":80}': { '.': {}, 'f:port': {} } } },
      'f:data': { '.': {}, 'f:a': {} },
    };
    const set = FieldSet.fromFieldsV1(raw);
    assert.ok(set.has([f('spec'), f('ports'), 'k:{"port":80,"protocol":"TCP"}']));
    assert.ok(set.has([f('data')]));
    assert.ok(!set.has([f('spec')]));
    assert.deepEqual(FieldSet.fromFieldsV1(set.toFieldsV1()).toFieldsV1(), set.toFieldsV1());
  });

  it('refuses FieldsV1 it cannot parse', () => {
    assert.throws(() => FieldSet.fromFieldsV1({ 'x:nope': {} }), /unknown path element/);
    assert.throws(() => FieldSet.fromFieldsV1({ 'k:[1]': {} }), /invalid key/);
  });
});

describe('FieldSet operations', () => {
  const a = FieldSet.of([f('x')], [f('y'), f('z')]);
  const b = FieldSet.of([f('y'), f('z')], [f('w')]);

  it('unions, subtracts and intersects path by path', () => {
    assert.ok(a.union(b).equals(FieldSet.of([f('x')], [f('y'), f('z')], [f('w')])));
    assert.ok(a.difference(b).equals(FieldSet.of([f('x')])));
    assert.ok(a.intersection(b).equals(FieldSet.of([f('y'), f('z')])));
  });

  it('subtracting a parent path does not subtract what is below it', () => {
    const set = FieldSet.of([f('metadata'), f('labels')]);
    assert.ok(set.difference(FieldSet.of([f('metadata')])).equals(set));
  });

  it('lists paths as Set.Iterate does: a level’s members before its subtrees', () => {
    const set = FieldSet.of([f('data'), f('b')], [f('a')], [f('data'), f('a')]);
    assert.deepEqual(set.paths(), [[f('a')], [f('data'), f('a')], [f('data'), f('b')]]);
  });

  it('makes named fields above owned paths members when asked (EnsureNamedFieldsAreMembers)', () => {
    const set = FieldSet.of([f('spec'), f('containers'), keyToken([['name', 'a']])]);
    const ensured = set.ensureNamedFieldsAreMembers();
    assert.ok(ensured.has([f('spec')]));
    assert.ok(ensured.has([f('spec'), f('containers')]));
  });
});

describe('renderPath', () => {
  it('prints paths as the API server does in conflicts', () => {
    const web = keyToken([['name', 'web']]);
    assert.equal(
      renderPath([f('spec'), f('containers'), web, f('image')]),
      '.spec.containers[name="web"].image',
    );
    assert.equal(
      renderPath([
        f('ports'),
        keyToken([
          ['containerPort', 80],
          ['protocol', 'TCP'],
        ]),
      ]),
      '.ports[containerPort=80,protocol="TCP"]',
    );
    assert.equal(
      renderPath([f('metadata'), f('finalizers'), valueToken('a.io/x')]),
      '.metadata.finalizers[="a.io/x"]',
    );
  });

  it('quotes strings as Go does', () => {
    assert.equal(renderPath([f('env'), keyToken([['name', 'A"B\n\u0001']])]), '.env[name="A\\"B\\n\\x01"]');
  });
});
