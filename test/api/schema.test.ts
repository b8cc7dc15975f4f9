import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { ErrorObject } from 'ajv';
import type { CompiledSchema } from '../../operator/localcluster/schema/index.js';
import { ajvValidator } from './ajv.js';
import {
  crdOpenAPISchemas,
  crdSchemas,
  invalidFixtures,
  kindOf,
  samples,
  serverCauses,
  zodCauses,
  type InvalidFixture,
} from './support.js';

let schemas: Map<string, CompiledSchema>;
before(async () => {
  schemas = await crdSchemas();
});

describe('config/samples', async () => {
  const all = await samples();

  it('has a sample of every kind', () => {
    assert.deepEqual([...new Set(all.map((s) => s.resource.kind))].sort(), [
      'MeshInstallation',
      'ServicePolicy',
      'TrafficSplit',
    ]);
  });

  for (const { file, resource } of all) {
    it(`${file} is accepted by the generated CRD schema`, () => {
      assert.deepEqual(serverCauses(schemas.get(resource.kind)!, resource), []);
    });
    it(`${file} is accepted by zod`, () => {
      assert.deepEqual(zodCauses(kindOf(resource.kind), resource), []);
    });
  }
});

describe('test/fixtures/invalid', async () => {
  const fixtures = await invalidFixtures();

  it('holds at least 15 counter-examples covering every kind', () => {
    assert.ok(fixtures.length >= 15, `only ${fixtures.length}`);
    assert.deepEqual([...new Set(fixtures.map((f) => f.resource.kind))].sort(), [
      'MeshInstallation',
      'ServicePolicy',
      'TrafficSplit',
    ]);
  });

  const celRuleMessage = (f: InvalidFixture) => /^Invalid value: "object": (.*)$/.exec(f.message)?.[1];

  for (const fixture of fixtures) {
    it(`${fixture.file} is refused by the CRD schema at ${fixture.field}`, () => {
      const causes = serverCauses(schemas.get(fixture.resource.kind)!, fixture.resource);
      const answered = causes.map((c) => `${c.field}: ${c.message}`);
      assert.ok(
        answered.includes(`${fixture.field}: ${fixture.message}`),
        `expected "${fixture.field}: ${fixture.message}" among:\n  ${answered.join('\n  ')}`,
      );
    });

    it(`${fixture.file} is refused by zod at ${fixture.field}`, () => {
      const causes = zodCauses(kindOf(fixture.resource.kind), fixture.resource);
      const atField = causes.filter((c) => c.field === fixture.field);
      assert.ok(atField.length > 0, `zod refused ${JSON.stringify(causes)} but not ${fixture.field}`);
      // A CEL rule and its zod twin say the same words; OpenAPI checks only need to agree on the field.
      const ruleMessage = celRuleMessage(fixture);
      if (ruleMessage)
        assert.ok(
          atField.some((c) => c.message === ruleMessage),
          JSON.stringify(atField),
        );
    });
  }
});

/** ajv's error as a Kubernetes field path: `/spec/steps/0/setWeight` → `spec.steps[0].setWeight`. */
function ajvField(error: ErrorObject): string {
  const segments = error.instancePath.split('/').filter(Boolean);
  if (error.keyword === 'required')
    segments.push(String((error.params as { missingProperty: string }).missingProperty));
  return segments.map((s, i) => (/^\d+$/.test(s) ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
}

describe('ajv reading the generated openAPIV3Schema', async () => {
  const openAPI = await crdOpenAPISchemas();
  const validators = new Map([...openAPI].map(([kind, schema]) => [kind, ajvValidator(schema)]));

  for (const { file, resource } of await samples()) {
    it(`accepts ${file}`, () => {
      const validate = validators.get(resource.kind)!;
      assert.ok(validate(structuredClone(resource)), JSON.stringify(validate.errors));
    });
  }

  // CEL rules and list keys are beyond JSON Schema; every other counter-example ajv must refuse too.
  const openAPIOnly = (await invalidFixtures()).filter(
    (f) => !/^(Invalid value: "object"|Duplicate value)/.test(f.message),
  );
  it('has OpenAPI-only counter-examples to check', () =>
    assert.ok(openAPIOnly.length >= 5, String(openAPIOnly.length)));
  for (const fixture of openAPIOnly) {
    it(`refuses ${fixture.file} at ${fixture.field}`, () => {
      const validate = validators.get(fixture.resource.kind)!;
      assert.equal(validate(structuredClone(fixture.resource)), false);
      assert.ok(validate.errors!.map(ajvField).includes(fixture.field), JSON.stringify(validate.errors));
    });
  }
});

describe('transition rules', () => {
  it('refuse a change of MeshInstallation spec.namespace on update, as the API server judges it', () => {
    const schema = schemas.get('MeshInstallation')!;
    const mesh = (namespace: string) =>
      schema.applyDefaults({
        apiVersion: 'mesh.meshwright.io/v1alpha1',
        kind: 'MeshInstallation',
        metadata: { name: 'default' },
        spec: { namespace },
      });
    assert.deepEqual(schema.validate(mesh('mesh-a'), mesh('mesh-a')), []);
    assert.deepEqual(
      schema.validate(mesh('mesh-b'), mesh('mesh-a')).map((c) => `${c.field}: ${c.message}`),
      ['spec.namespace: Invalid value: "string": namespace is immutable'],
    );
  });
});
