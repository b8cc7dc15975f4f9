import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SERVED_GENERATION_ANNOTATION } from '../servicepolicy/names.js';
import { generationToReport } from './served.js';

const policy = (generation: number, served?: string) => ({
  metadata: {
    name: 'checkout',
    namespace: 'shop',
    generation,
    ...(served !== undefined ? { annotations: { [SERVED_GENERATION_ANNOTATION]: served } } : {}),
  },
});

describe('generationToReport', () => {
  it('reports the generation the build served when the annotation lacks it', () => {
    assert.equal(generationToReport(policy(3), 3), 3);
    assert.equal(generationToReport(policy(3, '2'), 3), 3);
    assert.equal(generationToReport(policy(3, 'garbage'), 3), 3);
  });

  it('writes nothing when the annotation already says so (a steady state makes no write)', () => {
    assert.equal(generationToReport(policy(3, '3'), 3), undefined);
  });

  it('never reports a build of an older generation than the policy has now', () => {
    assert.equal(generationToReport(policy(4, '2'), 3), undefined);
  });

  it('never moves the annotation backwards (a replica whose caches lag)', () => {
    assert.equal(generationToReport(policy(3, '5'), 3), undefined);
  });

  it('reports nothing for a policy the build did not contain', () => {
    assert.equal(generationToReport(policy(3), undefined), undefined);
  });
});
