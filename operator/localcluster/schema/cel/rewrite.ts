/**
 * Source-level helpers over CEL expressions that only look at identifiers outside string literals.
 *
 * cel-js implements `matches()` with JavaScript regular expressions and will not let us replace that
 * overload, its `has()` rejects operands other than field chains, and its `duration()` refuses Go's
 * `"0"`; before parsing, a rule's calls to these are renamed to our implementations.
 */
import { GO_DURATION } from './lib/duration.js';
import { HAS_MACRO } from './lib/has.js';
import { RE2_MATCHES } from './lib/regex.js';

/** Calls cel-js cannot evaluate the Kubernetes way, and the functions of ours that replace them. */
const REPLACED_CALLS: Record<string, string> = {
  matches: RE2_MATCHES,
  has: HAS_MACRO,
  duration: GO_DURATION,
};

/** Routes `matches(...)` to RE2 and `has(...)` to a macro that accepts any operand. */
export function useKubernetesSemantics(expression: string): string {
  return mapIdentifiers(expression, (ident, rest, before) => {
    const replacement = REPLACED_CALLS[ident];
    if (replacement === undefined || !/^\s*\(/.test(rest)) return ident;
    // `has` is a global macro only; `x.has(...)` would be some other function.
    return ident === 'has' && /\.\s*$/.test(before) ? ident : replacement;
  });
}

/** Whether the expression refers to `name` (e.g. `oldSelf`, which makes a rule a transition rule). */
export function mentionsIdentifier(expression: string, name: string): boolean {
  let found = false;
  mapIdentifiers(expression, (ident) => {
    found ||= ident === name;
    return ident;
  });
  return found;
}

/** Rebuilds the expression with every identifier outside literals passed through `replace`. */
function mapIdentifiers(
  expression: string,
  replace: (ident: string, rest: string, before: string) => string,
): string {
  let out = '';
  let i = 0;
  while (i < expression.length) {
    const literalEnd = stringLiteralEnd(expression, i);
    if (literalEnd !== undefined) {
      out += expression.slice(i, literalEnd);
      i = literalEnd;
      continue;
    }
    const ident = /^[A-Za-z_][A-Za-z0-9_]*/.exec(expression.slice(i))?.[0];
    if (ident !== undefined) {
      out += replace(ident, expression.slice(i + ident.length), out);
      i += ident.length;
      continue;
    }
    out += expression[i];
    i++;
  }
  return out;
}

/** If a CEL string or bytes literal (`'a'`, `"""a"""`, `r'a'`, `b"a"`) starts at `start`, the index past it. */
function stringLiteralEnd(text: string, start: number): number | undefined {
  const prefix = /^(?:[rR][bB]?|[bB][rR]?)?(?='|")/.exec(text.slice(start))?.[0];
  if (prefix === undefined) return undefined;
  const raw = /r/i.test(prefix);
  const quoteStart = start + prefix.length;
  const quoteChar = text.charAt(quoteStart);
  const quote = text.startsWith(quoteChar.repeat(3), quoteStart) ? quoteChar.repeat(3) : quoteChar;
  let i = quoteStart + quote.length;
  while (i < text.length) {
    if (!raw && text[i] === '\\') {
      i += 2;
      continue;
    }
    if (text.startsWith(quote, i)) return i + quote.length;
    i++;
  }
  return text.length;
}
