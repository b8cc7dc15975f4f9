/**
 * The value walkers of structured-merge-diff's `typed` package (ToFieldSet, Compare, Merge,
 * RemoveItems), driven by a ListTypeLookup instead of a full schema: lists are atomic unless the
 * lookup says map or set; objects are granular (struct-like) unless the lookup says atomic.
 */
import {
  FieldSet,
  fieldToken,
  keyToken,
  renderPath,
  renderToken,
  valueToken,
  type Token,
} from './fieldset.js';
import { clone, deepEqual, entriesOf, isEmptyContainer, isObject, type JsonObject } from './json.js';

export type ListType =
  | { type: 'map'; keys: string[]; defaults?: Record<string, unknown> }
  | { type: 'set' }
  | { type: 'atomic' }
  | undefined;

export type ListTypeLookup = (path: string[]) => ListType;

/** A value that the schema cannot make sense of, e.g. a map-list item without its key. */
export class TypedValueError extends Error {
  override name = 'TypedValueError';
}

type Granular = { type: 'map'; keys: string[]; defaults?: Record<string, unknown> } | { type: 'set' };

interface Walk {
  readonly lookup: ListTypeLookup;
  /** Duplicate list items are an error (applied configurations) rather than one atomic item. */
  readonly strict: boolean;
}

function listTypeAt(w: Walk, names: string[]): Granular | undefined {
  const t = w.lookup(names);
  if (t?.type === 'set') return t;
  if (t?.type === 'map' && t.keys.length > 0) return t;
  return undefined;
}

const atomicObject = (w: Walk, names: string[], isItem: boolean): boolean =>
  !isItem && w.lookup(names)?.type === 'atomic';

function itemToken(item: unknown, t: Granular, path: Token[], i: number): Token {
  const fail = (why: string) => new TypedValueError(`${renderPath(path)}: element ${i}: ${why}`);
  if (t.type === 'set') {
    if (isObject(item)) throw fail("associative list without keys has an element that's a map type");
    if (Array.isArray(item)) throw fail("associative list without keys has an element that's a list type");
    return valueToken(item);
  }
  if (item === null || item === undefined)
    throw fail('associative list with keys may not have a null element');
  if (!isObject(item)) throw fail('associative list with keys may not have non-map elements');
  const fields = t.keys.map((key): [string, unknown] => {
    if (item[key] !== undefined) return [key, item[key]];
    if (t.defaults && t.defaults[key] !== undefined) return [key, t.defaults[key]];
    throw fail(
      `associative list with keys has an element that omits key field "${key}" (and doesn't have default value)`,
    );
  });
  return keyToken(fields);
}

/** The items of a granular list by token: `order` is first-occurrence order, `tokens` one per item. */
interface ListIndex {
  readonly order: Token[];
  readonly groups: Map<Token, unknown[]>;
  readonly tokens: Token[];
}

function indexList(w: Walk, items: readonly unknown[], t: Granular, path: Token[]): ListIndex {
  const order: Token[] = [];
  const groups = new Map<Token, unknown[]>();
  const tokens = items.map((item, i) => {
    const token = itemToken(item, t, path, i);
    const group = groups.get(token);
    if (group) {
      if (w.strict)
        throw new TypedValueError(`${renderPath(path)}: duplicate entries for key ${renderToken(token)}`);
      group.push(item);
    } else {
      groups.set(token, [item]);
      order.push(token);
    }
    return token;
  });
  return { order, groups, tokens };
}

/**
 * SMD's ToFieldSet: every scalar leaf, every atomic list or map, every item of a granular list.
 * An item that occurs more than once in a list is owned as a whole (SMD's duplicate handling).
 */
export function toFieldSet(value: unknown, lookup: ListTypeLookup, strict = false): FieldSet {
  const w: Walk = { lookup, strict };
  const set = FieldSet.empty();
  const walk = (v: unknown, names: string[], path: Token[], isItem: boolean): void => {
    if (Array.isArray(v)) {
      const t = listTypeAt(w, names);
      if (!t) {
        set.insert(path);
        return;
      }
      const index = indexList(w, v, t, path);
      for (const token of index.order) {
        const group = index.groups.get(token)!;
        const itemPath = [...path, token];
        if (group.length === 1 && t.type === 'map') walk(group[0], names, itemPath, true);
        set.insert(itemPath);
      }
      return;
    }
    if (isObject(v)) {
      if (atomicObject(w, names, isItem)) {
        set.insert(path);
        return;
      }
      for (const [k, child] of entriesOf(v)) walk(child, [...names, k], [...path, fieldToken(k)], false);
      return;
    }
    if (v !== undefined) set.insert(path);
  };
  walk(value, [], [], false);
  return set;
}

