import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  childName,
  childSubdomain,
  isDNS1123Label,
  isDNS1123Subdomain,
  isLabelValue,
  labelValue,
  nameHash,
} from './names.js';

describe('childName', () => {
  it('joins parts with - and keeps a name that fits unchanged', () => {
    assert.equal(childName('checkout', 'netpol'), 'checkout-netpol');
    assert.equal(childName('a'.repeat(63)), 'a'.repeat(63));
  });

  it('lower-cases and replaces invalid characters, trimming the ends', () => {
    assert.equal(childName('My.Service_v2', 'CA'), 'my-service-v2-ca');
    assert.equal(childName('--x--', '', '!!'), 'x');
    assert.equal(childName('spiffe://cluster.local/ns/shop'), 'spiffe-cluster-local-ns-shop');
  });

  it('caps at 63 with the first 52 characters, a dash and 10 hex of a hash of the whole name', () => {
    const long = 'x'.repeat(70);
    const name = childName(long);
    assert.equal(name.length, 63);
    assert.equal(name, `${'x'.repeat(52)}-${nameHash(long)}`);
    assert.match(name, /-[0-9a-f]{10}$/);
  });

  it('is stable (pinned hash) and tells apart long names that share a prefix', () => {
    const base = 'a-very-long-meshinstallation-name-that-goes-on-and-on';
    // pinned: `echo -n <whole name> | sha256sum | cut -c1-10`; a change here renames existing children
    assert.equal(
      childName(base, 'control-plane'),
      'a-very-long-meshinstallation-name-that-goes-on-and-o-233b2f5338',
    );
    assert.notEqual(childName(base, 'control-plane'), childName(base, 'control-plane2'));
    assert.equal(childName(base, 'control-plane'), childName(base, 'control-plane'));
  });

  it('does not leave a dash before the hash when the cut falls on one', () => {
    const name = childName(`${'a'.repeat(51)}-${'b'.repeat(20)}`);
    assert.match(name, /^a{51}-[0-9a-f]{10}$/);
  });

  it('refuses input with nothing valid in it', () => {
    assert.throws(() => childName('', '..'), /nothing valid/);
  });

  it('always gives a DNS-1123 label', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 80 }), { minLength: 1, maxLength: 4 }), (parts) => {
        let name: string;
        try {
          name = childName(...parts);
        } catch {
          return parts.every((p) => !/[a-z0-9]/i.test(p));
        }
        return isDNS1123Label(name);
      }),
    );
  });
});

describe('childSubdomain', () => {
  it('keeps dots, cleans every dot-separated segment, caps at 253 with a hash', () => {
    assert.equal(childSubdomain('Mesh.Root-CA', 'tls'), 'mesh.root-ca-tls');
    assert.equal(childSubdomain('a..b', '-.c.-'), 'a.b-c');
    const long = `${'seg.'.repeat(70)}end`;
    const name = childSubdomain(long);
    assert.equal(name.length <= 253, true);
    assert.match(name, /-[0-9a-f]{10}$/);
    assert.ok(isDNS1123Subdomain(name));
  });

  it('always gives a DNS-1123 subdomain', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 300 }), { minLength: 1, maxLength: 3 }), (parts) => {
        try {
          return isDNS1123Subdomain(childSubdomain(...parts));
        } catch {
          return true;
        }
      }),
    );
  });
});

describe('labelValue', () => {
  it('keeps case and dots, caps at 63 with a hash', () => {
    assert.equal(labelValue('shop.Checkout'), 'shop.Checkout');
    assert.equal(labelValue('_x_'), 'x');
    const v = labelValue('N'.repeat(100));
    assert.equal(v.length, 63);
    assert.ok(isLabelValue(v));
  });
});
