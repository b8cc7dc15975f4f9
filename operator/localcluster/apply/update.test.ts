import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  applied,
  configMap,
  fieldsOf,
  frozen,
  managedFields,
  managers,
  stored,
  T0,
  T1,
  T2,
} from './fixtures.js';
import { BUILTIN_LIST_TYPES, recordUpdate } from './index.js';

type Obj = Record<string, unknown>;

const update = (
  live: Obj | undefined,
  updated: Obj,
  manager: string,
  o: { now?: string; subresource?: string } = {},
) =>
  recordUpdate({
    live,
    updated,
    manager,
    listType: BUILTIN_LIST_TYPES,
    apiVersion: String(updated.apiVersion),
    now: o.now ?? T0,
    ...(o.subresource === undefined ? {} : { subresource: o.subresource }),
  });

describe('recordUpdate', () => {
  it('records a create as an Update entry owning every field set, new maps marked with "."', () => {
    const obj = update(undefined, configMap({ a: '1' }, { labels: { app: 'web' } }), 'kubectl');
    assert.deepEqual(managedFields(obj), [
      {
        manager: 'kubectl',
        operation: 'Update',
        apiVersion: 'v1',
        time: T0,
        fieldsType: 'FieldsV1',
        fieldsV1: {
          'f:data': { '.': {}, 'f:a': {} },
          'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } },
        },
      },
    ]);
  });

  it('takes a changed field from the applier that owned it, without a conflict', () => {
    const one = stored(applied(undefined, configMap({ a: '1', b: '2' }), 'op'));
    const two = update(one, { ...one, data: { a: 'edited', b: '2' } }, 'kubectl', { now: T1 });
    assert.deepEqual(two.data, { a: 'edited', b: '2' });
    assert.deepEqual(fieldsOf(two, 'op'), { 'f:data': { 'f:b': {} } });
    assert.deepEqual(fieldsOf(two, 'kubectl', 'Update'), { 'f:data': { 'f:a': {} } });
  });

  it('removes a deleted field from every manager that owned it', () => {
    const one = stored(applied(undefined, configMap({ a: '1', b: '2' }), 'x'));
    const two = applied(one, configMap({ a: '1' }), 'y', { now: T1 });
    const three = update(two, { ...two, data: { b: '2' } }, 'kubectl', { now: T2 });
    assert.deepEqual(fieldsOf(three, 'x'), { 'f:data': { 'f:b': {} } });
    assert.equal(fieldsOf(three, 'y'), undefined);
    assert.deepEqual(managers(three), ['x/Apply'], 'a delete alone gives the writer nothing');
  });

  it('changes neither managedFields nor their times when the update changes nothing', () => {
    const one = stored(update(undefined, configMap({ a: '1' }), 'kubectl'));
    const two = update(one, one, 'kubectl', { now: T2 });
    assert.deepEqual(two, one);
  });

  it("adds to the writer's earlier entry and stamps the new time", () => {
    const one = stored(update(undefined, configMap({ a: '1' }), 'kubectl'));
    const two = update(one, { ...one, data: { a: '1', b: '2' } }, 'kubectl', { now: T1 });
    assert.deepEqual(managedFields(two).length, 1);
    assert.deepEqual(fieldsOf(two, 'kubectl', 'Update'), { 'f:data': { '.': {}, 'f:a': {}, 'f:b': {} } });
    assert.equal(managedFields(two)[0]?.time, T1);
  });

  it('keeps separate entries per subresource, Apply entries first', () => {
    const one = stored(applied(undefined, configMap({ a: '1' }), 'op'));
    const two = update(one, { ...one, data: { a: '1', b: '2' } }, 'op', { now: T1, subresource: 'status' });
    assert.deepEqual(
      managedFields(two).map((e) => [e.manager, e.operation, e.subresource]),
      [
        ['op', 'Apply', undefined],
        ['op', 'Update', 'status'],
      ],
    );
  });

  it('uses managedFields sent with the update, and an empty list resets them', () => {
    const one = stored(update(undefined, configMap({ a: '1' }), 'kubectl'));
    const edited = managedFields(one).map((e) => ({ ...e, manager: 'renamed' }));
    const two = update(
      one,
      { ...one, metadata: { ...(one.metadata as Obj), managedFields: edited } },
      'kubectl',
    );
    assert.deepEqual(managers(two), ['renamed/Update']);

    const reset = update(
      one,
      { ...one, metadata: { ...(one.metadata as Obj), managedFields: [] } },
      'kubectl',
    );
    assert.equal((reset.metadata as Obj).managedFields, undefined);
  });

  it('keeps the live managedFields when the update leaves them out', () => {
    const one = stored(update(undefined, configMap({ a: '1' }), 'kubectl'));
    const { managedFields: _dropped, ...metadata } = one.metadata as Obj;
    const two = update(one, { ...one, metadata, data: { a: '2' } }, 'other', { now: T1 });
    assert.deepEqual(managers(two), ['kubectl/Update', 'other/Update']);
  });

  it('does not start tracking an existing object that has no managedFields', () => {
    const untracked = stored(configMap({ a: '1' }));
    const two = update(untracked, { ...untracked, data: { a: '2' } }, 'kubectl');
    assert.equal((two.metadata as Obj).managedFields, undefined);
  });

  it('merges the oldest Update entries into ancient-changes past ten of them', () => {
    let obj = stored(update(undefined, configMap({ k0: 'v' }), 'writer-0', { now: '2024-05-01T10:00:00Z' }));
    for (let i = 1; i <= 10; i++) {
      const data = { ...(obj.data as Obj), [`k${i}`]: 'v' };
      obj = update(obj, { ...obj, data }, `writer-${i}`, {
        now: `2024-05-01T10:${String(i).padStart(2, '0')}:00Z`,
      });
    }
    const names = managedFields(obj).map((e) => e.manager);
    assert.equal(names.length, 10);
    assert.ok(names.includes('ancient-changes'));
    assert.ok(!names.includes('writer-0') && !names.includes('writer-1'));
    assert.deepEqual(fieldsOf(obj, 'ancient-changes', 'Update'), {
      'f:data': { '.': {}, 'f:k0': {}, 'f:k1': {} },
    });
  });

  it('returns the object without managedFields when a list cannot be keyed (UpdateNoErrors)', () => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', uid: 'u' },
      spec: { containers: [{ image: 'no-name' }] },
    };
    const withFields = { ...pod, metadata: { ...pod.metadata, managedFields: [] } };
    const out = update(undefined, withFields, 'kubectl');
    assert.equal((out.metadata as Obj).managedFields, undefined);
    assert.deepEqual(out.spec, pod.spec);
  });

  it('does not mutate its inputs', () => {
    const one = frozen(stored(update(undefined, configMap({ a: '1' }), 'kubectl')));
    const updated = frozen({ ...one, data: { a: '2' } });
    const two = update(one, updated, 'other', { now: T1 });
    assert.deepEqual(two.data, { a: '2' });
  });
});
