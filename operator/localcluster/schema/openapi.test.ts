import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileSchema } from './index.js';
import { objectSchema, resource, resourceSchema } from './testing.js';
import type { JSONSchemaProps } from './types.js';

/** Validates `spec` against a spec schema, inside a resource like the API server sees it. */
function validateSpec(specSchema: JSONSchemaProps, spec: unknown, old?: unknown, ratcheting = true) {
  const compiled = compileSchema(resourceSchema(specSchema), { ratcheting });
  return compiled.validate(resource(spec), old === undefined ? undefined : resource(old));
}

function field(name: string, schema: JSONSchemaProps): JSONSchemaProps {
  return objectSchema({ [name]: schema });
}

describe('OpenAPI validation messages', () => {
  it('reports a missing required property as Required value', () => {
    const spec = objectSchema({ targetRef: { type: 'object' } }, { required: ['targetRef'] });
    assert.deepEqual(validateSpec(spec, {}), [
      { reason: 'FieldValueRequired', field: 'spec.targetRef', message: 'Required value' },
    ]);
  });

  it('reports a value outside enum as Unsupported value listing the supported values', () => {
    const spec = field('mode', { type: 'string', enum: ['Sidecar', 'Proxyless'] });
    assert.deepEqual(validateSpec(spec, { mode: 'Foo' }), [
      {
        reason: 'FieldValueNotSupported',
        field: 'spec.mode',
        message: 'Unsupported value: "Foo": supported values: "Sidecar", "Proxyless"',
      },
    ]);
  });

  it('quotes non-string enum values as their JSON', () => {
    const causes = validateSpec(field('level', { type: 'integer', enum: [1, 2] }), { level: 3 });
    assert.equal(causes[0]?.message, 'Unsupported value: 3: supported values: "1", "2"');
  });

  it('reports minimum as greater than or equal to, with the integer bound', () => {
    assert.deepEqual(validateSpec(field('replicas', { type: 'integer', minimum: 1 }), { replicas: 0 }), [
      {
        reason: 'FieldValueInvalid',
        field: 'spec.replicas',
        message: 'Invalid value: 0: spec.replicas in body should be greater than or equal to 1',
      },
    ]);
  });

  it('reports maximum, exclusive maximum and exclusive minimum', () => {
    const spec = objectSchema({
      weight: { type: 'integer', maximum: 100 },
      percent: { type: 'integer', maximum: 100, exclusiveMaximum: true },
      ratio: { type: 'number', minimum: 0, exclusiveMinimum: true },
    });
    assert.deepEqual(
      validateSpec(spec, { weight: 101, percent: 100, ratio: 0 }).map((c) => c.message),
      [
        'Invalid value: 101: spec.weight in body should be less than or equal to 100',
        'Invalid value: 100: spec.percent in body should be less than 100',
        'Invalid value: 0: spec.ratio in body should be greater than 0',
      ],
    );
  });

  it('prints a fractional value and bound like Go prints float64', () => {
    const causes = validateSpec(field('ratio', { type: 'number', maximum: 1.5 }), { ratio: 2.25 });
    assert.equal(
      causes[0]?.message,
      'Invalid value: 2.25: spec.ratio in body should be less than or equal to 1.5',
    );
  });

  it('reports multipleOf', () => {
    const causes = validateSpec(field('step', { type: 'integer', multipleOf: 5 }), { step: 7 });
    assert.equal(causes[0]?.message, 'Invalid value: 7: spec.step in body should be a multiple of 5');
  });

  it('reports a pattern mismatch with the pattern', () => {
    assert.deepEqual(validateSpec(field('x', { type: 'string', pattern: '^[a-z]+$' }), { x: 'abc1' }), [
      {
        reason: 'FieldValueInvalid',
        field: 'spec.x',
        message: `Invalid value: "abc1": spec.x in body should match '^[a-z]+$'`,
      },
    ]);
  });

  it('reports maxLength as Too long without the value', () => {
    assert.deepEqual(
      validateSpec(field('name', { type: 'string', maxLength: 63 }), { name: 'a'.repeat(64) }),
      [
        {
          reason: 'FieldValueTooLong',
          field: 'spec.name',
          message: 'Too long: may not be more than 63 bytes',
        },
      ],
    );
  });

  it('uses the singular for a maxLength of one', () => {
    const causes = validateSpec(field('c', { type: 'string', maxLength: 1 }), { c: 'ab' });
    assert.equal(causes[0]?.message, 'Too long: may not be more than 1 byte');
  });

  it('counts maxLength in characters, not UTF-16 units', () => {
    assert.deepEqual(validateSpec(field('c', { type: 'string', maxLength: 2 }), { c: '😀😀' }), []);
  });

  it('reports minLength as chars long', () => {
    assert.deepEqual(validateSpec(field('x', { type: 'string', minLength: 1 }), { x: '' }), [
      {
        reason: 'FieldValueInvalid',
        field: 'spec.x',
        message: 'Invalid value: "": spec.x in body should be at least 1 chars long',
      },
    ]);
  });

  it('reports maxItems as Too many with the count', () => {
    const spec = field('x', { type: 'array', maxItems: 4, items: { type: 'integer' } });
    assert.deepEqual(validateSpec(spec, { x: [1, 2, 3, 4, 5] }), [
      { reason: 'FieldValueTooMany', field: 'spec.x', message: 'Too many: 5: must have at most 4 items' },
    ]);
  });

  it('reports minItems with the actual size', () => {
    const spec = field('x', { type: 'array', minItems: 1, items: { type: 'integer' } });
    assert.deepEqual(validateSpec(spec, { x: [] }), [
      {
        reason: 'FieldValueInvalid',
        field: 'spec.x',
        message: 'Invalid value: 0: spec.x in body should have at least 1 items',
      },
    ]);
  });

  it('reports maxProperties as Too many and minProperties as Invalid value', () => {
    const spec = objectSchema({
      few: { type: 'object', minProperties: 2, additionalProperties: { type: 'string' } },
      many: { type: 'object', maxProperties: 1, additionalProperties: { type: 'string' } },
    });
    assert.deepEqual(validateSpec(spec, { few: { a: 'x' }, many: { a: 'x', b: 'y' } }), [
      {
        reason: 'FieldValueInvalid',
        field: 'spec.few',
        message: 'Invalid value: 1: spec.few in body should have at least 2 properties',
      },
      { reason: 'FieldValueTooMany', field: 'spec.many', message: 'Too many: 2: must have at most 1 item' },
    ]);
  });

  it('reports a wrong type with the actual JSON type', () => {
    assert.deepEqual(validateSpec(field('x', { type: 'integer' }), { x: 'string' }), [
      {
        reason: 'FieldValueTypeInvalid',
        field: 'spec.x',
        message: 'Invalid value: "string": spec.x in body must be of type integer: "string"',
      },
    ]);
  });

  it('treats a fractional number as not an integer and an integral one as a number', () => {
    const spec = objectSchema({ count: { type: 'integer' }, ratio: { type: 'number' } });
    assert.deepEqual(
      validateSpec(spec, { count: 1.5, ratio: 2 }).map((c) => c.message),
      ['Invalid value: "number": spec.count in body must be of type integer: "number"'],
    );
  });

  it('rejects null for a non-nullable field and accepts it for a nullable one', () => {
    const spec = objectSchema({ strict: { type: 'string' }, loose: { type: 'string', nullable: true } });
    assert.deepEqual(
      validateSpec(spec, { strict: null, loose: null }).map((c) => c.message),
      ['Invalid value: "null": spec.strict in body must be of type string: "null"'],
    );
  });

  it('accepts integers and strings for x-kubernetes-int-or-string and rejects anything else', () => {
    const spec = field('port', { 'x-kubernetes-int-or-string': true });
    assert.deepEqual(validateSpec(spec, { port: 8080 }), []);
    assert.deepEqual(validateSpec(spec, { port: 'http' }), []);
    assert.deepEqual(validateSpec(spec, { port: true }), [
      {
        reason: 'FieldValueTypeInvalid',
        field: 'spec.port',
        message: 'Invalid value: "boolean": spec.port in body must be of type integer,string: "boolean"',
      },
    ]);
  });

  it('checks supported string formats and ignores the others', () => {
    const spec = objectSchema({
      at: { type: 'string', format: 'date-time' },
      size: { type: 'integer', format: 'int32' },
    });
    assert.deepEqual(validateSpec(spec, { at: '2024-05-01T10:00:00Z', size: 3 }), []);
    assert.deepEqual(validateSpec(spec, { at: 'yesterday' }), [
      {
        reason: 'FieldValueTypeInvalid',
        field: 'spec.at',
        message: 'Invalid value: "yesterday": spec.at in body must be of type date-time: "yesterday"',
      },
    ]);
  });

  it('names array items by index in the field and the message', () => {
    const spec = field('steps', {
      type: 'array',
      items: objectSchema({ setWeight: { type: 'integer', maximum: 100 } }),
    });
    assert.deepEqual(validateSpec(spec, { steps: [{ setWeight: 10 }, { setWeight: 120 }] }), [
      {
        reason: 'FieldValueInvalid',
        field: 'spec.steps[1].setWeight',
        message: 'Invalid value: 120: spec.steps[1].setWeight in body should be less than or equal to 100',
      },
    ]);
  });

  it('names additionalProperties values with a dotted key, as kube-openapi does', () => {
    const spec = field('labels', { type: 'object', additionalProperties: { type: 'string', maxLength: 3 } });
    assert.deepEqual(validateSpec(spec, { labels: { team: 'payments' } }), [
      {
        reason: 'FieldValueTooLong',
        field: 'spec.labels.team',
        message: 'Too long: may not be more than 3 bytes',
      },
    ]);
  });

  it('files a failed anyOf under <nil> next to the closest alternative', () => {
    const spec = objectSchema(
      { a: { type: 'string' }, b: { type: 'string' } },
      { anyOf: [{ required: ['a'] }, { required: ['b'] }] },
    );
    assert.deepEqual(validateSpec(spec, {}), [
      {
        reason: 'FieldValueInvalid',
        field: '<nil>',
        message: 'Invalid value: "": "spec" must validate at least one schema (anyOf)',
      },
      { reason: 'FieldValueRequired', field: 'spec.a', message: 'Required value' },
    ]);
  });

  it('reports a oneOf matched by several alternatives', () => {
    const spec = objectSchema(
      { a: { type: 'string' }, b: { type: 'string' } },
      { oneOf: [{ required: ['a'] }, { required: ['b'] }] },
    );
    assert.deepEqual(validateSpec(spec, { a: 'x', b: 'y' }), [
      {
        reason: 'FieldValueInvalid',
        field: '<nil>',
        message:
          'Invalid value: "": "spec" must validate one and only one schema (oneOf). Found 2 valid alternatives',
      },
    ]);
  });
});

describe('ratcheting on update', () => {
  const spec = objectSchema({ replicas: { type: 'integer', minimum: 1 }, image: { type: 'string' } });

  it('keeps accepting an invalid value that did not change', () => {
    assert.deepEqual(validateSpec(spec, { replicas: 0, image: 'b' }, { replicas: 0, image: 'a' }), []);
  });

  it('rejects an invalid value that changed', () => {
    assert.equal(validateSpec(spec, { replicas: -1, image: 'a' }, { replicas: 0, image: 'a' }).length, 1);
  });

  it('can be turned off', () => {
    assert.equal(
      validateSpec(spec, { replicas: 0, image: 'b' }, { replicas: 0, image: 'a' }, false).length,
      1,
    );
  });
});
