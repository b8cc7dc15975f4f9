/**
 * Event filters for watches (controller-runtime's predicates). A predicate sees each event before it
 * is mapped to keys; the event is enqueued only when every predicate of the watch returns true.
 *
 * When a predicate cannot tell (an update that came without its old object) it lets the event
 * through: a needless reconcile costs little, a missed one leaves the cluster wrong.
 */
import type { KubeObject } from './ownership.js';

export interface WatchEvent<T> {
  type: 'add' | 'update' | 'delete';
  object: T;
  /** The previous object, on updates (when the source kept it). */
  old?: T;
}

export type Predicate<T> = (event: WatchEvent<T>) => boolean;

/** Passes adds and deletes, and the updates for which `changed(old, new)` holds. */
export function onUpdate<T>(changed: (old: T, object: T) => boolean): Predicate<T> {
  return (e) => e.type !== 'update' || e.old === undefined || changed(e.old, e.object);
}

const sameRecord = (
  a: Record<string, string> | undefined,
  b: Record<string, string> | undefined,
): boolean => {
  const ka = Object.keys(a ?? {});
  if (ka.length !== Object.keys(b ?? {}).length) return false;
  return ka.every((k) => b?.[k] === a?.[k]);
};

/**
 * Updates that change `metadata.generation` (the spec), and the start of deletion (a real API server
 * bumps the generation then too, but nothing is lost by not relying on it). Status-only writes are
 * dropped, so a reconciler's own status update does not trigger it again.
 */
export const generationChanged: Predicate<KubeObject> = onUpdate(
  (old, obj) =>
    old.metadata?.generation !== obj.metadata?.generation ||
    !old.metadata?.deletionTimestamp !== !obj.metadata?.deletionTimestamp,
);

export const labelsChanged: Predicate<KubeObject> = onUpdate(
  (old, obj) => !sameRecord(old.metadata?.labels, obj.metadata?.labels),
);

export const annotationsChanged: Predicate<KubeObject> = onUpdate(
  (old, obj) => !sameRecord(old.metadata?.annotations, obj.metadata?.annotations),
);

/** Drops updates that carry the same resourceVersion (periodic resyncs replaying the cache). */
export const resourceVersionChanged: Predicate<KubeObject> = onUpdate(
  (old, obj) => old.metadata?.resourceVersion !== obj.metadata?.resourceVersion,
);

/** Only these event types. */
export const eventTypes =
  <T = KubeObject>(...types: WatchEvent<T>['type'][]): Predicate<T> =>
  (e) =>
    types.includes(e.type);

/** Objects whose labels include all of `labels`, judged on the new object (and the old one, on updates). */
export const hasLabels =
  (labels: Record<string, string>): Predicate<KubeObject> =>
  (e) => {
    const matches = (o: KubeObject | undefined): boolean =>
      o !== undefined && Object.entries(labels).every(([k, v]) => o.metadata?.labels?.[k] === v);
    return matches(e.object) || matches(e.old);
  };

export const and =
  <T>(...predicates: Predicate<T>[]): Predicate<T> =>
  (e) =>
    predicates.every((p) => p(e));

export const or =
  <T>(...predicates: Predicate<T>[]): Predicate<T> =>
  (e) =>
    predicates.some((p) => p(e));

export const not =
  <T>(predicate: Predicate<T>): Predicate<T> =>
  (e) =>
    !predicate(e);
