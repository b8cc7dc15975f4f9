/**
 * Why a CRD schema is not accepted as structural, in the API server's words (apiextensions-apiserver
 * `schema.ValidateStructural` plus the OpenAPI checks of `ValidateCustomResourceDefinitionOpenAPISchema`
 * and defaults validation). Messages read like the CRD's `NonStructuralSchema` condition, relative to a
 * prefix that defaults to `openAPIV3Schema`.
 */
import { errorBody, forbidden, invalid, notSupported, required, type FieldError } from './field-errors.js';
import { deepEqual, isObject, itemsOf } from './json.js';
import { validateOpenAPI } from './openapi.js';
import { child, index, key, renderPath, type FieldPath } from './path.js';
import { prune } from './prune.js';
import { compileRe2 } from './regex.js';
import type { JSONSchemaProps } from './types.js';

type Level = 'root' | 'item' | 'field';

const OPENAPI_TYPES = ['array', 'boolean', 'integer', 'number', 'object', 'string'];
const LIST_TYPES = ['atomic', 'set', 'map'];
const MAP_TYPES = ['atomic', 'granular'];

export function structuralErrors(schema: object, prefix = 'openAPIV3Schema'): string[] {
  const root = schema as JSONSchemaProps;
  const path: FieldPath = prefix;
  const structural = [...invariants(root, 'root', path), ...completeness(root, path)].map(render).sort();
  const defaults = structural.length === 0 ? defaultErrors(root, path, true).map(render) : [];
  const openapi = openAPISchemaErrors(root, path, true).map(render);
  return [...structural, ...defaults, ...openapi];
}

function render(err: FieldError): string {
  return `${renderPath(err.field)}: ${errorBody(err, 'classic')}`;
}

// ---- schema.ValidateStructural: invariants ----

function invariants(s: JSONSchemaProps, level: Level, path: FieldPath): FieldError[] {
  const errs: FieldError[] = [];
  if (s.type === 'array' && s.items === undefined)
    errs.push(required(child(path, 'items'), 'must be specified'));
  const items = itemsOf(s);
  if (items !== undefined) errs.push(...invariants(items, 'item', child(path, 'items')));
  for (const [k, v] of Object.entries(s.properties ?? {}))
    errs.push(...invariants(v, 'field', key(child(path, 'properties'), k)));
  errs.push(...genericErrors(s, level, path), ...extensionErrors(s, path));
  errs.push(...valueValidationErrors(s, isIntOrStringAnyOf(s), isIntOrStringAllOf(s), level, path));
  errs.push(...typeErrors(s, level, path), ...resourceMetaErrors(s, level, path));
  if (
    s['x-kubernetes-embedded-resource'] === true &&
    s['x-kubernetes-preserve-unknown-fields'] !== true &&
    Object.keys(s.properties ?? {}).length === 0
  ) {
    errs.push(
      required(
        child(path, 'properties'),
        'must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields',
      ),
    );
  }
  return errs;
}

function genericErrors(s: JSONSchemaProps, level: Level, path: FieldPath): FieldError[] {
  if (s.additionalProperties === undefined) return [];
  const errs: FieldError[] = [];
  if (level === 'root')
    errs.push(forbidden(child(path, 'additionalProperties'), 'must not be used at the root'));
  if (isObject(s.additionalProperties))
    errs.push(...invariants(s.additionalProperties, 'field', child(path, 'additionalProperties')));
  return errs;
}

function extensionErrors(s: JSONSchemaProps, path: FieldPath): FieldError[] {
  if (s['x-kubernetes-int-or-string'] !== true) return [];
  const errs: FieldError[] = [];
  if (s['x-kubernetes-preserve-unknown-fields'] === true) {
    errs.push(
      invalid(
        child(path, 'x-kubernetes-preserve-unknown-fields'),
        true,
        'must be false if x-kubernetes-int-or-string is true',
      ),
    );
  }
  if (s['x-kubernetes-embedded-resource'] === true) {
    errs.push(
      invalid(
        child(path, 'x-kubernetes-embedded-resource'),
        true,
        'must be false if x-kubernetes-int-or-string is true',
      ),
    );
  }
  return errs;
}