export interface Comparison {
  readonly added: FieldSet;
  readonly removed: FieldSet;
  readonly modified: FieldSet;
}

/**
 * SMD's TypedValue.Compare: leaves that changed value are modified; every node present on only one
 * side (leaf or not) is added or removed; a node whose two sides are both empty is a leaf.
 */
export function compare(lhs: unknown, rhs: unknown, lookup: ListTypeLookup): Comparison {
  const w: Walk = { lookup, strict: false };
  const out = { added: FieldSet.empty(), removed: FieldSet.empty(), modified: FieldSet.empty() };
  const leaf = (l: unknown, r: unknown, path: Token[]) => {
    if (l === undefined) out.added.insert(path);
    else if (r === undefined) out.removed.insert(path);
    else if (!deepEqual(l, r)) out.modified.insert(path);
  };

  const walk = (l: unknown, r: unknown, names: string[], path: Token[], isItem: boolean): void => {
    // An unchanged value adds nothing to the comparison, once its granular lists are known to index.
    if (l !== undefined && r !== undefined && deepEqual(l, r) && indexesAlike(w, l, names, path, isItem))
      return;
    if (l !== undefined && r !== undefined && kindOf(l) !== kindOf(r)) {
      // null against a container is that container emptied (or filled), as SMD reads a null map or list.
      if (l === null) return walk(emptyLike(r), r, names, path, isItem);
      if (r === null) return walk(l, emptyLike(l), names, path, isItem);
      out.modified.insert(path);
      if (!isEmptyContainer(l)) walk(l, emptyLike(l), names, path, isItem);
      if (!isEmptyContainer(r)) walk(emptyLike(r), r, names, path, isItem);
      return;
    }
    const sample = l !== undefined ? l : r;
    const bothEmpty = (l === undefined || isEmptyContainer(l)) && (r === undefined || isEmptyContainer(r));
    if (Array.isArray(sample)) {
      const t = listTypeAt(w, names);
      if (!t || bothEmpty) return leaf(l, r, path);
      const li = indexList(w, (l as unknown[] | undefined) ?? [], t, path);
      const ri = indexList(w, (r as unknown[] | undefined) ?? [], t, path);
      const item = (lg: unknown[] | undefined, rg: unknown[] | undefined, itemPath: Token[]) => {
        if ((lg && lg.length > 1) || (rg && rg.length > 1)) leaf(lg, rg, itemPath);
        else walk(lg?.[0], rg?.[0], names, itemPath, true);
      };
      for (const token of ri.order) item(li.groups.get(token), ri.groups.get(token), [...path, token]);
      for (const token of li.order) {
        if (!ri.groups.has(token)) item(li.groups.get(token), undefined, [...path, token]);
      }
    } else if (isObject(sample)) {
      if (atomicObject(w, names, isItem) || bothEmpty) return leaf(l, r, path);
      const lo = (l as JsonObject | undefined) ?? {};
      const ro = (r as JsonObject | undefined) ?? {};
      const keys = new Set([...entriesOf(lo).map(([k]) => k), ...entriesOf(ro).map(([k]) => k)]);
      for (const k of keys) walk(lo[k], ro[k], [...names, k], [...path, fieldToken(k)], false);
    } else {
      return leaf(l, r, path);
    }
    if (path.length === 0) return;
    if (l === undefined) out.added.insert(path);
    else if (r === undefined) out.removed.insert(path);
  };

  walk(lhs, rhs, [], [], false);
  return out;
}

/**
 * For a value compared with an equal copy of itself: indexes its granular lists as `compare` does
 * (throwing the same TypedValueError at the same place), and says whether `compare` would find no
 * difference. It would not where a list item is missing (`undefined`), which `compare` reads as added.
 */
