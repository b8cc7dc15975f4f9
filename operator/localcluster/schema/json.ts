/** Small helpers over decoded JSON values and the schema shapes that hold them. */
import { cloneJson } from '../json-value.js';
import type { JSONSchemaProps } from './types.js';

export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The JSON-schema type name of a decoded value, as kube-openapi names it (integral numbers are integers). */
export function jsonTypeOf(
  value: unknown,
): 'null' | 'boolean' | 'integer' | 'number' | 'string' | 'array' | 'object' {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return 'boolean';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  if (typeof value === 'string') return 'string';
  return Array.isArray(value) ? 'array' : 'object';
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a))
    return Array.isArray(b) && a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a);
    return (
      keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]))
    );
  }
  return false;
}

export function deepCopy<T>(value: T): T {
  return cloneJson(value);
}

export function itemsOf(schema: JSONSchemaProps): JSONSchemaProps | undefined {
  return isObject(schema.items) ? schema.items : undefined;
}

/** The schema form of additionalProperties (`true` and `false` carry no schema). */
export function additionalPropertiesOf(schema: JSONSchemaProps): JSONSchemaProps | undefined {
  return isObject(schema.additionalProperties) ? schema.additionalProperties : undefined;
}

export function propertyOf(schema: JSONSchemaProps, name: string): JSONSchemaProps | undefined {
  return schema.properties !== undefined && Object.hasOwn(schema.properties, name)
    ? schema.properties[name]
    : undefined;
}

/** The schema a key of an object value is validated against: a declared property, else additionalProperties. */
export function schemaForKey(schema: JSONSchemaProps, name: string): JSONSchemaProps | undefined {
  return propertyOf(schema, name) ?? additionalPropertiesOf(schema);
}
