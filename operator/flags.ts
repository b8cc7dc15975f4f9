/** Command-line flags of the `meshwright` commands: `--name value`, `--name=value`, bare `--name`. */

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const port = (value: string | undefined, fallback: number | false, what: string): number | false => {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < -1 || n > 65535) throw new UsageError(`${what}: not a port: ${value}`);
  return n === -1 ? false : n;
};

export const bool = (value: string | undefined, fallback: boolean, what: string): boolean => {
  if (value === undefined || value === '') return fallback;
  if (/^(true|1|yes)$/i.test(value)) return true;
  if (/^(false|0|no)$/i.test(value)) return false;
  throw new UsageError(`${what}: not a boolean: ${value}`);
};

/** `--name value`, `--name=value`, or a bare `--name` (= 'true'). */
export function flags(args: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('--')) throw new UsageError(`unexpected argument: ${a}`);
    const eq = a.indexOf('=');
    if (eq > 0) out.set(a.slice(2, eq), a.slice(eq + 1));
    else if (args[i + 1] !== undefined && !args[i + 1]!.startsWith('--')) out.set(a.slice(2), args[++i]!);
    else out.set(a.slice(2), 'true');
  }
  return out;
}
