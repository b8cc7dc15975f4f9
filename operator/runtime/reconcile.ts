/**
 * The standard reconcile path, written once for every kind (Sail's `StandardReconciler`): a kind
 * describes itself as a `StandardKind` — parse, observe, desired children, status — and
 * `standardReconciler` turns that into the `Reconcile` function a `Controller` runs.
 *
 *   const policies = mgr.informer<KubeObject>(ServicePolicies);
 *   const netpols = mgr.informer(NetworkPolicies, { labelSelector: 'meshwright.io/owner-kind=ServicePolicy' });
 *   const reconcile = standardReconciler(mgr, {
 *     name: 'servicepolicy', primary: ServicePolicies,
 *     parse: zodParser(ServicePolicy.resource),
 *     observe: (cr) => ({ service: services.get(...) }),
 *     desired: (cr, observed) => [networkPolicy(cr, observed.service)],
 *     owned: [{ type: NetworkPolicies, informer: netpols }],
 *     status: (cr, observed, outcome, now) => ({ status: computeStatus(...) }),
 *   }, policies);
 *   mgr.add(mgr.controller({ name: 'servicepolicy', reconcile }).for(policies, primaryChanged).owns(netpols, owner));
 *
 * One reconcile of one key:
 *
 *  1. **Fetch** the object from the primary informer's cache. Absent: done (children go with it,
 *     through their ownerReferences and the garbage collector).
 *  2. **Deletion.** With a `finalizer`: add it first (merge patch, resourceVersion precondition);
 *     once `deletionTimestamp` is set, run `finalize` and remove it. Without one: nothing to do.
 *  3. **Parse** (zod, defaults applied). `InvalidSpecError` → status `Ready=False`, reason
 *     `InvalidSpec` (or the kind's `invalid` status), a Warning Event, and a `TerminalError`: no
 *     retry until the object changes. Nothing is applied or pruned.
 *  4. **Observe** what the reconcile needs, from caches. No writes.
 *  5. **Desired** children (pure). Each must carry a controller ownerReference to the object and
 *     the labels `app.kubernetes.io/managed-by: meshwright` and `meshwright.io/owner` (a builder
 *     that forgets them is a bug: `TypeError`), except `createOnly` children (no ownerReference).
 *  6. **Apply** each child, in order, *only when it differs from the cached child*: the applied
 *     object carries `meshwright.io/desired-hash` (a hash of the desired object), so a field we stop
 *     setting changes the hash and is re-applied (server-side apply then removes it: we own it);
 *     and every field we set must still hold our value in the cache (`isDeepSubset`: objects by key,
 *     arrays element-wise with equal length, scalars equal; fields the server added are ignored),
 *     so manual drift is repaired. Server-side apply, field manager `meshwright`, `force`. The
 *     first failure stops the applies (later children may depend on earlier ones).
 *  7. **Prune** the children of the owned types that are controlled by this object (ownerReference
 *     uid, never a label alone: the operator never deletes what it does not own) and not desired —
 *     unless `desired` said `prune: false`, or an apply failed.
 *  8. **Status**, computed once from the observations and the outcome, **written last** and only
 *     when it differs from the cached status — also when applying failed, after which the apply
 *     error is rethrown, so the runtime's one error policy (backoff) retries. Merge patch on the
 *     status subresource with the resourceVersion precondition: a 409 is rethrown (retried).
 *  9. **Events** the kind returns are emitted only by a reconcile that changed something (status
 *     written, a child written or pruned): a steady state writes nothing, Events included.
 * 10. `{ requeueAfter }` from the status result.
 *
 * Steady state: zero writes. Right after a write the informer may not have seen it yet; the path
 * remembers, per object, the resourceVersion each of its writes replaced ("expectations"), and while
 * the cache still holds exactly that version it does not write the same thing again. Any other
 * version in the cache (someone else wrote, or the cache caught up) drops the memory.
 *
 * Owned child lookups go through the `owned` informers (by kind); a child whose type has no informer
 * there is a bug (`TypeError`). Point each informer at the children only (the owner-kind label) so
 * the cache stays small.
 */
