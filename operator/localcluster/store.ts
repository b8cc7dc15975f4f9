/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument -- Kubernetes objects are untyped JSON here (Obj) */
/**
 * The object store: every object by storage key → namespace → name, one global resourceVersion
 * counter, a bounded history of change events for watch resumption, and the live watchers.
 *
 * Stored objects are never mutated: every write stores a new object, and readers clone before
 * changing anything. Everything here is synchronous, so a watcher that replays history and then
 * subscribes cannot miss an event.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Obj = Record<string, any>;

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  rv: number;
  type: EventType;
  key: string;
  namespace: string;
  object: Obj;
  /** The previous version, for MODIFIED and DELETED (selector transitions need it). */
  old?: Obj;
}

export interface Subscriber {
  key: string;
  /** undefined: all namespaces. */
  namespace?: string;
  onEvent(ev: StoreEvent): void;
}

export interface ObjectRef {
  key: string;
  namespace: string;
  name: string;
}

const refString = (r: ObjectRef): string => `${r.key}\u0000${r.namespace}\u0000${r.name}`;

export class Store {
  private counter = 0;
  private readonly data = new Map<string, Map<string, Map<string, Obj>>>();
  private readonly byUid = new Map<string, ObjectRef>();
  /** owner uid → dependents (refString) */
  private readonly dependents = new Map<string, Set<string>>();
  private history: StoreEvent[] = [];
  /** Every event with rv > floor is in `history`. */
  private floor = 0;
  private readonly subscribers = new Set<Subscriber>();
  private readonly changeListeners: ((ev: StoreEvent) => void)[] = [];

  constructor(
    private readonly window = 10_000,
    startAt = 0,
  ) {
    this.counter = startAt;
    this.floor = startAt;
  }

  get resourceVersion(): number {
    return this.counter;
  }

  /** The oldest resourceVersion a watch can resume from. */
  get oldestResumable(): number {
    return this.floor;
  }

  onChange(listener: (ev: StoreEvent) => void): void {
    this.changeListeners.push(listener);
  }

  get(key: string, namespace: string, name: string): Obj | undefined {
    return this.data.get(key)?.get(namespace)?.get(name);
  }

  /** Objects sorted by namespace, then name (etcd key order). */
  list(key: string, namespace?: string): Obj[] {
    const byNs = this.data.get(key);
    if (!byNs) return [];
    const out: Obj[] = [];
    const namespaces = namespace === undefined ? [...byNs.keys()].sort() : [namespace];
    for (const ns of namespaces) {
      const names = byNs.get(ns);
      if (!names) continue;
      for (const name of [...names.keys()].sort()) out.push(names.get(name)!);
    }
    return out;
  }

  count(key: string, namespace?: string): number {
    const byNs = this.data.get(key);
    if (!byNs) return 0;
    if (namespace !== undefined) return byNs.get(namespace)?.size ?? 0;
    let n = 0;
    for (const names of byNs.values()) n += names.size;
    return n;
  }

  keys(): string[] {
    return [...this.data.keys()];
  }

  /** Namespaces that hold at least one object of `key`. */
  namespacesOf(key: string): string[] {
    return [...(this.data.get(key)?.keys() ?? [])];
  }

  refByUid(uid: string): ObjectRef | undefined {
    return this.byUid.get(uid);
  }

  getByUid(uid: string): Obj | undefined {
    const ref = this.byUid.get(uid);
    return ref && this.get(ref.key, ref.namespace, ref.name);
  }

  dependentsOf(uid: string): ObjectRef[] {
    return [...(this.dependents.get(uid) ?? [])].map((s) => {
      const [key, namespace, name] = s.split('\u0000') as [string, string, string];
      return { key, namespace, name };
    });
  }

  /** Stores a new object (its resourceVersion is assigned here) and returns it. */
  create(key: string, obj: Obj): Obj {
    const ns = obj.metadata.namespace ?? '';
    obj.metadata.resourceVersion = String(++this.counter);
    let byNs = this.data.get(key);
    if (!byNs) this.data.set(key, (byNs = new Map()));
    let names = byNs.get(ns);
    if (!names) byNs.set(ns, (names = new Map()));
    names.set(obj.metadata.name, obj);
    const ref = { key, namespace: ns, name: obj.metadata.name as string };
    this.byUid.set(obj.metadata.uid, ref);
    this.indexOwners(ref, undefined, obj);
    this.emit({ rv: this.counter, type: 'ADDED', key, namespace: ns, object: obj });
    return obj;
  }

