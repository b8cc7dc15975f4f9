/**
 * OpenAPI v3 value validation as kube-openapi's SchemaValidator does it, with its error conversion in
 * apiextensions-apiserver (`kubeOpenAPIResultToFieldErrors`).
 *
 * kube-openapi names a value by a dotted path (`spec.rules[0].name`); the API server turns that name into
 * the field path (leading dot trimmed) and keeps it verbatim inside messages (`spec.x in body should ...`).
 * Validators run in kube-openapi's order: type, anyOf/oneOf/allOf/not, string, format, number, array, enum,
 * object.
 */
import {
  invalid,
  notSupported,
  required,
  tooLong,
  tooMany,
  typeInvalid,
  type FieldError,
} from './field-errors.js';
import { isCheckedFormat, matchesFormat } from './formats.js';
import { goFloat, goNumber, goQuote, goJson } from './go-format.js';
import { additionalPropertiesOf, deepEqual, isObject, itemsOf, jsonTypeOf, type JsonObject } from './json.js';
import { child, nilPath, type FieldPath } from './path.js';
import { compileRe2 } from './regex.js';
import type { JSONSchemaProps } from './types.js';

/** The correlated value of the previous object, when ratcheting; `undefined` when there is none. */
export type Previous = { value: unknown } | undefined;

const IN = 'body';

export function validateOpenAPI(schema: JSONSchemaProps, data: unknown, previous: Previous): FieldError[] {
  return validateValue(schema, data, '', previous);
}

function validateValue(
  schema: JSONSchemaProps,
  data: unknown,
  name: string,
  previous: Previous,
): FieldError[] {
  // Ratcheting: a value equal to its previous self keeps whatever errors it already had.
  if (previous !== undefined && deepEqual(previous.value, data)) return [];
  if (data === null || data === undefined)
    return concat(typeErrors(schema, null, name), enumErrors(schema, null, name));
  let errs = concat(typeErrors(schema, data, name), junctorErrors(schema, data, name, previous));
  if (typeof data === 'string')
    errs = concat(errs, concat(stringErrors(schema, data, name), formatErrors(schema, data, name)));
  if (typeof data === 'number') errs = concat(errs, numberErrors(schema, data, name));
  if (Array.isArray(data)) errs = concat(errs, arrayErrors(schema, data, name));
  errs = concat(errs, enumErrors(schema, data, name));
  if (isObject(data)) errs = concat(errs, objectErrors(schema, data, name, previous));
  return errs;
}

/** `[...a, ...b]`, without copying when one side is empty (the usual case: no errors). */
function concat(a: FieldError[], b: FieldError[]): FieldError[] {
  if (b.length === 0) return a;
  if (a.length === 0) return b;
  return [...a, ...b];
}

/** The field path the API server derives from a kube-openapi name. */
function fieldOf(name: string): FieldPath {
  const trimmed = name.startsWith('.') ? name.slice(1) : name;
  return trimmed === '' ? nilPath : child(nilPath, trimmed);
}

function declaredTypes(schema: JSONSchemaProps): string[] {
  if (schema['x-kubernetes-int-or-string'] === true) return ['integer', 'string'];
  return schema.type !== undefined && schema.type !== '' ? [schema.type] : [];
}

/** apiextensions strips formats it does not support before validating. */
function effectiveFormat(schema: JSONSchemaProps): string {
  return schema.format !== undefined && isCheckedFormat(schema.format) ? schema.format : '';
}

/** errors.InvalidType converted with field.TypeInvalid. */
function invalidType(name: string, typeName: string, actual: string): FieldError {
  return typeInvalid(
    fieldOf(name),
    actual,
    `${name} in ${IN} must be of type ${typeName}: ${goQuote(actual)}`,
  );
}

function typeErrors(schema: JSONSchemaProps, data: unknown, name: string): FieldError[] {
  const types = declaredTypes(schema);
  if (types.length === 0) return [];
  if (data === null) return schema.nullable === true ? [] : [invalidType(name, types.join(','), 'null')];
  const actual = jsonTypeOf(data);
  const format = effectiveFormat(schema);
  const numeric = types.includes('integer') || types.includes('number');
  const accepted = types.includes(actual) || (actual === 'integer' && types.includes('number'));
  if (!numeric && format !== '' && (actual === 'string' || actual === 'array')) return [];
  if (format !== '' && actual !== 'string' && actual !== 'array' && !accepted) {
    return [invalidType(name, format, goDataFormat(actual))];
  }
  return accepted ? [] : [invalidType(name, types.join(','), actual)];
}

/** The format kube-openapi infers from a Go value: int64 for integers, float64 for other numbers. */
function goDataFormat(actual: string): string {
  if (actual === 'integer') return 'int64';
  return actual === 'number' ? 'float64' : '';
}

