/**
 * A rule's `fieldPath` (apiextensions `ValidFieldPath`): a JSONPath of `.name` and `['name']` steps,
 * checked against the schema; named properties become path children, additionalProperties keys become
 * `[key]` subscripts.
 */
import { additionalPropertiesOf, propertyOf } from '../json.js';
import { child, key, type FieldPath } from '../path.js';
import type { JSONSchemaProps } from '../types.js';

export interface FieldPathStep {
  kind: 'child' | 'key';
  name: string;
}

export function parseRuleFieldPath(fieldPath: string, schema: JSONSchemaProps): FieldPathStep[] {
  const steps: FieldPathStep[] = [];
  let node = schema;
  for (const name of fieldPathNames(fieldPath)) {
    const property = propertyOf(node, name);
    const additional = additionalPropertiesOf(node);
    if (node.properties !== undefined) {
      if (property === undefined) throw new Error('does not refer to a valid field');
      steps.push({ kind: 'child', name });
      node = property;
    } else if (additional !== undefined) {
      steps.push({ kind: 'key', name });
      node = additional;
    } else {
      throw new Error('does not refer to a valid field');
    }
  }
  return steps;
}

export function appendFieldPath(path: FieldPath, steps: readonly FieldPathStep[]): FieldPath {
  return steps.reduce((p, step) => (step.kind === 'child' ? child(p, step.name) : key(p, step.name)), path);
}

function fieldPathNames(fieldPath: string): string[] {
  const names: string[] = [];
  const token = /\.([^.[\]']+)|\['((?:[^'\\]|\\.)*)'\]/y;
  let at = 0;
  while (at < fieldPath.length) {
    token.lastIndex = at;
    const m = token.exec(fieldPath);
    if (m === null) throw new Error(`expected [ or . but got: ${fieldPath.slice(at)}`);
    names.push(m[1] ?? unescapeQuoted(m[2] ?? ''));
    at = token.lastIndex;
  }
  return names;
}

function unescapeQuoted(s: string): string {
  const escapes: Record<string, string> = {
    a: '\x07',
    b: '\b',
    f: '\f',
    n: '\n',
    r: '\r',
    t: '\t',
    v: '\v',
    "'": "'",
    '\\': '\\',
  };
  return s.replace(/\\(.)/g, (_m, c: string) => {
    const out = escapes[c];
    if (out === undefined) throw new Error(`invalid string literal: invalid escape char \\${c}`);
    return out;
  });
}