function typeErrors(s: JSONSchemaProps, level: Level, path: FieldPath): FieldError[] {
  const type = s.type ?? '';
  const typePath = child(path, 'type');
  const errs: FieldError[] = [];
  if (s['x-kubernetes-embedded-resource'] === true && type !== 'object') {
    const detail = 'must be object if x-kubernetes-embedded-resource is true';
    errs.push(type === '' ? required(typePath, detail) : invalid(typePath, type, detail));
  } else if (
    type === '' &&
    s['x-kubernetes-int-or-string'] !== true &&
    s['x-kubernetes-preserve-unknown-fields'] !== true
  ) {
    const where = {
      root: 'at the root',
      item: 'for specified array items',
      field: 'for specified object fields',
    }[level];
    errs.push(required(typePath, `must not be empty ${where}`));
  }
  if (s['x-kubernetes-embedded-resource'] === true && s.additionalProperties !== undefined) {
    errs.push(
      forbidden(
        child(path, 'additionalProperties'),
        'must not be used if x-kubernetes-embedded-resource is set',
      ),
    );
  }
  if (level === 'root' && type !== '' && type !== 'object')
    errs.push(invalid(typePath, type, 'must be object at the root'));
  return errs;
}

/** apiVersion/kind/metadata of a resource, and the root metadata, which may only restrict name and generateName. */
function resourceMetaErrors(s: JSONSchemaProps, level: Level, path: FieldPath): FieldError[] {
  if (level !== 'root' && s['x-kubernetes-embedded-resource'] !== true) return [];
  const errs: FieldError[] = [];
  const properties = child(path, 'properties');
  const expected: [string, string, string][] = [
    ['kind', 'string', 'must be string'],
    ['apiVersion', 'string', 'must be string'],
    ['metadata', 'object', 'must be object'],
  ];
  for (const [name, type, detail] of expected) {
    const property = s.properties?.[name];
    if (property !== undefined && (property.type ?? '') !== type)
      errs.push(invalid(child(key(properties, name), 'type'), property.type ?? '', detail));
  }
  const metadata = s.properties?.metadata;
  if (level === 'root' && metadata !== undefined && !restrictsOnlyNames(metadata)) {
    errs.push(
      forbidden(
        key(properties, 'metadata'),
        'must not specify anything other than name and generateName, but metadata is implicitly specified',
      ),
    );
  }
  return errs;
}

function restrictsOnlyNames(metadata: JSONSchemaProps): boolean {
  const names = Object.keys(metadata.properties ?? {});
  const onlyNames = names.length <= 2 && names.every((n) => n === 'name' || n === 'generateName');
  const rest = Object.keys(metadata).filter(
    (k) => k !== 'type' && k !== 'default' && !(k === 'properties' && onlyNames),
  );
  return rest.length === 0;
}

function isIntOrStringAnyOf(s: JSONSchemaProps): boolean {
  return isIntOrStringPair(s.anyOf);
}

function isIntOrStringAllOf(s: JSONSchemaProps): boolean {
  return isIntOrStringPair(s.allOf?.[0]?.anyOf);
}

function isIntOrStringPair(anyOf: JSONSchemaProps[] | undefined): boolean {
  return anyOf?.length === 2 && deepEqual(anyOf, [{ type: 'integer' }, { type: 'string' }]);
}

function valueValidationErrors(
  v: JSONSchemaProps,
  skipAnyOf: boolean,
  skipFirstAllOfAnyOf: boolean,
  level: Level,
  path: FieldPath,
): FieldError[] {
  const junctor = (
    name: 'anyOf' | 'allOf' | 'oneOf',
    skipNestedAnyOf: (i: number) => boolean,
  ): FieldError[] =>
    (v[name] ?? []).flatMap((n, i) =>
      nestedErrors(n, skipNestedAnyOf(i), level, index(child(path, name), i)),
    );
  const errs = [
    ...(skipAnyOf ? [] : junctor('anyOf', () => false)),
    ...junctor('allOf', (i) => skipFirstAllOfAnyOf && i === 0),
    ...junctor('oneOf', () => false),
  ];
  if (v.not !== undefined) errs.push(...nestedErrors(v.not, false, level, child(path, 'not')));
  if (v.pattern !== undefined && v.pattern !== '') {
    try {
      compileRe2(v.pattern);
    } catch (e) {
      errs.push(
        invalid(
          child(path, 'pattern'),
          v.pattern,
          `must be a valid regular expression, but isn't: ${(e as Error).message}`,
        ),
      );
    }
  }
  return errs;
}

const isSet = (v: unknown): boolean => v !== undefined;
const isTrue = (v: unknown): boolean => v === true;
const isNonEmpty = (v: unknown): boolean => (typeof v === 'string' || Array.isArray(v)) && v.length > 0;

