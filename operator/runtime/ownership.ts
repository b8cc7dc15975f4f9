/**
 * ownerReferences and finalizers. Every helper is pure: it reads objects and returns new arrays,
 * ready to be put into the object the reconciler applies.
 */
import { AlreadyOwnedError } from './errors.js';

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** The part of any Kubernetes object the runtime reads. A type alias, so richer object types assign to it. */
export type KubeObject = {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: OwnerReference[];
    deletionTimestamp?: string;
    finalizers?: string[];
    resourceVersion?: string;
  };
};

/** An object as the API server returns it: identity fields present. */
export type Owner = {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; uid?: string; namespace?: string };
};

/** `apps/v1` → `apps`, `v1` → `` (the core group). */
export const groupOf = (apiVersion: string): string => {
  const i = apiVersion.indexOf('/');
  return i < 0 ? '' : apiVersion.slice(0, i);
};

function identity(owner: Owner): { apiVersion: string; kind: string; name: string; uid: string } {
  const { apiVersion, kind } = owner;
  const name = owner.metadata?.name;
  const uid = owner.metadata?.uid;
  if (!apiVersion || !kind || !name || !uid) {
    // An owner must be an object read from the API server; a half-built one is a bug.
    throw new TypeError(
      `owner needs apiVersion, kind, metadata.name and metadata.uid (got ${kind ?? '?'} ${name ?? '?'})`,
    );
  }
  return { apiVersion, kind, name, uid };
}

/** The controller reference to put on a child: `controller: true`, `blockOwnerDeletion: true`. */
export function controllerRef(owner: Owner): OwnerReference {
  return { ...identity(owner), controller: true, blockOwnerDeletion: true };
}

/** A plain (non-controller) owner reference: the child is garbage-collected with the owner, nothing more. */
export function ownerRef(owner: Owner): OwnerReference {
  return { ...identity(owner) };
}

/** The reference with `controller: true`, if any (there is at most one). */
export function getControllerOf(obj: KubeObject): OwnerReference | undefined {
  return obj.metadata?.ownerReferences?.find((r) => r.controller === true);
}

/** True when `owner` (matched by uid) is `obj`'s controller. */
export function isControlledBy(obj: KubeObject, owner: Owner): boolean {
  const uid = owner.metadata?.uid;
  return uid !== undefined && getControllerOf(obj)?.uid === uid;
}

const sameOwner = (a: OwnerReference, b: OwnerReference): boolean =>
  groupOf(a.apiVersion) === groupOf(b.apiVersion) && a.kind === b.kind && a.name === b.name;

/**
 * `obj`'s ownerReferences with `owner` as its controller (controller-runtime's
 * SetControllerReference): an existing reference to the same owner is replaced, other owners kept.
 * Throws `AlreadyOwnedError` when a different object already controls `obj`.
 */
export function withControllerReference(obj: KubeObject, owner: Owner): OwnerReference[] {
  const ref = controllerRef(owner);
  const current = getControllerOf(obj);
  if (current && !(sameOwner(current, ref) && current.uid === ref.uid)) {
    const what = `${obj.kind ?? 'object'} ${obj.metadata?.name ?? ''}`.trim();
    throw new AlreadyOwnedError(what, current);
  }
  return withOwnerReference(obj.metadata?.ownerReferences, ref);
}

/** `refs` with `ref` added, or replacing the reference to the same owner (group, kind, name). */
export function withOwnerReference(
  refs: readonly OwnerReference[] | undefined,
  ref: OwnerReference,
): OwnerReference[] {
  const list = refs ?? [];
  const i = list.findIndex((r) => sameOwner(r, ref));
  return i < 0 ? [...list, ref] : list.map((r, j) => (j === i ? ref : r));
}

/** True once deletion has been requested (the object waits for its finalizers). */
export const isBeingDeleted = (obj: KubeObject): boolean => Boolean(obj.metadata?.deletionTimestamp);

export const hasFinalizer = (obj: KubeObject, finalizer: string): boolean =>
  obj.metadata?.finalizers?.includes(finalizer) ?? false;

/** `obj`'s finalizers with `finalizer` appended when missing (always a new array). */
export function addFinalizer(obj: KubeObject, finalizer: string): string[] {
  const list = obj.metadata?.finalizers ?? [];
  return list.includes(finalizer) ? [...list] : [...list, finalizer];
}

/** `obj`'s finalizers without `finalizer` (always a new array). */
export function removeFinalizer(obj: KubeObject, finalizer: string): string[] {
  return (obj.metadata?.finalizers ?? []).filter((f) => f !== finalizer);
}
