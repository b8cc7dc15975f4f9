/**
 * Field paths and field sets as sigs.k8s.io/structured-merge-diff's `fieldpath` package has them.
 *
 * A path element is kept in its FieldsV1 spelling, the "token": `f:name` (a field of a map or
 * struct), `k:{"name":"web"}` (the item of a map list with these key values, names sorted),
 * `v:"x"` (the item of a set list with this value), `i:0` (an index; never produced here, but
 * read). A set is a trie of tokens where each node may itself be a member ("." in FieldsV1).
 */
import { compareStrings, entriesOf, goJson, goNumber, goQuote, isObject } from './json.js';

export type Token = string;

export type PathElement =
  | { readonly kind: 'field'; readonly name: string }
  | { readonly kind: 'key'; readonly fields: readonly (readonly [string, unknown])[] }
  | { readonly kind: 'value'; readonly value: unknown }
  | { readonly kind: 'index'; readonly index: number };

export const fieldToken = (name: string): Token => `f:${name}`;

/** `k:{...}` with the key fields sorted by name, as SMD's KeyByFields sorts them. */
export function keyToken(fields: readonly (readonly [string, unknown])[]): Token {
  return `k:${goJson(Object.fromEntries(fields))}`;
}

export const valueToken = (value: unknown): Token => `v:${goJson(value)}`;

const parsed = new Map<Token, PathElement>();

export function parseToken(token: Token): PathElement {
  const hit = parsed.get(token);
  if (hit) return hit;
  const pe = parseUncached(token);
  if (parsed.size > 50_000) parsed.clear();
  parsed.set(token, pe);
  return pe;
}

function parseUncached(token: Token): PathElement {
  const body = token.slice(2);
  switch (token.slice(0, 2)) {
    case 'f:':
      return { kind: 'field', name: body };
    case 'k:': {
      const key: unknown = JSON.parse(body);
      if (!isObject(key)) throw new Error(`invalid key path element ${token}`);
      return { kind: 'key', fields: entriesOf(key).sort(([a], [b]) => compareStrings(a, b)) };
    }
    case 'v:':
      return { kind: 'value', value: JSON.parse(body) as unknown };
    case 'i:': {
      const index = Number(body);
      if (!Number.isInteger(index) || index < 0) throw new Error(`invalid index path element ${token}`);
      return { kind: 'index', index };
    }
    default:
      throw new Error(`unknown path element ${JSON.stringify(token)}`);
  }
}

/** The token in its canonical spelling, so that equal elements are equal strings. */
export function canonicalToken(token: Token): Token {
  const pe = parseToken(token);
  switch (pe.kind) {
    case 'field':
      return token;
    case 'key':
      return keyToken(pe.fields);
    case 'value':
      return valueToken(pe.value);
    case 'index':
      return `i:${pe.index}`;
  }
}

const RANK = { field: 0, key: 1, value: 2, index: 3 } as const;

/** SMD's PathElement.Compare: fields, then keys, then values, then indices. */
export function compareTokens(a: Token, b: Token): number {
  if (a === b) return 0;
  const x = parseToken(a);
  const y = parseToken(b);
  if (x.kind !== y.kind) return RANK[x.kind] - RANK[y.kind];
  if (x.kind === 'field' && y.kind === 'field') return compareStrings(x.name, y.name);
  if (x.kind === 'key' && y.kind === 'key') return compareFieldLists(x.fields, y.fields);
  if (x.kind === 'value' && y.kind === 'value') return compareValues(x.value, y.value);
  if (x.kind === 'index' && y.kind === 'index') return Math.sign(x.index - y.index);
  return 0;
}

type FieldList = readonly (readonly [string, unknown])[];

function compareFieldLists(a: FieldList, b: FieldList): number {
  for (let i = 0; ; i++) {
    if (i >= a.length || i >= b.length) return Math.sign(a.length - b.length);
    const [an, av] = a[i]!;
    const [bn, bv] = b[i]!;
    const byName = compareStrings(an, bn);
    if (byName !== 0) return byName;
    const byValue = compareValues(av, bv);
    if (byValue !== 0) return byValue;
  }
}