function stringErrors(schema: JSONSchemaProps, data: string, name: string): FieldError[] {
  const length = [...data].length;
  if (schema.maxLength !== undefined && length > schema.maxLength)
    return [tooLong(fieldOf(name), schema.maxLength)];
  if (schema.minLength !== undefined && length < schema.minLength) {
    return [
      invalid(fieldOf(name), data, `${name} in ${IN} should be at least ${schema.minLength} chars long`),
    ];
  }
  if (schema.pattern !== undefined && schema.pattern !== '') return patternErrors(schema.pattern, data, name);
  return [];
}

function patternErrors(pattern: string, data: string, name: string): FieldError[] {
  let re: RegExp;
  try {
    re = compileRe2(pattern);
  } catch (e) {
    const shown = `${pattern}, but pattern is invalid: ${(e as Error).message}`;
    return [invalid(fieldOf(name), data, `${name} in ${IN} should match '${shown}'`)];
  }
  re.lastIndex = 0;
  return re.test(data) ? [] : [invalid(fieldOf(name), data, `${name} in ${IN} should match '${pattern}'`)];
}

function formatErrors(schema: JSONSchemaProps, data: string, name: string): FieldError[] {
  const format = effectiveFormat(schema);
  if (format === '' || matchesFormat(format, data)) return [];
  return [typeInvalid(fieldOf(name), data, `${name} in ${IN} must be of type ${format}: ${goQuote(data)}`)];
}

function numberErrors(schema: JSONSchemaProps, data: number, name: string): FieldError[] {
  // kube-openapi compares int64 data against int64(bound) and float data against the float bound; the
  // bound is printed the same way.
  const isInt = Number.isInteger(data);
  const errs: FieldError[] = [];
  if (schema.multipleOf !== undefined && !isMultipleOf(data, schema.multipleOf)) {
    errs.push(
      invalid(
        fieldOf(name),
        data,
        `${name} in ${IN} should be a multiple of ${boundText(isInt, schema.multipleOf)}`,
      ),
    );
  }
  if (schema.maximum !== undefined) {
    const max = isInt ? Math.trunc(schema.maximum) : schema.maximum;
    const exclusive = schema.exclusiveMaximum === true;
    if (exclusive ? data >= max : data > max) {
      const relation = exclusive ? 'less than' : 'less than or equal to';
      errs.push(
        invalid(
          fieldOf(name),
          data,
          `${name} in ${IN} should be ${relation} ${boundText(isInt, schema.maximum)}`,
        ),
      );
    }
  }
  if (schema.minimum !== undefined) {
    const min = isInt ? Math.trunc(schema.minimum) : schema.minimum;
    const exclusive = schema.exclusiveMinimum === true;
    if (exclusive ? data <= min : data < min) {
      const relation = exclusive ? 'greater than' : 'greater than or equal to';
      errs.push(
        invalid(
          fieldOf(name),
          data,
          `${name} in ${IN} should be ${relation} ${boundText(isInt, schema.minimum)}`,
        ),
      );
    }
  }
  return errs;
}

function boundText(isInt: boolean, n: number): string {
  return isInt ? goNumber(Math.trunc(n)) : goFloat(n);
}

function isMultipleOf(data: number, factor: number): boolean {
  if (Number.isInteger(data) && Number.isInteger(factor) && factor > 0) return data % factor === 0;
  const quotient = factor < 1 ? (1 / factor) * data : data / factor;
  return Number.isInteger(quotient);
}

/** Items are not correlated with the previous list for ratcheting: only an unchanged whole list ratchets. */
function arrayErrors(schema: JSONSchemaProps, data: unknown[], name: string): FieldError[] {
  const items = itemsOf(schema);
  const errs =
    items === undefined
      ? []
      : data.flatMap((item, i) => validateValue(items, item, `${name}[${i}]`, undefined));
  if (schema.minItems !== undefined && data.length < schema.minItems) {
    errs.push(
      invalid(fieldOf(name), data.length, `${name} in ${IN} should have at least ${schema.minItems} items`),
    );
  }
  if (schema.maxItems !== undefined && data.length > schema.maxItems) {
    errs.push(tooMany(fieldOf(name), data.length, schema.maxItems));
  }
  if (schema.uniqueItems === true && data.some((v, i) => data.slice(0, i).some((u) => deepEqual(u, v)))) {
    errs.push(invalid(fieldOf(name), '', `${name} in ${IN} shouldn't contain duplicates`));
  }
  return errs;
}

function enumErrors(schema: JSONSchemaProps, data: unknown, name: string): FieldError[] {
  if (schema.enum === undefined || schema.enum.length === 0) return [];
  if (data !== null && schema.enum.some((allowed) => deepEqual(allowed, data))) return [];
  const values = schema.enum.map((v) => (typeof v === 'string' ? v : goJson(v)));
  return [notSupported(fieldOf(name), data, values)];
}

