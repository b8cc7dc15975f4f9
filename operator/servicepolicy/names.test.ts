import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isDNS1123Subdomain, isLabelValue } from '../runtime/names.js';
import { networkPolicyName, ownerLabels, ownerSelector, SERVICE_ACCOUNT_LABEL, targetKey } from './names.js';

const named = (name: string) => ({ metadata: { name } });

describe('names', () => {
  it('the NetworkPolicy is meshwright-svcpol-<policy name>', () => {
    assert.equal(networkPolicyName(named('checkout')), 'meshwright-svcpol-checkout');
  });

  it('keeps dots, so policies a.b and a-b get different NetworkPolicies', () => {
    assert.notEqual(networkPolicyName(named('a.b')), networkPolicyName(named('a-b')));
    assert.ok(isDNS1123Subdomain(networkPolicyName(named('a.b'))));
  });

  it('a longest policy name still gives a valid, stable, distinct name', () => {
    const long = (last: string) => `${'a'.repeat(252)}${last}`;
    const one = networkPolicyName(named(long('b')));
    assert.ok(isDNS1123Subdomain(one), one);
    assert.equal(one, networkPolicyName(named(long('b'))));
    assert.notEqual(one, networkPolicyName(named(long('c'))));
  });

  it('owner labels: managed-by, owner name (a valid label value even for long names) and kind', () => {
    assert.deepEqual(ownerLabels(named('checkout')), {
      'app.kubernetes.io/managed-by': 'meshwright',
      'meshwright.io/owner': 'checkout',
      'meshwright.io/owner-kind': 'ServicePolicy',
    });
    assert.ok(isLabelValue(ownerLabels(named(`a.${'b'.repeat(100)}`))['meshwright.io/owner']!));
    assert.equal(
      ownerSelector(named('checkout')),
      'app.kubernetes.io/managed-by=meshwright,meshwright.io/owner=checkout,meshwright.io/owner-kind=ServicePolicy',
    );
  });

  it("the identity label is the API's", () => {
    assert.equal(SERVICE_ACCOUNT_LABEL, 'meshwright.io/service-account');
  });

  it('targetKey is namespace/name', () => {
    assert.equal(targetKey('shop', 'checkout'), 'shop/checkout');
  });
});
