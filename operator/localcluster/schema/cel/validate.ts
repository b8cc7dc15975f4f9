/**
 * Evaluates compiled `x-kubernetes-validations` over an object the way apiextensions-apiserver's CEL
 * validator does: rules run on every non-null value of their node; transition rules (those using
 * `oldSelf`) only where the previous object has a correlated value (map keys, object properties,
 * list-type=map items by key) unless `optionalOldSelf` is set; failures become field errors on the node's
 * path (or `fieldPath`), with `messageExpression`, `message` or `failed rule: <rule>` as detail and
 * `reason` choosing the error type.
 */
import { Optional } from '@marcbachmann/cel-js';
import { duplicate, forbidden, invalid, OMIT_VALUE, required, type FieldError } from '../field-errors.js';
import {
  additionalPropertiesOf,
  deepEqual,
  isObject,
  itemsOf,
  propertyOf,
  type JsonObject,
} from '../json.js';
import { child, index, key, nilPath, type FieldPath } from '../path.js';
import type { JSONSchemaProps, ValidationRule, ValueRendering } from '../types.js';
import { firstLine, type CompiledRule, type CompiledRules } from './compile.js';
import { appendFieldPath } from './field-path.js';
import { toCelValue } from './values.js';

/** The correlated previous value; `undefined` when there is none. */
type Previous = { value: unknown } | undefined;

export interface RuleValidationOptions {
  readonly rendering: ValueRendering;
  readonly ratcheting: boolean;
  readonly isResourceRoot: boolean;
}

const MAX_MESSAGE_EXPRESSION_BYTES = 5 * 1024;

export function validateRules(
  rules: CompiledRules,
  schema: JSONSchemaProps,
  value: unknown,
  previous: Previous,
  options: RuleValidationOptions,
): FieldError[] {
  if (rules.count === 0) return [];
  const root: Visit = {
    schema,
    value,
    previous,
    path: nilPath,
    isResource: options.isResourceRoot,
    unchanged: false,
  };
  return new RuleWalker(rules, options).node(root);
}

/** One value visited with its schema. */
interface Visit {
  schema: JSONSchemaProps;
  value: unknown;
  /** The correlated previous value, for transition rules. */
  previous: Previous;
  path: FieldPath;
  isResource: boolean;
  /** The value equals its previous self, or sits inside a value that does (for ratcheting). */
  unchanged: boolean;
}

class RuleWalker {
  constructor(
    private readonly rules: CompiledRules,
    private readonly options: RuleValidationOptions,
  ) {}

  node(visit: Visit): FieldError[] {
    // Rules only see non-null values; a rule about presence or nullness belongs on the parent.
    if (visit.value === null || visit.value === undefined) return [];
    const below = rulesBelow(this.rules, visit.schema);
    if (!below.any) return [];
    const current = { ...visit, unchanged: visit.unchanged || isUnchanged(visit.previous, visit.value) };
    // Every rule below would be ratcheted: none can report anything, so none is evaluated.
    if (this.options.ratcheting && current.unchanged && !below.transition) return [];
    const errs = this.evaluateNode(current);
    if (Array.isArray(current.value)) errs.push(...this.items(current, current.value));
    else if (isObject(current.value)) errs.push(...this.fields(current, current.value));
    return errs;
  }

  private items(parent: Visit, list: unknown[]): FieldError[] {
    const items = itemsOf(parent.schema);
    if (items === undefined) return [];
    const previousOf = mapListCorrelation(parent.schema, parent.previous);
    return list.flatMap((item, i) =>
      this.node(childVisit(parent, items, item, previousOf(item), index(parent.path, i))),
    );
  }

  private fields(parent: Visit, object: JsonObject): FieldError[] {
    const old =
      parent.previous !== undefined && isObject(parent.previous.value) ? parent.previous.value : undefined;
    const additional = additionalPropertiesOf(parent.schema);
    return Object.entries(object).flatMap(([k, v]) => {
      const previous: Previous = old !== undefined && Object.hasOwn(old, k) ? { value: old[k] } : undefined;
      const property = propertyOf(parent.schema, k);
      if (property !== undefined)
        return this.node(childVisit(parent, property, v, previous, child(parent.path, k)));
      if (additional === undefined) return [];
      return this.node(childVisit(parent, additional, v, previous, key(parent.path, k)));
    });
  }

  private evaluateNode(visit: Visit): FieldError[] {
    const compiled = this.rules.byNode.get(visit.schema);
    if (compiled === undefined) return [];
    const { schema, value, previous, path, isResource } = visit;
    const self = toCelValue(value, schema, isResource);
    const oldSelf = previous === undefined ? undefined : toCelValue(previous.value, schema, isResource);
    const errs: FieldError[] = [];
    for (const rule of compiled) {
      if (rule.usesOldSelf && previous === undefined && !rule.optionalOldSelf) continue;
      const activation = { self, oldSelf: activationOldSelf(rule, oldSelf) };
      const failure = this.evaluateRule(rule, activation, schema, value, path);
      // Ratcheting: a value that did not change keeps passing non-transition rules it already failed.
      const ratcheted = this.options.ratcheting && visit.unchanged && !rule.usesOldSelf;
      if (failure !== undefined && !ratcheted) errs.push(failure);
    }
    return errs;
  }

