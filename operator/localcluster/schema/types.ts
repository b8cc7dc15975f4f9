/**
 * Public types of the schema package: the apiextensions.k8s.io/v1 JSONSchemaProps subset this package
 * reads, and the causes it reports the way a kube-apiserver v1.Status does.
 */

export type CauseReason =
  | 'FieldValueInvalid'
  | 'FieldValueRequired'
  | 'FieldValueNotSupported'
  | 'FieldValueDuplicate'
  | 'FieldValueTooLong'
  | 'FieldValueTooMany'
  | 'FieldValueForbidden'
  | 'FieldValueTypeInvalid';

/** One entry of `status.details.causes` of a 422 Invalid response. */
export interface Cause {
  reason: CauseReason;
  field: string;
  message: string;
}

export interface ValidationRule {
  rule: string;
  message?: string;
  messageExpression?: string;
  reason?: string;
  fieldPath?: string;
  optionalOldSelf?: boolean;
}

/** The parts of apiextensions.k8s.io/v1 JSONSchemaProps that influence serving. */
export interface JSONSchemaProps {
  type?: string;
  format?: string;
  description?: string;
  title?: string;
  nullable?: boolean;
  default?: unknown;
  enum?: unknown[];
  maximum?: number;
  exclusiveMaximum?: boolean;
  minimum?: number;
  exclusiveMinimum?: boolean;
  multipleOf?: number;
  maxLength?: number;
  minLength?: number;
  pattern?: string;
  maxItems?: number;
  minItems?: number;
  uniqueItems?: boolean;
  maxProperties?: number;
  minProperties?: number;
  required?: string[];
  properties?: Record<string, JSONSchemaProps>;
  additionalProperties?: JSONSchemaProps | boolean;
  items?: JSONSchemaProps | JSONSchemaProps[];
  allOf?: JSONSchemaProps[];
  anyOf?: JSONSchemaProps[];
  oneOf?: JSONSchemaProps[];
  not?: JSONSchemaProps;
  $ref?: string;
  id?: string;
  definitions?: Record<string, JSONSchemaProps>;
  patternProperties?: Record<string, JSONSchemaProps>;
  dependencies?: Record<string, unknown>;
  additionalItems?: unknown;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: string;
  'x-kubernetes-validations'?: ValidationRule[];
}

/**
 * How composite values are rendered inside messages. Kubernetes changed this upstream (after v1.32):
 * - `classic`: Go `%#v` (`map[string]interface {}{"name":"a"}`), a CEL rule failure shows the schema
 *   type name (`Invalid value: "object"`), a nil value shows as `"null"`.
 * - `latest`: JSON (`{"name":"a"}`), a CEL rule failure shows the offending scalar (`Invalid value: "abc"`)
 *   and omits objects and arrays, a nil value shows as `null`.
 */
export type ValueRendering = 'classic' | 'latest';

export interface CompileOptions {
  /** The schema is the root of a resource (keeps apiVersion/kind/metadata like the API server). Default true. */
  isResourceRoot?: boolean;
  /** Default `classic`. */
  valueRendering?: ValueRendering;
  /**
   * CRDValidationRatcheting (on by default since Kubernetes 1.30): on update, errors in parts of the object
   * that did not change are dropped. Default true.
   */
  ratcheting?: boolean;
}

/** A CEL rule (or messageExpression) that this evaluator cannot run; validation skips it. */
export interface SkippedRule {
  /** Where the rule sits, e.g. `openAPIV3Schema.properties[spec].x-kubernetes-validations[0]`. */
  location: string;
  expression: string;
  reason: string;
}

export interface CompiledSchema {
  /** Drops fields the schema does not know, like the API server's structural pruning. Returns a new value. */
  prune(obj: unknown): unknown;
  /** The paths `prune` would drop, as the API server reports them (`unknown field "spec.foo"`). */
  unknownFields(obj: unknown): string[];
  /** Structural defaulting (including dropping non-nullable nulls without default). Returns a new value. */
  applyDefaults(obj: unknown): unknown;
  /** OpenAPI validation, list-type uniqueness and CEL rules; `old` turns on transition rules and ratcheting. */
  validate(obj: unknown, old?: unknown): Cause[];
  /** Rules that were not compiled, with the reason; they are never evaluated. */
  readonly skippedRules: readonly SkippedRule[];
  /** Number of CEL rules that compiled and are evaluated. */
  readonly ruleCount: number;
}