const valueRank = (v: unknown): number =>
  typeof v === 'number'
    ? 0
    : typeof v === 'string'
      ? 1
      : typeof v === 'boolean'
        ? 2
        : Array.isArray(v)
          ? 3
          : isObject(v)
            ? 4
            : 5;

/** SMD's value.Compare: numbers < strings < booleans < lists < maps < null. */
export function compareValues(a: unknown, b: unknown): number {
  const ra = valueRank(a);
  const rb = valueRank(b);
  if (ra !== rb) return ra - rb;
  if (typeof a === 'number' && typeof b === 'number') return Math.sign(a - b);
  if (typeof a === 'string' && typeof b === 'string') return compareStrings(a, b);
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; ; i++) {
      if (i >= a.length || i >= b.length) return Math.sign(a.length - b.length);
      const c = compareValues(a[i], b[i]);
      if (c !== 0) return c;
    }
  }
  if (isObject(a) && isObject(b)) {
    const sort = (o: Record<string, unknown>) => entriesOf(o).sort(([x], [y]) => compareStrings(x, y));
    return compareFieldLists(sort(a), sort(b));
  }
  return 0;
}

/** A path element as `fieldpath.PathElement.String()` prints it: `.name`, `[name="web"]`, `[="x"]`, `[0]`. */
export function renderToken(token: Token): string {
  const pe = parseToken(token);
  switch (pe.kind) {
    case 'field':
      return `.${pe.name}`;
    case 'key':
      return `[${pe.fields.map(([name, v]) => `${name}=${goValue(v)}`).join(',')}]`;
    case 'value':
      return `[=${goValue(pe.value)}]`;
    case 'index':
      return `[${pe.index}]`;
  }
}

/** A path as `fieldpath.Path.String()` prints it, e.g. `.spec.containers[name="web"].image`. */
export function renderPath(path: readonly Token[]): string {
  return path.map(renderToken).join('');
}

