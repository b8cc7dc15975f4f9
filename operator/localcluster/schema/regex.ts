/**
 * Kubernetes evaluates `pattern` and CEL `matches()` with Go's RE2. JavaScript's RegExp accepts almost the
 * same syntax; this translates the RE2-only constructs CRDs use (leading `(?i)` flags, `\z`, `\A`, `\Q..\E`,
 * `(?P<name>`, POSIX classes) and caches the result.
 */

const cache = new Map<string, RegExp>();

export class UnsupportedRegexError extends Error {}

/** Compiles an RE2 pattern; throws UnsupportedRegexError when it is not valid (or not expressible). */
export function compileRe2(pattern: string): RegExp {
  let re = cache.get(pattern);
  if (re === undefined) {
    re = translate(pattern);
    cache.set(pattern, re);
  }
  return re;
}

/** RE2 `MatchString`: true when the pattern matches anywhere in the input. */
export function re2Test(pattern: string, input: string): boolean {
  const re = compileRe2(pattern);
  re.lastIndex = 0;
  return re.test(input);
}

function translate(pattern: string): RegExp {
  const { flags, body } = leadingFlags(pattern);
  const source = rewriteBody(body);
  // The u flag makes `.` and classes work on code points as RE2 does; some legal RE2 escapes (`\-` outside a
  // class) are illegal under u, so fall back to the plain dialect for those.
  for (const extra of ['u', '']) {
    try {
      return new RegExp(source, flags + extra);
    } catch {
      // try the next dialect
    }
  }
  throw new UnsupportedRegexError(`error parsing regexp: invalid or unsupported pattern: \`${pattern}\``);
}

/**
 * A flag group at the very start (optionally after `^`) applies to the whole pattern, which JavaScript
 * expresses as RegExp flags.
 */
function leadingFlags(pattern: string): { flags: string; body: string } {
  const match = /^(\^?)\(\?([imsU]+)\)/.exec(pattern);
  if (match === null) return { flags: '', body: pattern };
  const raw = match[2] ?? '';
  if (raw.includes('U'))
    throw new UnsupportedRegexError(`error parsing regexp: ungreedy flag in \`${pattern}\``);
  return { flags: [...new Set(raw)].join(''), body: (match[1] ?? '') + pattern.slice(match[0].length) };
}

const POSIX_CLASSES: Record<string, string> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7F',
  blank: '\\t ',
  cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};

function rewriteBody(body: string): string {
  return body
    .replace(/\\Q([\s\S]*?)(?:\\E|$)/g, (_m, literal: string) =>
      literal.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&'),
    )
    .replace(/\(\?P</g, '(?<')
    .replace(/\[:(\w+):\]/g, (m, name: string) => POSIX_CLASSES[name] ?? m)
    .replace(/(^|[^\\])((?:\\\\)*)\\z/g, '$1$2(?![\\s\\S])')
    .replace(/(^|[^\\])((?:\\\\)*)\\A/g, '$1$2^')
    .replace(/\\p([A-Z])/g, '\\p{$1}');
}
