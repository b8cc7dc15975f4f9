import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileSchema } from './index.js';
import { objectSchema, resource, resourceSchema } from './testing.js';

const step = objectSchema({
  weight: { type: 'integer', default: 10 },
  pause: { type: 'string', default: '30s' },
});
const spec = objectSchema({
  mode: { type: 'string', default: 'Sidecar' },
  strategy: objectSchema({
    maxSurge: { type: 'integer', default: 1 },
    canary: objectSchema({ steps: { type: 'array', items: step } }),
  }),
  retry: objectSchema(
    { attempts: { type: 'integer', default: 3 }, backoff: { type: 'string', default: '1s' } },
    { default: {} },
  ),
  timeout: { type: 'string', nullable: true, default: '5s' },
  note: { type: 'string' },
  labels: { type: 'object', additionalProperties: { type: 'string', default: 'unset' } },
});
const compiled = compileSchema(resourceSchema(spec));
const defaulted = (value: unknown) => (compiled.applyDefaults(resource(value)) as { spec: unknown }).spec;

describe('applyDefaults', () => {
  it('fills an absent property with its default', () => {
    assert.deepEqual(defaulted({}), {
      mode: 'Sidecar',
      retry: { attempts: 3, backoff: '1s' },
      timeout: '5s',
    });
  });

  it('does not touch properties that are set', () => {
    assert.equal((defaulted({ mode: 'Proxyless' }) as { mode: string }).mode, 'Proxyless');
  });

  it('defaults inside present objects, at any depth', () => {
    assert.deepEqual((defaulted({ strategy: { canary: {} } }) as { strategy: unknown }).strategy, {
      maxSurge: 1,
      canary: {},
    });
  });

  it('defaults inside every array item', () => {
    const result = defaulted({ strategy: { canary: { steps: [{}, { weight: 50 }] } } }) as {
      strategy: { canary: unknown };
    };
    assert.deepEqual(result.strategy.canary, {
      steps: [
        { weight: 10, pause: '30s' },
        { weight: 50, pause: '30s' },
      ],
    });
  });

  it('applies the nested defaults of a default object', () => {
    assert.deepEqual((defaulted({}) as { retry: unknown }).retry, { attempts: 3, backoff: '1s' });
  });

  it('keeps null in a nullable field', () => {
    assert.equal((defaulted({ timeout: null }) as { timeout: unknown }).timeout, null);
  });

  it('replaces null in a non-nullable field that has a default', () => {
    assert.equal((defaulted({ mode: null }) as { mode: unknown }).mode, 'Sidecar');
  });

  it('drops null from a non-nullable field without default', () => {
    assert.equal(Object.hasOwn(defaulted({ note: null }) as object, 'note'), false);
  });

  it('defaults null map values from additionalProperties', () => {
    assert.deepEqual((defaulted({ labels: { a: null, b: 'x' } }) as { labels: unknown }).labels, {
      a: 'unset',
      b: 'x',
    });
  });

  it('returns a new value and leaves its input alone', () => {
    const input = resource({});
    compiled.applyDefaults(input);
    assert.deepEqual(input, resource({}));
  });
});
