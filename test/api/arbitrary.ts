import fc from 'fast-check';
import type { SchemaNode } from '../../operator/api/crd.js';

/**
 * Strings the generator draws from for any string field without an enum: valid values for most
 * fields of the API, and near misses (bad case, spaces, empty, too long, bad units).
 */
const STRING_POOL = [
  'checkout',
  'checkout-canary',
  'Checkout',
  '',
  '-bad-',
  'a'.repeat(64),
  '10s',
  '1m30s',
  '250ms',
  '5s',
  '1h',
  '30m',
  '48h',
  '0',
  'ten seconds',
  '1d',
  'shop/storefront',
  'shop/*',
  'storefront',
  'spiffe://cluster.local/ns/shop/sa/web',
  'spiffe:/bad',
  '10.0.0.0/8',
  'fd00::/64',
  '10.0.0.0/33',
  'http://prometheus.monitoring:9090',
  'ftp://prometheus',
  '/api/*',
  'api/*',
  '/admin',
  'collector.tracing:9411',
  'collector',
  '100m',
  '128Mi',
  '1.5Gi',
  'lots',
  'quay.io/meshwright/meshwright:v1.1.0',
  'Quay.io/Bad Image',
  'cluster.local',
  'mesh.example',
  'http',
  'rate(http_requests_total{namespace="{{ namespace }}"}[{{ interval }}])',
];

const NUMBER_POOL = [-1, 0, 0.5, 1, 5, 10, 50, 99, 99.5, 100, 101, 500];

/** Integers around a node's bounds, where schema and twin are most likely to disagree. */
function integerPool(node: SchemaNode): number[] {
  const pool = new Set([0, 1, 2, 5, 100]);
  for (const bound of [node.minimum, node.maximum]) {
    if (typeof bound === 'number') [bound - 1, bound, bound + 1].forEach((n) => pool.add(n));
  }
  return [...pool];
}

const within = (node: SchemaNode) => (n: number) =>
  (typeof node.minimum !== 'number' || n >= node.minimum) &&
  (typeof node.maximum !== 'number' || n <= node.maximum);

const fitsString = (node: SchemaNode) => (s: string) =>
  (typeof node.pattern !== 'string' || new RegExp(node.pattern, 'u').test(s)) &&
  (typeof node.minLength !== 'number' || s.length >= node.minLength) &&
  (typeof node.maxLength !== 'number' || s.length <= node.maxLength);

/** Mostly values the node itself accepts (so whole objects are often valid), sometimes any value of the pool. */
function mostlyFitting<T>(pool: readonly T[], fits: (value: T) => boolean): fc.Arbitrary<T> {
  const fitting = pool.filter(fits);
  if (fitting.length === 0) return fc.constantFrom(...pool);
  return fc.oneof(
    { weight: 15, arbitrary: fc.constantFrom(...fitting) },
    { weight: 1, arbitrary: fc.constantFrom(...pool) },
  );
}

/**
 * Values for a structural-schema node: mostly plausible, sometimes wrong. Required properties are
 * present 29 times in 30, optional ones 3 times in 10, so both sides see missing fields too.
 */
export function arbitraryFor(node: SchemaNode): fc.Arbitrary<unknown> {
  if (node['x-kubernetes-int-or-string'] === true) {
    return fc.oneof(
      mostlyFitting(integerPool(node), within(node)),
      mostlyFitting(STRING_POOL, fitsString(node)),
    );
  }
  switch (node.type) {
    case 'object':
      return node.properties ? objectArbitrary(node) : mapArbitrary(node);
    case 'array': {
      const maxItems = typeof node.maxItems === 'number' ? node.maxItems : 4;
      return fc.array(arbitraryFor(node.items as SchemaNode), { maxLength: Math.min(maxItems + 1, 3) });
    }
    case 'string':
      return Array.isArray(node.enum)
        ? mostlyFitting([...(node.enum as string[]), 'NotAValue'], (s) => s !== 'NotAValue')
        : mostlyFitting(STRING_POOL, fitsString(node));
    case 'integer':
      return mostlyFitting(integerPool(node), within(node));
    case 'number':
      return mostlyFitting(NUMBER_POOL, within(node));
    case 'boolean':
      return fc.boolean();
    default:
      throw new Error(`no arbitrary for ${JSON.stringify(node).slice(0, 80)}`);
  }
}

function objectArbitrary(node: SchemaNode): fc.Arbitrary<Record<string, unknown>> {
  const required = new Set((node.required as string[] | undefined) ?? []);
  const entries = Object.entries(node.properties as Record<string, SchemaNode>).map(([name, child]) =>
    fc
      .tuple(fc.integer({ min: 0, max: 29 }), arbitraryFor(child))
      .map(([roll, value]) =>
        (required.has(name) ? roll < 29 : roll < 9) ? ([name, value] as const) : undefined,
      ),
  );
  return fc.tuple(...entries).map((pairs) => Object.fromEntries(pairs.filter((p) => p !== undefined)));
}

function mapArbitrary(node: SchemaNode): fc.Arbitrary<Record<string, unknown>> {
  const values = node.additionalProperties
    ? arbitraryFor(node.additionalProperties as SchemaNode)
    : fc.constant({});
  return fc.dictionary(fc.constantFrom('cpu', 'memory', 'team', 'meshwright.io/inject'), values, {
    maxKeys: 2,
  });
}