  update(key: string, obj: Obj, old: Obj): Obj {
    const ns = obj.metadata.namespace ?? '';
    obj.metadata.resourceVersion = String(++this.counter);
    this.data.get(key)!.get(ns)!.set(obj.metadata.name, obj);
    this.indexOwners({ key, namespace: ns, name: obj.metadata.name }, old, obj);
    this.emit({ rv: this.counter, type: 'MODIFIED', key, namespace: ns, object: obj, old });
    return obj;
  }

  /**
   * Removes an object; the DELETED event carries it (or `final`, its last state, when a write
   * removed the last finalizer) with a new resourceVersion.
   */
  remove(key: string, old: Obj, final: Obj = old): Obj {
    const ns = old.metadata.namespace ?? '';
    const names = this.data.get(key)?.get(ns);
    if (!names?.delete(old.metadata.name)) return old;
    if (names.size === 0) this.data.get(key)!.delete(ns);
    this.byUid.delete(old.metadata.uid);
    this.indexOwners({ key, namespace: ns, name: old.metadata.name }, old, undefined);
    const obj = { ...final, metadata: { ...final.metadata, resourceVersion: String(++this.counter) } };
    this.emit({ rv: this.counter, type: 'DELETED', key, namespace: ns, object: obj, old });
    return obj;
  }

  /** Drops all objects of `key` without events (a CRD's storage after its objects are gone). */
  dropKey(key: string): void {
    this.data.delete(key);
  }

  private indexOwners(ref: ObjectRef, old: Obj | undefined, next: Obj | undefined): void {
    const s = refString(ref);
    const before: { uid: string }[] = old?.metadata.ownerReferences ?? [];
    const after: { uid: string }[] = next?.metadata.ownerReferences ?? [];
    for (const o of before) {
      if (after.some((a) => a.uid === o.uid)) continue;
      const set = this.dependents.get(o.uid);
      set?.delete(s);
      if (set?.size === 0) this.dependents.delete(o.uid);
    }
    for (const o of after) {
      let set = this.dependents.get(o.uid);
      if (!set) this.dependents.set(o.uid, (set = new Set()));
      set.add(s);
    }
  }

  private emit(ev: StoreEvent): void {
    this.history.push(ev);
    if (this.history.length > this.window * 1.25) {
      const drop = this.history.length - this.window;
      this.floor = this.history[drop - 1]!.rv;
      this.history = this.history.slice(drop);
    }
    for (const sub of this.subscribers) {
      if (sub.key !== ev.key) continue;
      if (sub.namespace !== undefined && sub.namespace !== ev.namespace) continue;
      sub.onEvent(ev);
    }
    for (const l of this.changeListeners) l(ev);
  }

  /**
   * Events of `key` (in `namespace`, or all) after `rv`, or undefined when some of them are no
   * longer retained (the caller answers 410 Gone).
   */
  since(rv: number, key: string, namespace?: string): StoreEvent[] | undefined {
    if (rv < this.floor) return undefined;
    // binary search for the first event with rv > given
    let lo = 0;
    let hi = this.history.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.history[mid]!.rv <= rv) lo = mid + 1;
      else hi = mid;
    }
    const out: StoreEvent[] = [];
    for (let i = lo; i < this.history.length; i++) {
      const ev = this.history[i]!;
      if (ev.key === key && (namespace === undefined || ev.namespace === namespace)) out.push(ev);
    }
    return out;
  }

  subscribe(sub: Subscriber): () => void {
    this.subscribers.add(sub);
    return () => this.subscribers.delete(sub);
  }

  /** Forgets the event history: watches from an older resourceVersion then get 410 Gone. */
  forgetHistory(): void {
    this.history = [];
    this.floor = this.counter;
  }
}
