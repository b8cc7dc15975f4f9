import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { customResourceDefinition, toStructural, undescribedFields, type SchemaNode } from './crd.js';
import { KINDS, TrafficSplit } from './index.js';

const structural = (schema: z.ZodType) => toStructural(z.toJSONSchema(schema, { io: 'input' }));

describe('toStructural', () => {
  it('turns an int-or-string union into x-kubernetes-int-or-string with both branches bounds', () => {
    const node = structural(z.union([z.int().min(1).max(65535), z.string().max(15)]));
    assert.deepEqual(node, { 'x-kubernetes-int-or-string': true, minimum: 1, maximum: 65535, maxLength: 15 });
  });

  it('refuses unions Kubernetes cannot express rather than loosening the schema', () => {
    assert.throws(
      () => structural(z.object({ a: z.union([z.string(), z.boolean()]) })),
      /\.a: a union of .* is not structural/,
    );
  });

  it('drops additionalProperties:false, $schema and propertyNames, and writes const as enum', () => {
    const node = structural(
      z.strictObject({ kind: z.literal('Service'), labels: z.record(z.string(), z.string()) }),
    );
    assert.equal(node.additionalProperties, undefined);
    assert.equal(node.$schema, undefined);
    const props = node.properties as Record<string, SchemaNode>;
    assert.deepEqual(props.kind, { type: 'string', enum: ['Service'] });
    assert.deepEqual(props.labels, { type: 'object', additionalProperties: { type: 'string' } });
  });

  it('drops safe-integer bounds and marks integers int32 or int64', () => {
    const props = structural(z.object({ a: z.int(), b: z.int().min(0).max(100), c: z.int32() }))
      .properties as Record<string, SchemaNode>;
    assert.deepEqual(props.a, { type: 'integer', format: 'int64' });
    assert.deepEqual(props.b, { type: 'integer', minimum: 0, maximum: 100, format: 'int32' });
    assert.deepEqual(props.c, { type: 'integer', format: 'int32' });
  });

  it('writes exclusive bounds the OpenAPI v3.0 way', () => {
    const node = structural(z.number().gt(0));
    assert.deepEqual(node, { type: 'number', minimum: 0, exclusiveMinimum: true });
  });
});

describe('generated CRDs', () => {
  it('describe every field', () => {
    for (const kind of KINDS) {
      const schema = customResourceDefinition(kind) as {
        spec: { versions: { schema: { openAPIV3Schema: SchemaNode } }[] };
      };
      const root = schema.spec.versions[0]!.schema.openAPIV3Schema;
      const props = root.properties as Record<string, SchemaNode>;
      assert.deepEqual(undescribedFields(props.spec!, '.spec'), [], kind.kind);
      assert.deepEqual(undescribedFields(props.status!, '.status'), [], kind.kind);
    }
  });

  it('serve the status subresource, short names, the meshwright category and printer columns', () => {
    const crd = customResourceDefinition(TrafficSplit) as {
      spec: {
        names: { shortNames: string[]; categories: string[] };
        versions: { subresources: object; additionalPrinterColumns: { name: string }[] }[];
      };
    };
    assert.deepEqual(crd.spec.names.shortNames, ['tsplit']);
    assert.deepEqual(crd.spec.names.categories, ['meshwright']);
    assert.deepEqual(crd.spec.versions[0]!.subresources, { status: {} });
    assert.deepEqual(
      crd.spec.versions[0]!.additionalPrinterColumns.map((c) => c.name),
      ['Phase', 'Weight', 'Step', 'Failed', 'Age'],
    );
  });

  it('carry each cross-field rule as CEL where zod has its twin', () => {
    const crd = JSON.stringify(customResourceDefinition(TrafficSplit));
    assert.match(
      crd,
      /"rule":"self.stable.name != self.canary.name","message":"stable and canary must be different Services","fieldPath":".canary"/,
    );
  });
});
