import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TYPE } from '../xds/protos.js';
import { ResourceStore, versionOf } from './store.js';

const L = (name: string, rev = 0) => ({ name, stat_prefix: `${name}-${rev}` });
const E = (name: string, rev = 0) => ({ cluster_name: name, endpoints: [{ locality: { zone: `z${rev}` } }] });

const names = (store: ResourceStore, typeUrl: string) => [...store.entries(typeUrl).keys()];
const changedOf = (result: { changed: Map<string, Set<string>> }) =>
  Object.fromEntries([...result.changed].map(([t, n]) => [t, [...n].sort()]));

describe('ResourceStore', () => {
  it('reports, per type, exactly the names added, changed and removed', () => {
    const store = new ResourceStore();
    const first = store.publish({
      [TYPE.listener]: [L('a'), L('b')],
      [TYPE.clusterLoadAssignment]: [E('c')],
    });
    assert.deepEqual(changedOf(first), { [TYPE.listener]: ['a', 'b'], [TYPE.clusterLoadAssignment]: ['c'] });

    const second = store.publish({
      [TYPE.listener]: [L('a', 1), L('d')],
      [TYPE.clusterLoadAssignment]: [E('c')],
    });
    assert.deepEqual(changedOf(second), { [TYPE.listener]: ['a', 'b', 'd'] });

    const third = store.publish({ [TYPE.listener]: [L('a', 1), L('d')] });
    assert.deepEqual(changedOf(third), { [TYPE.clusterLoadAssignment]: ['c'] }, 'a type left out is emptied');
    assert.deepEqual(names(store, TYPE.clusterLoadAssignment), []);
  });

  it('the same content gives the same version, whatever the order and whichever store', () => {
    const a = new ResourceStore();
    const b = new ResourceStore();
    const va = a.publish({ [TYPE.listener]: [L('x'), L('y')], [TYPE.cluster]: [] }).version;
    const vb = b.publish({ [TYPE.listener]: [L('y'), L('x')] }).version;
    assert.equal(va, vb);
    assert.deepEqual(names(b, TYPE.listener), ['x', 'y'], 'entries in name order');
    assert.equal(
      versionOf([...a.entries(TYPE.listener).values()]),
      versionOf([...b.entries(TYPE.listener).values()]),
    );
    assert.deepEqual(changedOf(a.publish({ [TYPE.listener]: [L('y'), L('x')] })), {});
    assert.equal(a.version, va);
    assert.notEqual(a.publish({ [TYPE.listener]: [L('y', 1), L('x')] }).version, va);
  });

  it('the hash is of the content, not of the key order of the objects', () => {
    const store = new ResourceStore();
    store.publish({ [TYPE.cluster]: [{ name: 'c', type: 'EDS', alt_stat_name: 's' }] });
    const result = store.publish({ [TYPE.cluster]: [{ alt_stat_name: 's', type: 'EDS', name: 'c' }] });
    assert.deepEqual(changedOf(result), {});
  });

  it('encodes a resource once: an unchanged resource keeps its encoded bytes across publishes', () => {
    const store = new ResourceStore();
    store.publish({ [TYPE.listener]: [L('a'), L('b')] });
    const [a1, b1] = [...store.entries(TYPE.listener).values()];
    store.publish({ [TYPE.listener]: [L('a'), L('b', 1)] });
    const [a2, b2] = [...store.entries(TYPE.listener).values()];
    assert.equal(a2, a1, 'the same entry, bytes and all');
    assert.notEqual(b2!.chunk, b1!.chunk);
    assert.notEqual(b2!.hash, b1!.hash);
  });

  it('refuses bad input with a clear error and keeps what it had', () => {
    const store = new ResourceStore();
    const version = store.publish({ [TYPE.listener]: [L('a')] }).version;
    assert.throws(
      () => store.publish({ [TYPE.listener]: [L('a'), L('a')] }),
      /a of .*Listener is given twice/,
    );
    assert.throws(() => store.publish({ [TYPE.listener]: [{ name: '' }] }), /#0 of .*Listener has no name/);
    assert.throws(
      () => store.publish({ [TYPE.cluster]: [{ name: 'x', connect_timeout: 5 }] }),
      /x cannot be encoded/,
    );
    assert.equal(store.version, version);
    assert.deepEqual(names(store, TYPE.listener), ['a']);
  });
});
