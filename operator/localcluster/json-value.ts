/**
 * Copying and comparing decoded JSON values on the request path, without a structured clone or a
 * JSON round trip per write. Both functions give exactly what their slow forms give, and fall back
 * to them for anything that is not plain JSON (class instances, functions, non-finite numbers…).
 */

type Plain = Record<string, unknown>;

const isPlainObject = (v: object): v is Plain => {
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
};

/** Signals a value `cloneJson` or `jsonEqual` leaves to the general algorithm. */
class NotPlain extends Error {}
const NOT_PLAIN = new NotPlain();

function copy(v: unknown): unknown {
  if (typeof v !== 'object' || v === null) {
    if (typeof v === 'function' || typeof v === 'symbol') throw NOT_PLAIN;
    return v;
  }
  if (Array.isArray(v)) {
    if (Object.getPrototypeOf(v) !== Array.prototype) throw NOT_PLAIN;
    const n = v.length;
    const out = new Array<unknown>(n);
    for (let i = 0; i < n; i++) {
      if (!(i in v)) throw NOT_PLAIN;
      out[i] = copy(v[i]);
    }
    return out;
  }
  if (!isPlainObject(v)) throw NOT_PLAIN;
  const out: Plain = {};
  for (const k of Object.keys(v)) {
    const child = copy(v[k]);
    if (k === '__proto__')
      Object.defineProperty(out, k, { value: child, enumerable: true, writable: true, configurable: true });
    else out[k] = child;
  }
  return out;
}

/** `structuredClone(v)`, fast for plain JSON-shaped data. */
export function cloneJson<T>(v: T): T {
  try {
    return copy(v) as T;
  } catch (e) {
    if (e === NOT_PLAIN) return structuredClone(v);
    throw e;
  }
}

/** JSON with object keys sorted: two values are the "same" when these texts are equal. */
export const stableJson = (v: unknown): string | undefined =>
  JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : 1)))
      : x,
  );

/** Throws NOT_PLAIN for a value whose JSON text is not simply its own (or that JSON cannot write). */
function requirePlain(x: unknown): void {
  switch (typeof x) {
    case 'function':
    case 'symbol':
    case 'bigint':
    case 'undefined':
      throw NOT_PLAIN;
    case 'number':
      if (!Number.isFinite(x)) throw NOT_PLAIN;
      return;
    case 'object':
      if (x !== null && !Array.isArray(x) && !isPlainObject(x)) throw NOT_PLAIN;
      return;
    default:
      return;
  }
}

function equal(a: unknown, b: unknown): boolean {
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) {
    requirePlain(a);
    requirePlain(b);
    return a === b;
  }
  const arrayA = Array.isArray(a);
  if (arrayA !== Array.isArray(b)) return false;
  if (arrayA) {
    const x = a as unknown[];
    const y = b as unknown[];
    if (Object.getPrototypeOf(x) !== Array.prototype || Object.getPrototypeOf(y) !== Array.prototype)
      throw NOT_PLAIN;
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (!equal(x[i], y[i])) return false;
    return true;
  }
  if (!isPlainObject(a) || !isPlainObject(b)) throw NOT_PLAIN;
  let n = 0;
  for (const k of Object.keys(a)) {
    const v = a[k];
    if (v === undefined) continue;
    if (typeof v === 'function' || typeof v === 'symbol') throw NOT_PLAIN;
    n++;
    if (!Object.hasOwn(b, k) || !equal(v, b[k])) return false;
  }
  let m = 0;
  for (const k of Object.keys(b)) {
    const v = b[k];
    if (typeof v === 'function' || typeof v === 'symbol') throw NOT_PLAIN;
    if (v !== undefined) m++;
  }
  return n === m;
}

/** `stableJson(a) === stableJson(b)`, without serialising plain JSON values. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  try {
    return equal(a, b);
  } catch (e) {
    if (e === NOT_PLAIN) return stableJson(a) === stableJson(b);
    throw e;
  }
}

/** Object keys in a decoded JSON value, at every depth. */
function keyCount(v: unknown): number {
  if (typeof v !== 'object' || v === null) return 0;
  let n = 0;
  if (Array.isArray(v)) {
    for (const item of v) n += keyCount(item);
    return n;
  }
  for (const k of Object.keys(v)) n += 1 + keyCount((v as Plain)[k]);
  return n;
}

/** Name separators (`:` outside strings) in JSON text: one per key occurrence. */
function separatorCount(text: string): number {
  let n = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x3a) n++;
  }
  return n;
}

/**
 * A YAML document that is a JSON object (what clients send as `application/apply-patch+yaml`),
 * decoded as the YAML parser would decode it; `undefined` when the text is anything else (other
 * YAML, invalid JSON, or an object with a repeated key, which the YAML parser refuses).
 */
export function parseJsonObjectText(text: string): { value: unknown } | undefined {
  if (!text.trimStart().startsWith('{')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  return keyCount(value) === separatorCount(text) ? { value } : undefined;
}
