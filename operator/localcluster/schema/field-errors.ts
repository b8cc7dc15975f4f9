/**
 * A port of k8s.io/apimachinery's `field.Error` constructors and `ErrorBody()` rendering, so that every
 * cause we report reads exactly like the API server's.
 */
import { goJson, goNumber, goQuote, goSyntax } from './go-format.js';
import { renderPath, type FieldPath } from './path.js';
import type { Cause, CauseReason, ValueRendering } from './types.js';

/** field.OmitValueType: the error shows no value at all. */
export const OMIT_VALUE: unique symbol = Symbol('omitValue');

export interface FieldError {
  type: CauseReason;
  field: FieldPath;
  value: unknown;
  detail: string;
}

const TYPE_TEXT: Record<CauseReason, string> = {
  FieldValueInvalid: 'Invalid value',
  FieldValueTypeInvalid: 'Invalid value',
  FieldValueRequired: 'Required value',
  FieldValueNotSupported: 'Unsupported value',
  FieldValueDuplicate: 'Duplicate value',
  FieldValueTooLong: 'Too long',
  FieldValueTooMany: 'Too many',
  FieldValueForbidden: 'Forbidden',
};

/** Types whose body never shows the value. */
const VALUELESS = new Set<CauseReason>(['FieldValueRequired', 'FieldValueForbidden', 'FieldValueTooLong']);

export const invalid = (field: FieldPath, value: unknown, detail: string): FieldError => ({
  type: 'FieldValueInvalid',
  field,
  value,
  detail,
});

export const typeInvalid = (field: FieldPath, value: unknown, detail: string): FieldError => ({
  type: 'FieldValueTypeInvalid',
  field,
  value,
  detail,
});

export const required = (field: FieldPath, detail = ''): FieldError => ({
  type: 'FieldValueRequired',
  field,
  value: '',
  detail,
});

export const forbidden = (field: FieldPath, detail: string): FieldError => ({
  type: 'FieldValueForbidden',
  field,
  value: '',
  detail,
});

export const duplicate = (field: FieldPath, value: unknown): FieldError => ({
  type: 'FieldValueDuplicate',
  field,
  value,
  detail: '',
});

export function notSupported(field: FieldPath, value: unknown, validValues: readonly string[]): FieldError {
  const detail = validValues.length > 0 ? `supported values: ${validValues.map(goQuote).join(', ')}` : '';
  return { type: 'FieldValueNotSupported', field, value, detail };
}

export function tooLong(field: FieldPath, maxLength: number): FieldError {
  const detail =
    maxLength >= 0
      ? `may not be more than ${maxLength} ${maxLength === 1 ? 'byte' : 'bytes'}`
      : 'value is too long';
  return { type: 'FieldValueTooLong', field, value: OMIT_VALUE, detail };
}

export function tooMany(field: FieldPath, actual: number, max: number): FieldError {
  const detail = max >= 0 ? `must have at most ${max} ${max === 1 ? 'item' : 'items'}` : 'has too many items';
  return { type: 'FieldValueTooMany', field, value: actual >= 0 ? actual : OMIT_VALUE, detail };
}

/** `field.Error.ErrorBody()`. */
export function errorBody(err: FieldError, rendering: ValueRendering): string {
  const head = TYPE_TEXT[err.type];
  const body =
    VALUELESS.has(err.type) || err.value === OMIT_VALUE
      ? head
      : `${head}: ${renderValue(err.value, rendering)}`;
  return err.detail.length > 0 ? `${body}: ${err.detail}` : body;
}

function renderValue(value: unknown, rendering: ValueRendering): string {
  if (typeof value === 'string') return goQuote(value);
  if (typeof value === 'number') return goNumber(value);
  if (typeof value === 'boolean') return String(value);
  if (value === null || value === undefined) return rendering === 'classic' ? goQuote('null') : 'null';
  return rendering === 'classic' ? goSyntax(value) : goJson(value);
}

export function toCause(err: FieldError, rendering: ValueRendering): Cause {
  return { reason: err.type, field: renderPath(err.field), message: errorBody(err, rendering) };
}

/** `utilerrors.NewAggregate(errs).Error()`: one message alone, several in brackets, duplicates once. */
export function aggregateMessage(messages: readonly string[]): string {
  const unique = [...new Set(messages)];
  if (unique.length === 1) return unique[0] ?? '';
  return `[${unique.join(', ')}]`;
}
