import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileSchema } from '../index.js';
import { objectSchema, resource, resourceSchema } from '../testing.js';
import type { CompileOptions, JSONSchemaProps, ValidationRule } from '../types.js';

const replicasSpec = (rule: ValidationRule): JSONSchemaProps =>
  objectSchema(
    { minReplicas: { type: 'integer' }, maxReplicas: { type: 'integer' } },
    { 'x-kubernetes-validations': [rule] },
  );

function validateSpec(
  specSchema: JSONSchemaProps,
  spec: unknown,
  old?: unknown,
  options: CompileOptions = {},
) {
  const compiled = compileSchema(resourceSchema(specSchema), options);
  return compiled.validate(resource(spec), old === undefined ? undefined : resource(old));
}

const minOverMax = { minReplicas: 5, maxReplicas: 3 };
const withRule = (rule: string, schema: JSONSchemaProps, message?: string): JSONSchemaProps => ({
  ...schema,
  'x-kubernetes-validations': [{ rule, ...(message === undefined ? {} : { message }) }],
});

describe('CEL rules', () => {
  it('passes when the rule holds', () => {
    const spec = replicasSpec({ rule: 'self.minReplicas <= self.maxReplicas', message: 'min exceeds max' });
    assert.deepEqual(validateSpec(spec, { minReplicas: 1, maxReplicas: 3 }), []);
  });

  it('reports a failing rule on the node path with the schema type as value and the message as detail', () => {
    const spec = replicasSpec({ rule: 'self.minReplicas <= self.maxReplicas', message: 'min exceeds max' });
    assert.deepEqual(validateSpec(spec, minOverMax), [
      { reason: 'FieldValueInvalid', field: 'spec', message: 'Invalid value: "object": min exceeds max' },
    ]);
  });

  it('says "failed rule" with the rule text when there is no message', () => {
    const causes = validateSpec(replicasSpec({ rule: 'self.minReplicas <= self.maxReplicas' }), minOverMax);
    assert.equal(
      causes[0]?.message,
      'Invalid value: "object": failed rule: self.minReplicas <= self.maxReplicas',
    );
  });

  it('appends fieldPath to the node path', () => {
    const spec = replicasSpec({
      rule: 'self.minReplicas <= self.maxReplicas',
      message: 'too small',
      fieldPath: '.maxReplicas',
    });
    assert.deepEqual(
      validateSpec(spec, minOverMax).map((c) => c.field),
      ['spec.maxReplicas'],
    );
  });

  it('uses the evaluated messageExpression', () => {
    const spec = replicasSpec({
      rule: 'self.minReplicas <= self.maxReplicas',
      messageExpression:
        "'minReplicas ' + string(self.minReplicas) + ' exceeds maxReplicas ' + string(self.maxReplicas)",
    });
    assert.equal(
      validateSpec(spec, minOverMax)[0]?.message,
      'Invalid value: "object": minReplicas 5 exceeds maxReplicas 3',
    );
  });

  it('falls back to message when messageExpression fails to evaluate', () => {
    const spec = objectSchema(
      { minReplicas: { type: 'integer' }, maxReplicas: { type: 'integer' }, note: { type: 'string' } },
      {
        'x-kubernetes-validations': [
          {
            rule: 'self.minReplicas <= self.maxReplicas',
            message: 'static message',
            messageExpression: 'self.note',
          },
        ],
      },
    );
    assert.equal(validateSpec(spec, minOverMax)[0]?.message, 'Invalid value: "object": static message');
  });

  it('honours reason', () => {
    const reasons = [
      'FieldValueForbidden',
      'FieldValueRequired',
      'FieldValueDuplicate',
      'FieldValueInvalid',
    ].map((reason) => validateSpec(replicasSpec({ rule: 'false', message: 'no', reason }), {})[0]);
    assert.deepEqual(reasons, [
      { reason: 'FieldValueForbidden', field: 'spec', message: 'Forbidden: no' },
      { reason: 'FieldValueRequired', field: 'spec', message: 'Required value: no' },
      { reason: 'FieldValueDuplicate', field: 'spec', message: 'Duplicate value: "object"' },
      { reason: 'FieldValueInvalid', field: 'spec', message: 'Invalid value: "object": no' },
    ]);
  });

  it('shows the schema type of the node that failed', () => {
    const spec = objectSchema({
      path: withRule("self.startsWith('/')", { type: 'string' }, 'must be absolute'),
    });
    assert.deepEqual(validateSpec(spec, { path: 'api' }), [
      {
        reason: 'FieldValueInvalid',
        field: 'spec.path',
        message: 'Invalid value: "string": must be absolute',
      },
    ]);
  });

  it('evaluates integer fields as CEL ints, so they add up and compare with int literals', () => {
    const spec = objectSchema(
      { stable: { type: 'integer' }, canary: { type: 'integer' } },
      {
        'x-kubernetes-validations': [
          { rule: 'self.stable + self.canary == 100', message: 'weights must add up to 100' },
        ],
      },
    );
    assert.deepEqual(validateSpec(spec, { stable: 60, canary: 40 }), []);
    assert.equal(validateSpec(spec, { stable: 60, canary: 50 }).length, 1);
  });

  it('evaluates number fields as doubles, even when the value is integral', () => {
    const spec = objectSchema({ ratio: withRule('self > 0.5 && self <= 1.0', { type: 'number' }) });
    assert.deepEqual(validateSpec(spec, { ratio: 1 }), []);
    assert.equal(validateSpec(spec, { ratio: 0.25 }).length, 1);
  });

  it('evaluates date-time strings as timestamps and duration strings as durations', () => {
    const spec = objectSchema(
      {
        notBefore: { type: 'string', format: 'date-time' },
        notAfter: { type: 'string', format: 'date-time' },
        renewBefore: { type: 'string', format: 'duration' },
      },
      {
        'x-kubernetes-validations': [
          { rule: "self.notAfter > self.notBefore && self.renewBefore < duration('720h')" },
        ],
      },
    );
    const valid = {
      notBefore: '2024-01-01T00:00:00Z',
      notAfter: '2024-06-01T00:00:00Z',
      renewBefore: '240h',
    };
    assert.deepEqual(validateSpec(spec, valid), []);
    assert.equal(validateSpec(spec, { ...valid, notAfter: '2023-01-01T00:00:00Z' }).length, 1);
  });

  it('reports a runtime error as the API server does', () => {
    const spec = objectSchema(
      { mode: { type: 'string' } },
      { 'x-kubernetes-validations': [{ rule: "self.mode == 'Sidecar'" }] },
    );
    assert.deepEqual(validateSpec(spec, {}), [
      {
        reason: 'FieldValueInvalid',
        field: 'spec',
        message: `Invalid value: "object": no such key: mode evaluating rule: self.mode == 'Sidecar'`,
      },
    ]);
  });

  it('exposes CEL keywords and punctuated names under their escaped names', () => {
    const spec = objectSchema(
      { namespace: { type: 'string' }, 'x-y': { type: 'string' } },
      { 'x-kubernetes-validations': [{ rule: "self.__namespace__ == 'a' && self.x__dash__y == 'b'" }] },
    );
    assert.deepEqual(validateSpec(spec, { namespace: 'a', 'x-y': 'b' }), []);
  });

  it('sees only name and generateName of metadata at the resource root, reported under <nil>', () => {
    const schema = resourceSchema(objectSchema({}), {
      'x-kubernetes-validations': [
        { rule: "self.metadata.name.startsWith('ts-')", message: 'name must start with ts-' },
      ],
    });
    const compiled = compileSchema(schema);
    assert.deepEqual(compiled.validate(resource({}, { metadata: { name: 'ts-a', labels: { a: 'b' } } })), []);
    assert.deepEqual(compiled.validate(resource({}, { metadata: { name: 'other' } })), [
      {
        reason: 'FieldValueInvalid',
        field: '<nil>',
        message: 'Invalid value: "object": name must start with ts-',
      },
    ]);
  });

  it('matches with RE2 syntax such as a leading (?i)', () => {
    const spec = objectSchema({
      service: withRule('self.matches(r"""^(?i)[a-z_][a-z_0-9]*$""")', { type: 'string' }),
    });
    assert.deepEqual(validateSpec(spec, { service: 'Echo_1' }), []);
    assert.equal(validateSpec(spec, { service: '1echo' }).length, 1);
  });

  it('supports has() on fields of indexed values', () => {
    const spec = objectSchema(
      { matches: { type: 'array', items: objectSchema({ path: { type: 'string' } }) } },
      { 'x-kubernetes-validations': [{ rule: 'size(self.matches) == 0 || has(self.matches[0].path)' }] },
    );
    assert.deepEqual(validateSpec(spec, { matches: [{ path: '/' }] }), []);
    assert.equal(validateSpec(spec, { matches: [{}] }).length, 1);
  });

  it('evaluates rules on every list item and map value with their own paths', () => {
    const spec = objectSchema({
      backends: {
        type: 'array',
        items: withRule('self.weight <= 100', objectSchema({ weight: { type: 'integer' } })),
      },
      limits: { type: 'object', additionalProperties: withRule('self > 0', { type: 'integer' }) },
    });
    assert.deepEqual(
      validateSpec(spec, { backends: [{ weight: 50 }, { weight: 150 }], limits: { cpu: 0 } }).map(
        (c) => c.field,
      ),
      ['spec.backends[1]', 'spec.limits[cpu]'],
    );
  });

  it('does not run rules on null values', () => {
    const spec = objectSchema({ note: withRule("self != ''", { type: 'string', nullable: true }) });
    assert.deepEqual(validateSpec(spec, { note: null }), []);
  });
});

