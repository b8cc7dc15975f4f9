/**
 * `matchConditions`: CEL expressions over `object`, `oldObject` and `request` that must all be true for a
 * webhook to be called (k8s.io/apiserver webhook/matchconditions). `authorizer` is not offered: an
 * expression that uses it fails to evaluate, and that failure goes through the failure policy.
 */
import { Environment } from '@marcbachmann/cel-js';
import type { MatchCondition } from './types.js';

export type ConditionsVerdict = { matches: true } | { matches: false } | { error: string };

const environment = new Environment({ homogeneousAggregateLiterals: false })
  .registerVariable('object', 'dyn')
  .registerVariable('oldObject', 'dyn')
  .registerVariable('request', 'dyn');

/** Parsed expressions by source: configurations rarely change, parsing is the costly part. */
const parsed = new Map<string, ReturnType<typeof environment.parse>>();

function compile(expression: string): ReturnType<typeof environment.parse> {
  let program = parsed.get(expression);
  if (!program) {
    program = environment.parse(expression);
    parsed.set(expression, program);
  }
  return program;
}

/**
 * Any false condition skips the webhook, whatever the others did. Otherwise an error fails the request
 * under failurePolicy Fail and skips the webhook under Ignore; all true calls it.
 */
export function evaluateMatchConditions(
  conditions: readonly MatchCondition[],
  variables: { object: unknown; oldObject: unknown; request: unknown },
  failClosed: boolean,
): ConditionsVerdict {
  const context = {
    object: toCel(variables.object ?? null),
    oldObject: toCel(variables.oldObject ?? null),
    request: toCel(variables.request),
  };
  const errors: string[] = [];
  for (const { expression } of conditions) {
    let result: unknown;
    try {
      result = compile(expression)(context);
    } catch (err) {
      errors.push(`expression '${expression}' resulted in error: ${summary(err)}`);
      continue;
    }
    if (result === false) return { matches: false };
    if (result !== true)
      errors.push(`expression '${expression}' resulted in error: no such overload: want bool`);
  }
  if (errors.length === 0) return { matches: true };
  if (!failClosed) return { matches: false };
  return { error: errors.length === 1 ? errors[0]! : `[${errors.join(', ')}]` };
}

/** CEL integers are int64: integral JSON numbers become BigInt, as Kubernetes decodes them to int64. */
function toCel(value: unknown): unknown {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? BigInt(value) : value;
  if (Array.isArray(value)) return value.map(toCel);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toCel(v)]));
  }
  return value;
}

function summary(err: unknown): string {
  if (err instanceof Error) {
    const short = (err as Error & { summary?: unknown }).summary;
    return typeof short === 'string' ? short : (err.message.split('\n')[0] ?? err.message);
  }
  return String(err);
}
