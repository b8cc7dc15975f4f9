import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  applied,
  configMap,
  container,
  deployment,
  dig,
  fieldsOf,
  frozen,
  managedFields,
  managers,
  stored,
  T0,
  T1,
  T2,
  T3,
} from './fixtures.js';
import {
  BUILTIN_LIST_TYPES,
  InvalidApplyError,
  listTypeFromSchema,
  recordUpdate,
  serverSideApply,
} from './index.js';

type Obj = Record<string, unknown>;

const spec = (obj: Obj) => obj.spec as Obj;
const podSpec = (obj: Obj) => (spec(obj).template as Obj).spec as Obj;
const containerNames = (obj: Obj) => (podSpec(obj).containers as Obj[]).map((c) => c.name);

describe('serverSideApply: creating', () => {
  it('creates the object from the configuration, with one Apply entry owning what it set', () => {
    const config = configMap({ mode: 'fast' }, { labels: { app: 'web' } });
    const obj = applied(undefined, config, 'operator', { now: '2024-05-01T10:00:00.789Z' });

    assert.deepEqual(obj.data, { mode: 'fast' });
    assert.deepEqual((obj.metadata as Obj).labels, { app: 'web' });
    assert.deepEqual(managedFields(obj), [
      {
        manager: 'operator',
        operation: 'Apply',
        apiVersion: 'v1',
        time: T0,
        fieldsType: 'FieldsV1',
        fieldsV1: { 'f:data': { 'f:mode': {} }, 'f:metadata': { 'f:labels': { 'f:app': {} } } },
      },
    ]);
  });

  it('does not record apiVersion, kind, metadata.name or metadata.namespace as owned', () => {
    const obj = applied(undefined, configMap({ a: '1' }), 'operator');
    assert.deepEqual(fieldsOf(obj, 'operator'), { 'f:data': { 'f:a': {} } });
  });

  it('refuses configurations the API server refuses: no kind, no name, managedFields set, another version', () => {
    const call = (config: Obj, apiVersion = 'v1') =>
      serverSideApply({
        live: undefined,
        applied: config,
        manager: 'm',
        force: false,
        listType: BUILTIN_LIST_TYPES,
        apiVersion,
        now: T0,
      });
    const base = configMap({ a: '1' });
    assert.throws(() => call({ ...base, kind: undefined }), InvalidApplyError);
    assert.throws(() => call({ ...base, metadata: { namespace: 'default' } }), /name is required/);
    assert.throws(
      () => call({ ...base, metadata: { name: 'settings', managedFields: [] } }),
      /metadata.managedFields must be nil/,
    );
    assert.throws(() => call(base, 'v2'), /Incorrect version specified in apply patch/);
  });

  it('refuses a configuration that repeats a key in a map list', () => {
    const config = deployment({ containers: [container('web'), container('web', { image: 'other' })] });
    assert.throws(
      () => applied(undefined, config, 'm'),
      (err: Error) =>
        err instanceof InvalidApplyError &&
        err.message === '.spec.template.spec.containers: duplicate entries for key [name="web"]',
    );
  });

  it('refuses a map-list item without its key field when the key has no default', () => {
    const config = deployment({ containers: [{ image: 'nginx' }] });
    assert.throws(() => applied(undefined, config, 'm'), /omits key field "name"/);
  });

  it('does not mutate the live object or the configuration', () => {
    const live = frozen(stored(applied(undefined, configMap({ a: '1', b: '2' }), 'm')));
    const config = frozen(configMap({ a: '9' }));
    const obj = applied(live, config, 'm', { now: T1 });
    assert.deepEqual(obj.data, { a: '9' });
  });
});

