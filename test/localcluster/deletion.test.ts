/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return -- Kubernetes objects are untyped JSON here (Obj) */
/** Deletion: finalizers, propagation policies, garbage collection, namespace termination. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { configMap, connect, eventually, type Harness, type Obj } from './harness.js';

let h: Harness;
before(async () => {
  h = await connect();
});
after(async () => {
  await h.close();
});

const cm = (ns: string, name = '') => `/api/v1/namespaces/${ns}/configmaps${name ? `/${name}` : ''}`;
const owned = (name: string, owner: Obj, block = false): Obj => ({
  ...configMap(name),
  metadata: {
    name,
    ownerReferences: [
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        name: owner.metadata.name,
        uid: owner.metadata.uid,
        ...(block ? { blockOwnerDeletion: true } : {}),
      },
    ],
  },
});

describe('finalizers', () => {
  it('marks an object with finalizers for deletion and removes it with the last finalizer', async () => {
    const ns = await h.namespace();
    await h.post(cm(ns), { ...configMap('f'), metadata: { name: 'f', finalizers: ['example.com/keep'] } });
    const del = await h.delete(cm(ns, 'f'));
    assert.equal(del.status, 200);
    const marked = await h.get(cm(ns, 'f'));
    assert.ok(marked.body.metadata.deletionTimestamp);
    assert.equal(marked.body.metadata.deletionGracePeriodSeconds, 0);
    const add = await h.patch(cm(ns, 'f'), {
      metadata: { finalizers: ['example.com/keep', 'example.com/new'] },
    });
    assert.equal(add.status, 422);
    const rv = (await h.get(cm(ns))).body.metadata.resourceVersion;
    const w = await h.watch(`${cm(ns)}?watch=true&resourceVersion=${rv}`);
    try {
      const removed = await h.patch(
        cm(ns, 'f'),
        [{ op: 'remove', path: '/metadata/finalizers' }],
        'application/json-patch+json',
      );
      assert.equal(removed.status, 200);
      assert.equal((await w.next((e) => e.object.metadata.name === 'f')).type, 'DELETED');
      assert.equal((await h.get(cm(ns, 'f'))).status, 404);
    } finally {
      w.close();
    }
  });
});

describe('garbage collection', () => {
  it('deletes dependents of a deleted owner (Background)', async () => {
    const ns = await h.namespace();
    const owner = (await h.post(cm(ns), configMap('owner'))).body;
    await h.post(cm(ns), owned('child', owner));
    await h.delete(cm(ns, 'owner'));
    await eventually(async () => (await h.get(cm(ns, 'child'))).status === 404, 10_000, 'child collected');
  });

  it('keeps dependents and drops their ownerReference with Orphan', async () => {
    const ns = await h.namespace();
    const owner = (await h.post(cm(ns), configMap('owner'))).body;
    await h.post(cm(ns), owned('child', owner));
    await h.delete(cm(ns, 'owner'), { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Orphan' });
    await eventually(async () => (await h.get(cm(ns, 'owner'))).status === 404, 10_000, 'owner gone');
    const child = await h.get(cm(ns, 'child'));
    assert.equal(child.status, 200);
    assert.equal(child.body.metadata.ownerReferences, undefined);
  });

  it('keeps a Foreground-deleted owner until its blocking dependents are gone', async () => {
    const ns = await h.namespace();
    const owner = (await h.post(cm(ns), configMap('owner'))).body;
    await h.post(cm(ns), {
      ...owned('child', owner, true),
      metadata: { ...owned('child', owner, true).metadata, finalizers: ['example.com/hold'] },
    });
    await h.delete(`${cm(ns, 'owner')}?propagationPolicy=Foreground`);
    const marked = await h.get(cm(ns, 'owner'));
    assert.ok(marked.body.metadata.deletionTimestamp);
    assert.ok(marked.body.metadata.finalizers.includes('foregroundDeletion'));
    await eventually(
      async () => (await h.get(cm(ns, 'child'))).body.metadata?.deletionTimestamp,
      10_000,
      'child marked',
    );
    assert.equal((await h.get(cm(ns, 'owner'))).status, 200);
    await h.patch(cm(ns, 'child'), { metadata: { finalizers: null } });
    await eventually(async () => (await h.get(cm(ns, 'owner'))).status === 404, 10_000, 'owner gone');
  });

  it('collects a dependent whose owner does not exist', async () => {
    const ns = await h.namespace();
    await h.post(
      cm(ns),
      owned('orphaned', { metadata: { name: 'ghost', uid: '00000000-0000-0000-0000-000000000000' } }),
    );
    await eventually(
      async () => (await h.get(cm(ns, 'orphaned'))).status === 404,
      10_000,
      'dangling dependent collected',
    );
  });
});

describe('namespaces', () => {
  it('terminates a namespace: refuses new content, deletes its contents, then disappears', async () => {
    const ns = await h.namespace();
    await h.post(cm(ns), {
      ...configMap('held'),
      metadata: { name: 'held', finalizers: ['example.com/hold'] },
    });
    const del = await h.delete(`/api/v1/namespaces/${ns}`);
    assert.equal(del.status, 200);
    assert.equal(del.body.status.phase, 'Terminating');
    const refused = await h.post(cm(ns), configMap('late'));
    assert.equal(refused.status, 403);
    assert.equal(refused.body.reason, 'Forbidden');
    assert.equal(
      refused.body.message,
      `configmaps "late" is forbidden: unable to create new content in namespace ${ns} because it is being terminated`,
    );
    await eventually(
      async () => (await h.get(cm(ns, 'held'))).body.metadata?.deletionTimestamp,
      10_000,
      'content marked',
    );
    assert.equal((await h.get(`/api/v1/namespaces/${ns}`)).status, 200);
    await h.patch(cm(ns, 'held'), { metadata: { finalizers: null } });
    await eventually(
      async () => (await h.get(`/api/v1/namespaces/${ns}`)).status === 404,
      30_000,
      'namespace gone',
    );
  });
});