import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { ZodType } from 'zod';
import { INDEX_OWNER_UID, keyOf } from './cache.js';
import { isAlreadyExists, type Kube, type KubeObject, type ObjectRef, type ResourceType } from './client.js';
import type { Clock } from './clock.js';
import { setCondition, type Condition } from './conditions.js';
import type { Reconcile, ReconcileResult } from './controller.js';
import { TerminalError } from './errors.js';
import type { EventType, Recorder } from './events.js';
import type { Informer } from './informer.js';
import { onUpdate, type Predicate } from './predicates.js';

/** Carries the desired object's hash, so a field we stop setting triggers a re-apply. */
export const DESIRED_HASH_ANNOTATION = 'meshwright.io/desired-hash';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'meshwright';
export const OWNER_LABEL = 'meshwright.io/owner';
/** The field manager of every server-side apply. */
export const FIELD_MANAGER = 'meshwright';

/** The spec cannot be used as it is. Thrown by `parse`; reported as `InvalidSpec`, never retried. */
export class InvalidSpecError extends Error {
  override readonly name: string = 'InvalidSpecError';
}

/** Identifies a child in outcomes and status (`generatedResources`). */
export interface ChildRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

/** What happened to the children in this reconcile. */
export interface ApplyOutcome {
  /** Desired children that are current now (written this time or already up to date), in order. */
  applied: ChildRef[];
  /** Of those, the ones written by this reconcile. */
  written: ChildRef[];
  /** Children deleted by this reconcile. */
  pruned: ChildRef[];
  /** The apply that failed (children after it were not attempted). The error is rethrown after status. */
  failed?: { ref: ChildRef; error: Error };
  /** The owned children that exist after this reconcile (`generatedResources`), sorted. */
  existing: ChildRef[];
}

export interface StatusResult {
  /** The complete new status (keys it lacks are removed from the stored status). */
  status: object;
  /** Emitted only when this reconcile changed something (see the file header). */
  events?: { type: EventType; reason: string; note: string }[];
  requeueAfterMs?: number;
}

/** `desired`'s answer when it is more than a list: `prune: false` keeps every existing child (e.g. the last applied one while the spec is invalid). */
export interface DesiredState {
  children: KubeObject[];
  prune?: boolean;
}

export interface StandardKind<CR extends KubeObject, Observed> {
  /** The controller name (`servicepolicy`): logs, metrics. */
  name: string;
  /** The primary resource (with a status subresource). */
  primary: ResourceType;
  /**
   * The whole object, parsed (defaults applied) and narrowed. Throws `InvalidSpecError` — which
   * cannot happen for objects the API server validated, but the operator never trusts that blindly.
   */
  parse(raw: KubeObject): CR;
  /** Reads what the reconcile needs from caches (informers). No writes. */
  observe(cr: CR): Observed | Promise<Observed>;
  /** The desired children. Pure. */
  desired(cr: CR, observed: Observed): KubeObject[] | DesiredState;
  /** The children types this kind owns, each with its informer (filtered by the owner labels). Owned children not desired are pruned. */
  owned: { type: ResourceType; informer: Informer }[];
  /** Children created when absent and never updated or pruned (built without a controller ownerReference). */
  createOnly?(child: KubeObject): boolean;
  /** The complete new status, from the observations and the outcome, at `now`. Pure. */
  status(cr: CR, observed: Observed, outcome: ApplyOutcome, now: Date): StatusResult;
  /** The status for an object `parse` refused. Default: `Ready=False`, reason `InvalidSpec`, the rest kept. */
  invalid?(raw: KubeObject, message: string, now: Date): object;
  /** Only for what garbage collection cannot reach (cluster-scoped children of a namespaced owner, external state). */
  finalizer?: { name: string; finalize(cr: CR): Promise<void> };
}

/** What the standard path needs of the Manager (a Manager is one; unit tests pass a recorder). */
export interface ReconcileEnv {
  kube: Kube;
  events: Recorder;
  clock: Clock;
}