describe('serverSideApply: applying again', () => {
  it('changes nothing, not even the time, when the same configuration is applied again', () => {
    const first = stored(applied(undefined, deployment({ replicas: 2 }), 'operator', { now: T0 }));
    const second = applied(first, deployment({ replicas: 2 }), 'operator', { now: T2 });
    assert.deepEqual(second, first);
  });

  it('stamps the new time when the configuration changes something', () => {
    const first = stored(applied(undefined, deployment({ replicas: 2 }), 'operator', { now: T0 }));
    const second = applied(first, deployment({ replicas: 3 }), 'operator', { now: T2 });
    assert.equal(spec(second).replicas, 3);
    assert.equal(managedFields(second)[0]?.time, T2);
  });

  it('removes a field the manager applied before and no longer applies', () => {
    const first = stored(
      applied(undefined, configMap({ a: '1', b: '2' }, { labels: { x: '1', y: '2' } }), 'op'),
    );
    const second = applied(first, configMap({ a: '1' }, { labels: { x: '1' } }), 'op', { now: T1 });
    assert.deepEqual(second.data, { a: '1' });
    assert.deepEqual((second.metadata as Obj).labels, { x: '1' });
    assert.deepEqual(fieldsOf(second, 'op'), {
      'f:data': { 'f:a': {} },
      'f:metadata': { 'f:labels': { 'f:x': {} } },
    });
  });

  it('removes a whole map it no longer applies when nobody else owns anything in it', () => {
    const first = stored(applied(undefined, configMap({ a: '1' }, { labels: { x: '1' } }), 'op'));
    const second = applied(first, configMap({ a: '1' }), 'op', { now: T1 });
    assert.equal((second.metadata as Obj).labels, undefined);
    assert.equal((second.metadata as Obj).uid, 'uid-1', 'fields the server set are kept');
  });

  it('keeps a field it no longer applies while another manager also owns it', () => {
    const one = stored(applied(undefined, configMap({ shared: 's', mine: 'm' }), 'a'));
    const two = applied(one, configMap({ shared: 's' }), 'b', { now: T1 });
    const three = applied(two, configMap({ mine: 'm' }), 'a', { now: T2 });
    assert.deepEqual(three.data, { shared: 's', mine: 'm' });
    assert.deepEqual(fieldsOf(three, 'a'), { 'f:data': { 'f:mine': {} } });
    assert.deepEqual(fieldsOf(three, 'b'), { 'f:data': { 'f:shared': {} } });
  });

  it('keeps fields written by an ordinary update when pruning its own', () => {
    const one = stored(applied(undefined, configMap({ a: '1', b: '2' }), 'op'));
    const edited = recordUpdate({
      live: one,
      updated: { ...one, data: { a: '1', b: '2', c: '3' } },
      manager: 'kubectl',
      listType: BUILTIN_LIST_TYPES,
      apiVersion: 'v1',
      now: T1,
    });
    const two = applied(edited, configMap({ a: '1' }), 'op', { now: T2 });
    assert.deepEqual(two.data, { a: '1', c: '3' });
  });

  it('drops a field set to null but keeps owning it', () => {
    const one = stored(applied(undefined, configMap({ a: '1', b: '2' }), 'op'));
    const two = applied(one, { ...configMap({ a: '1' }), data: { a: '1', b: null } }, 'op', { now: T1 });
    assert.deepEqual(two.data, { a: '1' });
    assert.deepEqual(fieldsOf(two, 'op'), { 'f:data': { 'f:a': {}, 'f:b': {} } });
  });
});

