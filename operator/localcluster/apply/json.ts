/**
 * Small helpers over JSON-shaped values (what an API object is once decoded). A key whose value is
 * `undefined` counts as absent, as it would after a JSON round trip.
 */

export type JsonObject = Record<string, unknown>;

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The entries of an object, leaving out keys whose value is `undefined`. */
export function entriesOf(o: JsonObject): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (const k of Object.keys(o)) {
    const v = o[k];
    if (v !== undefined) out.push([k, v]);
  }
  return out;
}

/** How many keys of `o` hold a value (not `undefined`). */
function definedCount(o: JsonObject): number {
  let n = 0;
  for (const k of Object.keys(o)) if (o[k] !== undefined) n++;
  return n;
}

export function isEmptyContainer(v: unknown): boolean {
  if (Array.isArray(v)) return v.length === 0;
  if (isObject(v)) {
    for (const k of Object.keys(v)) if (v[k] !== undefined) return false;
    return true;
  }
  return false;
}

export function clone<T>(v: T): T {
  if (Array.isArray(v)) {
    const out = new Array<unknown>(v.length);
    for (let i = 0; i < v.length; i++) out[i] = clone(v[i] as unknown);
    return out as T;
  }
  if (isObject(v)) {
    const out: JsonObject = {};
    for (const k of Object.keys(v)) {
      const child = v[k];
      if (child !== undefined) out[k] = clone(child);
    }
    return out as T;
  }
  return v;
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  if (isObject(a) && isObject(b)) {
    let n = 0;
    for (const k of Object.keys(a)) {
      const v = a[k];
      if (v === undefined) continue;
      n++;
      if (!Object.hasOwn(b, k) || !deepEqual(v, b[k])) return false;
    }
    return n === definedCount(b);
  }
  return false;
}

/**
 * Compares strings the way Go does (byte order of their UTF-8 encoding, which is code point order).
 * JavaScript's `<` compares UTF-16 units, which differs once a surrogate pair meets U+E000..U+FFFF.
 */
export function compareStrings(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? 1 : -1;
    return x < y ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/**
 * JSON as Go's encoding/json writes it: object keys sorted, and `<`, `>`, `&`, U+2028, U+2029
 * escaped. Used wherever a value becomes part of a field path (`k:{...}`, `v:...`).
 */
export function goJson(v: unknown): string {
  return JSON.stringify(sortKeys(v)).replace(/[<>&\u2028\u2029]/g, (c) => {
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (isObject(v)) {
    const out: JsonObject = {};
    for (const [k, child] of entriesOf(v).sort(([a], [b]) => compareStrings(a, b))) out[k] = sortKeys(child);
    return out;
  }
  return v;
}

/** Go's `%q` for a string (strconv.Quote), close enough for field names and keys. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    const named = GO_ESCAPES[ch];
    if (named !== undefined) out += named;
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else if ((c >= 0x80 && c <= 0x9f) || c === 0x2028 || c === 0x2029 || c === 0xfeff) {
      out += `\\u${c.toString(16).padStart(4, '0')}`;
    } else if (c >= 0xd800 && c <= 0xdfff) out += '\\ufffd';
    else out += ch;
  }
  return `${out}"`;
}

const GO_ESCAPES: Record<string, string> = {
  '"': '\\"',
  '\\': '\\\\',
  '\x07': '\\a',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\v': '\\v',
};

/** Go's `%v` for a number decoded from JSON: integers as int64, the rest as float64 (`%g`, shortest). */
export function goNumber(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return String(n);
  if (!Number.isFinite(n)) return n > 0 ? '+Inf' : n < 0 ? '-Inf' : 'NaN';
  const [mantissa, expText] = n.toExponential().split('e') as [string, string];
  const exp = Number(expText);
  if (exp < -4 || exp >= 6) {
    const sign = exp < 0 ? '-' : '+';
    return `${mantissa}e${sign}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  return String(n);
}
