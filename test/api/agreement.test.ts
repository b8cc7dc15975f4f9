import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import fc from 'fast-check';
import { KINDS } from '../../operator/api/index.js';
import { openAPISchemaOf, type SchemaNode } from '../../operator/api/crd.js';
import type { CompiledSchema } from '../../operator/localcluster/schema/index.js';
import { arbitraryFor } from './arbitrary.js';
import { crdSchemas, serverCauses } from './support.js';

const RUNS_PER_KIND = 300;

let schemas: Map<string, CompiledSchema>;
before(async () => {
  schemas = await crdSchemas();
});

describe('zod and the generated CRD schema agree', () => {
  for (const kind of KINDS) {
    it(`on ${RUNS_PER_KIND} generated ${kind.kind} specs: zod accepts exactly what the API server accepts`, (t) => {
      const specNode = (openAPISchemaOf(kind).properties as Record<string, SchemaNode>).spec!;
      const verdicts = { accepted: 0, refused: 0 };
      fc.assert(
        fc.property(arbitraryFor(specNode), (spec) => {
          const resource = {
            apiVersion: `${kind.group}/v1alpha1`,
            kind: kind.kind,
            metadata: { name: 'x', namespace: 'ns' },
            spec,
          };
          const server = serverCauses(schemas.get(kind.kind)!, resource);
          const zod = kind.spec.safeParse(spec);
          verdicts[server.length === 0 ? 'accepted' : 'refused']++;
          assert.equal(
            zod.success,
            server.length === 0,
            `spec ${JSON.stringify(spec)}\nserver: ${JSON.stringify(server)}\nzod: ${zod.success ? 'accepted' : JSON.stringify(zod.error.issues)}`,
          );
        }),
        { numRuns: RUNS_PER_KIND, seed: 20261121 },
      );
      t.diagnostic(`verdicts: ${JSON.stringify(verdicts)}`);
      // A generator that only ever produced one verdict would prove nothing.
      assert.ok(verdicts.accepted >= 15 && verdicts.refused >= 15, JSON.stringify(verdicts));
    });
  }
});