// ---------------------------------------------------------------------------------------------
// Pure helpers (exported for tests and for kinds that need them)

/**
 * True when every field `want` sets has the same value in `have`: objects by key (extra keys in
 * `have` are ignored: server defaults), arrays element-wise with equal length, scalars equal.
 */
export function isDeepSubset(want: unknown, have: unknown): boolean {
  if (want === undefined) return true;
  if (Array.isArray(want)) {
    return (
      Array.isArray(have) && have.length === want.length && want.every((w, i) => isDeepSubset(w, have[i]))
    );
  }
  if (want !== null && typeof want === 'object') {
    if (have === null || typeof have !== 'object' || Array.isArray(have)) return false;
    const h = have as Record<string, unknown>;
    return Object.entries(want as Record<string, unknown>).every(([k, v]) => isDeepSubset(v, h[k]));
  }
  return want === have;
}

/** JSON with object keys sorted and `undefined` dropped: equal values give equal strings. */
export function stableJson(value: unknown): string {
  try {
    return writePlain(value);
  } catch (e) {
    if (e !== NOT_PLAIN) throw e;
    return JSON.stringify(value, (_key, v: unknown) =>
      v !== null && typeof v === 'object' && !Array.isArray(v)
        ? Object.fromEntries(
            Object.entries(v as Record<string, unknown>)
              .filter(([, x]) => x !== undefined)
              .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
          )
        : v,
    );
  }
}

// Fast paths for plain JSON values (what informers and builders hold): the same text and the same
// verdicts as the general algorithms (JSON.stringify with a sorting replacer, a JSON round trip),
// without a copy of every object. Anything else (class instances, toJSON, functions, non-finite
// numbers, holes, undefined array elements) throws NOT_PLAIN and takes the general algorithm.

/** Signals a value the fast paths leave to the general algorithm. */
class NotPlain extends Error {}
const NOT_PLAIN = new NotPlain();

const isPlainProto = (v: object): boolean => {
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
};

function writePlain(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(v)) throw NOT_PLAIN;
      return JSON.stringify(v);
    case 'object': {
      if (v === null) return 'null';
      if (Array.isArray(v)) {
        if (Object.getPrototypeOf(v) !== Array.prototype) throw NOT_PLAIN;
        let out = '[';
        for (let i = 0; i < v.length; i++) {
          if (!(i in v)) throw NOT_PLAIN;
          if (i > 0) out += ',';
          out += writePlain(v[i]);
        }
        return out + ']';
      }
      if (!isPlainProto(v)) throw NOT_PLAIN;
      const o = v as Record<string, unknown>;
      let out = '{';
      let first = true;
      for (const k of sortedKeys(o)) {
        const x = o[k];
        if (x === undefined) continue;
        out += `${first ? '' : ','}${JSON.stringify(k)}:${writePlain(x)}`;
        first = false;
      }
      return out + '}';
    }
    default:
      throw NOT_PLAIN;
  }
}

const isArrayIndex = (k: string): boolean => {
  const c = k.charCodeAt(0);
  return c >= 48 && c <= 57 && /^(?:0|[1-9][0-9]*)$/.test(k) && Number(k) < 4294967295;
};

/**
 * The keys in the order an object built from its sorted entries lists them (the general
 * algorithm's order): array indexes first, ascending — `Object.keys` already lists them so —
 * then the other keys sorted.
 */
function sortedKeys(o: Record<string, unknown>): string[] {
  const keys = Object.keys(o);
  let i = 0;
  while (i < keys.length && isArrayIndex(keys[i]!)) i++;
  if (i === 0) return keys.sort();
  return [...keys.slice(0, i), ...keys.slice(i).sort()];
}

