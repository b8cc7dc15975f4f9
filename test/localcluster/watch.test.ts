/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument -- Kubernetes objects are untyped JSON here */
/** Watch semantics: resume, synthetic ADDED, selector transitions, bookmarks, timeouts, 410 Gone. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { configMap, connect, type Harness } from './harness.js';

let h: Harness;
before(async () => {
  h = await connect({ bookmarkIntervalMs: 200 });
});
after(async () => {
  await h.close();
});

const cm = (ns: string, name = '') => `/api/v1/namespaces/${ns}/configmaps${name ? `/${name}` : ''}`;

describe('watch', () => {
  it('resumes from a list resourceVersion with ADDED, MODIFIED and DELETED', async () => {
    const ns = await h.namespace();
    const list = await h.get(cm(ns));
    const w = await h.watch(`${cm(ns)}?watch=true&resourceVersion=${list.body.metadata.resourceVersion}`);
    try {
      const created = await h.post(cm(ns), configMap('w'));
      const added = await w.next((e) => e.object.metadata.name === 'w');
      assert.equal(added.type, 'ADDED');
      assert.equal(added.object.metadata.resourceVersion, created.body.metadata.resourceVersion);
      await h.patch(cm(ns, 'w'), { data: { a: '2' } });
      const modified = await w.next((e) => e.object.metadata.name === 'w');
      assert.equal(modified.type, 'MODIFIED');
      assert.equal(modified.object.data.a, '2');
      await h.delete(cm(ns, 'w'));
      const deleted = await w.next((e) => e.object.metadata.name === 'w');
      assert.equal(deleted.type, 'DELETED');
      assert.ok(
        Number(deleted.object.metadata.resourceVersion) > Number(modified.object.metadata.resourceVersion),
      );
    } finally {
      w.close();
    }
  });

  it('starts with the current objects as ADDED when no resourceVersion is given (watch=1)', async () => {
    const ns = await h.namespace();
    await h.post(cm(ns), configMap('existing'));
    const w = await h.watch(`${cm(ns)}?watch=1`);
    try {
      const ev = await w.next((e) => e.object.metadata.name === 'existing');
      assert.equal(ev.type, 'ADDED');
    } finally {
      w.close();
    }
  });

  it('sends an object that stops matching the selector as DELETED and one that starts matching as ADDED', async () => {
    const ns = await h.namespace();
    const rv = (await h.get(cm(ns))).body.metadata.resourceVersion;
    const w = await h.watch(`${cm(ns)}?watch=true&labelSelector=sel%3Dyes&resourceVersion=${rv}`);
    try {
      await h.post(cm(ns), configMap('s', {}, { sel: 'no' }));
      await h.patch(cm(ns, 's'), { metadata: { labels: { sel: 'yes' } } });
      assert.equal((await w.next()).type, 'ADDED');
      await h.patch(cm(ns, 's'), { data: { a: '5' } });
      assert.equal((await w.next()).type, 'MODIFIED');
      await h.patch(cm(ns, 's'), { metadata: { labels: { sel: 'no' } } });
      const gone = await w.next();
      assert.equal(gone.type, 'DELETED');
      assert.equal(gone.object.metadata.name, 's');
    } finally {
      w.close();
    }
  });

  it('watches across all namespaces', async () => {
    const ns = await h.namespace();
    const rv = (await h.get('/api/v1/configmaps?limit=1')).body.metadata.resourceVersion;
    const w = await h.watch(`/api/v1/configmaps?watch=true&resourceVersion=${rv}`);
    try {
      await h.post(cm(ns), configMap('everywhere'));
      const ev = await w.next((e) => e.object.metadata.name === 'everywhere');
      assert.equal(ev.object.metadata.namespace, ns);
    } finally {
      w.close();
    }
  });

  it('sends bookmarks when asked and ends at timeoutSeconds', async () => {
    const ns = await h.namespace();
    const rv = (await h.get(cm(ns))).body.metadata.resourceVersion;
    const w = await h.watch(
      `${cm(ns)}?watch=true&allowWatchBookmarks=true&timeoutSeconds=2&resourceVersion=${rv}`,
    );
    const bookmark = await w.next((e) => e.type === 'BOOKMARK', 5000);
    assert.equal(bookmark.object.kind, 'ConfigMap');
    assert.ok(Number(bookmark.object.metadata.resourceVersion) >= Number(rv));
    await w.ended;
  });
});

describe('watch history (local cluster)', { skip: !!process.env.MESHWRIGHT_TEST_KUBECONFIG }, () => {
  it('answers a resourceVersion older than the history with an ERROR event carrying 410 Expired', async () => {
    const ns = await h.namespace();
    const rv = (await h.get(cm(ns))).body.metadata.resourceVersion;
    await h.post(cm(ns), configMap('before-restart'));
    await h.local!.faults.restart({ keepHistory: false });
    const w = await h.watch(`${cm(ns)}?watch=true&resourceVersion=${rv}`);
    const ev = await w.next();
    assert.equal(ev.type, 'ERROR');
    assert.equal(ev.object.code, 410);
    assert.equal(ev.object.reason, 'Expired');
    assert.match(ev.object.message, /^too old resource version: /);
    await w.ended;
    // the state survived the restart
    assert.equal((await h.get(cm(ns, 'before-restart'))).status, 200);
  });

  it('keeps only the configured window of history', async () => {
    const small = await connect({ historyWindow: 10 });
    try {
      const ns = await small.namespace();
      const rv = (await small.get(cm(ns))).body.metadata.resourceVersion;
      for (let i = 0; i < 30; i++) await small.post(cm(ns), configMap(`c${i}`));
      const w = await small.watch(`${cm(ns)}?watch=true&resourceVersion=${rv}`);
      assert.equal((await w.next()).object.code, 410);
      w.close();
    } finally {
      await small.close();
    }
  });
});