/** SMD's value.ToString. */
function goValue(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return goQuote(v);
  if (typeof v === 'number') return goNumber(v);
  if (typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(goValue).join(',')}]`;
  if (isObject(v)) {
    const fields = entriesOf(v).sort(([a], [b]) => compareStrings(a, b));
    return `{${fields.map(([k, child]) => `${k}=${goValue(child)}`).join(',')}}`;
  }
  return 'null';
}

interface Node {
  member: boolean;
  readonly children: Map<Token, Node>;
}

const newNode = (): Node => ({ member: false, children: new Map() });

const isEmptyNode = (n: Node): boolean => !n.member && n.children.size === 0;

/**
 * A set of field paths. `insert` mutates (to build a set); every other operation returns a new set.
 * A set obtained with `child()` describes the paths below one token; its `member` says whether the
 * path up to that token is itself in the set.
 */
export class FieldSet {
  private constructor(private readonly node: Node) {}

  static empty(): FieldSet {
    return new FieldSet(newNode());
  }

  static of(...paths: (readonly Token[])[]): FieldSet {
    const set = FieldSet.empty();
    for (const p of paths) set.insert(p);
    return set;
  }

  /** Reads FieldsV1 (`{"f:spec":{"f:replicas":{}}}`). Throws on an element it cannot parse. */
  static fromFieldsV1(fields: unknown): FieldSet {
    const read = (raw: unknown, into: Node): void => {
      if (!isObject(raw)) throw new Error('fieldsV1 must be a JSON object');
      for (const [key, sub] of entriesOf(raw)) {
        if (key === '.') {
          into.member = true;
          continue;
        }
        const token = canonicalToken(key);
        const child = into.children.get(token) ?? newNode();
        if (isObject(sub) && entriesOf(sub).length === 0) child.member = true;
        else read(sub, child);
        into.children.set(token, child);
      }
    };
    const root = newNode();
    read(fields, root);
    return new FieldSet(root);
  }

  get member(): boolean {
    return this.node.member;
  }

  isEmpty(): boolean {
    return this.node.children.size === 0;
  }

  insert(path: readonly Token[]): this {
    if (path.length === 0) return this;
    let at = this.node;
    for (const token of path) {
      let next = at.children.get(token);
      if (!next) {
        next = newNode();
        at.children.set(token, next);
      }
      at = next;
    }
    at.member = true;
    return this;
  }

  has(path: readonly Token[]): boolean {
    let at: Node | undefined = this.node;
    for (const token of path) {
      at = at.children.get(token);
      if (!at) return false;
    }
    return path.length > 0 && at.member;
  }

  /** The paths below `token`, or undefined when there are none and `token` itself is no member. */
  child(token: Token): FieldSet | undefined {
    const n = this.node.children.get(token);
    return n ? new FieldSet(n) : undefined;
  }

  union(other: FieldSet): FieldSet {
    return new FieldSet(combine(this.node, other.node, 'union'));
  }

  /** Members of this set that are not members of `other` (path by path, not subtrees). */
  difference(other: FieldSet): FieldSet {
    return new FieldSet(combine(this.node, other.node, 'difference'));
  }

  intersection(other: FieldSet): FieldSet {
    return new FieldSet(combine(this.node, other.node, 'intersection'));
  }

  /**
   * SMD's EnsureNamedFieldsAreMembers: a field that has owned paths below it becomes a member too.
   * Without a schema every map key counts as a named (struct) field here.
   */
  ensureNamedFieldsAreMembers(): FieldSet {
    const walk = (n: Node, isField: boolean): Node => {
      const out = newNode();
      out.member = n.member || (isField && n.children.size > 0);
      for (const [token, child] of n.children) out.children.set(token, walk(child, token.startsWith('f:')));
      return out;
    };
    const root = walk(this.node, false);
    root.member = false;
    return new FieldSet(root);
  }

  /** Every member path, in SMD's Set.Iterate order: a level's leaves first, then its subtrees. */
  paths(): Token[][] {
    const out: Token[][] = [];
    const walk = (n: Node, prefix: Token[]): void => {
      const tokens = [...n.children.keys()].sort(compareTokens);
      for (const t of tokens) if (n.children.get(t)!.member) out.push([...prefix, t]);
      for (const t of tokens) {
        const c = n.children.get(t)!;
        if (c.children.size > 0) walk(c, [...prefix, t]);
      }
    };
    walk(this.node, []);
    return out;
  }

  /** FieldsV1 with keys in SMD's order, `.` first where a path and paths below it are both members. */
  toFieldsV1(): Record<string, unknown> {
    const write = (n: Node): Record<string, unknown> => {
      const out: Record<string, unknown> = {};
      if (n.member && n.children.size > 0) out['.'] = {};
      for (const t of [...n.children.keys()].sort(compareTokens)) out[t] = write(n.children.get(t)!);
      return out;
    };
    return write(this.node);
  }

  equals(other: FieldSet): boolean {
    const eq = (a: Node, b: Node): boolean =>
      a.member === b.member &&
      a.children.size === b.children.size &&
      [...a.children].every(([t, c]) => {
        const d = b.children.get(t);
        return d !== undefined && eq(c, d);
      });
    return eq(this.node, other.node);
  }
}

function combine(a: Node, b: Node, op: 'union' | 'difference' | 'intersection'): Node {
  const out = newNode();
  out.member =
    op === 'union'
      ? a.member || b.member
      : op === 'difference'
        ? a.member && !b.member
        : a.member && b.member;
  const tokens = op === 'union' ? new Set([...a.children.keys(), ...b.children.keys()]) : a.children.keys();
  for (const t of tokens) {
    const x = a.children.get(t);
    const y = b.children.get(t);
    let merged: Node | undefined;
    if (x && y) merged = combine(x, y, op);
    else if (op === 'union' || op === 'difference') merged = x ?? y;
    if (merged && !isEmptyNode(merged)) out.children.set(t, x && y ? merged : copy(merged));
  }
  return out;
}

function copy(n: Node): Node {
  const out = newNode();
  out.member = n.member;
  for (const [t, c] of n.children) out.children.set(t, copy(c));
  return out;
}