/** Equal as JSON, for plain values; throws NOT_PLAIN for anything else. */
function plainEqual(a: unknown, b: unknown): boolean {
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) {
    requirePlain(a);
    requirePlain(b);
    return a === b;
  }
  const arrayA = Array.isArray(a);
  if (arrayA !== Array.isArray(b)) {
    requirePlain(a);
    requirePlain(b);
    return false;
  }
  if (arrayA) {
    const x = a as unknown[];
    const y = b as unknown[];
    if (Object.getPrototypeOf(x) !== Array.prototype || Object.getPrototypeOf(y) !== Array.prototype)
      throw NOT_PLAIN;
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) {
      if (!(i in x) || !(i in y)) throw NOT_PLAIN;
      if (!plainEqual(x[i], y[i])) return false;
    }
    return true;
  }
  if (!isPlainProto(a) || !isPlainProto(b)) throw NOT_PLAIN;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let n = 0;
  for (const k of Object.keys(x)) {
    const v = x[k];
    if (v === undefined) continue;
    n++;
    if (!Object.hasOwn(y, k) || y[k] === undefined || !plainEqual(v, y[k])) {
      requirePlain(v);
      return false;
    }
  }
  let m = 0;
  for (const k of Object.keys(y)) {
    const v = y[k];
    if (typeof v === 'function' || typeof v === 'symbol') throw NOT_PLAIN;
    if (v !== undefined) m++;
  }
  return n === m;
}

/** Throws NOT_PLAIN for a value whose JSON is not simply itself (or that JSON cannot write). */
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
      if (x !== null && !Array.isArray(x) && !isPlainProto(x)) throw NOT_PLAIN;
      return;
    default:
      return;
  }
}

/** The `meshwright.io/desired-hash` of a desired object: 16 hex digits of the SHA-256 of its stable JSON. */
export const desiredHash = (obj: KubeObject): string =>
  createHash('sha256').update(stableJson(obj)).digest('hex').slice(0, 16);

/** `desired` with the hash annotation set (a new object; `desired` is not touched). */
export function withDesiredHash(desired: KubeObject): KubeObject {
  const meta = desired.metadata ?? {};
  return {
    ...desired,
    metadata: {
      ...meta,
      annotations: { ...(meta.annotations ?? {}), [DESIRED_HASH_ANNOTATION]: desiredHash(desired) },
    },
  };
}

/**
 * `cached` holds everything `applied` (the desired object with its hash) sets: metadata labels and
 * annotations as subsets, ownerReferences matched by uid (others may add theirs), the rest by
 * `isDeepSubset`.
 */
export function isUpToDate(applied: KubeObject, cached: KubeObject | undefined): boolean {
  if (!cached) return false;
  const { metadata: want = {}, status: _s, ...body } = applied;
  const { metadata: have = {}, ...cachedBody } = cached;
  const refsOk = (want.ownerReferences ?? []).every((w) =>
    (have.ownerReferences ?? []).some((h) => h.uid === w.uid && isDeepSubset(w, h)),
  );
  return (
    refsOk &&
    isDeepSubset(want.labels, have.labels ?? {}) &&
    isDeepSubset(want.annotations, have.annotations ?? {}) &&
    isDeepSubset(body, cachedBody)
  );
}

/**
 * The JSON merge patch that turns `from` into `to` as a whole: `to`, plus `null` for every key of
 * `from` that `to` lacks (recursively through objects; arrays are replaced).
 */
export function replacingMergePatch(from: unknown, to: unknown): unknown {
  if (!isPlainObject(to) || !isPlainObject(from)) return to;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(from)) if (!(k in to) || to[k] === undefined) out[k] = null;
  for (const [k, v] of Object.entries(to)) if (v !== undefined) out[k] = replacingMergePatch(from[k], v);
  return out;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/** Equal as JSON (`undefined` keys ignored, key order ignored). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  try {
    return plainEqual(a ?? null, b ?? null);
  } catch (e) {
    if (e !== NOT_PLAIN) throw e;
    return isDeepStrictEqual(JSON.parse(stableJson(a ?? null)), JSON.parse(stableJson(b ?? null)));
  }
}

/** A `parse` from a zod schema: issues become one `InvalidSpecError` naming each field; `narrow` then narrows the result. */
export function zodParser<T, R = T>(
  schema: ZodType<T>,
  narrow: (parsed: T) => R = (x) => x as unknown as R,
): (raw: KubeObject) => R {
  const field = (path: readonly PropertyKey[]): string =>
    path.map((p, n) => (typeof p === 'number' ? `[${p}]` : `${n ? '.' : ''}${String(p)}`)).join('') ||
    '(root)';
  return (raw) => {
    const result = schema.safeParse(raw);
    if (!result.success)
      throw new InvalidSpecError(result.error.issues.map((i) => `${field(i.path)}: ${i.message}`).join('; '));
    return narrow(result.data);
  };
}

