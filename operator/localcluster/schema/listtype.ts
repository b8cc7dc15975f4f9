/**
 * Uniqueness of `x-kubernetes-list-type: set` items and `map` keys (apiextensions-apiserver
 * `listtype.ValidateListSetsAndMaps`). Each duplicate is reported once, at its second occurrence; a map
 * duplicate shows only its key fields.
 */
import { duplicate, invalid, type FieldError } from './field-errors.js';
import { goJson } from './go-format.js';
import { additionalPropertiesOf, isObject, itemsOf, propertyOf, type JsonObject } from './json.js';
import { child, index, key, nilPath, type FieldPath } from './path.js';
import type { JSONSchemaProps } from './types.js';

export function validateListTypes(schema: JSONSchemaProps, value: unknown): FieldError[] {
  return isObject(value) && hasListTypes(schema) ? validateObject(nilPath, schema, value) : [];
}

function validateObject(path: FieldPath, schema: JSONSchemaProps, object: JsonObject): FieldError[] {
  const additional = additionalPropertiesOf(schema);
  return Object.entries(object).flatMap(([k, v]) => {
    const property = propertyOf(schema, k);
    if (property !== undefined) return validateValue(child(path, k), property, v);
    return additional === undefined ? [] : validateValue(key(path, k), additional, v);
  });
}

/** Whether a set or map list is declared at or below `schema` (only those can fail here). */
const constrained = new WeakMap<JSONSchemaProps, boolean>();

function hasListTypes(schema: JSONSchemaProps): boolean {
  const known = constrained.get(schema);
  if (known !== undefined) return known;
  constrained.set(schema, false); // a schema is a tree, but never loop on a malformed one
  const listType = schema['x-kubernetes-list-type'];
  const below = [...Object.values(schema.properties ?? {}), additionalPropertiesOf(schema), itemsOf(schema)];
  const result =
    listType === 'set' ||
    listType === 'map' ||
    below.some((s) => s !== undefined && isObject(s) && hasListTypes(s));
  constrained.set(schema, result);
  return result;
}

function validateValue(path: FieldPath, schema: JSONSchemaProps, value: unknown): FieldError[] {
  if (!hasListTypes(schema)) return [];
  if (Array.isArray(value)) return validateArray(path, schema, value);
  return isObject(value) ? validateObject(path, schema, value) : [];
}

function validateArray(path: FieldPath, schema: JSONSchemaProps, list: unknown[]): FieldError[] {
  const errs: FieldError[] = [];
  const listType = schema['x-kubernetes-list-type'];
  if (listType === 'set') errs.push(...repeatedIndices(list).map((i) => duplicate(index(path, i), list[i])));
  if (listType === 'map') errs.push(...validateMapList(path, schema, list));
  const items = itemsOf(schema);
  if (items !== undefined)
    list.forEach((item, i) => errs.push(...validateValue(index(path, i), items, item)));
  return errs;
}

function validateMapList(path: FieldPath, schema: JSONSchemaProps, list: unknown[]): FieldError[] {
  const notObject = list.findIndex((item) => item !== null && !isObject(item));
  if (notObject >= 0) {
    return [
      invalid(index(path, notObject), list[notObject], 'must be an object for an array of list-type map'),
    ];
  }
  const keyFields = schema['x-kubernetes-list-map-keys'] ?? [];
  const keys = list.map((item) => mapListKey(item as JsonObject | null, keyFields));
  return repeatedIndices(keys).map((i) => duplicate(index(path, i), keys[i]));
}

/** The key fields an item sets; an item without any is keyed by `{}`. */
function mapListKey(item: JsonObject | null, keyFields: readonly string[]): JsonObject {
  const keyValue: JsonObject = {};
  for (const field of keyFields) {
    if (item !== null && Object.hasOwn(item, field)) keyValue[field] = item[field];
  }
  return keyValue;
}

/** Indices where a value is seen for the second time (a third copy is not reported again). */
function repeatedIndices(values: readonly unknown[]): number[] {
  const seen = new Map<string, number>();
  const repeated: number[] = [];
  values.forEach((v, i) => {
    const id = goJson(v);
    const times = seen.get(id) ?? 0;
    if (times === 1) repeated.push(i);
    seen.set(id, times + 1);
  });
  return repeated;
}