/** What only the structural part of a schema may say, and how the API server objects to it inside a junctor. */
const FORBIDDEN_IN_JUNCTORS: [keyof JSONSchemaProps, (v: unknown) => boolean, string][] = [
  ['type', isNonEmpty, 'must be empty'],
  ['additionalProperties', isSet, 'must be undefined'],
  ['default', isSet, 'must be undefined'],
  ['title', isNonEmpty, 'must be empty'],
  ['description', isNonEmpty, 'must be empty'],
  ['nullable', isTrue, 'must be false'],
  ['x-kubernetes-preserve-unknown-fields', isTrue, 'must be false'],
  ['x-kubernetes-embedded-resource', isTrue, 'must be false'],
  ['x-kubernetes-int-or-string', isTrue, 'must be false'],
  ['x-kubernetes-list-map-keys', isNonEmpty, 'must be empty'],
  ['x-kubernetes-list-type', isSet, 'must be undefined'],
];

/** Inside anyOf/allOf/oneOf/not only value validations are allowed. */
function nestedErrors(v: JSONSchemaProps, skipAnyOf: boolean, level: Level, path: FieldPath): FieldError[] {
  const items = itemsOf(v);
  const properties = child(path, 'properties');
  return [
    ...valueValidationErrors(v, skipAnyOf, false, level, path),
    ...(items === undefined ? [] : nestedErrors(items, false, level, child(path, 'items'))),
    ...Object.entries(v.properties ?? {}).flatMap(([k, p]) =>
      nestedErrors(p, false, 'field', key(properties, k)),
    ),
    ...FORBIDDEN_IN_JUNCTORS.filter(([keyword, used]) => used(v[keyword])).map(([keyword, , detail]) =>
      forbidden(child(path, keyword), `${detail} to be structural`),
    ),
    // reasoning about metadata in a junctor could restrict it in ways the API server does not allow
    ...(v.properties?.metadata === undefined
      ? []
      : [forbidden(key(properties, 'metadata'), 'must not be specified in a nested context')]),
  ];
}

// ---- schema.ValidateStructural: completeness (root value validations only, as upstream) ----

function completeness(s: JSONSchemaProps, path: FieldPath): FieldError[] {
  return junctorCompleteness(s, s, path, path);
}

/** Every field a junctor of `v` mentions must also exist in the structural node `s`. */
function junctorCompleteness(
  v: JSONSchemaProps,
  s: JSONSchemaProps,
  sPath: FieldPath,
  vPath: FieldPath,
): FieldError[] {
  const nested: [JSONSchemaProps, FieldPath][] = [
    ...(v.not === undefined ? [] : [[v.not, child(vPath, 'not')] as [JSONSchemaProps, FieldPath]]),
    ...(v.allOf ?? []).map((n, i): [JSONSchemaProps, FieldPath] => [n, index(child(vPath, 'allOf'), i)]),
    ...(v.anyOf ?? []).map((n, i): [JSONSchemaProps, FieldPath] => [n, index(child(vPath, 'anyOf'), i)]),
    ...(v.oneOf ?? []).map((n, i): [JSONSchemaProps, FieldPath] => [n, index(child(vPath, 'oneOf'), i)]),
  ];
  return nested.flatMap(([n, path]) => nestedCompleteness(n, s, sPath, path));
}

function nestedCompleteness(
  v: JSONSchemaProps,
  s: JSONSchemaProps | undefined,
  sPath: FieldPath,
  vPath: FieldPath,
): FieldError[] {
  if (s === undefined) return [required(sPath, `because it is defined in ${renderPath(vPath)}`)];
  const errs = junctorCompleteness(v, s, sPath, vPath);
  const vItems = itemsOf(v);
  if (vItems !== undefined)
    errs.push(...nestedCompleteness(vItems, itemsOf(s), child(sPath, 'items'), child(vPath, 'items')));
  for (const [k, vField] of Object.entries(v.properties ?? {})) {
    const sField = s.properties?.[k];
    const sFieldPath = key(child(sPath, 'properties'), k);
    const vFieldPath = key(child(vPath, 'properties'), k);
    if (sField === undefined)
      errs.push(required(sFieldPath, `because it is defined in ${renderPath(vFieldPath)}`));
    else errs.push(...nestedCompleteness(vField, sField, sFieldPath, vFieldPath));
  }
  return errs;
}

// ---- structuraldefaulting.ValidateDefaults ----

