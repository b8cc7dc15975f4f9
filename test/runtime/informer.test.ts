/**
 * Informers against an API server: synced only after a successful list, events carry the old
 * object, and the cache converges (no event lost) after dropped watches, restarts with and without
 * watch history (410 Gone), 429/503 answers and a hanging watch (the watchdog).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Kube } from '../../operator/runtime/client.js';
import { Informer, SharedInformers, type InformerEvent } from '../../operator/runtime/informer.js';
import type { KubeObject } from '../../operator/runtime/client.js';
import {
  cachedVersions,
  configMap,
  ConfigMaps,
  REAL,
  sameMap,
  serverVersions,
  setup,
  waitFor,
  type Env,
} from './support.js';

let env: Env;
let kube: Kube;
before(async () => {
  // bookmarks every 5 s: longer than the fault suite's 1 s watchdog, so its informer's resourceVersion
  // only moves with its own namespace's events (a write elsewhere then makes it too old after a restart)
  env = await setup({ bookmarkIntervalMs: 5000 });
  kube = env.kube({ requestTimeoutMs: 2000 });
});
after(() => env?.h.close());

const fast = { initialBackoffMs: 20, maxBackoffMs: 200 };

/** An informer plus a shadow map built only from its events: both must equal the server. */
function watched(ns: string, extra: ConstructorParameters<typeof Informer>[2] = {}) {
  const inf = new Informer(kube, ConfigMaps, { namespace: ns, ...fast, ...extra });
  const shadow = new Map<string, string>();
  const events: InformerEvent<KubeObject>[] = [];
  inf.onEvent((e) => {
    events.push(e);
    if (e.type === 'delete') shadow.delete(e.object.metadata!.name!);
    else shadow.set(e.object.metadata!.name!, e.object.metadata!.resourceVersion!);
  });
  return { inf, shadow, events };
}

async function converged(
  ns: string,
  inf: Informer,
  shadow: Map<string, string>,
  what: string,
): Promise<void> {
  await waitFor(
    async () => {
      const server = await serverVersions(kube, ns);
      return sameMap(server, cachedVersions(inf, ns)) && sameMap(server, shadow);
    },
    15_000,
    `cache to converge (${what})`,
  );
}

let counter = 0;
/** Creates, updates and deletes a few objects (so every kind of event is needed to converge). */
async function mutate(ns: string): Promise<void> {
  const round = ++counter;
  const existing = (await kube.list(ConfigMaps, { namespace: ns })).items.filter((o) =>
    o.metadata!.name!.startsWith('cm-'),
  );
  for (let i = 0; i < 3; i++) await kube.create(configMap(ns, `cm-r${round}-${i}`));
  for (const o of existing.slice(0, 3))
    await kube.mergePatch(
      { apiVersion: 'v1', kind: 'ConfigMap', name: o.metadata!.name!, namespace: ns },
      { data: { a: String(round) } },
    );
  for (const o of existing.slice(3, 5))
    await kube.delete({ apiVersion: 'v1', kind: 'ConfigMap', name: o.metadata!.name!, namespace: ns });
}

describe('informer', () => {
  it('reports synced only after a successful list, and delivers add/update(old)/delete', async () => {
    const ns = await env.h.namespace('inf');
    await kube.create(configMap(ns, 'one'));
    if (!REAL)
      env.h.local!.faults.failNext(2, {
        status: 503,
        verb: 'list',
        resource: 'configmaps',
        path: `/api/v1/namespaces/${ns}/configmaps`,
      });
    const { inf, events } = watched(ns);
    inf.start();
    try {
      assert.equal(inf.hasSynced(), false);
      assert.equal(await inf.waitForSync(10_000), true);
      if (!REAL) assert.ok(inf.stats.failures >= 2, 'the failed lists were retried');
      assert.deepEqual(inf.get(`${ns}/one`)?.data, { a: '1' });
      assert.equal(inf.get(`${ns}/one`)?.metadata?.managedFields, undefined, 'managedFields stripped');

      await kube.mergePatch(
        { apiVersion: 'v1', kind: 'ConfigMap', name: 'one', namespace: ns },
        { data: { a: '2' } },
      );
      const upd = await waitFor(() => events.find((e) => e.type === 'update'), 5000, 'update event');
      assert.deepEqual(upd.old?.data, { a: '1' });
      assert.deepEqual(upd.object.data, { a: '2' });

      await kube.delete({ apiVersion: 'v1', kind: 'ConfigMap', name: 'one', namespace: ns });
      await waitFor(() => events.find((e) => e.type === 'delete'), 5000, 'delete event');
      assert.equal(inf.get(`${ns}/one`), undefined);
    } finally {
      await inf.stop();
    }
  });

  it('re-delivers every cached object on resync, as update with old === new', async () => {
    const ns = await env.h.namespace('inf');
    await kube.create(configMap(ns, 'a'));
    await kube.create(configMap(ns, 'b'));
    const { inf, events } = watched(ns);
    inf.start();
    try {
      await inf.waitForSync(10_000);
      await waitFor(() => inf.list().length === 2);
      events.length = 0;
      inf.resync();
      assert.equal(events.length, 2);
      assert.ok(events.every((e) => e.type === 'update' && e.old === e.object));
    } finally {
      await inf.stop();
    }
  });

  it('shares one informer per resource, namespace and selector', () => {
    const shared = new SharedInformers(kube);
    const a = shared.informer(ConfigMaps, { namespace: 'x' });
    assert.equal(shared.informer(ConfigMaps, { namespace: 'x' }), a);
    assert.notEqual(shared.informer(ConfigMaps, { namespace: 'x', labelSelector: 'a=b' }), a);
    assert.notEqual(shared.informer(ConfigMaps), a);
  });

  it('selects by label selector on the server', async () => {
    const ns = await env.h.namespace('inf');
    await kube.create(configMap(ns, 'in', {}, { team: 'a' }));
    await kube.create(configMap(ns, 'out', {}, { team: 'b' }));
    const inf = new Informer(kube, ConfigMaps, { namespace: ns, labelSelector: 'team=a', ...fast });
    inf.start();
    try {
      await inf.waitForSync(10_000);
      await waitFor(() => inf.list().length === 1);
      assert.deepEqual(
        inf.list().map((o) => o.metadata?.name),
        ['in'],
      );
    } finally {
      await inf.stop();
    }
  });
});

