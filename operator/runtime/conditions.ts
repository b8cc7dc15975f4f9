/**
 * `metav1.Condition` helpers with apimachinery's `meta.SetStatusCondition` semantics: one condition
 * per type, kept in place; `lastTransitionTime` moves only when `status` flips. All pure: they return
 * new arrays and never read the clock (the caller passes `now`).
 */

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  type: string;
  status: ConditionStatus;
  observedGeneration?: number;
  /** RFC 3339, whole seconds (what a Go controller writes: metav1.Time). */
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export interface ConditionInput {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
  observedGeneration?: number;
}

/** metav1.Time's format: RFC 3339 in UTC with whole seconds (`2025-01-01T00:00:00Z`). */
export const formatTime = (d: Date): string => d.toISOString().replace(/\.\d+Z$/, 'Z');

/**
 * `existing` with `next` set. A new type is appended; an existing one is updated in place, keeping
 * its `lastTransitionTime` unless the status changed. When nothing changed the result holds the very
 * same condition objects as `existing` (so `conditionsEqual(existing, result)` tells whether to write).
 */
export function setCondition(
  existing: readonly Condition[] | undefined,
  next: ConditionInput,
  now: Date,
): Condition[] {
  const list = existing ?? [];
  const prev = list.find((c) => c.type === next.type);
  const updated: Condition = {
    type: next.type,
    status: next.status,
    ...(next.observedGeneration !== undefined ? { observedGeneration: next.observedGeneration } : {}),
    lastTransitionTime: prev && prev.status === next.status ? prev.lastTransitionTime : formatTime(now),
    reason: next.reason,
    message: next.message,
  };
  if (!prev) return [...list, updated];
  if (sameCondition(prev, updated)) return [...list];
  return list.map((c) => (c === prev ? updated : c));
}

/** Sets several conditions in order (see `setCondition`). */
export function setConditions(
  existing: readonly Condition[] | undefined,
  next: readonly ConditionInput[],
  now: Date,
): Condition[] {
  return next.reduce<Condition[]>((acc, c) => setCondition(acc, c, now), [...(existing ?? [])]);
}

/** `existing` without the condition of type `type`. */
export function removeCondition(existing: readonly Condition[] | undefined, type: string): Condition[] {
  return (existing ?? []).filter((c) => c.type !== type);
}

export function findCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export const isTrue = (conditions: readonly Condition[] | undefined, type: string): boolean =>
  findCondition(conditions, type)?.status === 'True';

export const isFalse = (conditions: readonly Condition[] | undefined, type: string): boolean =>
  findCondition(conditions, type)?.status === 'False';

/** Missing counts as Unknown, as in `meta.IsStatusConditionPresentAndEqual(..., Unknown)` callers expect. */
export const isUnknown = (conditions: readonly Condition[] | undefined, type: string): boolean =>
  (findCondition(conditions, type)?.status ?? 'Unknown') === 'Unknown';

function sameCondition(a: Condition, b: Condition): boolean {
  return (
    a.type === b.type &&
    a.status === b.status &&
    a.reason === b.reason &&
    a.message === b.message &&
    a.observedGeneration === b.observedGeneration &&
    a.lastTransitionTime === b.lastTransitionTime
  );
}

/** Same conditions, every field equal, in any order. */
export function conditionsEqual(
  a: readonly Condition[] | undefined,
  b: readonly Condition[] | undefined,
): boolean {
  const left = a ?? [];
  const right = b ?? [];
  if (left.length !== right.length) return false;
  return (
    left.every((c) => {
      const other = right.find((o) => o.type === c.type);
      return other !== undefined && sameCondition(c, other);
    }) && right.every((c) => left.some((o) => o.type === c.type))
  );
}