function defaultErrors(s: JSONSchemaProps, path: FieldPath, isRoot: boolean): FieldError[] {
  const errs: FieldError[] = [];
  if (s.default !== undefined) errs.push(...defaultValueErrors(s, child(path, 'default')));
  for (const [k, v] of Object.entries(s.properties ?? {})) {
    if (isRoot && k === 'metadata') continue; // defaults under metadata are rejected elsewhere
    errs.push(...defaultErrors(v, key(child(path, 'properties'), k), false));
  }
  if (isObject(s.additionalProperties))
    errs.push(...defaultErrors(s.additionalProperties, child(path, 'additionalProperties'), false));
  const items = itemsOf(s);
  if (items !== undefined) errs.push(...defaultErrors(items, child(path, 'items'), false));
  return errs;
}

function defaultValueErrors(s: JSONSchemaProps, path: FieldPath): FieldError[] {
  const errs = validateOpenAPI(s, s.default, undefined).map((e) => ({
    ...e,
    field: prefixed(path, e.field),
  }));
  const pruned = prune(s.default, s, s['x-kubernetes-embedded-resource'] === true).value;
  if (!deepEqual(pruned, s.default)) errs.push(invalid(path, s.default, 'must not have unknown fields'));
  return errs;
}

function prefixed(prefix: FieldPath, field: FieldPath): FieldPath {
  if (field === null) return prefix;
  return field.startsWith('[') ? `${renderPath(prefix)}${field}` : child(prefix, field);
}

// ---- ValidateCustomResourceDefinitionOpenAPISchema ----

function openAPISchemaErrors(
  s: JSONSchemaProps,
  path: FieldPath,
  isRoot: boolean,
  insideMeta = false,
): FieldError[] {
  const errs = [...unsupportedKeywordErrors(s, path, isRoot, insideMeta), ...extensionUsageErrors(s, path)];
  if (s.additionalProperties !== undefined) {
    const withProperties = Object.keys(s.properties ?? {}).length > 0;
    if (withProperties && (s.additionalProperties === false || isObject(s.additionalProperties))) {
      errs.push(
        forbidden(
          child(path, 'additionalProperties'),
          'additionalProperties and properties are mutual exclusive',
        ),
      );
    } else if (s.additionalProperties === false) {
      errs.push(
        forbidden(child(path, 'additionalProperties'), 'additionalProperties cannot be set to false'),
      );
    }
    if (isObject(s.additionalProperties))
      errs.push(
        ...openAPISchemaErrors(
          s.additionalProperties,
          child(path, 'additionalProperties'),
          false,
          insideMeta,
        ),
      );
  }
  for (const [k, v] of Object.entries(s.properties ?? {})) {
    const meta =
      insideMeta ||
      ((isRoot || s['x-kubernetes-embedded-resource'] === true) &&
        ['metadata', 'kind', 'apiVersion'].includes(k));
    errs.push(...openAPISchemaErrors(v, key(child(path, 'properties'), k), false, meta));
    if (isRoot && ['metadata', 'kind', 'apiVersion'].includes(k) && v.default !== undefined) {
      errs.push(
        forbidden(child(key(child(path, 'properties'), k), 'default'), `must not be set in top-level ${k}`),
      );
    }
  }
  if (s.not !== undefined) errs.push(...openAPISchemaErrors(s.not, child(path, 'not'), false, insideMeta));
  for (const junctor of ['allOf', 'oneOf', 'anyOf'] as const) {
    (s[junctor] ?? []).forEach((v, i) =>
      errs.push(...openAPISchemaErrors(v, index(child(path, junctor), i), false, insideMeta)),
    );
  }
  const items = itemsOf(s);
  if (items !== undefined) errs.push(...openAPISchemaErrors(items, child(path, 'items'), false, insideMeta));
  return errs;
}

