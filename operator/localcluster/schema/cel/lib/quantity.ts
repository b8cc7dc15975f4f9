/**
 * Kubernetes' CEL quantity library over resource.Quantity strings (`500m`, `1.5Gi`, `1e3`). Values are kept
 * as exact fractions so comparisons and arithmetic are exact.
 */
import type { Environment } from '@marcbachmann/cel-js';
import { celError } from '../errors.js';

class Quantity {
  /** value = numerator / denominator, denominator > 0 */
  constructor(
    readonly numerator: bigint,
    readonly denominator: bigint,
  ) {}
}

const FORMAT_ERROR =
  "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

const DECIMAL_SUFFIXES: Record<string, number> = {
  n: -9,
  u: -6,
  m: -3,
  '': 0,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};
const BINARY_SUFFIXES: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };

export function registerQuantity(env: Environment): void {
  const Q = 'kubernetes.Quantity';
  env
    .registerType(Q, Quantity)
    .registerFunction(`quantity(string): ${Q}`, (s: string) => parseQuantity(s) ?? celError(FORMAT_ERROR))
    .registerFunction('isQuantity(string): bool', (s: string) => parseQuantity(s) !== undefined)
    .registerFunction(`${Q}.sign(): int`, (q: Quantity) => BigInt(sign(q.numerator)))
    .registerFunction(`${Q}.isInteger(): bool`, (q: Quantity) => asInt64(q) !== undefined)
    .registerFunction(
      `${Q}.asInteger(): int`,
      (q: Quantity) => asInt64(q) ?? celError('cannot convert value to integer'),
    )
    .registerFunction(
      `${Q}.asApproximateFloat(): double`,
      (q: Quantity) => Number(q.numerator) / Number(q.denominator),
    )
    .registerFunction(`${Q}.add(${Q}): ${Q}`, (a: Quantity, b: Quantity) => combine(a, b, 1n))
    .registerFunction(`${Q}.add(int): ${Q}`, (a: Quantity, b: bigint) => combine(a, new Quantity(b, 1n), 1n))
    .registerFunction(`${Q}.sub(${Q}): ${Q}`, (a: Quantity, b: Quantity) => combine(a, b, -1n))
    .registerFunction(`${Q}.sub(int): ${Q}`, (a: Quantity, b: bigint) => combine(a, new Quantity(b, 1n), -1n))
    .registerFunction(`${Q}.compareTo(${Q}): int`, (a: Quantity, b: Quantity) => BigInt(compare(a, b)))
    .registerFunction(`${Q}.isGreaterThan(${Q}): bool`, (a: Quantity, b: Quantity) => compare(a, b) > 0)
    .registerFunction(`${Q}.isLessThan(${Q}): bool`, (a: Quantity, b: Quantity) => compare(a, b) < 0);
}

function parseQuantity(text: string): Quantity | undefined {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(.*)$/.exec(text);
  if (m === null || `${m[2] ?? ''}${m[3] ?? ''}` === '') return undefined;
  const negative = m[1] === '-';
  const fraction = m[3] ?? '';
  const digits = BigInt(`${m[2] ?? ''}${fraction}` || '0');
  const base = new Quantity(negative ? -digits : digits, 10n ** BigInt(fraction.length));
  return applySuffix(base, m[4] ?? '');
}

function applySuffix(q: Quantity, suffix: string): Quantity | undefined {
  const binary = BINARY_SUFFIXES[suffix];
  if (binary !== undefined) return new Quantity(q.numerator * 2n ** BigInt(binary), q.denominator);
  const decimal = DECIMAL_SUFFIXES[suffix] ?? exponentSuffix(suffix);
  if (decimal === undefined) return undefined;
  return decimal >= 0
    ? new Quantity(q.numerator * 10n ** BigInt(decimal), q.denominator)
    : new Quantity(q.numerator, q.denominator * 10n ** BigInt(-decimal));
}

function exponentSuffix(suffix: string): number | undefined {
  const m = /^[eE]([+-]?\d+)$/.exec(suffix);
  return m === null ? undefined : Number(m[1]);
}

function sign(n: bigint): number {
  if (n === 0n) return 0;
  return n > 0n ? 1 : -1;
}

function asInt64(q: Quantity): bigint | undefined {
  if (q.numerator % q.denominator !== 0n) return undefined;
  const value = q.numerator / q.denominator;
  return value >= INT64_MIN && value <= INT64_MAX ? value : undefined;
}

function combine(a: Quantity, b: Quantity, direction: bigint): Quantity {
  return new Quantity(
    a.numerator * b.denominator + direction * b.numerator * a.denominator,
    a.denominator * b.denominator,
  );
}

function compare(a: Quantity, b: Quantity): number {
  return sign(a.numerator * b.denominator - b.numerator * a.denominator);
}
