/**
 * Structural pruning (apiextensions-apiserver `pruning.PruneWithOptions`): fields the schema does not
 * specify are dropped, except under `x-kubernetes-preserve-unknown-fields`, and `apiVersion`, `kind` and
 * `metadata` of a resource (the root, or an `x-kubernetes-embedded-resource`) are kept. Metadata itself is
 * reduced to ObjectMeta's fields, as the API server's ObjectMeta round trip does.
 */
import { additionalPropertiesOf, isObject, itemsOf, propertyOf, type JsonObject } from './json.js';
import type { JSONSchemaProps } from './types.js';

const META_FIELDS = new Set(['apiVersion', 'kind', 'metadata']);

const OBJECT_META_FIELDS = new Set([
  'name',
  'generateName',
  'namespace',
  'selfLink',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'labels',
  'annotations',
  'ownerReferences',
  'finalizers',
  'managedFields',
]);

export interface PruneResult {
  value: unknown;
  /** Dropped paths, `spec.foo` / `spec.items[0].bar`, sorted. */
  unknownFields: string[];
}

export function prune(value: unknown, schema: JSONSchemaProps, isResourceRoot: boolean): PruneResult {
  const root = isResourceRoot ? { ...schema, 'x-kubernetes-embedded-resource': true } : schema;
  const pruner = new Pruner();
  const pruned = pruner.prune(value, root, '');
  return { value: pruned, unknownFields: pruner.unknownFields.sort() };
}

class Pruner {
  readonly unknownFields: string[] = [];

  /** `schema` undefined means "no schema here": every object key below is unknown. */
  prune(value: unknown, schema: JSONSchemaProps | undefined, path: string): unknown {
    if (schema?.['x-kubernetes-preserve-unknown-fields'] === true)
      return this.pruneInsidePreserved(value, schema, path);
    if (Array.isArray(value)) {
      const items = schema === undefined ? undefined : itemsOf(schema);
      return value.map((item, i) => this.prune(item, items, `${path}[${i}]`));
    }
    if (!isObject(value)) return value;
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(value)) {
      const keyPath = joinKey(path, k);
      if (schema?.['x-kubernetes-embedded-resource'] === true && isResourceMetaField(k, v)) {
        out[k] = k === 'metadata' ? this.pruneObjectMeta(v as JsonObject, keyPath) : v;
      } else if (schema !== undefined && propertyOf(schema, k) !== undefined) {
        out[k] = this.prune(v, propertyOf(schema, k), keyPath);
      } else if (schema?.additionalProperties !== undefined && schema.additionalProperties !== false) {
        // `additionalProperties: true` keeps the key but gives no schema for what is inside it.
        out[k] = this.prune(v, additionalPropertiesOf(schema), keyPath);
      } else {
        this.unknownFields.push(keyPath);
      }
    }
    return out;
  }

  /** Unknown fields stay, but known properties (and additionalProperties) below are still pruned. */
  private pruneInsidePreserved(value: unknown, schema: JSONSchemaProps, path: string): unknown {
    if (Array.isArray(value)) {
      const items = itemsOf(schema);
      const list: unknown[] = value;
      return list.map((item, i) =>
        items === undefined ? item : this.pruneInsidePreserved(item, items, `${path}[${i}]`),
      );
    }
    if (!isObject(value)) return value;
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(value)) {
      const property = propertyOf(schema, k);
      if (schema['x-kubernetes-embedded-resource'] === true && META_FIELDS.has(k)) out[k] = v;
      else if (property !== undefined) out[k] = this.prune(v, property, joinKey(path, k));
      else if (schema.additionalProperties !== undefined && schema.additionalProperties !== false) {
        out[k] = this.prune(v, additionalPropertiesOf(schema), joinKey(path, k));
      } else out[k] = v;
    }
    return out;
  }

  private pruneObjectMeta(metadata: JsonObject, path: string): JsonObject {
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(metadata)) {
      if (OBJECT_META_FIELDS.has(k)) out[k] = v;
      else this.unknownFields.push(joinKey(path, k));
    }
    return out;
  }
}

/** apiVersion/kind are kept when strings, metadata when an object; anything else is pruned normally. */
function isResourceMetaField(key: string, value: unknown): boolean {
  if (key === 'apiVersion' || key === 'kind') return typeof value === 'string';
  return key === 'metadata' && isObject(value);
}

function joinKey(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}