function unsupportedKeywordErrors(
  s: JSONSchemaProps,
  path: FieldPath,
  isRoot: boolean,
  insideMeta: boolean,
): FieldError[] {
  const errs: FieldError[] = [];
  if (s.type !== undefined && s.type !== '' && s.type !== 'null' && !OPENAPI_TYPES.includes(s.type)) {
    errs.push(notSupported(child(path, 'type'), s.type, OPENAPI_TYPES));
  }
  const unsupported: [keyof JSONSchemaProps, string][] = [
    ['id', 'id is not supported'],
    ['additionalItems', 'additionalItems is not supported'],
    ['patternProperties', 'patternProperties is not supported'],
    ['definitions', 'definitions is not supported'],
    ['dependencies', 'dependencies is not supported'],
    ['$ref', '$ref is not supported'],
  ];
  for (const [keyword, detail] of unsupported)
    if (s[keyword] !== undefined) errs.push(forbidden(child(path, keyword), detail));
  if (s.type === 'null')
    errs.push(forbidden(child(path, 'type'), 'type cannot be set to null, use nullable as an alternative'));
  if (Array.isArray(s.items))
    errs.push(forbidden(child(path, 'items'), 'items must be a schema object and not an array'));
  if (insideMeta && s['x-kubernetes-embedded-resource'] === true) {
    errs.push(
      forbidden(child(path, 'x-kubernetes-embedded-resource'), 'must not be used inside of resource meta'),
    );
  }
  if (s.uniqueItems === true) {
    errs.push(
      forbidden(
        child(path, 'uniqueItems'),
        'uniqueItems cannot be set to true since the runtime complexity becomes quadratic',
      ),
    );
  }
  if (isRoot && s.nullable === true)
    errs.push(forbidden(child(path, 'nullable'), 'nullable cannot be true at the root'));
  return errs;
}

function extensionUsageErrors(s: JSONSchemaProps, path: FieldPath): FieldError[] {
  const errs: FieldError[] = [];
  const type = s.type ?? '';
  if (s['x-kubernetes-preserve-unknown-fields'] === false) {
    errs.push(
      invalid(child(path, 'x-kubernetes-preserve-unknown-fields'), false, 'must be true or undefined'),
    );
  }
  const mapType = s['x-kubernetes-map-type'];
  if (mapType !== undefined && type !== 'object') {
    const detail = 'must be object if x-kubernetes-map-type is specified';
    errs.push(
      type === '' ? required(child(path, 'type'), detail) : invalid(child(path, 'type'), type, detail),
    );
  }
  if (mapType !== undefined && !MAP_TYPES.includes(mapType))
    errs.push(notSupported(child(path, 'x-kubernetes-map-type'), mapType, MAP_TYPES));
  const listType = s['x-kubernetes-list-type'];
  if (listType !== undefined && type !== 'array') {
    const detail = 'must be array if x-kubernetes-list-type is specified';
    errs.push(
      type === '' ? required(child(path, 'type'), detail) : invalid(child(path, 'type'), type, detail),
    );
  }
  if (listType !== undefined && !LIST_TYPES.includes(listType))
    errs.push(notSupported(child(path, 'x-kubernetes-list-type'), listType, LIST_TYPES));
  errs.push(...listMapKeyErrors(s, path));
  return errs;
}

function listMapKeyErrors(s: JSONSchemaProps, path: FieldPath): FieldError[] {
  const errs: FieldError[] = [];
  const listType = s['x-kubernetes-list-type'];
  const keys = s['x-kubernetes-list-map-keys'] ?? [];
  if (keys.length > 0 && listType === undefined) {
    errs.push(
      required(
        child(path, 'x-kubernetes-list-type'),
        'must be map if x-kubernetes-list-map-keys is non-empty',
      ),
    );
  } else if (keys.length > 0 && listType !== 'map') {
    errs.push(
      invalid(
        child(path, 'x-kubernetes-list-type'),
        listType,
        'must be map if x-kubernetes-list-map-keys is non-empty',
      ),
    );
  }
  if (listType !== 'map') return errs;
  if (keys.length === 0)
    errs.push(
      required(
        child(path, 'x-kubernetes-list-map-keys'),
        'must not be empty if x-kubernetes-list-type is map',
      ),
    );
  const items = itemsOf(s);
  if (items === undefined)
    return [...errs, required(child(path, 'items'), 'must have a schema if x-kubernetes-list-type is map')];
  if (items.type !== 'object') {
    return [
      ...errs,
      invalid(
        child(child(path, 'items'), 'type'),
        items.type ?? '',
        "must be object if parent array's x-kubernetes-list-type is map",
      ),
    ];
  }
  for (const k of keys) {
    const keySchema = items.properties?.[k];
    if (keySchema === undefined) {
      errs.push(
        invalid(
          child(path, 'x-kubernetes-list-map-keys'),
          keys,
          'entries must all be names of item properties',
        ),
      );
    } else if (keySchema.type === 'array' || keySchema.type === 'object') {
      errs.push(
        invalid(
          child(key(child(child(path, 'items'), 'properties'), k), 'type'),
          items.type,
          "must be a scalar type if parent array's x-kubernetes-list-type is map",
        ),
      );
    }
  }
  if (new Set(keys).size !== keys.length)
    errs.push(invalid(child(path, 'x-kubernetes-list-map-keys'), keys, 'must not contain duplicate entries'));
  return errs;
}
