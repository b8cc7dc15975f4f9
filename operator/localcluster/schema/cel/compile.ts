/**
 * Compiles every `x-kubernetes-validations` rule of a schema once. A rule (or messageExpression) that does
 * not parse or type-check here, e.g. because it calls a function we do not implement, is reported in
 * `skipped` and never evaluated; the rest of the schema still validates.
 */
import type { ParseResult } from '@marcbachmann/cel-js';
import { additionalPropertiesOf, itemsOf } from '../json.js';
import type { JSONSchemaProps, SkippedRule, ValidationRule } from '../types.js';
import { ruleEnvironments } from './environment.js';
import { parseRuleFieldPath, type FieldPathStep } from './field-path.js';
import { mentionsIdentifier, useKubernetesSemantics } from './rewrite.js';

export interface CompiledRule {
  readonly rule: ValidationRule;
  readonly program: ParseResult;
  readonly messageProgram: ParseResult | undefined;
  readonly usesOldSelf: boolean;
  readonly optionalOldSelf: boolean;
  readonly fieldPath: readonly FieldPathStep[];
}

export interface CompiledRules {
  /** Rules by the schema node (object identity) they are declared on, including its allOf entries. */
  readonly byNode: ReadonlyMap<JSONSchemaProps, readonly CompiledRule[]>;
  readonly skipped: readonly SkippedRule[];
  /** Rules that compiled. */
  readonly count: number;
  /** Rules the schema declares, compiled or not. */
  readonly declared: number;
}

export function compileRules(root: JSONSchemaProps): CompiledRules {
  const byNode = new Map<JSONSchemaProps, CompiledRule[]>();
  const skipped: SkippedRule[] = [];
  let declared = 0;
  visit(root, 'openAPIV3Schema', (node, location) => {
    const declaredHere = rulesOf(node, location);
    declared += declaredHere.length;
    const compiled = declaredHere.flatMap(({ rule, at }) => {
      const result = compileRule(rule, node, at);
      skipped.push(...result.skipped);
      return result.compiled === undefined ? [] : [result.compiled];
    });
    if (compiled.length > 0) byNode.set(node, compiled);
  });
  return { byNode, skipped, count: [...byNode.values()].reduce((n, rules) => n + rules.length, 0), declared };
}

/** Rules of a node: its own, then those of its allOf entries (the API server evaluates both on the value). */
function rulesOf(node: JSONSchemaProps, location: string): { rule: ValidationRule; at: string }[] {
  const own = (node['x-kubernetes-validations'] ?? []).map((rule, i) => ({
    rule,
    at: `${location}.x-kubernetes-validations[${i}]`,
  }));
  const fromAllOf = (node.allOf ?? []).flatMap((entry, j) =>
    (entry['x-kubernetes-validations'] ?? []).map((rule, i) => ({
      rule,
      at: `${location}.allOf[${j}].x-kubernetes-validations[${i}]`,
    })),
  );
  return [...own, ...fromAllOf];
}

function visit(
  node: JSONSchemaProps,
  location: string,
  fn: (node: JSONSchemaProps, location: string) => void,
): void {
  fn(node, location);
  for (const [name, property] of Object.entries(node.properties ?? {}))
    visit(property, `${location}.properties[${name}]`, fn);
  const additional = additionalPropertiesOf(node);
  if (additional !== undefined) visit(additional, `${location}.additionalProperties`, fn);
  const items = itemsOf(node);
  if (items !== undefined) visit(items, `${location}.items`, fn);
}

interface CompileResult {
  compiled: CompiledRule | undefined;
  skipped: SkippedRule[];
}

function compileRule(rule: ValidationRule, node: JSONSchemaProps, location: string): CompileResult {
  const skip = (reason: string): CompileResult => ({
    compiled: undefined,
    skipped: [{ location, expression: rule.rule, reason }],
  });
  if (rule.rule.trim() === '') return skip('rule is not specified');
  const optionalOldSelf = rule.optionalOldSelf === true;
  const program = parseChecked(rule.rule, optionalOldSelf);
  if (typeof program === 'string') return skip(program);
  let fieldPath: FieldPathStep[] = [];
  try {
    fieldPath =
      rule.fieldPath === undefined || rule.fieldPath === '' ? [] : parseRuleFieldPath(rule.fieldPath, node);
  } catch (e) {
    return skip(`fieldPath ${JSON.stringify(rule.fieldPath)}: ${(e as Error).message}`);
  }
  const message = compileMessageExpression(rule, optionalOldSelf, location);
  return {
    compiled: {
      rule,
      program,
      messageProgram: message.program,
      usesOldSelf: mentionsIdentifier(rule.rule, 'oldSelf'),
      optionalOldSelf,
      fieldPath,
    },
    skipped: message.skipped,
  };
}

/** A messageExpression that cannot compile falls back to the static message, as the API server does. */
function compileMessageExpression(
  rule: ValidationRule,
  optionalOldSelf: boolean,
  location: string,
): { program: ParseResult | undefined; skipped: SkippedRule[] } {
  if (rule.messageExpression === undefined || rule.messageExpression.trim() === '')
    return { program: undefined, skipped: [] };
  const program = parseChecked(rule.messageExpression, optionalOldSelf, 'string');
  if (typeof program !== 'string') return { program, skipped: [] };
  return {
    program: undefined,
    skipped: [
      { location: `${location}.messageExpression`, expression: rule.messageExpression, reason: program },
    ],
  };
}

/** The compiled program, or why it cannot be used. */
function parseChecked(
  expression: string,
  optionalOldSelf: boolean,
  resultType = 'bool',
): ParseResult | string {
  const envs = ruleEnvironments();
  const env = optionalOldSelf ? envs.optionalOldSelf : envs.plain;
  let program: ParseResult;
  try {
    program = env.parse(useKubernetesSemantics(expression));
  } catch (e) {
    return `compilation failed: ${firstLine(e)}`;
  }
  const checked = program.check();
  if (!checked.valid) return `compilation failed: ${firstLine(checked.error)}`;
  if (checked.type !== resultType && checked.type !== 'dyn')
    return `must evaluate to ${resultType}, not ${checked.type}`;
  return program;
}

export function firstLine(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  return message.split('\n')[0] ?? message;
}
