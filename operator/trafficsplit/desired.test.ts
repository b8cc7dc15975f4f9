import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { httpRoute, type NamedTrafficSplit } from './desired.js';
import { httpRouteName, ownerLabels, ownerSelector } from './names.js';

const split = (name = 'checkout'): NamedTrafficSplit => ({
  metadata: { name, namespace: 'shop', uid: 'uid-1' },
  spec: {
    targetRef: { name: 'checkout' },
    backends: { stable: { name: 'checkout-stable' }, canary: { name: 'checkout-canary' } },
  },
});

describe('httpRoute', () => {
  it('is a GAMMA producer route: parentRef the apex Service, in the TrafficSplit namespace', () => {
    const route = httpRoute(split(), { stable: 80, canary: 20 }, { stable: 8080, canary: 8081 });
    assert.equal(route.apiVersion, 'gateway.networking.k8s.io/v1');
    assert.equal(route.kind, 'HTTPRoute');
    assert.equal(route.metadata.namespace, 'shop');
    assert.deepEqual(route.spec.parentRefs, [{ group: '', kind: 'Service', name: 'checkout' }]);
  });

  it('carries the weights on the stable and canary Services with their ports', () => {
    const route = httpRoute(split(), { stable: 80, canary: 20 }, { stable: 8080, canary: 8081 });
    assert.deepEqual(route.spec.rules, [
      {
        backendRefs: [
          { group: '', kind: 'Service', name: 'checkout-stable', port: 8080, weight: 80 },
          { group: '', kind: 'Service', name: 'checkout-canary', port: 8081, weight: 20 },
        ],
      },
    ]);
  });

  it('keeps a backend with weight 0 listed, and sets the parentRef port only when given', () => {
    const route = httpRoute(split(), { stable: 100, canary: 0 }, { apex: 80, stable: 8080, canary: 8080 });
    assert.equal(route.spec.rules[0]!.backendRefs[1]!.weight, 0);
    assert.equal(route.spec.parentRefs[0]!.port, 80);
  });

  it('is owned by the TrafficSplit (controller reference and owner labels)', () => {
    const route = httpRoute(split(), { stable: 50, canary: 50 }, { stable: 1, canary: 1 });
    assert.deepEqual(route.metadata.ownerReferences, [
      {
        apiVersion: 'mesh.meshwright.io/v1alpha1',
        kind: 'TrafficSplit',
        name: 'checkout',
        uid: 'uid-1',
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    assert.deepEqual(route.metadata.labels, {
      'app.kubernetes.io/managed-by': 'meshwright',
      'meshwright.io/owner': 'checkout',
      'meshwright.io/owner-kind': 'TrafficSplit',
    });
  });

  it('is equal when built twice (applying it again changes nothing)', () => {
    const ports = { stable: 8080, canary: 8080 };
    assert.deepEqual(
      httpRoute(split(), { stable: 90, canary: 10 }, ports),
      httpRoute(split(), { stable: 90, canary: 10 }, ports),
    );
  });

  it('refuses weights that do not add up to 100', () => {
    assert.throws(() => httpRoute(split(), { stable: 90, canary: 20 }, { stable: 1, canary: 1 }), RangeError);
    assert.throws(
      () => httpRoute(split(), { stable: 100.5, canary: -0.5 }, { stable: 1, canary: 1 }),
      RangeError,
    );
  });
});

describe('names', () => {
  it('prefixes the route name so it never takes over a user HTTPRoute', () => {
    assert.equal(httpRouteName(split()), 'meshwright-tsplit-checkout');
  });

  it('caps long names with a hash, and keeps two long names apart', () => {
    const a = httpRouteName(split('a'.repeat(250)));
    const b = httpRouteName(split(`${'a'.repeat(249)}b`));
    assert.ok(a.length <= 253 && b.length <= 253);
    assert.notEqual(a, b);
    const label = ownerLabels(split('x'.repeat(100)))['meshwright.io/owner']!;
    assert.ok(label.length <= 63);
  });

  it('gives a label selector for the children', () => {
    assert.equal(
      ownerSelector(split()),
      'app.kubernetes.io/managed-by=meshwright,meshwright.io/owner=checkout,meshwright.io/owner-kind=TrafficSplit',
    );
  });
});