/**
 * The predicate for the primary resource: spec changes (generation), the start of deletion,
 * finalizer changes, and periodic resyncs (same resourceVersion) — not the reconciler's own
 * status writes.
 */
export const primaryChanged: Predicate<KubeObject> = onUpdate(
  (old, obj) =>
    old.metadata?.resourceVersion === obj.metadata?.resourceVersion ||
    old.metadata?.generation !== obj.metadata?.generation ||
    !old.metadata?.deletionTimestamp !== !obj.metadata?.deletionTimestamp ||
    !isDeepStrictEqual(old.metadata?.finalizers ?? [], obj.metadata?.finalizers ?? []),
);

export const refOf = (obj: KubeObject): ChildRef => ({
  apiVersion: obj.apiVersion ?? '',
  kind: obj.kind ?? '',
  name: obj.metadata?.name ?? '',
  ...(obj.metadata?.namespace ? { namespace: obj.metadata.namespace } : {}),
});

const describe = (r: ChildRef): string => `${r.kind} ${r.namespace ? `${r.namespace}/` : ''}${r.name}`;
const childKey = (r: ChildRef): string => `${r.apiVersion}|${r.kind}|${r.namespace ?? ''}|${r.name}`;
const compareRefs = (a: ChildRef, b: ChildRef): number => {
  const x = childKey(a);
  const y = childKey(b);
  return x < y ? -1 : x > y ? 1 : 0;
};

/** The default status for an object `parse` refused: `Ready=False/InvalidSpec`, the rest kept. */
export function invalidSpecStatus(raw: KubeObject, message: string, now: Date): object {
  const status = isPlainObject(raw.status) ? raw.status : {};
  const generation = raw.metadata?.generation;
  const conditions = Array.isArray(status.conditions) ? (status.conditions as Condition[]) : [];
  return {
    ...status,
    ...(generation === undefined ? {} : { observedGeneration: generation }),
    conditions: setCondition(
      conditions,
      {
        type: 'Ready',
        status: 'False',
        reason: 'InvalidSpec',
        message,
        ...(generation === undefined ? {} : { observedGeneration: generation }),
      },
      now,
    ),
  };
}

// ---------------------------------------------------------------------------------------------
// The reconciler

interface Expectation {
  /** The resourceVersion our write replaced ('' when the object did not exist). */
  before: string;
  /** What we wrote: the desired hash (children) or the status JSON. */
  what: string;
}

