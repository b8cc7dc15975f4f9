/**
 * Property-name escaping of Kubernetes CEL (apiserver `cel.Escape`): names that are CEL keywords become
 * `__name__`, and `__`, `.`, `-`, `/` become `__underscores__`, `__dot__`, `__dash__`, `__slash__`. Names
 * with other characters, or starting with a digit, are not accessible from CEL at all.
 */

const RESERVED = new Set([
  'true',
  'false',
  'null',
  'in',
  'as',
  'break',
  'const',
  'continue',
  'else',
  'for',
  'function',
  'if',
  'import',
  'let',
  'loop',
  'package',
  'namespace',
  'return',
  'var',
  'void',
  'while',
]);

const EXPANSIONS: Record<string, string> = {
  __: '__underscores__',
  '.': '__dot__',
  '-': '__dash__',
  '/': '__slash__',
};

export function escapeCelName(name: string): string | undefined {
  if (name === '' || /^\d/.test(name)) return undefined;
  if (RESERVED.has(name)) return `__${name}__`;
  if (!/^[A-Za-z0-9_./-]+$/.test(name)) return undefined;
  return name.replace(/__|[./-]/g, (s) => EXPANSIONS[s] ?? s);
}
