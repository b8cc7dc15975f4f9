/**
 * cel-go's strings extension as Kubernetes enables it. cel-js already provides indexOf, lastIndexOf,
 * lowerAscii, upperAscii, split, substring, trim and join; this adds the rest.
 */
import type { Environment } from '@marcbachmann/cel-js';
import { goQuote } from '../../go-format.js';
import { celError } from '../errors.js';
import { formatCelString } from './string-format.js';

class StringsNamespace {}

export function registerStrings(env: Environment): void {
  env
    .registerFunction('string.charAt(int): string', charAt)
    .registerFunction('string.replace(string, string): string', (s: string, from: string, to: string) =>
      s.split(from).join(to),
    )
    .registerFunction('string.replace(string, string, int): string', replaceN)
    .registerFunction('string.reverse(): string', (s: string) => [...s].reverse().join(''))
    .registerFunction('string.format(list): string', formatCelString)
    .registerType('k8s.StringsNamespace', StringsNamespace)
    .registerConstant('strings', 'k8s.StringsNamespace', new StringsNamespace())
    .registerFunction('k8s.StringsNamespace.quote(string): string', (_ns: StringsNamespace, s: string) =>
      goQuote(s),
    );
}

function charAt(s: string, at: bigint): string {
  const chars = [...s];
  if (at < 0n || at > BigInt(chars.length)) celError(`index out of range: ${at}`);
  return chars[Number(at)] ?? '';
}

/** A negative count replaces every occurrence, as in Go's strings.Replace. */
function replaceN(s: string, from: string, to: string, count: bigint): string {
  if (count < 0n) return s.split(from).join(to);
  let out = s;
  let searchFrom = 0;
  for (let n = 0n; n < count; n++) {
    const at = out.indexOf(from, searchFrom);
    if (at < 0) break;
    out = out.slice(0, at) + to + out.slice(at + from.length);
    searchFrom = at + to.length + (from === '' ? 1 : 0);
  }
  return out;
}