export function standardReconciler<CR extends KubeObject, O>(
  env: ReconcileEnv,
  kind: StandardKind<CR, O>,
  primaryInformer: Informer,
): Reconcile {
  /** Per primary key: expectations of children (by child key) and of the status ('' key). */
  const expectations = new Map<string, Map<string, Expectation>>();
  const memo = (key: string): Map<string, Expectation> => {
    let m = expectations.get(key);
    if (!m) expectations.set(key, (m = new Map<string, Expectation>()));
    return m;
  };
  /** True while the cache still holds the version our write replaced, and we wrote `what`. */
  const expected = (key: string, sub: string, cachedRV: string, what: string): boolean => {
    const m = expectations.get(key);
    const e = m?.get(sub);
    if (!e) return false;
    if (e.before === cachedRV && e.what === what) return true;
    m!.delete(sub);
    return false;
  };
  const remember = (key: string, sub: string, before: string, what: string): void => {
    memo(key).set(sub, { before, what });
  };

  const informerOf = (child: KubeObject): Informer => {
    const o = kind.owned.find((x) => x.type.apiVersion === child.apiVersion && x.type.kind === child.kind);
    if (!o) throw new TypeError(`${kind.name}: no owned informer for ${child.apiVersion} ${child.kind}`);
    return o.informer;
  };

  const writeStatus = async (
    key: string,
    raw: KubeObject,
    rv: string | undefined,
    status: object,
  ): Promise<boolean> => {
    if (jsonEqual(raw.status, status)) return false;
    const what = stableJson(status);
    if (expected(key, '', rv ?? '', what)) return false;
    const m = raw.metadata ?? {};
    await env.kube.patchStatus(
      {
        apiVersion: kind.primary.apiVersion,
        kind: kind.primary.kind,
        plural: kind.primary.plural,
        name: m.name ?? '',
        ...(m.namespace ? { namespace: m.namespace } : {}),
      },
      replacingMergePatch(raw.status, status),
      { resourceVersion: rv },
    );
    remember(key, '', rv ?? '', what);
    return true;
  };

  const primaryRef = (raw: KubeObject): ObjectRef => ({
    apiVersion: kind.primary.apiVersion,
    kind: kind.primary.kind,
    name: raw.metadata?.name ?? '',
    ...(raw.metadata?.namespace ? { namespace: raw.metadata.namespace } : {}),
  });

  return async (key, ctx): Promise<ReconcileResult | void> => {
    const raw = primaryInformer.get(key);
    if (!raw) {
      expectations.delete(key);
      return;
    }
    const uid = raw.metadata?.uid;
    let rv = raw.metadata?.resourceVersion;
    const now = (): Date => new Date(env.clock.now());
    const fin = kind.finalizer;

    // ---- deletion
    if (raw.metadata?.deletionTimestamp) {
      if (!fin || !(raw.metadata.finalizers ?? []).includes(fin.name)) return;
      await fin.finalize(kind.parse(raw));
      await env.kube.mergePatch(primaryRef(raw), {
        metadata: {
          resourceVersion: rv,
          finalizers: (raw.metadata.finalizers ?? []).filter((f) => f !== fin.name),
        },
      });
      ctx.log.info({ finalizer: fin.name }, 'Finalized: removed the finalizer');
      return;
    }

    // ---- parse
    let cr: CR;
    try {
      cr = kind.parse(raw);
    } catch (err) {
      if (!(err instanceof InvalidSpecError)) throw err;
      const status = (kind.invalid ?? invalidSpecStatus)(raw, err.message, now());
      if (await writeStatus(key, raw, rv, status))
        env.events.event(raw, 'Warning', 'InvalidSpec', err.message);
      throw new TerminalError(`invalid spec: ${err.message}`, { cause: err });
    }

    // ---- finalizer first
    if (fin && !(raw.metadata?.finalizers ?? []).includes(fin.name)) {
      const patched = await env.kube.mergePatch(primaryRef(raw), {
        metadata: { resourceVersion: rv, finalizers: [...(raw.metadata?.finalizers ?? []), fin.name] },
      });
      rv = patched.metadata?.resourceVersion;
    }

    // ---- observe, desired
    const observed = await kind.observe(cr);
    const d = kind.desired(cr, observed);
    const { children, prune = true } = Array.isArray(d) ? { children: d } : d;
    for (const child of children) assertOwned(kind.name, kind.createOnly?.(child) ?? false, child, uid);

    // ---- apply
    const outcome: ApplyOutcome = { applied: [], written: [], pruned: [], existing: [] };
    const wanted = new Set<string>();
    for (const child of children) {
      const ref = refOf(child);
      wanted.add(childKey(ref));
      const cached = informerOf(child).get(keyOf(child));
      const cachedRV = cached?.metadata?.resourceVersion ?? '';
      try {
        if (kind.createOnly?.(child)) {
          if (!cached) {
            try {
              await env.kube.create(child);
              outcome.written.push(ref);
            } catch (e) {
              if (!isAlreadyExists(e)) throw e;
            }
          }
        } else {
          const applied = withDesiredHash(child);
          const hash = applied.metadata!.annotations![DESIRED_HASH_ANNOTATION]!;
          if (!isUpToDate(applied, cached) && !expected(key, childKey(ref), cachedRV, hash)) {
            await env.kube.apply(applied, { fieldManager: FIELD_MANAGER, force: true });
            remember(key, childKey(ref), cachedRV, hash);
            outcome.written.push(ref);
            ctx.log.info({ child: describe(ref) }, 'Applied');
          }
        }
        outcome.applied.push(ref);
      } catch (e) {
        outcome.failed = { ref, error: e instanceof Error ? e : new Error(String(e)) };
        break;
      }
    }

    // ---- prune
    const existing: ChildRef[] = [...outcome.applied];
    const seen = new Set<string>();
    pruning: for (const { informer } of kind.owned) {
      for (const obj of uid ? informer.byIndex(INDEX_OWNER_UID, uid) : []) {
        const ref = refOf(obj);
        if (wanted.has(childKey(ref))) continue;
        const controller = obj.metadata?.ownerReferences?.find((r) => r.controller === true);
        if (controller?.uid !== uid) continue; // never delete what we do not control
        const deleting = Boolean(obj.metadata?.deletionTimestamp);
        const objUid = obj.metadata?.uid ?? '';
        seen.add(`delete|${objUid}`);
        if (!prune || outcome.failed || deleting || expected(key, `delete|${objUid}`, '', 'deleted')) {
          if (!deleting && !expectations.get(key)?.has(`delete|${objUid}`)) existing.push(ref);
          continue;
        }
        try {
          await env.kube.delete(ref, { propagationPolicy: 'Background', preconditions: { uid: objUid } });
        } catch (e) {
          outcome.failed = { ref, error: e instanceof Error ? e : new Error(String(e)) };
          existing.push(ref);
          break pruning;
        }
        remember(key, `delete|${objUid}`, '', 'deleted');
        outcome.pruned.push(ref);
        ctx.log.info({ child: describe(ref) }, 'Pruned');
      }
    }
    // forget deletions the cache has seen through
    for (const sub of [...(expectations.get(key)?.keys() ?? [])])
      if (sub.startsWith('delete|') && !seen.has(sub)) expectations.get(key)!.delete(sub);
    outcome.existing = existing.sort(compareRefs);

    // ---- status, last
    const result = kind.status(cr, observed, outcome, now());
    const statusWritten = await writeStatus(key, raw, rv, result.status);
    if (statusWritten || outcome.written.length > 0 || outcome.pruned.length > 0) {
      for (const ev of result.events ?? []) env.events.event(raw, ev.type, ev.reason, ev.note);
    }
    if (outcome.failed) throw outcome.failed.error;
    return result.requeueAfterMs !== undefined && result.requeueAfterMs > 0
      ? { requeueAfter: result.requeueAfterMs }
      : undefined;
  };
}

/** A desired child must be ours: controller ownerReference to `uid` and the owner labels. A builder that forgets is a bug. */
function assertOwned(name: string, createOnly: boolean, child: KubeObject, uid: string | undefined): void {
  const what = `${name}: desired ${child.kind ?? '?'} ${child.metadata?.name ?? '?'}`;
  const labels = child.metadata?.labels ?? {};
  if (labels[MANAGED_BY_LABEL] !== MANAGED_BY || !labels[OWNER_LABEL])
    throw new TypeError(`${what} lacks the labels ${MANAGED_BY_LABEL}=${MANAGED_BY} and ${OWNER_LABEL}`);
  if (createOnly) return;
  const controller = child.metadata?.ownerReferences?.find((r) => r.controller === true);
  if (!uid || controller?.uid !== uid)
    throw new TypeError(`${what} lacks a controller ownerReference to its owner`);
}
