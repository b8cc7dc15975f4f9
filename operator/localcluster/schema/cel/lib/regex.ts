/**
 * Regular expressions with RE2 semantics: `matches` (CEL standard, swapped in for cel-js's JavaScript one by
 * the rule rewriter) and Kubernetes' `find` / `findAll`.
 */
import type { Environment } from '@marcbachmann/cel-js';
import { compileRe2, re2Test } from '../../regex.js';
import { celError } from '../errors.js';

/** The name the rewriter gives `matches`, since cel-js does not let us replace its own overload. */
export const RE2_MATCHES = 'k8sRe2Matches';

export function registerRegex(env: Environment): void {
  env
    .registerFunction(`string.${RE2_MATCHES}(string): bool`, matches)
    .registerFunction(`${RE2_MATCHES}(string, string): bool`, matches)
    .registerFunction(
      'string.find(string): string',
      (s: string, pattern: string) => findAll(s, pattern, 1n)[0] ?? '',
    )
    .registerFunction('string.findAll(string): list<string>', (s: string, pattern: string) =>
      findAll(s, pattern, -1n),
    )
    .registerFunction('string.findAll(string, int): list<string>', findAll);
}

function matches(s: string, pattern: string): boolean {
  try {
    return re2Test(pattern, s);
  } catch (e) {
    return celError((e as Error).message);
  }
}

function findAll(s: string, pattern: string, limit: bigint): string[] {
  if (limit === 0n) return [];
  let re: RegExp;
  try {
    re = compileRe2(pattern);
  } catch (e) {
    return celError((e as Error).message);
  }
  const global = new RegExp(re.source, re.flags.includes('g') ? re.flags : `${re.flags}g`);
  const found = [...s.matchAll(global)].map((m) => m[0]);
  return limit < 0n ? found : found.slice(0, Number(limit));
}
