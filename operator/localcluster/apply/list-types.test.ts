import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BUILTIN_LIST_TYPES, listTypeFromSchema } from './list-types.js';

const byName = { type: 'map', keys: ['name'] };

describe('BUILTIN_LIST_TYPES', () => {
  it('keys PodSpec lists by name wherever the PodSpec sits', () => {
    for (const at of [
      ['spec'],
      ['spec', 'template', 'spec'],
      ['template', 'spec'],
      ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
    ]) {
      for (const list of [
        'containers',
        'initContainers',
        'ephemeralContainers',
        'volumes',
        'imagePullSecrets',
      ]) {
        assert.deepEqual(BUILTIN_LIST_TYPES([...at, list]), byName, [...at, list].join('.'));
      }
    }
  });

  it('keys container lists: ports by containerPort and protocol (default TCP), env by name, mounts by path', () => {
    const c = ['spec', 'template', 'spec', 'containers'];
    assert.deepEqual(BUILTIN_LIST_TYPES([...c, 'ports']), {
      type: 'map',
      keys: ['containerPort', 'protocol'],
      defaults: { protocol: 'TCP' },
    });
    assert.deepEqual(BUILTIN_LIST_TYPES([...c, 'env']), byName);
    assert.deepEqual(BUILTIN_LIST_TYPES(['spec', 'initContainers', 'volumeMounts']), {
      type: 'map',
      keys: ['mountPath'],
    });
  });

  it('keys the other well-known lists', () => {
    assert.deepEqual(BUILTIN_LIST_TYPES(['spec', 'ports']), {
      type: 'map',
      keys: ['port', 'protocol'],
      defaults: { protocol: 'TCP' },
    });
    assert.deepEqual(BUILTIN_LIST_TYPES(['metadata', 'ownerReferences']), { type: 'map', keys: ['uid'] });
    assert.deepEqual(BUILTIN_LIST_TYPES(['metadata', 'finalizers']), { type: 'set' });
    assert.deepEqual(BUILTIN_LIST_TYPES(['status', 'conditions']), { type: 'map', keys: ['type'] });
    assert.deepEqual(BUILTIN_LIST_TYPES(['webhooks']), byName);
  });

  it('leaves other lists atomic: EndpointSlice endpoints, NetworkPolicy rules, RBAC rules, tolerations', () => {
    for (const path of [
      ['endpoints'],
      ['spec', 'ingress'],
      ['rules'],
      ['subjects'],
      ['spec', 'tolerations'],
      ['spec', 'containers', 'args'],
    ]) {
      assert.equal(BUILTIN_LIST_TYPES(path), undefined, path.join('.'));
    }
  });

  it('makes label selectors and nodeSelector atomic', () => {
    assert.deepEqual(BUILTIN_LIST_TYPES(['spec', 'selector']), { type: 'atomic' });
    assert.deepEqual(BUILTIN_LIST_TYPES(['spec', 'podSelector']), { type: 'atomic' });
    assert.deepEqual(BUILTIN_LIST_TYPES(['spec', 'template', 'spec', 'nodeSelector']), { type: 'atomic' });
  });
});

describe('listTypeFromSchema', () => {
  const schema = {
    type: 'object',
    properties: {
      spec: {
        type: 'object',
        properties: {
          backends: {
            type: 'array',
            'x-kubernetes-list-type': 'map',
            'x-kubernetes-list-map-keys': ['name', 'port'],
            items: {
              type: 'object',
              properties: {
                name: { type: 'string' },
                port: { type: 'integer', default: 80 },
                tags: { type: 'array', 'x-kubernetes-list-type': 'set', items: { type: 'string' } },
              },
            },
          },
          hosts: { type: 'array', items: { type: 'string' } },
          explicit: { type: 'array', 'x-kubernetes-list-type': 'atomic', items: { type: 'string' } },
          selector: {
            type: 'object',
            'x-kubernetes-map-type': 'atomic',
            additionalProperties: { type: 'string' },
          },
          byZone: {
            type: 'object',
            additionalProperties: {
              type: 'array',
              'x-kubernetes-list-type': 'set',
              items: { type: 'string' },
            },
          },
        },
      },
    },
  };
  const lookup = listTypeFromSchema(schema);

  it('reads x-kubernetes-list-type map with its keys, taking a key default from the item schema', () => {
    assert.deepEqual(lookup(['spec', 'backends']), {
      type: 'map',
      keys: ['name', 'port'],
      defaults: { port: 80 },
    });
  });

  it('reads set lists inside list items and under additionalProperties', () => {
    assert.deepEqual(lookup(['spec', 'backends', 'tags']), { type: 'set' });
    assert.deepEqual(lookup(['spec', 'byZone', 'eu-1']), { type: 'set' });
  });

  it('treats lists without x-kubernetes-list-type as atomic, and reads x-kubernetes-map-type atomic', () => {
    assert.equal(lookup(['spec', 'hosts']), undefined);
    assert.deepEqual(lookup(['spec', 'explicit']), { type: 'atomic' });
    assert.deepEqual(lookup(['spec', 'selector']), { type: 'atomic' });
    assert.equal(lookup(['spec', 'unknown', 'deeper']), undefined);
  });

  it('reads metadata as ObjectMeta', () => {
    assert.deepEqual(lookup(['metadata', 'finalizers']), { type: 'set' });
    assert.deepEqual(lookup(['metadata', 'ownerReferences']), { type: 'map', keys: ['uid'] });
  });
});
