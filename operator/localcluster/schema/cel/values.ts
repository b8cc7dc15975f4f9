/**
 * Converts an unstructured value into the CEL value Kubernetes binds to `self` (apiserver's
 * `UnstructuredToVal`), typed by its schema: `integer` becomes a CEL int (BigInt in cel-js), `number` a
 * double, `date`/`date-time` strings timestamps, `duration` strings durations, `byte` strings bytes.
 * Object properties are visible under their escaped names (`namespace` as `__namespace__`); a resource
 * root only shows `apiVersion`, `kind`, `metadata.name` and `metadata.generateName` of its type/object meta.
 */
import { evaluate } from '@marcbachmann/cel-js';
import { parseDate, parseDateTime, parseGoDuration } from '../formats.js';
import { additionalPropertiesOf, isObject, itemsOf, type JsonObject } from '../json.js';
import type { JSONSchemaProps } from '../types.js';
import { escapeCelName } from './escape.js';

/** cel-js does not export its Duration class; take it from a value it creates. */
const DurationClass = (evaluate('duration("0s")') as object).constructor as new (
  seconds: bigint,
  nanos: number,
) => object;

export function celDuration(milliseconds: number): object {
  const totalNanos = BigInt(Math.round(milliseconds * 1e6));
  return new DurationClass(totalNanos / 1_000_000_000n, Number(totalNanos % 1_000_000_000n));
}

export function isCelDuration(value: unknown): boolean {
  return value instanceof DurationClass;
}

/** Milliseconds of a cel-js Duration. */
export function durationMillis(value: object): number {
  return Number(value.valueOf());
}

export function toCelValue(
  value: unknown,
  schema: JSONSchemaProps | undefined,
  isResourceRoot: boolean,
): unknown {
  if (value === null || value === undefined) return null;
  if (schema === undefined) return plainToCel(value);
  if (schema['x-kubernetes-int-or-string'] === true)
    return typeof value === 'number' ? numberToInt(value) : value;
  switch (schema.type) {
    case 'object':
      return objectToCel(value, schema, isResourceRoot || schema['x-kubernetes-embedded-resource'] === true);
    case 'array':
      return Array.isArray(value) ? value.map((item) => toCelValue(item, itemsOf(schema), false)) : value;
    case 'string':
      return typeof value === 'string' ? stringToCel(value, schema.format) : value;
    case 'integer':
      return typeof value === 'number' ? numberToInt(value) : value;
    case 'number':
    case 'boolean':
      return value;
    default:
      return plainToCel(value);
  }
}

function numberToInt(n: number): unknown {
  return Number.isInteger(n) ? BigInt(n) : n;
}

function stringToCel(value: string, format: string | undefined): unknown {
  switch (format) {
    case 'duration': {
      const ms = parseGoDuration(value);
      return ms === undefined ? value : celDuration(ms);
    }
    case 'date':
      return parseDate(value) ?? value;
    case 'date-time':
    case 'datetime':
      return parseDateTime(value) ?? value;
    case 'byte':
      return new Uint8Array(Buffer.from(value, 'base64'));
    default:
      return value;
  }
}

function objectToCel(value: unknown, schema: JSONSchemaProps, isResource: boolean): unknown {
  if (!isObject(value)) return value;
  const additional = additionalPropertiesOf(schema);
  if (schema.properties === undefined && !isResource) {
    if (additional !== undefined) return mapEntries(value, ([k, v]) => [k, toCelValue(v, additional, false)]);
    return {}; // preserve-unknown-fields without a schema: nothing is declared, so nothing is visible
  }
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(value)) {
    const property = schema.properties?.[k];
    const name = escapeCelName(k);
    if (name === undefined) continue;
    if (isResource && (k === 'apiVersion' || k === 'kind')) out[name] = v;
    else if (isResource && k === 'metadata') out[name] = objectMetaToCel(v);
    else if (property !== undefined) out[name] = toCelValue(v, property, false);
  }
  return out;
}

function objectMetaToCel(metadata: unknown): unknown {
  if (!isObject(metadata)) return metadata;
  const out: JsonObject = {};
  for (const k of ['name', 'generateName']) if (Object.hasOwn(metadata, k)) out[k] = metadata[k];
  return out;
}

/** Data without schema (x-kubernetes-preserve-unknown-fields): JSON with integral numbers as ints. */
function plainToCel(value: unknown): unknown {
  if (typeof value === 'number') return numberToInt(value);
  if (Array.isArray(value)) return value.map(plainToCel);
  if (isObject(value)) return mapEntries(value, ([k, v]) => [k, plainToCel(v)]);
  return value;
}

function mapEntries(object: JsonObject, fn: (entry: [string, unknown]) => [string, unknown]): JsonObject {
  return Object.fromEntries(Object.entries(object).map(fn));
}

/** CEL equality across the value kinds our libraries see (ints and doubles compare numerically). */
export function celEquals(a: unknown, b: unknown): boolean {
  if ((typeof a === 'bigint' || typeof a === 'number') && (typeof b === 'bigint' || typeof b === 'number')) {
    return typeof a === typeof b ? a === b : Number(a) === Number(b);
  }
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  if (Array.isArray(a))
    return Array.isArray(b) && a.length === b.length && a.every((v, i) => celEquals(v, b[i]));
  if (isObject(a) && isObject(b) && a.constructor === Object && b.constructor === Object) {
    const keys = Object.keys(a);
    return (
      keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && celEquals(a[k], b[k]))
    );
  }
  if (
    typeof a === 'object' &&
    a !== null &&
    typeof b === 'object' &&
    b !== null &&
    isCelDuration(a) &&
    isCelDuration(b)
  ) {
    return durationMillis(a) === durationMillis(b);
  }
  return a === b;
}

/** Ordering for ints, doubles, strings, booleans, timestamps and durations; throws for anything else. */
export function celCompare(a: unknown, b: unknown): number {
  const ka = sortKey(a);
  const kb = sortKey(b);
  if (ka === undefined || kb === undefined || typeof ka !== typeof kb) throw new Error('no such overload');
  if (ka < kb) return -1;
  return ka > kb ? 1 : 0;
}

function sortKey(v: unknown): number | bigint | string | undefined {
  if (typeof v === 'bigint' || typeof v === 'number') return typeof v === 'bigint' ? v : v;
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v instanceof Date) return v.getTime();
  if (typeof v === 'object' && v !== null && isCelDuration(v)) return durationMillis(v);
  return undefined;
}

/** CEL `string(x)` for the value kinds our libraries format. */
export function celToString(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (typeof value === 'number') return Number.isInteger(value) ? `${value}` : String(value);
  if (value === null) return 'null';
  if (value instanceof Date) return value.toISOString().replace('.000Z', 'Z');
  if (Array.isArray(value)) return `[${value.map(celToString).join(', ')}]`;
  if (typeof value === 'object' && isCelDuration(value)) return (value as { toString(): string }).toString();
  if (isObject(value))
    return `{${Object.entries(value)
      .map(([k, v]) => `${k}: ${celToString(v)}`)
      .join(', ')}}`;
  return JSON.stringify(value) ?? '';
}
