/**
 * The Kube client against an API server: the verbs, typed errors parsed from v1.Status, timeouts
 * and unreachable servers as KubeUnavailableError, Retry-After on 429, the status subresource with
 * a resourceVersion precondition, and the per-verb request counter. Also the Lease store and the
 * EventRecorder (aggregation, never throwing).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  ConflictError,
  createKube,
  EventRecorder,
  isAlreadyExists,
  isConflict,
  isInvalid,
  isNotFound,
  isTooManyRequests,
  KubeApiError,
  KubeConflictError,
  KubeLeaseStore,
  KubeUnavailableError,
  IndexedStore,
  labelMatcher,
  normaliseMicroTime,
  type Kube,
  type KubeObject,
} from '../../operator/runtime/index.js';
import { KubeConfig } from '@kubernetes/client-node';
import { widgetCrd } from '../localcluster/harness.js';
import { configMap, REAL, setup, waitFor, type Env } from './support.js';

let env: Env;
let kube: Kube;
before(async () => {
  env = await setup();
  kube = env.kube({ requestTimeoutMs: 3000 });
});
after(() => env?.h.close());

const cmRef = (namespace: string, name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', name, namespace });

describe('client', () => {
  it('sends built-in kinds as they are on the wire: a NetworkPolicy keeps ingress[].from', async () => {
    // client-node's model classes name the field `_from`; an object that lost it would admit every source.
    const ns = await env.h.namespace('np');
    const networkPolicy = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'only-frontend', namespace: ns },
      spec: {
        podSelector: { matchLabels: { app: 'checkout' } },
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ podSelector: { matchLabels: { app: 'frontend' } } }], ports: [{ port: 8080 }] }],
      },
    };
    const applied = await kube.apply(networkPolicy);
    const read = await kube.get<typeof networkPolicy>({
      ...networkPolicy.metadata,
      apiVersion: networkPolicy.apiVersion,
      kind: networkPolicy.kind,
    });
    for (const np of [applied, read]) {
      assert.deepEqual(np.spec.ingress[0]!.from, [{ podSelector: { matchLabels: { app: 'frontend' } } }]);
    }
  });

  it('gets, lists (paginated), creates, replaces, merge-patches, applies and deletes', async () => {
    const ns = await env.h.namespace('cl');
    const created = await kube.create(configMap(ns, 'one', { a: '1' }, { app: 'x' }));
    assert.equal(typeof created.metadata?.creationTimestamp, 'string', 'plain JSON, no Date');
    await kube.create(configMap(ns, 'two'));
    const page = await kube.list(
      { apiVersion: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true },
      { namespace: ns, limit: 1 },
    );
    assert.equal(page.items.length, 1);
    assert.ok(page.continue);
    assert.equal(page.items[0]!.kind, 'ConfigMap');
    const got = await kube.get<KubeObject & { data: Record<string, string> }>(cmRef(ns, 'one'));
    assert.deepEqual(got.data, { a: '1' });
    const replaced = await kube.replace({ ...got, data: { a: '2' } });
    assert.deepEqual(replaced.data, { a: '2' });
    const patched = await kube.mergePatch<KubeObject & { data: Record<string, string> }>(cmRef(ns, 'one'), {
      data: { b: '3' },
    });
    assert.deepEqual(patched.data, { a: '2', b: '3' });
    const applied = await kube.apply({ ...configMap(ns, 'three', { c: '4' }) });
    assert.ok(applied.metadata?.uid);
    const stale = await kube.apply({ ...configMap(ns, 'three', { c: '5' }) });
    assert.deepEqual((stale as { data?: unknown }).data, { c: '5' });
    assert.equal(await kube.delete(cmRef(ns, 'three')), true);
    assert.equal(await kube.delete(cmRef(ns, 'three')), false, 'deleting a missing object is success');
  });

  it('types API errors from the v1.Status body', async () => {
    const ns = await env.h.namespace('cl');
    await assert.rejects(
      kube.get(cmRef(ns, 'missing')),
      (e) => e instanceof KubeApiError && isNotFound(e) && e.reason === 'NotFound',
    );
    await kube.create(configMap(ns, 'dup'));
    await assert.rejects(
      kube.create(configMap(ns, 'dup')),
      (e) => e instanceof KubeConflictError && e instanceof ConflictError && isAlreadyExists(e),
    );
    await assert.rejects(
      kube.create(configMap(ns, 'Not_Valid')),
      (e) => isInvalid(e) && (e as KubeApiError).causes.length > 0,
    );
    const cm = await kube.get(cmRef(ns, 'dup'));
    await kube.mergePatch(cmRef(ns, 'dup'), { data: { z: '1' } });
    await assert.rejects(kube.replace(cm), (e) => isConflict(e), 'a stale resourceVersion conflicts');
    await assert.rejects(
      kube.delete(cmRef(ns, 'dup'), { preconditions: { resourceVersion: cm.metadata!.resourceVersion! } }),
      (e) => isConflict(e),
    );
  });

  it('patches the status subresource with a resourceVersion precondition', async () => {
    const group = `rt${env.h.unique()}.example.com`;
    const crd = widgetCrd(group);
    await kube.create(crd);
    env.h.cleanup(() =>
      kube.delete({
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        name: `widgets.${group}`,
      }),
    );
    const ns = await env.h.namespace('cl');
    const ref = { apiVersion: `${group}/v1`, kind: 'Widget', name: 'w', namespace: ns, plural: 'widgets' };
    const w: KubeObject = await waitFor(
      () =>
        kube.create<KubeObject>({
          apiVersion: `${group}/v1`,
          kind: 'Widget',
          metadata: { name: 'w', namespace: ns },
          spec: { size: 1 },
        }),
      10_000,
      'the CRD to serve',
    );
    const after = await kube.patchStatus<KubeObject & { status: { phase: string } }>(
      ref,
      { phase: 'Ready' },
      { resourceVersion: w.metadata!.resourceVersion },
    );
    assert.equal(after.status.phase, 'Ready');
    await assert.rejects(
      kube.patchStatus(ref, { phase: 'Stale' }, { resourceVersion: w.metadata!.resourceVersion }),
      (e) => e instanceof ConflictError,
    );
  });

  it('counts requests per verb and code', async () => {
    const ns = await env.h.namespace('cl');
    const k = env.kube();
    await k.create(configMap(ns, 'x'));
    await k.get(cmRef(ns, 'x'));
    await k.get(cmRef(ns, 'nope')).catch(() => undefined);
    assert.equal(k.requests.count('POST', '201'), 1);
    assert.equal(k.requests.count('GET', '404'), 1);
    assert.equal(k.requests.writes(), 1);
  });

  it('reports unreachable servers and timeouts as KubeUnavailableError', { skip: REAL }, async () => {
    const ns = await env.h.namespace('cl');
    const k = env.kube({ requestTimeoutMs: 200 });
    await k.get(cmRef(ns, 'x')).catch(() => undefined); // discovery cached
    env.h.local!.faults.failNext(1, { hang: true, verb: 'get', resource: 'configmaps' });
    await assert.rejects(k.get(cmRef(ns, 'x')), KubeUnavailableError);
    // nothing listens on port 1
    const config = new KubeConfig();
    config.loadFromOptions({
      clusters: [{ name: 'c', server: 'http://127.0.0.1:1', skipTLSVerify: true }],
      users: [{ name: 'u' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    await assert.rejects(
      createKube({ kubeConfig: config }).list({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        plural: 'configmaps',
        namespaced: true,
      }),
      KubeUnavailableError,
    );
  });

  it('surfaces Retry-After on 429', { skip: REAL }, async () => {
    const ns = await env.h.namespace('cl');
    env.h.local!.faults.failNext(1, { status: 429, retryAfterSeconds: 3, method: 'POST' });
    await assert.rejects(
      kube.create(configMap(ns, 'x')),
      (e) => isTooManyRequests(e) && (e as KubeApiError).retryAfterMs === 3000,
    );
  });
});

describe('lease store', () => {
  it('creates, reads and updates a Lease with MicroTime; conflicts are ConflictError', async () => {
    const ns = await env.h.namespace('lease');
    const store = new KubeLeaseStore({ kube, namespace: ns, name: 'l' });
    assert.equal(await store.get(), undefined);
    const now = '2025-01-01T00:00:00.123456Z';
    const v1 = await store.create({
      holderIdentity: 'a',
      leaseDurationSeconds: 15,
      acquireTime: now,
      renewTime: now,
      leaseTransitions: 0,
    });
    await assert.rejects(store.create({ holderIdentity: 'b' }), ConflictError);
    const got = await store.get();
    assert.equal(got?.record.holderIdentity, 'a');
    assert.equal(got?.record.renewTime, now);
    const v2 = await store.update({ ...got.record, holderIdentity: 'b' }, v1);
    assert.notEqual(v2, v1);
    await assert.rejects(store.update({ holderIdentity: 'c' }, v1), ConflictError);
    assert.equal(normaliseMicroTime('2025-01-01T00:00:00Z'), '2025-01-01T00:00:00.000000Z');
  });
});

describe('event recorder', () => {
  it('aggregates repeats into one Event series and never throws', async () => {
    const ns = await env.h.namespace('ev');
    const cm = await kube.create(configMap(ns, 'subject'));
    const rec = new EventRecorder({ kube, controller: 'meshwright-test', instance: 'test' });
    rec.event(cm, 'Warning', 'Broken', 'it broke');
    await rec.flush();
    rec.event(cm, 'Warning', 'Broken', 'it broke');
    rec.event(cm, 'Warning', 'Broken', 'it broke');
    rec.event(cm, 'Normal', 'Fixed', 'it works');
    await rec.flush();
    assert.deepEqual(rec.stats, { created: 2, aggregated: 2, dropped: 0, failed: 0 });
    const list = await kube.list<KubeObject & { reason?: string; series?: { count: number } }>(
      { apiVersion: 'events.k8s.io/v1', kind: 'Event', plural: 'events', namespaced: true },
      { namespace: ns },
    );
    const broken = list.items.filter((e) => e.reason === 'Broken');
    assert.equal(broken.length, 1);
    assert.equal(broken[0]!.series?.count, 3);

    const dead = new EventRecorder({
      kube: { ...kube, create: () => Promise.reject(new Error('down')) },
      controller: 'x',
      instance: 'y',
    });
    assert.doesNotThrow(() => dead.event(cm, 'Normal', 'R', 'm'));
    await dead.flush();
    assert.equal(dead.stats.failed, 1);
  });
});

describe('indexed store', () => {
  const obj = (ns: string, name: string, labels: Record<string, string>, owner?: string): KubeObject => ({
    metadata: {
      namespace: ns,
      name,
      labels,
      resourceVersion: '1',
      ...(owner ? { ownerReferences: [{ apiVersion: 'v1', kind: 'X', name: 'o', uid: owner }] } : {}),
    },
  });

  it('indexes by namespace, owner uid, label pair and custom functions, and keeps them current', () => {
    const s = new IndexedStore<KubeObject>();
    s.addIndex('byApp', (o) => [o.metadata?.labels?.app ?? '']);
    s.put('a/1', obj('a', '1', { app: 'web', tier: 'x' }, 'u1'));
    s.put('a/2', obj('a', '2', { app: 'db' }, 'u1'));
    s.put('b/3', obj('b', '3', { app: 'web' }));
    assert.deepEqual(
      s
        .byIndex('ownerUid', 'u1')
        .map((o) => o.metadata?.name)
        .sort(),
      ['1', '2'],
    );
    assert.deepEqual(
      s
        .byIndex('label', 'app=web')
        .map((o) => o.metadata?.name)
        .sort(),
      ['1', '3'],
    );
    assert.deepEqual(s.list({ namespace: 'a', labelSelector: 'app in (web,db),!missing' }).length, 2);
    s.put('a/1', obj('a', '1', { app: 'db' }));
    assert.deepEqual(
      s.byIndex('byApp', 'web').map((o) => o.metadata?.name),
      ['3'],
    );
    assert.deepEqual(
      s.byIndex('ownerUid', 'u1').map((o) => o.metadata?.name),
      ['2'],
    );
    s.remove('a/2');
    assert.deepEqual(s.byIndex('ownerUid', 'u1'), []);
  });

  it('matches label selectors like the API server', () => {
    const m = (sel: string, labels: Record<string, string>) => labelMatcher(sel)(labels);
    assert.equal(m('a=b', { a: 'b' }), true);
    assert.equal(m('a==b,c!=d', { a: 'b', c: 'e' }), true);
    assert.equal(m('a!=b', {}), true);
    assert.equal(m('a notin (x, y)', { a: 'x' }), false);
    assert.equal(m('a,!b', { a: '' }), true);
    assert.equal(m('a,!b', { a: '', b: '' }), false);
    assert.throws(() => labelMatcher('a in'), /invalid label selector/);
  });
});
