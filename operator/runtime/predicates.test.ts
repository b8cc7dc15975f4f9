import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from './ownership.js';
import {
  and,
  annotationsChanged,
  eventTypes,
  generationChanged,
  hasLabels,
  labelsChanged,
  not,
  or,
  resourceVersionChanged,
  type Predicate,
  type WatchEvent,
} from './predicates.js';

type Meta = NonNullable<KubeObject['metadata']>;
const obj = (meta: Partial<Meta> = {}): KubeObject => ({
  metadata: { name: 'a', namespace: 'shop', generation: 1, resourceVersion: '1', ...meta },
});
const update = (old: KubeObject, object: KubeObject): WatchEvent<KubeObject> => ({
  type: 'update',
  old,
  object,
});

describe('generationChanged', () => {
  it('passes spec changes and drops status-only and metadata-only updates', () => {
    assert.equal(generationChanged(update(obj(), obj({ generation: 2, resourceVersion: '2' }))), true);
    assert.equal(generationChanged(update(obj(), obj({ resourceVersion: '2' }))), false);
    assert.equal(generationChanged(update(obj(), obj({ labels: { a: 'b' }, resourceVersion: '2' }))), false);
  });

  it('passes the start of deletion even without a generation bump', () => {
    assert.equal(generationChanged(update(obj(), obj({ deletionTimestamp: '2025-01-01T00:00:00Z' }))), true);
  });

  it('passes adds, deletes, and updates that came without the old object', () => {
    assert.equal(generationChanged({ type: 'add', object: obj() }), true);
    assert.equal(generationChanged({ type: 'delete', object: obj() }), true);
    assert.equal(generationChanged({ type: 'update', object: obj() }), true);
  });
});

describe('metadata predicates', () => {
  it('labelsChanged compares label maps by content, not identity or order', () => {
    assert.equal(
      labelsChanged(update(obj({ labels: { a: '1', b: '2' } }), obj({ labels: { b: '2', a: '1' } }))),
      false,
    );
    assert.equal(labelsChanged(update(obj({ labels: { a: '1' } }), obj({ labels: { a: '2' } }))), true);
    assert.equal(labelsChanged(update(obj({ labels: { a: '1' } }), obj())), true);
    assert.equal(labelsChanged(update(obj(), obj({ labels: {} }))), false);
  });

  it('annotationsChanged and resourceVersionChanged', () => {
    assert.equal(annotationsChanged(update(obj(), obj({ annotations: { x: 'y' } }))), true);
    assert.equal(
      annotationsChanged(update(obj({ annotations: { x: 'y' } }), obj({ annotations: { x: 'y' } }))),
      false,
    );
    assert.equal(resourceVersionChanged(update(obj(), obj())), false, 'a resync replays the same version');
    assert.equal(resourceVersionChanged(update(obj(), obj({ resourceVersion: '2' }))), true);
  });

  it('hasLabels matches the new or the old object (so losing the label still reconciles)', () => {
    const p = hasLabels({ 'meshwright.io/inject': 'enabled' });
    const on = obj({ labels: { 'meshwright.io/inject': 'enabled' } });
    assert.equal(p({ type: 'add', object: on }), true);
    assert.equal(p({ type: 'add', object: obj() }), false);
    assert.equal(p(update(on, obj())), true);
  });
});

describe('combinators', () => {
  const yes: Predicate<KubeObject> = () => true;
  const no: Predicate<KubeObject> = () => false;
  const e: WatchEvent<KubeObject> = { type: 'add', object: obj() };

  it('and, or, not behave as boolean logic, and() of nothing passes', () => {
    assert.deepEqual([and(yes, yes)(e), and(yes, no)(e), and()(e)], [true, false, true]);
    assert.deepEqual([or(no, yes)(e), or(no, no)(e), or()(e)], [true, false, false]);
    assert.deepEqual([not(yes)(e), not(no)(e)], [false, true]);
  });

  it('eventTypes passes only the listed types; composes with the others', () => {
    const p = or(eventTypes('delete'), generationChanged);
    assert.equal(p({ type: 'delete', object: obj() }), true);
    assert.equal(p(update(obj(), obj({ resourceVersion: '9' }))), false);
    assert.equal(eventTypes('add')({ type: 'update', object: obj(), old: obj() }), false);
  });
});