  private evaluateRule(
    rule: CompiledRule,
    activation: Record<string, unknown>,
    schema: JSONSchemaProps,
    value: unknown,
    path: FieldPath,
  ): FieldError | undefined {
    const typeName = schema.type ?? '';
    let result: unknown;
    try {
      result = rule.program(activation) as unknown;
    } catch (e) {
      return invalid(path, typeName, runtimeErrorDetail(e, rule.rule));
    }
    if (result === true) return undefined;
    const detail = evaluateMessage(rule, activation) ?? ruleMessageOrDefault(rule.rule);
    const shown = this.options.rendering === 'classic' ? typeName : failureValue(schema, value);
    return errorForReason(appendFieldPath(path, rule.fieldPath), shown, detail, rule.rule.reason);
  }
}

/** Whether any rule, and any transition rule, sits at or below a schema node. */
interface RulesBelow {
  readonly any: boolean;
  readonly transition: boolean;
}

const rulesBelowCache = new WeakMap<CompiledRules, Map<JSONSchemaProps, RulesBelow>>();

function rulesBelow(rules: CompiledRules, schema: JSONSchemaProps): RulesBelow {
  let cache = rulesBelowCache.get(rules);
  if (cache === undefined) rulesBelowCache.set(rules, (cache = new Map<JSONSchemaProps, RulesBelow>()));
  const known = cache.get(schema);
  if (known !== undefined) return known;
  cache.set(schema, { any: true, transition: true }); // never loop on a malformed schema; assume the worst
  const own = rules.byNode.get(schema) ?? [];
  let any = own.length > 0;
  let transition = own.some((r) => r.usesOldSelf);
  const children = [
    ...Object.values(schema.properties ?? {}),
    additionalPropertiesOf(schema),
    itemsOf(schema),
  ];
  for (const c of children) {
    if (c === undefined || !isObject(c)) continue;
    const sub = rulesBelow(rules, c);
    any ||= sub.any;
    transition ||= sub.transition;
  }
  const result = { any, transition };
  cache.set(schema, result);
  return result;
}

function childVisit(
  parent: Visit,
  schema: JSONSchemaProps,
  value: unknown,
  previous: Previous,
  path: FieldPath,
): Visit {
  const isResource = schema['x-kubernetes-embedded-resource'] === true;
  return { schema, value, previous, path, isResource, unchanged: parent.unchanged };
}

function isUnchanged(previous: Previous, value: unknown): boolean {
  return previous !== undefined && deepEqual(previous.value, value);
}

function activationOldSelf(rule: CompiledRule, oldSelf: unknown): unknown {
  if (!rule.optionalOldSelf) return oldSelf ?? null;
  return oldSelf === undefined ? Optional.none() : Optional.of(oldSelf);
}

/** Upstream's newer renderings show the failing scalar, and omit objects and arrays. */
function failureValue(schema: JSONSchemaProps, value: unknown): unknown {
  return schema.type === 'object' || schema.type === 'array' ? OMIT_VALUE : value;
}

/** Only list-type=map items correlate with the previous list, by their key fields. */
function mapListCorrelation(schema: JSONSchemaProps, previous: Previous): (item: unknown) => Previous {
  const keys = schema['x-kubernetes-list-map-keys'] ?? [];
  if (schema['x-kubernetes-list-type'] !== 'map' || previous === undefined || !Array.isArray(previous.value))
    return () => undefined;
  const oldItems = previous.value.filter(isObject);
  return (item) => {
    if (!isObject(item)) return undefined;
    const match = oldItems.find((old) => keys.every((k) => deepEqual(old[k], item[k])));
    return match === undefined ? undefined : { value: match };
  };
}

function evaluateMessage(rule: CompiledRule, activation: Record<string, unknown>): string | undefined {
  if (rule.messageProgram === undefined) return undefined;
  try {
    const message = rule.messageProgram(activation) as unknown;
    if (typeof message !== 'string') return undefined;
    const trimmed = message.trim();
    const usable =
      trimmed !== '' && !/\n/.test(trimmed) && Buffer.byteLength(trimmed) <= MAX_MESSAGE_EXPRESSION_BYTES;
    return usable ? trimmed : undefined;
  } catch {
    return undefined;
  }
}

function ruleErrorString(rule: ValidationRule): string {
  return rule.message !== undefined && rule.message !== '' ? rule.message.trim() : rule.rule.trim();
}

function ruleMessageOrDefault(rule: ValidationRule): string {
  return rule.message !== undefined && rule.message !== ''
    ? rule.message.trim()
    : `failed rule: ${ruleErrorString(rule)}`;
}

function errorForReason(
  path: FieldPath,
  value: unknown,
  detail: string,
  reason: string | undefined,
): FieldError {
  switch (reason) {
    case 'FieldValueForbidden':
      return forbidden(path, detail);
    case 'FieldValueRequired':
      return required(path, detail);
    case 'FieldValueDuplicate':
      return duplicate(path, value);
    default:
      return invalid(path, value, detail);
  }
}

/** The API server's detail for a rule whose evaluation failed, with cel-js messages in cel-go's words. */
function runtimeErrorDetail(e: unknown, rule: ValidationRule): string {
  const message = celGoMessage(firstLine(e));
  if (message.startsWith('no such overload')) {
    return `'${message}': call arguments did not match a supported operator, function or macro signature for rule: ${ruleErrorString(rule)}`;
  }
  return `${message} evaluating rule: ${ruleErrorString(rule)}`;
}

function celGoMessage(message: string): string {
  const outOfBounds = /^No such key: index out of bounds, index (-?\d+)/.exec(message);
  if (outOfBounds !== null) return `index out of bounds: ${outOfBounds[1]}`;
  const noSuchKey = /^No such key: (.*)$/.exec(message);
  if (noSuchKey !== null) return `no such key: ${noSuchKey[1]}`;
  if (/^found no matching overload/.test(message)) return 'no such overload';
  if (/^integer overflow/.test(message)) return 'integer overflow';
  return message;
}