describe('CEL transition rules', () => {
  const immutable = objectSchema({
    mode: withRule('self == oldSelf', { type: 'string' }, 'mode is immutable'),
  });

  it('are not evaluated without a previous value', () => {
    assert.deepEqual(validateSpec(immutable, { mode: 'Sidecar' }), []);
  });

  it('compare with the previous value on update', () => {
    assert.deepEqual(validateSpec(immutable, { mode: 'Sidecar' }, { mode: 'Sidecar' }), []);
    assert.deepEqual(validateSpec(immutable, { mode: 'Proxyless' }, { mode: 'Sidecar' }), [
      {
        reason: 'FieldValueInvalid',
        field: 'spec.mode',
        message: 'Invalid value: "string": mode is immutable',
      },
    ]);
  });

  it('are not evaluated where the previous object has no value at that path', () => {
    assert.deepEqual(validateSpec(immutable, { mode: 'Proxyless' }, {}), []);
  });

  it('correlate list-type=map items by key', () => {
    const spec = objectSchema({
      ports: {
        type: 'array',
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['name'],
        items: withRule(
          'self.port == oldSelf.port',
          objectSchema({ name: { type: 'string' }, port: { type: 'integer' } }),
          'port is immutable',
        ),
      },
    });
    const old = { ports: [{ name: 'http', port: 80 }] };
    assert.deepEqual(
      validateSpec(
        spec,
        {
          ports: [
            { name: 'grpc', port: 81 },
            { name: 'http', port: 80 },
          ],
        },
        old,
      ),
      [],
    );
    assert.deepEqual(
      validateSpec(
        spec,
        {
          ports: [
            { name: 'grpc', port: 81 },
            { name: 'http', port: 8080 },
          ],
        },
        old,
      ).map((c) => c.field),
      ['spec.ports[1]'],
    );
  });

  it('with optionalOldSelf run on create too, with oldSelf as an optional', () => {
    const spec = objectSchema({
      replicas: {
        type: 'integer',
        'x-kubernetes-validations': [
          {
            rule: '!oldSelf.hasValue() || self >= oldSelf.value()',
            message: 'may not shrink',
            optionalOldSelf: true,
          },
        ],
      },
    });
    assert.deepEqual(validateSpec(spec, { replicas: 1 }), []);
    assert.deepEqual(validateSpec(spec, { replicas: 3 }, { replicas: 2 }), []);
    assert.deepEqual(validateSpec(spec, { replicas: 1 }, { replicas: 2 }), [
      {
        reason: 'FieldValueInvalid',
        field: 'spec.replicas',
        message: 'Invalid value: "integer": may not shrink',
      },
    ]);
  });

  it('ratchet other rules on values that did not change', () => {
    const spec = objectSchema({
      name: withRule("self != 'bad'", { type: 'string' }),
      image: { type: 'string' },
    });
    assert.deepEqual(validateSpec(spec, { name: 'bad', image: 'b' }, { name: 'bad', image: 'a' }), []);
    assert.equal(validateSpec(spec, { name: 'bad', image: 'b' }, { name: 'ok', image: 'a' }).length, 1);
  });

  it('ratchet rules on items of an unchanged atomic list, which have no correlated previous value', () => {
    const spec = objectSchema({
      backends: {
        type: 'array',
        items: withRule('self.weight <= 100', objectSchema({ weight: { type: 'integer' } })),
      },
      image: { type: 'string' },
    });
    const old = { backends: [{ weight: 150 }], image: 'a' };
    assert.deepEqual(validateSpec(spec, { backends: [{ weight: 150 }], image: 'b' }, old), []);
    assert.equal(
      validateSpec(spec, { backends: [{ weight: 150 }, { weight: 1 }], image: 'a' }, old).length,
      1,
    );
  });
});

