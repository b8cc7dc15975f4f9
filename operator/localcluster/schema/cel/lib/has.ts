/**
 * CEL's `has(e.f)` for any operand `e`. cel-js only accepts chains of field selections on an identifier,
 * but Kubernetes rules also test fields of indexed values (`has(self.matches[0].path)`), so rules are
 * rewritten to call this macro instead.
 */
import type { Environment } from '@marcbachmann/cel-js';
import { CelRuntimeError } from '../errors.js';

export const HAS_MACRO = 'k8sHas';

/** The bits of cel-js's macro interface this macro uses. */
interface AstNode {
  op: string;
  args: unknown;
}
interface TypeChecker {
  check(node: AstNode, ctx: unknown): unknown;
  getType(name: string): unknown;
  createError(code: string, message: string, node: AstNode): Error;
}
interface Evaluator {
  run(node: AstNode, ctx: unknown): unknown;
}
interface Macro {
  args: AstNode[];
}

export function registerHas(env: Environment): void {
  env.registerFunction(`${HAS_MACRO}(ast): bool`, ({ args }: Macro) => ({
    args,
    typeCheck,
    evaluate,
    async: false,
  }));
}

function selection(macro: Macro): { operand: AstNode; field: string } | undefined {
  const node = macro.args[0];
  if (node === undefined || (node.op !== '.' && node.op !== '.?') || !Array.isArray(node.args))
    return undefined;
  const [operand, field] = node.args as [AstNode, unknown];
  return typeof field === 'string' ? { operand, field } : undefined;
}

function typeCheck(checker: TypeChecker, macro: Macro, ctx: unknown): unknown {
  const selected = selection(macro);
  const node = macro.args[0];
  if (selected === undefined || node === undefined) {
    throw checker.createError(
      'invalid_macro_argument',
      'has() invalid argument',
      node ?? { op: 'value', args: null },
    );
  }
  checker.check(selected.operand, ctx);
  return checker.getType('bool');
}

function evaluate(ev: Evaluator, macro: Macro, ctx: unknown): boolean {
  const selected = selection(macro);
  if (selected === undefined) throw new CelRuntimeError('has() invalid argument');
  return isFieldSet(ev.run(selected.operand, ctx), selected.field);
}

function isFieldSet(target: unknown, field: string): boolean {
  if (target instanceof Map) return target.has(field);
  if (typeof target !== 'object' || target === null) throw new CelRuntimeError(`no such key: ${field}`);
  return Object.hasOwn(target, field) && (target as Record<string, unknown>)[field] !== undefined;
}