function objectErrors(
  schema: JSONSchemaProps,
  data: JsonObject,
  name: string,
  previous: Previous,
): FieldError[] {
  const size = Object.keys(data).length;
  if (schema.minProperties !== undefined && size < schema.minProperties) {
    return [
      invalid(
        fieldOf(name),
        size,
        `${name} in ${IN} should have at least ${schema.minProperties} properties`,
      ),
    ];
  }
  if (schema.maxProperties !== undefined && size > schema.maxProperties) {
    return [tooMany(fieldOf(name), size, schema.maxProperties)];
  }
  const oldObject = previous !== undefined && isObject(previous.value) ? previous.value : undefined;
  return concat(
    concat(unknownKeyErrors(schema, data, name, oldObject), propertyErrors(schema, data, name, oldObject)),
    requiredErrors(schema, data, name),
  );
}

/** The previous value of key `k`, when the previous object has one. */
function previousOf(oldObject: JsonObject | undefined, k: string): Previous {
  return oldObject !== undefined && Object.hasOwn(oldObject, k) ? { value: oldObject[k] } : undefined;
}

function unknownKeyErrors(
  schema: JSONSchemaProps,
  data: JsonObject,
  name: string,
  oldObject: JsonObject | undefined,
): FieldError[] {
  const declared = schema.properties ?? {};
  const unknownKeys = Object.keys(data).filter((k) => !Object.hasOwn(declared, k));
  if (schema.additionalProperties === false) {
    return unknownKeys.map((k) => invalid(fieldOf(name), k, `${name}.${k} in ${IN} is a forbidden property`));
  }
  const additional = additionalPropertiesOf(schema);
  if (additional === undefined) return [];
  return unknownKeys.flatMap((k) =>
    validateValue(additional, data[k], `${name}.${k}`, previousOf(oldObject, k)),
  );
}

function propertyErrors(
  schema: JSONSchemaProps,
  data: JsonObject,
  name: string,
  oldObject: JsonObject | undefined,
): FieldError[] {
  const properties = schema.properties;
  if (properties === undefined) return [];
  let errs: FieldError[] = [];
  for (const k of Object.keys(properties)) {
    if (!Object.hasOwn(data, k)) continue;
    const propSchema = properties[k]!;
    errs = concat(
      errs,
      validateValue(propSchema, data[k], name === '' ? k : `${name}.${k}`, previousOf(oldObject, k)),
    );
  }
  return errs;
}

function requiredErrors(schema: JSONSchemaProps, data: JsonObject, name: string): FieldError[] {
  return (schema.required ?? [])
    .filter((k) => !Object.hasOwn(data, k))
    .map((k) => required(fieldOf(`${name}.${k}`)));
}

/**
 * allOf/anyOf/oneOf/not. kube-openapi reports these as untyped errors, which the API server files under
 * the nil path with an empty value, next to the errors of the closest failing alternative.
 */
function junctorErrors(
  schema: JSONSchemaProps,
  data: unknown,
  name: string,
  previous: Previous,
): FieldError[] {
  if (
    schema.anyOf === undefined &&
    schema.oneOf === undefined &&
    schema.allOf === undefined &&
    schema.not === undefined
  )
    return [];
  const errs: FieldError[] = [];
  if (schema.anyOf !== undefined && schema.anyOf.length > 0) {
    const results = schema.anyOf.map((s) => validateValue(s, data, name, previous));
    if (!results.some((r) => r.length === 0)) {
      errs.push(
        composite(`${goQuote(name)} must validate at least one schema (anyOf)`),
        ...closestFailure(results),
      );
    }
  }
  if (schema.oneOf !== undefined && schema.oneOf.length > 0) {
    const results = schema.oneOf.map((s) => validateValue(s, data, name, previous));
    const valid = results.filter((r) => r.length === 0).length;
    if (valid !== 1) {
      const detail = valid === 0 ? 'Found none valid' : `Found ${valid} valid alternatives`;
      errs.push(composite(`${goQuote(name)} must validate one and only one schema (oneOf). ${detail}`));
      if (valid === 0) errs.push(...closestFailure(results));
    }
  }
  if (schema.allOf !== undefined && schema.allOf.length > 0) {
    const results = schema.allOf.map((s) => validateValue(s, data, name, previous));
    const valid = results.filter((r) => r.length === 0).length;
    errs.push(...results.flat());
    if (valid !== results.length) {
      errs.push(
        composite(
          `${goQuote(name)} must validate all the schemas (allOf)${valid === 0 ? '. None validated' : ''}`,
        ),
      );
    }
  }
  if (schema.not !== undefined && validateValue(schema.not, data, name, undefined).length === 0) {
    errs.push(composite(`${goQuote(name)} must not validate the schema (not)`));
  }
  return errs;
}

function composite(message: string): FieldError {
  return invalid(nilPath, '', message);
}

/** kube-openapi keeps the errors of the alternative that matched best; fewest errors approximates that. */
function closestFailure(results: FieldError[][]): FieldError[] {
  return results.reduce((best, r) => (r.length < best.length ? r : best));
}