function indexesAlike(w: Walk, v: unknown, names: string[], path: Token[], isItem: boolean): boolean {
  if (Array.isArray(v)) {
    const t = listTypeAt(w, names);
    if (!t || v.length === 0) return true;
    const index = indexList(w, v, t, path);
    for (const token of index.order) {
      const group = index.groups.get(token)!;
      if (group.length > 1) continue;
      if (group[0] === undefined) return false;
      if (!indexesAlike(w, group[0], names, [...path, token], true)) return false;
    }
    return true;
  }
  if (isObject(v)) {
    if (atomicObject(w, names, isItem)) return true;
    for (const [k, child] of entriesOf(v))
      if (!indexesAlike(w, child, [...names, k], [...path, fieldToken(k)], false)) return false;
    return true;
  }
  return true;
}

type Kind = 'object' | 'array' | 'scalar';

const kindOf = (v: unknown): Kind => (Array.isArray(v) ? 'array' : isObject(v) ? 'object' : 'scalar');

const emptyLike = (v: unknown): unknown => (Array.isArray(v) ? [] : isObject(v) ? {} : undefined);

/**
 * SMD's TypedValue.Merge of an applied configuration (`rhs`) into the live object (`lhs`): maps
 * merge key by key, granular lists item by item in SMD's order (the configuration's order for the
 * items it names, live-only items kept where they were), everything else is replaced by `rhs`.
 * A null in `rhs` over a granular map or list leaves it as it is, like SMD's null map/list.
 */
export function merge(lhs: unknown, rhs: unknown, lookup: ListTypeLookup): unknown {
  const w: Walk = { lookup, strict: false };
  const walk = (l: unknown, r: unknown, names: string[], path: Token[], isItem: boolean): unknown => {
    if (r === undefined) return clone(l);
    if (l === undefined) return clone(r);
    if (Array.isArray(l) && (Array.isArray(r) || r === null)) {
      const t = listTypeAt(w, names);
      if (r === null) return t && l.length > 0 ? clone(l) : null;
      if (!t || (l.length === 0 && r.length === 0)) return clone(r);
      return mergeList(w, l, r, t, names, path, walk);
    }
    if (isObject(l) && (isObject(r) || r === null)) {
      const atomic = atomicObject(w, names, isItem);
      if (r === null) return !atomic && !isEmptyContainer(l) ? clone(l) : null;
      if (atomic || (isEmptyContainer(l) && isEmptyContainer(r))) return clone(r);
      const out: JsonObject = {};
      for (const [k, lv] of entriesOf(l))
        out[k] = walk(lv, r[k], [...names, k], [...path, fieldToken(k)], false);
      for (const [k, rv] of entriesOf(r)) if (!(k in out)) out[k] = clone(rv);
      return out;
    }
    return clone(r);
  };
  return walk(lhs, rhs, [], [], false);
}

type MergeWalk = (l: unknown, r: unknown, names: string[], path: Token[], isItem: boolean) => unknown;

function mergeList(
  w: Walk,
  l: unknown[],
  r: unknown[],
  t: Granular,
  names: string[],
  path: Token[],
  walk: MergeWalk,
): unknown[] {
  const ri = indexList(w, r, t, path);
  const li = indexList(w, l, t, path);
  const inRhs = (token: Token) => ri.groups.has(token);
  // Live items in order; an item the configuration names appears once (its duplicates fold into it).
  const lhsOrder: { token: Token; value: unknown }[] = [];
  const seenShared = new Set<Token>();
  l.forEach((value, i) => {
    const token = li.tokens[i]!;
    if (inRhs(token)) {
      if (seenShared.has(token)) return;
      seenShared.add(token);
    }
    lhsOrder.push({ token, value });
  });
  const rhsOrder = ri.order;
  const shared = rhsOrder.filter((token) => li.groups.has(token));
  let nextShared = shared.shift();
  const emitted = new Set<Token>();
  const out: unknown[] = [];
  const mergeItem = (token: Token): unknown => {
    emitted.add(token);
    const lg = li.groups.get(token);
    const rv = ri.groups.get(token)![0];
    if (lg && lg.length > 1) return clone(rv);
    return walk(lg?.[0], rv, names, [...path, token], true);
  };

  let lI = 0;
  let rI = 0;
  while (lI < lhsOrder.length || rI < rhsOrder.length) {
    const left = lhsOrder[lI];
    if (left && rI < rhsOrder.length) {
      if (left.token === rhsOrder[rI]) {
        out.push(mergeItem(left.token));
        lI++;
        rI++;
        nextShared = shared.shift();
        continue;
      }
      if (inRhs(left.token) && nextShared !== undefined && nextShared !== left.token) {
        lI++; // a shared item, but not the one due in this round
        continue;
      }
    }
    if (left) {
      if (!inRhs(left.token)) {
        out.push(clone(left.value));
        lI++;
        continue;
      }
      if (emitted.has(left.token) || rI >= rhsOrder.length) {
        lI++; // already merged with its configuration item
        continue;
      }
    }
    if (rI < rhsOrder.length) {
      const token = rhsOrder[rI]!;
      out.push(mergeItem(token));
      rI++;
      if (nextShared === token) nextShared = shared.shift();
    }
  }
  return out;
}