describe('serverSideApply: ownership and conflicts', () => {
  it('shares a field two appliers set to the same value, without a conflict', () => {
    const one = stored(applied(undefined, configMap({ key: 'v' }), 'a'));
    const two = applied(one, configMap({ key: 'v' }), 'b', { now: T1 });
    assert.deepEqual(fieldsOf(two, 'a'), { 'f:data': { 'f:key': {} } });
    assert.deepEqual(fieldsOf(two, 'b'), { 'f:data': { 'f:key': {} } });
  });

  it('reports a conflict when another applier owns a field the configuration changes', () => {
    const one = stored(applied(undefined, configMap({ key: 'v' }), 'a'));
    const result = serverSideApply({
      live: one,
      applied: configMap({ key: 'other' }),
      manager: 'b',
      force: false,
      listType: BUILTIN_LIST_TYPES,
      apiVersion: 'v1',
      now: T1,
    });
    assert.deepEqual(result, {
      ok: false,
      conflicts: [{ manager: 'a', field: '.data.key', message: 'conflict with "a"' }],
      message: 'Apply failed with 1 conflict: conflict with "a": .data.key',
    });
  });

  it('names an Update manager with its apiVersion and lists several conflicts under it', () => {
    const created = recordUpdate({
      live: undefined,
      updated: configMap({ a: '1', b: '2' }),
      manager: 'kubectl',
      listType: BUILTIN_LIST_TYPES,
      apiVersion: 'v1',
      now: T0,
    });
    const result = serverSideApply({
      live: stored(created),
      applied: configMap({ a: 'x', b: 'y' }),
      manager: 'operator',
      force: false,
      listType: BUILTIN_LIST_TYPES,
      apiVersion: 'v1',
      now: T1,
    });
    assert.equal(result.ok, false);
    assert.equal(
      !result.ok && result.message,
      'Apply failed with 2 conflicts: conflicts with "kubectl" using v1:\n- .data.a\n- .data.b',
    );
  });

  it('groups conflicts by manager, managers in sorted order', () => {
    const one = stored(applied(undefined, configMap({ a: '1' }), 'zeta'));
    const two = applied(one, configMap({ b: '2' }), 'alpha', { now: T1 });
    const result = serverSideApply({
      live: two,
      applied: configMap({ a: 'x', b: 'y' }),
      manager: 'me',
      force: false,
      listType: BUILTIN_LIST_TYPES,
      apiVersion: 'v1',
      now: T2,
    });
    assert.equal(
      !result.ok && result.message,
      'Apply failed with 2 conflicts: conflicts with "alpha":\n- .data.b\nconflicts with "zeta":\n- .data.a',
    );
  });

  it('with force, takes the field; a manager left with nothing drops out of managedFields', () => {
    const one = stored(applied(undefined, configMap({ key: 'v' }), 'a'));
    const two = applied(one, configMap({ key: 'other' }), 'b', { now: T1, force: true });
    assert.deepEqual(two.data, { key: 'other' });
    assert.deepEqual(managers(two), ['b/Apply']);
  });

  it('with force, leaves the other manager the fields it did not take', () => {
    const one = stored(applied(undefined, configMap({ key: 'v', kept: 'k' }), 'a'));
    const two = applied(one, configMap({ key: 'other' }), 'b', { now: T1, force: true });
    assert.deepEqual(fieldsOf(two, 'a'), { 'f:data': { 'f:kept': {} } });
    assert.deepEqual(fieldsOf(two, 'b'), { 'f:data': { 'f:key': {} } });
  });

  it('an Update after an Apply takes the field it changed, and the applier then conflicts with it', () => {
    const one = stored(applied(undefined, deployment({ replicas: 2 }), 'operator'));
    const scaled = recordUpdate({
      live: one,
      updated: { ...one, spec: { ...spec(one), replicas: 5 } },
      manager: 'kubectl',
      listType: BUILTIN_LIST_TYPES,
      apiVersion: 'apps/v1',
      now: T1,
    });
    assert.deepEqual(fieldsOf(scaled, 'kubectl', 'Update'), { 'f:spec': { 'f:replicas': {} } });
    assert.equal(JSON.stringify(fieldsOf(scaled, 'operator')).includes('f:replicas'), false);

    const result = serverSideApply({
      live: scaled,
      applied: deployment({ replicas: 2 }),
      manager: 'operator',
      force: false,
      listType: BUILTIN_LIST_TYPES,
      apiVersion: 'apps/v1',
      now: T2,
    });
    assert.equal(
      !result.ok && result.message,
      'Apply failed with 1 conflict: conflict with "kubectl" using apps/v1: .spec.replicas',
    );
  });

  it('gives the fields of an object nobody tracked to before-first-apply on its first apply', () => {
    const untracked = stored(configMap({ a: '1', b: '2' }));
    const result = serverSideApply({
      live: untracked,
      applied: configMap({ a: '9' }),
      manager: 'operator',
      force: false,
      listType: BUILTIN_LIST_TYPES,
      apiVersion: 'v1',
      now: T1,
    });
    assert.equal(
      !result.ok && result.message,
      'Apply failed with 1 conflict: conflict with "before-first-apply" using v1: .data.a',
    );
  });

  it('keeps a separate entry for an apply to a subresource', () => {
    const one = stored(applied(undefined, configMap({ a: '1' }), 'op'));
    const two = applied(one, configMap({ b: '2' }), 'op', { now: T1, subresource: 'status' });
    assert.deepEqual(
      managedFields(two).map((e) => [e.manager, e.subresource]),
      [
        ['op', undefined],
        ['op', 'status'],
      ],
    );
  });
});

