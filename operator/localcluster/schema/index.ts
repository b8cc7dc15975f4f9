/**
 * CustomResourceDefinition openAPIV3Schema handling as kube-apiserver does it: pruning, defaulting,
 * OpenAPI + list-type + CEL validation with the API server's field paths and messages, and the structural
 * schema check. Pure: no I/O.
 */
import { aggregateMessage } from './field-errors.js';
import { goQuote } from './go-format.js';
import type { Cause } from './types.js';

export { compileSchema } from './compile.js';
export { structuralErrors } from './structural.js';
export type {
  Cause,
  CauseReason,
  CompileOptions,
  CompiledSchema,
  JSONSchemaProps,
  SkippedRule,
  ValidationRule,
  ValueRendering,
} from './types.js';

/**
 * The message of the 422 v1.Status for `causes`:
 * `TrafficSplit.mesh.meshwright.io "x" is invalid: [spec.a: Invalid value: ..., spec.b: Required value]`.
 * `qualifiedKind` is `Kind.group` (just `Kind` for the core group).
 */
export function formatInvalid(qualifiedKind: string, name: string, causes: readonly Cause[]): string {
  const head = `${qualifiedKind} ${goQuote(name)} is invalid`;
  if (causes.length === 0) return head;
  return `${head}: ${aggregateMessage(causes.map((c) => `${c.field}: ${c.message}`))}`;
}