describe('CEL rules the evaluator cannot run', () => {
  const spec = objectSchema(
    { url: { type: 'string' } },
    {
      'x-kubernetes-validations': [
        { rule: 'self.url.someFunctionNobodyHas()' },
        { rule: "self.url != ''", message: 'url is empty' },
      ],
    },
  );

  it('are listed in skippedRules with where they are and why', () => {
    const { skippedRules, ruleCount } = compileSchema(resourceSchema(spec));
    assert.equal(ruleCount, 1);
    assert.equal(skippedRules.length, 1);
    assert.equal(skippedRules[0]?.location, 'openAPIV3Schema.properties[spec].x-kubernetes-validations[0]');
    assert.match(
      skippedRules[0]?.reason ?? '',
      /compilation failed: found no matching overload for 'dyn.someFunctionNobodyHas\(\)'/,
    );
  });

  it('do not stop the other rules from running', () => {
    assert.deepEqual(
      validateSpec(spec, { url: '' }).map((c) => c.message),
      ['Invalid value: "object": url is empty'],
    );
  });
});

describe('CEL rules after schema errors', () => {
  it('are not evaluated when a blocking schema error exists, which is reported under <nil>', () => {
    const spec = replicasSpec({ rule: 'self.minReplicas <= self.maxReplicas', message: 'min exceeds max' });
    const causes = validateSpec({ ...spec, required: ['minReplicas', 'maxReplicas', 'target'] }, minOverMax);
    assert.deepEqual(causes, [
      { reason: 'FieldValueRequired', field: 'spec.target', message: 'Required value' },
      {
        reason: 'FieldValueInvalid',
        field: '<nil>',
        message:
          'Invalid value: "null": some validation rules were not checked because the object was invalid; correct the existing errors to complete validation',
      },
    ]);
  });

  it('still run after a non-blocking schema error', () => {
    const spec = objectSchema(
      { minReplicas: { type: 'integer', minimum: 10 }, maxReplicas: { type: 'integer' } },
      {
        'x-kubernetes-validations': [
          { rule: 'self.minReplicas <= self.maxReplicas', message: 'min exceeds max' },
        ],
      },
    );
    assert.deepEqual(
      validateSpec(spec, minOverMax).map((c) => c.field),
      ['spec.minReplicas', 'spec'],
    );
  });
});