/**
 * SMD's TypedValue.RemoveItems: drops every member path of `set` (with what is below it). A map or
 * list left empty by the removal is dropped from its parent (SMD leaves a null, which the API
 * server then drops).
 */
export function removeItems(value: unknown, set: FieldSet, lookup: ListTypeLookup): unknown {
  const w: Walk = { lookup, strict: false };
  const EMPTIED = Symbol('emptied');
  const walk = (v: unknown, s: FieldSet, names: string[], path: Token[], isItem: boolean): unknown => {
    if (Array.isArray(v)) {
      const t = listTypeAt(w, names);
      if (!t || v.length === 0) return v;
      const index = indexList(w, v, t, path);
      const out: unknown[] = [];
      v.forEach((item, i) => {
        const token = index.tokens[i]!;
        const sub = s.child(token);
        if (sub?.member) return;
        if (sub && !sub.isEmpty()) {
          const kept = walk(item, sub, names, [...path, token], true);
          out.push(kept === EMPTIED ? {} : kept);
        } else out.push(item);
      });
      return out.length === 0 ? EMPTIED : out;
    }
    if (isObject(v)) {
      if (atomicObject(w, names, isItem) || isEmptyContainer(v)) return v;
      const out: JsonObject = {};
      for (const [k, child] of entriesOf(v)) {
        const sub = s.child(fieldToken(k));
        if (sub?.member) continue;
        if (sub && !sub.isEmpty()) {
          const kept = walk(child, sub, [...names, k], [...path, fieldToken(k)], false);
          if (kept !== EMPTIED) out[k] = kept;
        } else out[k] = child;
      }
      return entriesOf(out).length === 0 ? EMPTIED : out;
    }
    return v;
  };
  const result = walk(value, set, [], [], false);
  return result === EMPTIED ? {} : result;
}

/**
 * Drops the keys an applied configuration set to null: the manager keeps owning them, but the
 * stored object does not carry the null (the API server's conversion and pruning drop it).
 */
export function dropAppliedNulls(value: unknown, config: unknown, lookup: ListTypeLookup): unknown {
  const w: Walk = { lookup, strict: false };
  const walk = (v: unknown, c: unknown, names: string[], path: Token[], isItem: boolean): unknown => {
    if (isObject(v) && isObject(c) && !atomicObject(w, names, isItem)) {
      const out: JsonObject = {};
      for (const [k, child] of entriesOf(v)) {
        if (child === null && c[k] === null) continue;
        out[k] = k in c ? walk(child, c[k], [...names, k], [...path, fieldToken(k)], false) : child;
      }
      return out;
    }
    if (Array.isArray(v) && Array.isArray(c)) {
      const t = listTypeAt(w, names);
      if (t?.type !== 'map') return v;
      const vi = indexList(w, v, t, path);
      const ci = indexList(w, c, t, path);
      const items: unknown[] = v;
      return items.map((item, i) => {
        const configItem = ci.groups.get(vi.tokens[i]!);
        return configItem?.length === 1
          ? walk(item, configItem[0], names, [...path, vi.tokens[i]!], true)
          : item;
      });
    }
    return v;
  };
  return walk(value, config, [], [], false);
}
