import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Optional } from '@marcbachmann/cel-js';
import { ruleEnvironments } from '../environment.js';
import { useKubernetesSemantics } from '../rewrite.js';

function cel(expression: string, self: unknown = null): unknown {
  return ruleEnvironments().plain.evaluate(useKubernetesSemantics(expression), {
    self,
    oldSelf: null,
  }) as unknown;
}

describe('strings library', () => {
  it('charAt, replace, reverse, strings.quote and format', () => {
    assert.equal(cel('"abc".charAt(1)'), 'b');
    assert.equal(cel('"a-b-c".replace("-", "_")'), 'a_b_c');
    assert.equal(cel('"a-b-c".replace("-", "_", 1)'), 'a_b-c');
    assert.equal(cel('"abc".reverse()'), 'cba');
    assert.equal(cel('strings.quote("a\\"b")'), '"a\\"b"');
    assert.equal(
      cel('"%s has %d replicas".format([self.name, self.replicas])', { name: 'web', replicas: 3n }),
      'web has 3 replicas',
    );
  });

  it("keeps cel-js's own split, join, lowerAscii, indexOf and substring", () => {
    assert.deepEqual(cel('"a,b".split(",")'), ['a', 'b']);
    assert.equal(cel('["a", "b"].join("-")'), 'a-b');
    assert.equal(cel('"AbC".lowerAscii()'), 'abc');
    assert.equal(cel('"hello".indexOf("l")'), 2n);
    assert.equal(cel('"hello".substring(1, 3)'), 'el');
  });
});

describe('list and sets libraries', () => {
  it('isSorted, sum, min, max, indexOf and lastIndexOf', () => {
    assert.equal(cel('[1, 2, 2].isSorted()'), true);
    assert.equal(cel('["b", "a"].isSorted()'), false);
    assert.equal(cel('[1, 2, 3].sum()'), 6n);
    assert.equal(cel('[1.5, 2.5].sum()'), 4);
    assert.equal(cel('[3, 1, 2].min()'), 1n);
    assert.equal(cel('[3, 1, 2].max()'), 3n);
    assert.equal(cel('["a", "b", "a"].lastIndexOf("a")'), 2n);
  });

  it('slice, flatten, distinct, reverse, sort and lists.range', () => {
    assert.deepEqual(cel('[1, 2, 3].slice(1, 3)'), [2n, 3n]);
    assert.deepEqual(cel('self.flatten()', [[1n], [2n, [3n]]]), [1n, 2n, [3n]]);
    assert.deepEqual(cel('[1, 2, 1].distinct()'), [1n, 2n]);
    assert.deepEqual(cel('["b", "c", "a"].sort()'), ['a', 'b', 'c']);
    assert.deepEqual(cel('[1, 2].reverse()'), [2n, 1n]);
    assert.deepEqual(cel('lists.range(3)'), [0n, 1n, 2n]);
  });

  it('sets.contains, sets.equivalent and sets.intersects', () => {
    assert.equal(cel('sets.contains([1, 2, 3], [3, 1])'), true);
    assert.equal(cel('sets.equivalent([1, 2], [2, 1, 1])'), true);
    assert.equal(cel('sets.intersects([1], [2])'), false);
  });
});

describe('regex library', () => {
  it('find and findAll with RE2 patterns', () => {
    assert.equal(cel('"abc123def".find("[0-9]+")'), '123');
    assert.equal(cel('"abc".find("[0-9]+")'), '');
    assert.deepEqual(cel('"a1b22c333".findAll("[0-9]+")'), ['1', '22', '333']);
    assert.deepEqual(cel('"a1b22c333".findAll("[0-9]+", 2)'), ['1', '22']);
  });
});

describe('URL library', () => {
  it('parses like url.ParseRequestURI and exposes its parts', () => {
    const u = 'url("https://user@example.com:8443/a%20b?x=1&x=2&y")';
    assert.equal(cel(`${u}.getScheme()`), 'https');
    assert.equal(cel(`${u}.getHost()`), 'example.com:8443');
    assert.equal(cel(`${u}.getHostname()`), 'example.com');
    assert.equal(cel(`${u}.getPort()`), '8443');
    assert.equal(cel(`${u}.getEscapedPath()`), '/a%20b');
    assert.deepEqual(cel(`${u}.getQuery()`), { x: ['1', '2'], y: [''] });
    assert.equal(cel('url("https://[::1]:80/").getHostname()'), '::1');
  });

  it('accepts absolute URLs and paths only', () => {
    assert.equal(cel('isURL("https://example.com")'), true);
    assert.equal(cel('isURL("/just/a/path")'), true);
    assert.equal(cel('isURL("relative/path")'), false);
  });
});

describe('quantity library', () => {
  it('parses suffixes exactly and compares', () => {
    assert.equal(cel('quantity("1Gi").isGreaterThan(quantity("1000Mi"))'), true);
    assert.equal(cel('quantity("1k").compareTo(quantity("1000"))'), 0n);
    assert.equal(cel('quantity("500m").asApproximateFloat()'), 0.5);
    assert.equal(cel('quantity("1.5").isInteger()'), false);
    assert.equal(cel('quantity("2").add(quantity("500m")).sub(1).asApproximateFloat()'), 1.5);
    assert.equal(cel('quantity("1e3").asInteger()'), 1000n);
    assert.equal(cel('isQuantity("1.5Gi")'), true);
    assert.equal(cel('isQuantity("1.5GB")'), false);
  });

  it('fails for a string that is not a quantity', () => {
    assert.throws(() => cel('quantity("ten")'), /quantities must match the regular expression/);
  });
});

describe('IP and CIDR libraries', () => {
  it('parses addresses strictly and answers questions about them', () => {
    assert.equal(cel('ip("10.0.0.1").family()'), 4n);
    assert.equal(cel('ip("fe80::1").isLinkLocalUnicast()'), true);
    assert.equal(cel('ip("127.0.0.1").isLoopback()'), true);
    assert.equal(cel('ip("10.1.2.3").isGlobalUnicast()'), true);
    assert.equal(cel('isIP("1.2.3.04")'), false);
    assert.equal(cel('ip.isCanonical("2001:db8::1")'), true);
    assert.equal(cel('ip.isCanonical("2001:DB8::1")'), false);
  });

  it('checks containment and masks prefixes', () => {
    assert.equal(cel('cidr("10.0.0.0/8").containsIP("10.1.2.3")'), true);
    assert.equal(cel('cidr("10.0.0.0/8").containsCIDR("10.1.0.0/16")'), true);
    assert.equal(cel('cidr("10.0.0.0/16").containsCIDR(cidr("10.0.0.0/8"))'), false);
    assert.equal(cel('string(cidr("10.1.2.3/8").masked())'), '10.0.0.0/8');
    assert.equal(cel('cidr("192.168.0.0/24").prefixLength()'), 24n);
    assert.equal(cel('isCIDR("10.0.0.0/33")'), false);
  });
});

describe('format library', () => {
  it('returns none for a valid value and the apimachinery messages otherwise', () => {
    assert.deepEqual(cel('format.dns1123Label().validate("web-1")'), Optional.none());
    assert.deepEqual(
      cel('format.dns1123Label().validate("Web")'),
      Optional.of([
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
      ]),
    );
    assert.equal(cel('format.named("labelValue").hasValue()'), true);
    assert.equal(cel('format.named("nope").hasValue()'), false);
  });
});