describe('latest value rendering', () => {
  const latest: CompileOptions = { valueRendering: 'latest' };

  it('shows the failing scalar instead of its type name', () => {
    const spec = objectSchema({
      path: withRule("self.startsWith('/')", { type: 'string' }, 'must be absolute'),
    });
    assert.equal(
      validateSpec(spec, { path: 'api' }, undefined, latest)[0]?.message,
      'Invalid value: "api": must be absolute',
    );
  });

  it('omits objects and arrays', () => {
    const spec = replicasSpec({ rule: 'self.minReplicas <= self.maxReplicas', message: 'min exceeds max' });
    assert.equal(
      validateSpec(spec, minOverMax, undefined, latest)[0]?.message,
      'Invalid value: min exceeds max',
    );
  });
});

describe('duration() in rules', () => {
  it('reads Go durations as cel-go does, "0" included, and reports malformed ones', () => {
    const schema = compileSchema({
      type: 'object',
      properties: { a: { type: 'string' }, b: { type: 'string' } },
      'x-kubernetes-validations': [
        { rule: 'duration(self.a) < duration(self.b)', message: 'a must be shorter' },
      ],
    });
    assert.deepEqual(schema.validate({ a: '0', b: '1m' }), []);
    assert.deepEqual(schema.validate({ a: '1h0m0s', b: '90m' }), []);
    assert.equal(
      schema.validate({ a: '2h', b: '90m' })[0]?.message,
      'Invalid value: "object": a must be shorter',
    );
    assert.match(schema.validate({ a: '1 day', b: '90m' })[0]?.message ?? '', /invalid duration "1 day"/);
  });
});
