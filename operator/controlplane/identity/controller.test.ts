import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  FakeClock,
  KubeApiError,
  silentLogger,
  type Informer,
  type Kube,
  type ListOptions,
  type ResourceType,
} from '../../runtime/index.js';
import { Certificates, IDENTITY_RULES, LazyCertificates } from './controller.js';

/** A Kube whose only verb is `list`, answering 404 until `serve()`; records the calls. */
function fakeKube() {
  const calls: { type: ResourceType; opts: ListOptions | undefined }[] = [];
  let served = false;
  const kube = {
    list: (type: ResourceType, opts?: ListOptions) => {
      calls.push({ type, opts });
      if (!served)
        return Promise.reject(
          new KubeApiError('the server could not find the requested resource', 404, 'NotFound'),
        );
      return Promise.resolve({ items: [], resourceVersion: '1' });
    },
  } as unknown as Kube;
  return { kube, calls, serve: () => (served = true) };
}

const syncedInformer = { waitForSync: () => Promise.resolve(true), get: () => undefined, list: () => [] };

function lazy(k: ReturnType<typeof fakeKube>, clock: FakeClock) {
  const started: unknown[] = [];
  const cache = new LazyCertificates({
    kube: k.kube,
    clock,
    log: silentLogger(),
    informer: () => syncedInformer as unknown as Informer,
    onStart: (informer) => started.push(informer),
    syncTimeoutMs: 1000,
    retry: { initialMs: 100, maxMs: 400 },
  });
  return { cache, started };
}

describe('LazyCertificates', () => {
  it('probes once for many asking at once, then not again before the backoff is over', async () => {
    const k = fakeKube();
    const clock = new FakeClock();
    const { cache } = lazy(k, clock);
    const answers = await Promise.all(Array.from({ length: 20 }, () => cache.ensure()));
    assert.equal(k.calls.length, 1, 'one probe for twenty ServiceAccounts');
    assert.deepEqual(k.calls[0], { type: Certificates, opts: { limit: 1 } });
    assert.ok(answers.every((a) => !a.installed && a.retryInMs === 100));

    clock.advance(60);
    assert.deepEqual(await cache.ensure(), { installed: false, retryInMs: 40 }, 'the rest of the wait');
    assert.equal(k.calls.length, 1);

    clock.advance(40);
    assert.deepEqual(await cache.ensure(), { installed: false, retryInMs: 200 }, 'doubled');
    clock.advance(200);
    await cache.ensure();
    clock.advance(400);
    assert.deepEqual(await cache.ensure(), { installed: false, retryInMs: 400 }, 'capped');
    assert.equal(k.calls.length, 4);
  });

  it('starts the informer once the CRD is served, and never probes again', async () => {
    const k = fakeKube();
    const clock = new FakeClock();
    const { cache, started } = lazy(k, clock);
    await cache.ensure();
    k.serve();
    clock.advance(100);
    assert.deepEqual(await cache.ensure(), { installed: true });
    assert.ok(cache.installed);
    assert.equal(started.length, 1);
    const probes = k.calls.length;
    await cache.ensure();
    assert.equal(k.calls.length, probes);
    assert.equal(started.length, 1);
  });

  it('passes on errors other than 404 (a missing permission is not a missing CRD)', async () => {
    const clock = new FakeClock();
    const kube = {
      list: () => Promise.reject(new KubeApiError('forbidden', 403, 'Forbidden')),
    } as unknown as Kube;
    const cache = new LazyCertificates({
      kube,
      clock,
      log: silentLogger(),
      informer: () => syncedInformer as unknown as Informer,
      onStart: () => undefined,
      syncTimeoutMs: 1000,
      retry: { initialMs: 100, maxMs: 400 },
    });
    await assert.rejects(cache.ensure(), /forbidden/);
    assert.equal(cache.installed, false);
  });
});

describe('IDENTITY_RULES', () => {
  it('reads pods and ServiceAccounts, applies Certificates, and touches no Secret', () => {
    const verbs = (group: string, resource: string) =>
      IDENTITY_RULES.filter((r) => r.apiGroups?.includes(group) && r.resources?.includes(resource)).flatMap(
        (r) => r.verbs,
      );
    assert.deepEqual(verbs('', 'pods').sort(), ['list', 'watch']);
    assert.deepEqual(verbs('', 'serviceaccounts').sort(), ['list', 'watch']);
    assert.deepEqual(verbs('cert-manager.io', 'certificates').sort(), ['create', 'list', 'patch', 'watch']);
    assert.deepEqual(verbs('', 'secrets'), []);
    assert.ok(IDENTITY_RULES.every((r) => !r.verbs.includes('*') && !r.resources?.includes('*')));
  });
});
