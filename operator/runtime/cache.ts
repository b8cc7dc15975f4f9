/**
 * The informers' object store: objects by key (`namespace/name`, or `name` when cluster-scoped), with
 * indexes kept up to date on every change. Built-in indexes: by namespace, by owner uid and by label
 * pair (`key=value`); add more with `addIndex(name, fn)`. Pure data structure: no I/O, no clock.
 */
import type { KubeObject } from './client.js';

export type IndexFunc<T> = (obj: T) => string[];

/** `namespace/name` (or `name` for cluster-scoped objects): the work-queue key of an object. */
export const keyOf = (obj: KubeObject): string => {
  const ns = obj.metadata?.namespace;
  const name = obj.metadata?.name ?? '';
  return ns ? `${ns}/${name}` : name;
};

/** The inverse of `keyOf`. */
export const splitKey = (key: string): { namespace?: string; name: string } => {
  const i = key.indexOf('/');
  return i < 0 ? { name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
};

export const INDEX_NAMESPACE = 'namespace';
export const INDEX_OWNER_UID = 'ownerUid';
export const INDEX_LABEL = 'label';

// ---------------------------------------------------------------- label selectors

type Requirement =
  { op: 'in' | 'notin'; key: string; values: string[] } | { op: 'exists' | '!exists'; key: string };

/** Parses a label selector (`a=b,c!=d,e in (x,y),f notin (z),g,!h`). Throws on a malformed one. */
export function parseSelector(selector: string | undefined): Requirement[] {
  if (!selector?.trim()) return [];
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of selector) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  return parts.map((raw): Requirement => {
    const p = raw.trim();
    let m: RegExpMatchArray | null;
    if ((m = p.match(/^([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)$/)))
      return {
        op: m[2] as 'in' | 'notin',
        key: m[1]!,
        values: m[3]!
          .split(',')
          .map((v) => v.trim())
          .filter((v, i, all) => v !== '' || all.length === 1),
      };
    if ((m = p.match(/^([^\s!=]+)\s*!=\s*(\S*)$/))) return { op: 'notin', key: m[1]!, values: [m[2]!] };
    if ((m = p.match(/^([^\s!=]+)\s*==?\s*(\S*)$/))) return { op: 'in', key: m[1]!, values: [m[2]!] };
    if ((m = p.match(/^!\s*([^\s!=]+)$/))) return { op: '!exists', key: m[1]! };
    if ((m = p.match(/^([^\s!=()]+)$/))) return { op: 'exists', key: m[1]! };
    throw new Error(`invalid label selector: ${JSON.stringify(selector)}`);
  });
}

/** A predicate for objects whose labels match `selector`. */
export function labelMatcher(
  selector: string | undefined,
): (labels: Record<string, string> | undefined) => boolean {
  const reqs = parseSelector(selector);
  return (labels = {}) =>
    reqs.every((r) => {
      const has = Object.prototype.hasOwnProperty.call(labels, r.key);
      switch (r.op) {
        case 'exists':
          return has;
        case '!exists':
          return !has;
        case 'in':
          return has && r.values.includes(labels[r.key]!);
        case 'notin':
          return !has || !r.values.includes(labels[r.key]!);
      }
    });
}

// ---------------------------------------------------------------- the store

interface Index<T> {
  fn: IndexFunc<T>;
  values: Map<string, Set<string>>;
}

export class IndexedStore<T extends KubeObject> {
  private readonly objects = new Map<string, T>();
  private readonly indexes = new Map<string, Index<T>>();

  constructor() {
    this.addIndex(INDEX_NAMESPACE, (o) => (o.metadata?.namespace ? [o.metadata.namespace] : []));
    this.addIndex(INDEX_OWNER_UID, (o) => (o.metadata?.ownerReferences ?? []).map((r) => r.uid));
    this.addIndex(INDEX_LABEL, (o) => Object.entries(o.metadata?.labels ?? {}).map(([k, v]) => `${k}=${v}`));
  }

  get size(): number {
    return this.objects.size;
  }

  get(key: string): T | undefined {
    return this.objects.get(key);
  }

  keys(): IterableIterator<string> {
    return this.objects.keys();
  }

  values(): IterableIterator<T> {
    return this.objects.values();
  }

  /** Adds an index (existing objects are indexed at once). Names are unique. */
  addIndex(name: string, fn: IndexFunc<T>): void {
    if (this.indexes.has(name)) throw new Error(`index ${name} already exists`);
    const index: Index<T> = { fn, values: new Map() };
    this.indexes.set(name, index);
    for (const [key, obj] of this.objects) this.indexOne(index, key, obj);
  }

  hasIndex(name: string): boolean {
    return this.indexes.has(name);
  }

  /** Objects whose index `name` yields `value`. */
  byIndex(name: string, value: string): T[] {
    const index = this.indexes.get(name);
    if (!index) throw new Error(`no index ${name}`);
    const keys = index.values.get(value);
    return keys ? [...keys].map((k) => this.objects.get(k)!) : [];
  }

  /** Objects in `namespace` (all when undefined) matching `labelSelector`. */
  list(o: { namespace?: string; labelSelector?: string } = {}): T[] {
    const match = labelMatcher(o.labelSelector);
    const candidates =
      o.namespace !== undefined ? this.byIndex(INDEX_NAMESPACE, o.namespace) : this.objects.values();
    const out: T[] = [];
    for (const obj of candidates) if (match(obj.metadata?.labels)) out.push(obj);
    return out;
  }

  /** Stores `obj` under `key`, returning the object it replaced. */
  put(key: string, obj: T): T | undefined {
    const old = this.objects.get(key);
    if (old) for (const index of this.indexes.values()) this.unindexOne(index, key, old);
    this.objects.set(key, obj);
    for (const index of this.indexes.values()) this.indexOne(index, key, obj);
    return old;
  }

  remove(key: string): T | undefined {
    const old = this.objects.get(key);
    if (!old) return undefined;
    for (const index of this.indexes.values()) this.unindexOne(index, key, old);
    this.objects.delete(key);
    return old;
  }

  private indexOne(index: Index<T>, key: string, obj: T): void {
    for (const v of index.fn(obj)) {
      let set = index.values.get(v);
      if (!set) index.values.set(v, (set = new Set()));
      set.add(key);
    }
  }

  private unindexOne(index: Index<T>, key: string, obj: T): void {
    for (const v of index.fn(obj)) {
      const set = index.values.get(v);
      set?.delete(key);
      if (set?.size === 0) index.values.delete(v);
    }
  }
}
