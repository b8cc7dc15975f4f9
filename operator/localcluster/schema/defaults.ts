/**
 * Structural defaulting (apiextensions-apiserver `defaulting.PruneNonNullableNullsWithoutDefaults` followed
 * by `defaulting.Default`): a missing property, or a null one that is not nullable, gets a deep copy of its
 * default; defaulting then descends into the value, so defaults inside a default apply too.
 */
import {
  additionalPropertiesOf,
  deepCopy,
  isObject,
  itemsOf,
  propertyOf,
  schemaForKey,
  type JsonObject,
} from './json.js';
import type { JSONSchemaProps } from './types.js';

export function applyDefaults(value: unknown, schema: JSONSchemaProps): unknown {
  const copy = deepCopy(value);
  dropNonNullableNullsWithoutDefault(copy, schema);
  defaultInPlace(copy, schema);
  return copy;
}

function isNonNullableNull(value: unknown, schema: JSONSchemaProps | undefined): boolean {
  return value === null && schema !== undefined && schema.nullable !== true;
}

function dropNonNullableNullsWithoutDefault(value: unknown, schema: JSONSchemaProps | undefined): void {
  if (schema === undefined) return;
  if (Array.isArray(value)) {
    for (const item of value) dropNonNullableNullsWithoutDefault(item, itemsOf(schema));
    return;
  }
  if (!isObject(value)) return;
  for (const [k, v] of Object.entries(value)) {
    const sub = schemaForKey(schema, k);
    if (isNonNullableNull(v, sub) && sub?.default === undefined) delete value[k];
    else dropNonNullableNullsWithoutDefault(v, sub);
  }
}

function defaultInPlace(value: unknown, schema: JSONSchemaProps | undefined): void {
  if (schema === undefined) return;
  if (Array.isArray(value)) defaultItems(value, itemsOf(schema));
  else if (isObject(value)) defaultObject(value, schema);
}

function defaultItems(list: unknown[], items: JSONSchemaProps | undefined): void {
  list.forEach((item, i) => {
    if (isNonNullableNull(item, items) && items?.default !== undefined) list[i] = deepCopy(items.default);
    defaultInPlace(list[i], items);
  });
}

function defaultObject(object: JsonObject, schema: JSONSchemaProps): void {
  for (const [k, property] of Object.entries(schema.properties ?? {})) {
    if (property.default === undefined) continue;
    if (!Object.hasOwn(object, k) || isNonNullableNull(object[k], property))
      object[k] = deepCopy(property.default);
  }
  const additional = additionalPropertiesOf(schema);
  for (const k of Object.keys(object)) {
    const property = propertyOf(schema, k);
    if (property !== undefined) {
      defaultInPlace(object[k], property);
    } else if (additional !== undefined) {
      if (isNonNullableNull(object[k], additional) && additional.default !== undefined)
        object[k] = deepCopy(additional.default);
      defaultInPlace(object[k], additional);
    }
  }
}
