import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { CompiledSchema } from '../../operator/localcluster/schema/index.js';
import { crdSchemas, invalidFixtures, kindOf, samples, serverCauses, zodCauses, type InvalidFixture } from './support.js';

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
      if (ruleMessage) assert.ok(atField.some((c) => c.message === ruleMessage), JSON.stringify(atField));
    });
  }
});