describe('informer under API-server faults', { skip: REAL }, () => {
  let ns: string;
  let w: ReturnType<typeof watched>;
  before(async () => {
    ns = await env.h.namespace('faults');
    for (let i = 0; i < 10; i++) await kube.create(configMap(ns, `cm-${i}`));
    w = watched(ns, { watchdogMs: 1000 });
    w.inf.start();
    await w.inf.waitForSync(10_000);
    await converged(ns, w.inf, w.shadow, 'initial');
  });
  after(() => w?.inf.stop());

  it('converges after the server drops every watch (cleanly and abruptly)', async () => {
    const faults = env.h.local!.faults;
    faults.dropWatches();
    await mutate(ns);
    await converged(ns, w.inf, w.shadow, 'dropped watches');
    faults.dropWatches({ abrupt: true });
    await mutate(ns);
    await converged(ns, w.inf, w.shadow, 'abruptly dropped watches');
  });

  it('converges after a restart that keeps state and history', async () => {
    await env.h.local!.faults.restart({ downtimeMs: 100 });
    await mutate(ns);
    await converged(ns, w.inf, w.shadow, 'restart keeping state');
  });

  it('relists after a restart without watch history (410 Gone)', async () => {
    const gone = w.inf.stats.relistsOnGone;
    const lists = w.inf.stats.lists;
    // a write elsewhere moves the server past the informer's resourceVersion; without history, the
    // informer cannot resume from it (410 Gone) and must relist
    const other = await env.h.namespace('other');
    await kube.create(configMap(other, 'elsewhere'));
    await env.h.local!.faults.restart({ keepHistory: false, downtimeMs: 100 });
    // changes the informer cannot resume past: it must relist to see them
    await mutate(ns);
    await converged(ns, w.inf, w.shadow, 'restart without history');
    await waitFor(() => w.inf.stats.relistsOnGone > gone, 5000, 'a relist on 410');
    assert.ok(w.inf.stats.lists > lists);
  });

  it('converges while the server answers 429 and 503 for a while', async () => {
    const faults = env.h.local!.faults;
    const failures = w.inf.stats.failures;
    faults.failNext(4, {
      status: 429,
      retryAfterSeconds: 0,
      resource: 'configmaps',
      path: `/api/v1/namespaces/${ns}/configmaps`,
      method: 'GET',
    });
    faults.failNext(4, {
      status: 503,
      resource: 'configmaps',
      path: `/api/v1/namespaces/${ns}/configmaps`,
      method: 'GET',
    });
    faults.dropWatches();
    await waitFor(
      () => w.inf.stats.failures >= failures + 8,
      10_000,
      'the informer to retry through the faults',
    );
    await mutate(ns);
    await converged(ns, w.inf, w.shadow, '429/503');
  });

  it('restarts a silent (hanging) watch through its watchdog', async () => {
    const faults = env.h.local!.faults;
    const restarts = w.inf.stats.watchdogRestarts;
    faults.failNext(1, { hang: true, verb: 'watch', resource: 'configmaps' });
    faults.dropWatches();
    await waitFor(() => w.inf.stats.watchdogRestarts > restarts, 10_000, 'the watchdog');
    await mutate(ns);
    await converged(ns, w.inf, w.shadow, 'hanging watch');
    faults.clear();
  });
});
