import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileSchema } from './index.js';
import { objectSchema, resource, resourceSchema } from './testing.js';
import type { JSONSchemaProps } from './types.js';

const embedded: JSONSchemaProps = {
  type: 'object',
  'x-kubernetes-embedded-resource': true,
  properties: { spec: objectSchema({ replicas: { type: 'integer' } }) },
};

const spec = objectSchema({
  name: { type: 'string' },
  steps: { type: 'array', items: objectSchema({ weight: { type: 'integer' } }) },
  labels: { type: 'object', additionalProperties: { type: 'string' } },
  values: {
    type: 'object',
    'x-kubernetes-preserve-unknown-fields': true,
    properties: { known: objectSchema({ a: { type: 'string' } }) },
  },
  template: embedded,
});
const compiled = compileSchema(resourceSchema(spec));

describe('prune', () => {
  it('drops fields the schema does not specify, at any depth', () => {
    const pruned = compiled.prune(resource({ name: 'a', color: 'red', steps: [{ weight: 1, pause: true }] }));
    assert.deepEqual(pruned, resource({ name: 'a', steps: [{ weight: 1 }] }));
  });

  it('keeps apiVersion, kind and metadata at the root even when the schema does not declare them', () => {
    const bare = compileSchema({ type: 'object', properties: { spec: { type: 'object' } } });
    assert.deepEqual(bare.prune({ apiVersion: 'v1', kind: 'K', metadata: { name: 'n' }, extra: 1 }), {
      apiVersion: 'v1',
      kind: 'K',
      metadata: { name: 'n' },
    });
  });

  it('reduces metadata to ObjectMeta fields', () => {
    const pruned = compiled.prune(
      resource({}, { metadata: { name: 'x', labels: { a: 'b' }, bogus: 1 } }),
    ) as { metadata: unknown };
    assert.deepEqual(pruned.metadata, { name: 'x', labels: { a: 'b' } });
  });

  it('keeps every key of an additionalProperties map', () => {
    const pruned = compiled.prune(resource({ labels: { app: 'web', team: 'core' } }));
    assert.deepEqual(pruned, resource({ labels: { app: 'web', team: 'core' } }));
  });

  it('keeps unknown fields under x-kubernetes-preserve-unknown-fields but prunes its known properties', () => {
    const pruned = compiled.prune(
      resource({ values: { anything: { deep: [1] }, known: { a: 'x', b: 'dropped' } } }),
    );
    assert.deepEqual(pruned, resource({ values: { anything: { deep: [1] }, known: { a: 'x' } } }));
  });

  it('keeps apiVersion, kind and metadata of an embedded resource and prunes its other fields', () => {
    const template = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd', labels: { a: 'b' } },
      spec: { replicas: 2, paused: true },
      status: {},
    };
    const pruned = compiled.prune(resource({ template }));
    assert.deepEqual(
      pruned,
      resource({
        template: {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: 'd', labels: { a: 'b' } },
          spec: { replicas: 2 },
        },
      }),
    );
  });

  it('returns a new value and leaves its input alone', () => {
    const input = resource({ name: 'a', color: 'red' });
    compiled.prune(input);
    assert.deepEqual(input, resource({ name: 'a', color: 'red' }));
  });

  it('lists the dropped fields the way the API server names unknown fields', () => {
    const unknown = compiled.unknownFields(
      resource({ color: 'red', steps: [{ pause: true }] }, { status: {} }),
    );
    assert.deepEqual(unknown, ['spec.color', 'spec.steps[0].pause', 'status']);
  });
});
