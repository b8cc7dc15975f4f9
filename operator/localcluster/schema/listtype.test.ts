import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileSchema } from './index.js';
import { objectSchema, resource, resourceSchema } from './testing.js';
import type { CompileOptions, JSONSchemaProps } from './types.js';

const mapList = (keys: string[]): JSONSchemaProps => ({
  type: 'array',
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-list-map-keys': keys,
  items: objectSchema({ name: { type: 'string' }, port: { type: 'integer' }, path: { type: 'string' } }),
});
const setList: JSONSchemaProps = {
  type: 'array',
  'x-kubernetes-list-type': 'set',
  items: { type: 'string' },
};

function validateSpec(spec: JSONSchemaProps, value: unknown, old?: unknown, options: CompileOptions = {}) {
  return compileSchema(resourceSchema(spec), options).validate(
    resource(value),
    old === undefined ? undefined : resource(old),
  );
}

describe('x-kubernetes-list-type uniqueness', () => {
  it('reports a repeated list-map key with only the key fields, Go-formatted', () => {
    const causes = validateSpec(objectSchema({ rules: mapList(['name']) }), {
      rules: [
        { name: 'a', port: 1 },
        { name: 'a', port: 2 },
      ],
    });
    assert.deepEqual(causes, [
      {
        reason: 'FieldValueDuplicate',
        field: 'spec.rules[1]',
        message: 'Duplicate value: map[string]interface {}{"name":"a"}',
      },
    ]);
  });

  it('reports a repeated composite key with every key field, sorted', () => {
    const causes = validateSpec(objectSchema({ ports: mapList(['port', 'name']) }), {
      ports: [
        { name: 'a', port: 80 },
        { name: 'a', port: 81 },
        { name: 'a', port: 80 },
      ],
    });
    assert.deepEqual(
      causes.map((c) => `${c.field}: ${c.message}`),
      ['spec.ports[2]: Duplicate value: map[string]interface {}{"name":"a", "port":80}'],
    );
  });

  it('reports each repeated value once, at its second occurrence', () => {
    const causes = validateSpec(objectSchema({ rules: mapList(['name']) }), {
      rules: [{ name: 'a' }, { name: 'a' }, { name: 'a' }],
    });
    assert.deepEqual(
      causes.map((c) => c.field),
      ['spec.rules[1]'],
    );
  });

  it('treats items without the key as sharing the empty key', () => {
    const causes = validateSpec(objectSchema({ rules: mapList(['name']) }), {
      rules: [{ port: 1 }, { port: 2 }],
    });
    assert.equal(causes[0]?.message, 'Duplicate value: map[string]interface {}{}');
  });

  it('reports a repeated set item with its value', () => {
    assert.deepEqual(validateSpec(objectSchema({ hosts: setList }), { hosts: ['a', 'b', 'a'] }), [
      { reason: 'FieldValueDuplicate', field: 'spec.hosts[2]', message: 'Duplicate value: "a"' },
    ]);
  });

  it('renders composite duplicates as JSON with the latest rendering', () => {
    const causes = validateSpec(
      objectSchema({ rules: mapList(['name']) }),
      { rules: [{ name: 'a' }, { name: 'a' }] },
      undefined,
      {
        valueRendering: 'latest',
      },
    );
    assert.equal(causes[0]?.message, 'Duplicate value: {"name":"a"}');
  });

  it('is not enforced on update when the previous object already had duplicates', () => {
    const spec = objectSchema({ hosts: setList, other: { type: 'string' } });
    assert.deepEqual(
      validateSpec(spec, { hosts: ['a', 'a'], other: 'y' }, { hosts: ['a', 'a'], other: 'x' }),
      [],
    );
    assert.equal(validateSpec(spec, { hosts: ['a', 'a'] }, { hosts: ['a'] }).length, 1);
  });

  it('checks lists nested in list items and map values', () => {
    const spec = objectSchema({
      groups: { type: 'array', items: objectSchema({ hosts: setList }) },
      byZone: { type: 'object', additionalProperties: setList },
    });
    const causes = validateSpec(spec, { groups: [{ hosts: ['a', 'a'] }], byZone: { eu: ['b', 'b'] } });
    assert.deepEqual(
      causes.map((c) => c.field),
      ['spec.groups[0].hosts[1]', 'spec.byZone[eu][1]'],
    );
  });
});
