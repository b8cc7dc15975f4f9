/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment -- Kubernetes objects are untyped JSON here (Obj) */
/** The local cluster's fault hooks and request log (skipped against a real cluster). */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { configMap, connect, REAL, type Harness } from './harness.js';

let h: Harness;
before(async () => {
  if (!REAL) h = await connect();
});
after(async () => {
  await h?.close();
});

const cm = (ns: string, name = '') => `/api/v1/namespaces/${ns}/configmaps${name ? `/${name}` : ''}`;

describe('fault hooks', { skip: REAL }, () => {
  it('fails the next matching requests with 429 + Retry-After, then serves normally', async () => {
    const ns = await h.namespace();
    h.local!.faults.failNext(2, { status: 429, retryAfterSeconds: 3, method: 'POST' });
    const first = await h.post(cm(ns), configMap('a'));
    assert.equal(first.status, 429);
    assert.equal(first.headers['retry-after'], '3');
    assert.equal(first.body.reason, 'TooManyRequests');
    assert.equal((await h.get(cm(ns))).status, 200);
    assert.equal((await h.post(cm(ns), configMap('a'))).status, 429);
    assert.equal((await h.post(cm(ns), configMap('a'))).status, 201);
  });

  it('fails requests matching a path with 500/503', async () => {
    const ns = await h.namespace();
    h.local!.faults.failNext(1, { status: 503, path: cm(ns) });
    assert.equal((await h.get(cm(ns))).status, 503);
    assert.equal((await h.get(cm(ns))).status, 200);
  });

  it('hangs a request until the client gives up', async () => {
    const ns = await h.namespace();
    h.local!.faults.failNext(1, { hang: true, verb: 'list' });
    await assert.rejects(h.request('GET', cm(ns), { timeoutMs: 200 }), /timeout/);
    assert.equal((await h.get(cm(ns))).status, 200);
  });

  it('delays the next matching request, then serves it normally', async () => {
    const ns = await h.namespace();
    h.local!.faults.delayNext(1, 300, { verb: 'list', resource: 'configmaps' });
    const order: string[] = [];
    const delayed = h.get(cm(ns)).then((r) => (order.push('delayed list'), r));
    const other = h.get(`/api/v1/namespaces/${ns}`).then((r) => (order.push('namespace get'), r));
    const [slow, fast] = await Promise.all([delayed, other]);
    assert.equal(slow.status, 200);
    assert.equal(fast.status, 200);
    assert.deepEqual(order, ['namespace get', 'delayed list']);
  });

  it('drops open watches', async () => {
    const ns = await h.namespace();
    const w = await h.watch(`${cm(ns)}?watch=true`);
    assert.equal(h.local!.faults.dropWatches(), 1);
    await w.ended;
  });

  it('restarts on the same port, keeping or losing state', async () => {
    const ns = await h.namespace();
    await h.post(cm(ns), configMap('kept'));
    await h.local!.faults.restart();
    assert.equal((await h.get(cm(ns, 'kept'))).status, 200);
    const rv = (await h.get(cm(ns))).body.metadata.resourceVersion;
    await h.local!.faults.restart({ keepState: false });
    assert.equal((await h.get(`/api/v1/namespaces/${ns}`)).status, 404);
    const w = await h.watch(`/api/v1/configmaps?watch=true&resourceVersion=${rv}`);
    assert.equal((await w.next()).object.code, 410);
    w.close();
  });

  it('counts requests by verb and resource', async () => {
    const ns = await h.namespace();
    h.local!.faults.resetLog();
    await h.post(cm(ns), configMap('x'));
    await h.patch(cm(ns, 'x'), { data: { a: '2' } });
    await h.patch(cm(ns, 'x'), { data: { a: '3' } });
    assert.equal(h.local!.faults.count({ verb: 'patch', resource: 'configmaps' }), 2);
    assert.equal(h.local!.faults.count({ verb: 'create', resource: 'configmaps', namespace: ns }), 1);
    assert.equal(h.local!.faults.requests[0]!.user, 'admin');
  });
});
