/**
 * compileSchema: everything the API server does with a CRD version's openAPIV3Schema when serving custom
 * resources, in the order its registry strategy does it.
 */
import { compileRules } from './cel/compile.js';
import { validateRules } from './cel/validate.js';
import { applyDefaults } from './defaults.js';
import { invalid, toCause, type FieldError } from './field-errors.js';
import { validateListTypes } from './listtype.js';
import { validateOpenAPI, type Previous } from './openapi.js';
import { nilPath } from './path.js';
import { prune } from './prune.js';
import type { Cause, CauseReason, CompileOptions, CompiledSchema, JSONSchemaProps } from './types.js';

/** Schema errors after which CEL rules are not evaluated (registry `hasBlockingErr`). */
const BLOCKING = new Set<CauseReason>([
  'FieldValueNotSupported',
  'FieldValueRequired',
  'FieldValueTooLong',
  'FieldValueTooMany',
  'FieldValueTypeInvalid',
]);

export function compileSchema(openAPIV3Schema: object, options: CompileOptions = {}): CompiledSchema {
  const schema = openAPIV3Schema as JSONSchemaProps;
  const isResourceRoot = options.isResourceRoot ?? true;
  const rendering = options.valueRendering ?? 'classic';
  const ratcheting = options.ratcheting ?? true;
  const rules = compileRules(schema);

  function validate(obj: unknown, old?: unknown): Cause[] {
    const previous: Previous = old === undefined ? undefined : { value: old };
    const errs = [
      ...validateOpenAPI(schema, obj, ratcheting ? previous : undefined),
      ...listTypeErrors(schema, obj, old),
    ];
    errs.push(...ruleErrors(errs, obj, previous));
    return errs.map((e) => toCause(e, rendering));
  }

  function ruleErrors(schemaErrors: readonly FieldError[], obj: unknown, previous: Previous): FieldError[] {
    // Only a schema with rules has a CEL validator, and only that one says when it could not run.
    if (rules.declared === 0) return [];
    if (schemaErrors.some((e) => BLOCKING.has(e.type))) return [rulesNotChecked()];
    return validateRules(rules, schema, obj, previous, { rendering, ratcheting, isResourceRoot });
  }

  return {
    prune: (obj) => prune(obj, schema, isResourceRoot).value,
    unknownFields: (obj) => prune(obj, schema, isResourceRoot).unknownFields,
    applyDefaults: (obj) => applyDefaults(obj, schema),
    validate,
    skippedRules: rules.skipped,
    ruleCount: rules.count,
  };
}

function rulesNotChecked(): FieldError {
  const detail =
    'some validation rules were not checked because the object was invalid; correct the existing errors to complete validation';
  return invalid(nilPath, null, detail);
}

/** On update, list uniqueness is only enforced if the previous object already satisfied it. */
function listTypeErrors(schema: JSONSchemaProps, obj: unknown, old: unknown): FieldError[] {
  if (old !== undefined && validateListTypes(schema, old).length > 0) return [];
  return validateListTypes(schema, obj);
}
