import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { structuralErrors } from './index.js';
import { objectSchema, resourceSchema } from './testing.js';
import type { JSONSchemaProps } from './types.js';

const withSpec = (spec: JSONSchemaProps) => resourceSchema(spec);

describe('structuralErrors accepts', () => {
  it('a typed schema with maps, lists, int-or-string and preserved fields', () => {
    const spec = objectSchema({
      labels: { type: 'object', additionalProperties: { type: 'string' } },
      ports: {
        type: 'array',
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['name'],
        items: objectSchema({ name: { type: 'string' } }, { required: ['name'] }),
      },
      target: { 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] },
      values: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
      either: objectSchema(
        { a: { type: 'string' }, b: { type: 'string' } },
        { oneOf: [{ required: ['a'] }, { required: ['b'] }] },
      ),
    });
    assert.deepEqual(structuralErrors(withSpec(spec)), []);
  });

  it('metadata restricting only name and generateName', () => {
    const schema = withSpec(objectSchema({}));
    schema.properties = {
      ...schema.properties,
      metadata: objectSchema({ name: { type: 'string', maxLength: 63 } }),
    };
    assert.deepEqual(structuralErrors(schema), []);
  });
});

describe('structuralErrors rejects', () => {
  it('a property without type', () => {
    assert.deepEqual(structuralErrors(withSpec(objectSchema({ a: { description: 'untyped' } }))), [
      'openAPIV3Schema.properties[spec].properties[a].type: Required value: must not be empty for specified object fields',
    ]);
  });

  it('a root without type, and array items without type', () => {
    assert.deepEqual(structuralErrors({ properties: { list: { type: 'array', items: {} } } }), [
      'openAPIV3Schema.properties[list].items.type: Required value: must not be empty for specified array items',
      'openAPIV3Schema.type: Required value: must not be empty at the root',
    ]);
  });

  it('an array without items', () => {
    assert.deepEqual(structuralErrors(withSpec(objectSchema({ list: { type: 'array' } }))), [
      'openAPIV3Schema.properties[spec].properties[list].items: Required value: must be specified',
    ]);
  });

  it('$ref', () => {
    assert.deepEqual(
      structuralErrors(withSpec(objectSchema({ a: { type: 'object', $ref: '#/definitions/a' } }))),
      ['openAPIV3Schema.properties[spec].properties[a].$ref: Forbidden: $ref is not supported'],
    );
  });

  it('additionalProperties together with properties, and additionalProperties: false', () => {
    const spec = objectSchema({
      both: objectSchema({ a: { type: 'string' } }, { additionalProperties: { type: 'string' } }),
      closed: { type: 'object', additionalProperties: false },
    });
    assert.deepEqual(structuralErrors(withSpec(spec)), [
      'openAPIV3Schema.properties[spec].properties[both].additionalProperties: Forbidden: additionalProperties and properties are mutual exclusive',
      'openAPIV3Schema.properties[spec].properties[closed].additionalProperties: Forbidden: additionalProperties cannot be set to false',
    ]);
  });

  it('type, default, description and nullable inside anyOf/oneOf/allOf/not', () => {
    const spec = objectSchema(
      { a: { type: 'string' } },
      {
        anyOf: [{ type: 'object' }],
        oneOf: [{ properties: { a: { default: 'x' } } }],
        allOf: [{ description: 'no' }],
        not: { nullable: true },
      },
    );
    assert.deepEqual(structuralErrors(withSpec(spec)), [
      'openAPIV3Schema.properties[spec].allOf[0].description: Forbidden: must be empty to be structural',
      'openAPIV3Schema.properties[spec].anyOf[0].type: Forbidden: must be empty to be structural',
      'openAPIV3Schema.properties[spec].not.nullable: Forbidden: must be false to be structural',
      'openAPIV3Schema.properties[spec].oneOf[0].properties[a].default: Forbidden: must be undefined to be structural',
    ]);
  });

  it('a field only a junctor at the root mentions', () => {
    const schema = {
      ...withSpec(objectSchema({})),
      anyOf: [{ properties: { extra: { minProperties: 1 } } }],
    };
    assert.deepEqual(structuralErrors(schema), [
      'openAPIV3Schema.properties[extra]: Required value: because it is defined in openAPIV3Schema.anyOf[0].properties[extra]',
    ]);
  });

  it('metadata constraints other than name and generateName', () => {
    const schema = withSpec(objectSchema({}));
    schema.properties = { ...schema.properties, metadata: objectSchema({ labels: { type: 'object' } }) };
    assert.deepEqual(structuralErrors(schema), [
      'openAPIV3Schema.properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified',
    ]);
  });

  it('x-kubernetes-preserve-unknown-fields: false and a list-map without keys', () => {
    const spec = objectSchema({
      a: { type: 'object', 'x-kubernetes-preserve-unknown-fields': false },
      b: {
        type: 'array',
        'x-kubernetes-list-type': 'map',
        items: objectSchema({ name: { type: 'string' } }),
      },
    });
    assert.deepEqual(structuralErrors(withSpec(spec)), [
      'openAPIV3Schema.properties[spec].properties[a].x-kubernetes-preserve-unknown-fields: Invalid value: false: must be true or undefined',
      'openAPIV3Schema.properties[spec].properties[b].x-kubernetes-list-map-keys: Required value: must not be empty if x-kubernetes-list-type is map',
    ]);
  });

  it('a default that does not validate against its own schema, or has unknown fields', () => {
    const spec = objectSchema({
      replicas: { type: 'integer', minimum: 1, default: 0 },
      retry: objectSchema({ attempts: { type: 'integer' } }, { default: { attempts: 1, extra: true } }),
    });
    assert.deepEqual(structuralErrors(withSpec(spec)), [
      'openAPIV3Schema.properties[spec].properties[replicas].default: Invalid value: 0:  in body should be greater than or equal to 1',
      'openAPIV3Schema.properties[spec].properties[retry].default: Invalid value: map[string]interface {}{"attempts":1, "extra":true}: must not have unknown fields',
    ]);
  });

  it('with paths under a caller-given prefix', () => {
    assert.deepEqual(structuralErrors({ type: 'string' }, 'spec.versions[0].schema.openAPIV3Schema'), [
      'spec.versions[0].schema.openAPIV3Schema.type: Invalid value: "string": must be object at the root',
    ]);
  });
});
