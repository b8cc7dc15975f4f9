import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TYPE } from '../xds/protos.js';
import { ResourceStore } from './store.js';
import {
  affected,
  applyRequest,
  describeSubscription,
  desired,
  newTypeState,
  subscribe,
} from './subscription.js';

const all = () => true;

describe('subscriptions', () => {
  it('LDS/CDS: empty first request = wildcard; after a name, empty = nothing; `*` = wildcard again', () => {
    for (const typeUrl of [TYPE.listener, TYPE.cluster]) {
      const state = newTypeState(typeUrl);
      subscribe(state, []);
      assert.equal(describeSubscription(state.subscription), '*');
      subscribe(state, []);
      assert.equal(describeSubscription(state.subscription), '*', 'still never named');
      subscribe(state, ['b', 'a']);
      assert.deepEqual(describeSubscription(state.subscription), ['a', 'b']);
      subscribe(state, []);
      assert.deepEqual(describeSubscription(state.subscription), []);
      subscribe(state, ['*', 'a']);
      assert.equal(describeSubscription(state.subscription), '*');
    }
  });

  it('RDS/EDS have no wildcard: an empty list is nothing', () => {
    for (const typeUrl of [TYPE.routeConfiguration, TYPE.clusterLoadAssignment]) {
      const state = newTypeState(typeUrl);
      subscribe(state, []);
      assert.deepEqual(describeSubscription(state.subscription), []);
    }
  });

  it('reports whether the subscription changed', () => {
    const state = newTypeState(TYPE.routeConfiguration);
    assert.equal(subscribe(state, ['a']), true);
    assert.equal(subscribe(state, ['a']), false);
    assert.equal(subscribe(state, ['b']), true);
    assert.equal(subscribe(state, ['a', 'b']), true);
  });
});

describe('requests: ACK, NACK, stale', () => {
  const sent = (version: string, nonce: string) => {
    const state = newTypeState(TYPE.cluster);
    state.sent = { version, nonce };
    return state;
  };

  it('no nonce: only a subscription; a nonce before anything was sent is no ACK either', () => {
    assert.equal(applyRequest(newTypeState(TYPE.cluster), {}).what.kind, 'subscribe');
    assert.equal(applyRequest(newTypeState(TYPE.cluster), { response_nonce: '7' }).what.kind, 'subscribe');
  });

  it('the latest nonce without error: an ACK, the first time', () => {
    const state = sent('v1', '3');
    assert.deepEqual(applyRequest(state, { response_nonce: '3' }).what, {
      kind: 'ack',
      version: 'v1',
      first: true,
    });
    assert.deepEqual(applyRequest(state, { response_nonce: '3' }).what, {
      kind: 'ack',
      version: 'v1',
      first: false,
    });
    assert.equal(state.acked, 'v1');
  });

  it('the latest nonce with error_detail: a NACK of the version sent, the first time; a later ACK clears it', () => {
    const state = sent('v2', '4');
    state.acked = 'v1';
    const nack = { response_nonce: '4', version_info: 'v1', error_detail: { message: 'bad' } };
    assert.deepEqual(applyRequest(state, nack).what, {
      kind: 'nack',
      version: 'v2',
      message: 'bad',
      first: true,
    });
    assert.deepEqual(applyRequest(state, nack).what, {
      kind: 'nack',
      version: 'v2',
      message: 'bad',
      first: false,
    });
    assert.deepEqual(state.nack, { version: 'v2', nonce: '4', message: 'bad' });
    assert.equal(state.acked, 'v1');
    state.sent = { version: 'v3', nonce: '5' };
    applyRequest(state, { response_nonce: '5' });
    assert.equal(state.nack, undefined);
    assert.equal(state.acked, 'v3');
  });

  it('an older nonce is stale: nothing recorded, not even its names', () => {
    const state = sent('v2', '4');
    subscribe(state, ['a']);
    const { what, subscriptionChanged } = applyRequest(state, {
      response_nonce: '3',
      resource_names: ['a', 'b'],
      error_detail: { message: 'late' },
    });
    assert.equal(what.kind, 'stale');
    assert.equal(subscriptionChanged, false);
    assert.deepEqual(describeSubscription(state.subscription), ['a']);
    assert.equal(state.nack, undefined);
  });
});

describe('what a response carries', () => {
  const store = new ResourceStore();
  store.publish({
    [TYPE.cluster]: ['c', 'a', 'b'].map((name) => ({ name, type: 'EDS' })),
  });
  const entries = store.entries(TYPE.cluster);

  it('the subscribed resources that exist and are allowed, in name order, versioned by content', () => {
    const wildcard = newTypeState(TYPE.cluster);
    subscribe(wildcard, []);
    const named = newTypeState(TYPE.cluster);
    subscribe(named, ['c', 'b', 'a', 'missing']);
    const w = desired(wildcard.subscription, entries, all);
    const n = desired(named.subscription, entries, all);
    assert.deepEqual(
      w.entries.map((e) => e.name),
      ['a', 'b', 'c'],
    );
    assert.equal(w.version, n.version, 'the same content is the same version');
    const some = desired(named.subscription, entries, (name) => name !== 'b');
    assert.deepEqual(
      some.entries.map((e) => e.name),
      ['a', 'c'],
    );
    assert.notEqual(some.version, w.version);
  });

  it('a change matters to a subscription only where it subscribes and may see', () => {
    const named = newTypeState(TYPE.cluster);
    subscribe(named, ['a']);
    const wildcard = newTypeState(TYPE.cluster);
    subscribe(wildcard, []);
    assert.equal(affected(named.subscription, new Set(['b']), all), false);
    assert.equal(affected(named.subscription, new Set(['a', 'b']), all), true);
    assert.equal(
      affected(named.subscription, new Set(['a']), () => false),
      false,
    );
    assert.equal(affected(wildcard.subscription, new Set(['z']), all), true);
    assert.equal(
      affected(wildcard.subscription, new Set(['z']), (n) => n !== 'z'),
      false,
    );
  });
});
