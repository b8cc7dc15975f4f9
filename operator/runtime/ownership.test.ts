import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AlreadyOwnedError } from './errors.js';
import {
  addFinalizer,
  controllerRef,
  getControllerOf,
  hasFinalizer,
  isBeingDeleted,
  isControlledBy,
  ownerRef,
  removeFinalizer,
  withControllerReference,
  withOwnerReference,
  type KubeObject,
} from './ownership.js';

const owner = (name = 'checkout', uid = `uid-${name}`) => ({
  apiVersion: 'mesh.meshwright.io/v1alpha1',
  kind: 'ServicePolicy',
  metadata: { name, namespace: 'shop', uid },
});

const child = (meta: NonNullable<KubeObject['metadata']> = {}): KubeObject => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'checkout', namespace: 'shop', ...meta },
});

describe('owner references', () => {
  it('controllerRef names the owner and sets controller and blockOwnerDeletion', () => {
    assert.deepEqual(controllerRef(owner()), {
      apiVersion: 'mesh.meshwright.io/v1alpha1',
      kind: 'ServicePolicy',
      name: 'checkout',
      uid: 'uid-checkout',
      controller: true,
      blockOwnerDeletion: true,
    });
    assert.equal(ownerRef(owner()).controller, undefined);
  });

  it('refuses an owner without a uid (one not read from the API server)', () => {
    assert.throws(() => controllerRef({ ...owner(), metadata: { name: 'x' } }), /metadata.uid/);
  });

  it('isControlledBy matches the controller reference by uid only', () => {
    const c = child({ ownerReferences: [ownerRef(owner('other')), controllerRef(owner())] });
    assert.equal(getControllerOf(c)?.name, 'checkout');
    assert.equal(isControlledBy(c, owner()), true);
    assert.equal(isControlledBy(c, owner('checkout', 'recreated-uid')), false);
    assert.equal(isControlledBy(c, owner('other')), false, 'a plain owner reference is not control');
    assert.equal(isControlledBy(child(), owner()), false);
  });

  it('withControllerReference adds or replaces our reference and refuses to steal a child', () => {
    const plain = ownerRef(owner('other'));
    const refs = withControllerReference(child({ ownerReferences: [plain] }), owner());
    assert.deepEqual(refs, [plain, controllerRef(owner())]);
    // an older reference to the same owner (other version) is replaced, not duplicated
    const stale = { ...controllerRef(owner()), apiVersion: 'mesh.meshwright.io/v1alpha0' };
    assert.deepEqual(withControllerReference(child({ ownerReferences: [stale] }), owner()), [
      controllerRef(owner()),
    ]);
    const foreign = child({ ownerReferences: [controllerRef(owner('someone-else'))] });
    assert.throws(() => withControllerReference(foreign, owner()), AlreadyOwnedError);
  });

  it('withOwnerReference does not modify its input', () => {
    const refs = Object.freeze([ownerRef(owner('a'))]);
    const out = withOwnerReference(refs, ownerRef(owner('b')));
    assert.equal(refs.length, 1);
    assert.equal(out.length, 2);
  });
});

describe('finalizers', () => {
  const F = 'mesh.meshwright.io/cleanup';

  it('addFinalizer appends once, removeFinalizer removes, both return new arrays', () => {
    const obj = child({ finalizers: ['other'] });
    const added = addFinalizer(obj, F);
    assert.deepEqual(added, ['other', F]);
    assert.deepEqual(obj.metadata?.finalizers, ['other']);
    const again = addFinalizer({ metadata: { finalizers: added } }, F);
    assert.deepEqual(again, added);
    assert.notEqual(again, added);
    assert.deepEqual(removeFinalizer({ metadata: { finalizers: added } }, F), ['other']);
    assert.deepEqual(removeFinalizer(child(), F), []);
  });

  it('hasFinalizer and isBeingDeleted', () => {
    assert.equal(hasFinalizer(child({ finalizers: [F] }), F), true);
    assert.equal(hasFinalizer(child(), F), false);
    assert.equal(isBeingDeleted(child({ deletionTimestamp: '2025-01-01T00:00:00Z' })), true);
    assert.equal(isBeingDeleted(child()), false);
  });
});