describe('serverSideApply: lists', () => {
  it('merges a map list by key: two managers each own one container, and each can drop only its own', () => {
    const one = stored(applied(undefined, deployment({ containers: [container('web')] }), 'app'));
    const two = applied(one, deployment({ containers: [container('proxy')] }), 'mesh', { now: T1 });
    assert.deepEqual(containerNames(two), ['web', 'proxy']);
    const containersOf = (manager: string) =>
      Object.keys(dig(fieldsOf(two, manager), 'f:spec', 'f:template', 'f:spec', 'f:containers') as Obj);
    assert.deepEqual(containersOf('app'), ['k:{"name":"web"}']);
    assert.deepEqual(containersOf('mesh'), ['k:{"name":"proxy"}']);

    const three = applied(two, deployment({ containers: [] }), 'mesh', { now: T2 });
    assert.deepEqual(containerNames(three), ['web']);
    assert.deepEqual(managers(three), ['app/Apply']);
  });

  it('owns the fields inside a list item separately, so another manager can set one of them', () => {
    const one = stored(applied(undefined, deployment({ containers: [container('web')] }), 'app'));
    const two = applied(
      one,
      deployment({ containers: [{ name: 'web', resources: { limits: { cpu: '1' } } }] }),
      'tuner',
      { now: T1 },
    );
    assert.deepEqual((podSpec(two).containers as Obj[])[0], {
      name: 'web',
      image: 'web:1',
      resources: { limits: { cpu: '1' } },
    });
    const three = applied(two, deployment({ containers: [container('web', { image: 'web:2' })] }), 'app', {
      now: T2,
    });
    assert.equal((podSpec(three).containers as Obj[])[0]?.image, 'web:2');
  });

  it('keys container ports by containerPort and protocol, protocol defaulting to TCP', () => {
    const config = deployment({
      containers: [container('web', { ports: [{ containerPort: 80, name: 'http' }] })],
    });
    const obj = applied(undefined, config, 'app');
    const web = dig(
      fieldsOf(obj, 'app'),
      'f:spec',
      'f:template',
      'f:spec',
      'f:containers',
      'k:{"name":"web"}',
      'f:ports',
    );
    assert.deepEqual(web, {
      'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {}, 'f:name': {} },
    });
  });

  it('merges a set list by value: finalizers of two appliers, each removing only its own', () => {
    const one = stored(applied(undefined, deployment({ finalizers: ['a.io/x'] }), 'a'));
    const two = applied(one, deployment({ finalizers: ['b.io/y'] }), 'b', { now: T1 });
    assert.deepEqual((two.metadata as Obj).finalizers, ['a.io/x', 'b.io/y']);
    assert.deepEqual(dig(fieldsOf(two, 'b'), 'f:metadata', 'f:finalizers'), { 'v:"b.io/y"': {} });
    const three = applied(two, deployment(), 'a', { now: T2 });
    assert.deepEqual((three.metadata as Obj).finalizers, ['b.io/y']);
  });

  it('replaces an atomic list whole, owns it as one field, and conflicts on any change to it', () => {
    const args = (list: string[]) => deployment({ containers: [container('web', { args: list })] });
    const one = stored(applied(undefined, args(['--a', '--b']), 'app'));
    const fields = JSON.stringify(fieldsOf(one, 'app'));
    assert.ok(fields.includes('"f:args":{}'), fields);

    const result = serverSideApply({
      live: one,
      applied: args(['--c']),
      manager: 'other',
      force: false,
      listType: BUILTIN_LIST_TYPES,
      apiVersion: 'apps/v1',
      now: T1,
    });
    assert.equal(!result.ok && result.conflicts[0]?.field, '.spec.template.spec.containers[name="web"].args');
    const forced = applied(one, args(['--c']), 'other', { now: T1, force: true });
    assert.deepEqual((podSpec(forced).containers as Obj[])[0]?.args, ['--c']);
  });

  it('orders merged items as structured-merge-diff does: configuration order, live-only items in place', () => {
    const one = stored(applied(undefined, deployment({ containers: [container('a'), container('b')] }), 'x'));
    const two = applied(one, deployment({ containers: [container('c')] }), 'y', { now: T1 });
    assert.deepEqual(containerNames(two), ['a', 'b', 'c']);
    const three = applied(two, deployment({ containers: [container('b'), container('a')] }), 'x', {
      now: T3,
    });
    assert.deepEqual(containerNames(three), ['b', 'c', 'a']);
  });

  it('follows a CRD schema: keyed lists, and an x-kubernetes-map-type atomic object replaced whole', () => {
    const schema = {
      type: 'object',
      properties: {
        spec: {
          type: 'object',
          properties: {
            routes: {
              type: 'array',
              'x-kubernetes-list-type': 'map',
              'x-kubernetes-list-map-keys': ['host'],
              items: {
                type: 'object',
                properties: { host: { type: 'string' }, weight: { type: 'integer' } },
              },
            },
            target: { type: 'object', 'x-kubernetes-map-type': 'atomic' },
          },
        },
      },
    };
    const listType = listTypeFromSchema(schema);
    const split = (s: Obj) => ({ apiVersion: 'mesh.io/v1', kind: 'Split', metadata: { name: 's' }, spec: s });
    const one = stored(
      applied(
        undefined,
        split({ routes: [{ host: 'a', weight: 1 }], target: { name: 't', port: 80 } }),
        'x',
        { listType },
      ),
    );
    assert.deepEqual(fieldsOf(one, 'x'), {
      'f:spec': {
        'f:routes': { 'k:{"host":"a"}': { '.': {}, 'f:host': {}, 'f:weight': {} } },
        'f:target': {},
      },
    });
    const two = applied(one, split({ routes: [{ host: 'b', weight: 2 }], target: { name: 'u' } }), 'y', {
      listType,
      now: T1,
      force: true,
    });
    assert.deepEqual(spec(two), {
      routes: [
        { host: 'a', weight: 1 },
        { host: 'b', weight: 2 },
      ],
      target: { name: 'u' },
    });
    assert.deepEqual(fieldsOf(two, 'x'), {
      'f:spec': { 'f:routes': { 'k:{"host":"a"}': { '.': {}, 'f:host': {}, 'f:weight': {} } } },
    });
  });
});
