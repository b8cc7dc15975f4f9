/**
 * `"...".format([args])` from cel-go's strings extension: %s, %d, %f, %e, %x, %X, %o, %b and %%, with an
 * optional precision for %f and %e.
 */
import { celError } from '../errors.js';
import { celToString } from '../values.js';

export function formatCelString(template: string, args: unknown[]): string {
  let next = 0;
  const take = (): unknown => {
    if (next >= args.length) celError(`index ${next} out of range`);
    return args[next++];
  };
  return template.replace(/%(?:\.(\d+))?([sdfexXob%])/g, (_m, precision: string | undefined, verb: string) =>
    verb === '%' ? '%' : formatArg(verb, precision === undefined ? undefined : Number(precision), take()),
  );
}

function formatArg(verb: string, precision: number | undefined, value: unknown): string {
  switch (verb) {
    case 's':
      return celToString(value);
    case 'd':
      return integerText(value, 10);
    case 'f':
      return toNumber(value).toFixed(precision ?? 6);
    case 'e':
      return exponentText(toNumber(value), precision ?? 6);
    case 'x':
      return typeof value === 'string' ? Buffer.from(value).toString('hex') : integerText(value, 16);
    case 'X':
      return (
        typeof value === 'string' ? Buffer.from(value).toString('hex') : integerText(value, 16)
      ).toUpperCase();
    case 'o':
      return integerText(value, 8);
    default:
      return integerText(value, 2);
  }
}

function integerText(value: unknown, radix: number): string {
  if (typeof value === 'bigint') return value.toString(radix);
  if (typeof value === 'number' && Number.isInteger(value)) return value.toString(radix);
  return celError(
    `error during formatting: integer clause can only be used on integers, was given ${typeof value}`,
  );
}

function toNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  return celError(
    `error during formatting: fixed-point clause can only be used on doubles, was given ${typeof value}`,
  );
}

function exponentText(n: number, precision: number): string {
  const [mantissa, exp = '0'] = n.toExponential(precision).split('e');
  const e = Number(exp);
  return `${mantissa}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
}
