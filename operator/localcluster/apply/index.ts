/**
 * Server-side apply and managed-fields tracking for the in-memory API server, after the real
 * kube-apiserver's field manager (k8s.io/apimachinery managedfields) over
 * sigs.k8s.io/structured-merge-diff v4:
 *
 * - `serverSideApply` is Updater.Apply: merge the configuration into the live object, prune what
 *   the applier owned last time and no longer applies (unless someone else owns it), then compare
 *   old and new; a changed field another manager owns is a conflict unless forced, in which case
 *   that manager loses it.
 * - `recordUpdate` is Updater.Update for every other write: what changed becomes the writer's,
 *   and leaves whoever owned it before; what was removed leaves everyone.
 *
 * Pure: no clock (the time comes in as `now`), inputs are never mutated.
 *
 * Where this differs from the real server (it has no schema beyond the ListTypeLookup):
 * - Every object is treated as a struct: a map key that holds a map is not itself owned by Apply
 *   (the real server owns keys of `additionalProperties` maps), and pruning treats every key as a
 *   named field. Objects are atomic only when the lookup returns `{ type: 'atomic' }` for them.
 * - Update ownership is computed against `{}` on create, so new maps get "." (`f:spec: {".": {}}`),
 *   as for custom resources; built-ins, whose empty Go structs are never "added", do not get it.
 * - `null` in a configuration is an owned leaf that is dropped from the stored object; over a
 *   granular map or list it leaves the live value alone (as SMD's merge does) but is still owned.
 * - A map or list emptied by pruning is dropped (SMD leaves a null that the server then drops).
 * - No version conversion (one apiVersion per entry, never converted), no unions, no
 *   IgnoredFields/reset fields (the caller strips `status` or `spec` per subresource), no
 *   last-applied-configuration annotation handling, no field manager name validation.
 * - Malformed live managedFields are read as none (the real server fails the apply).
 * - A new Apply entry for an unchanged object gets `now` (the real server leaves its time unset).
 */
import { FieldSet } from './fieldset.js';
import { clone, deepEqual, isObject, type JsonObject } from './json.js';
import {
  capUpdateManagers,
  decodeManagedFields,
  describeConflicts,
  encodeManagedFields,
  identity,
  normaliseTime,
  stripMeta,
  type Conflict,
  type ManagedFieldsEntry,
  type Manager,
  type Managers,
} from './managed.js';
import {
  compare,
  dropAppliedNulls,
  merge,
  removeItems,
  toFieldSet,
  TypedValueError,
  type Comparison,
  type ListTypeLookup,
} from './typed.js';

export type { ListType, ListTypeLookup } from './typed.js';
export type { Conflict, ManagedFieldsEntry } from './managed.js';
export { BUILTIN_LIST_TYPES, listTypeFromSchema } from './list-types.js';

/** An applied configuration the API server would refuse with 400 (or 500) rather than 409. */
export class InvalidApplyError extends Error {
  override name = 'InvalidApplyError';
}

export type ApplyResult =
  { ok: true; object: Record<string, unknown> } | { ok: false; conflicts: Conflict[]; message: string };

const BEFORE_FIRST_APPLY = 'before-first-apply';
const CURRENT_OPERATION = 'current-operation';

export function serverSideApply(a: {
  live: Record<string, unknown> | undefined;
  applied: Record<string, unknown>;
  manager: string;
  force: boolean;
  listType: ListTypeLookup;
  apiVersion: string;
  now: string;
  subresource?: string;
}): ApplyResult {
  const config = checkApplied(a.applied, a.apiVersion);
  const now = normaliseTime(a.now);
  const subresource = a.subresource ?? '';
  const liveBody = a.live === undefined ? undefined : withoutManagedFields(a.live);
  const old: unknown = liveBody ?? {};
  const managers: Managers = new Map(
    a.live === undefined ? [] : (decodeManagedFields(managedFieldsOf(a.live)) ?? []),
  );

  try {
    const configSet = toFieldSet(config, a.listType, true);
    if (liveBody !== undefined && managers.size === 0) {
      // skipNonAppliedManager: fields that predate any tracking go to a stand-in Update manager.
      const existing = stripMeta(ownedByUpdate(compare({}, liveBody, a.listType)));
      const before = manager(BEFORE_FIRST_APPLY, 'Update', a.apiVersion, subresource, now, existing);
      if (!existing.isEmpty()) managers.set(identity(before), before);
    }

    const applier = manager(a.manager || 'unknown', 'Apply', a.apiVersion, subresource, undefined, configSet);
    const id = identity(applier);
    const previous = managers.get(id);
    managers.set(id, { ...applier, time: previous?.time });

    const merged = merge(old, config, a.listType);
    const pruned = prune(merged, managers, previous?.set, a.listType);
    const outcome = updateOwnership(old, pruned, managers, id, a.force, a.listType);
    if ('conflicts' in outcome) return { ok: false, ...describeConflicts(outcome.conflicts, managers) };

    const body = dropAppliedNulls(pruned, config, a.listType) as JsonObject;
    const changed = liveBody === undefined || !deepEqual(liveBody, body);
    const mine = outcome.managers.get(id);
    if (mine) {
      const set = stripMeta(mine.set);
      if (set.isEmpty()) outcome.managers.delete(id);
      else outcome.managers.set(id, { ...mine, set, time: changed || !previous?.time ? now : previous.time });
    }
    return { ok: true, object: withManagedFields(body, outcome.managers) };
  } catch (err) {
    if (err instanceof TypedValueError) throw new InvalidApplyError(err.message);
    throw err;
  }
}

export function recordUpdate(a: {
  live: Record<string, unknown> | undefined;
  updated: Record<string, unknown>;
  manager: string;
  listType: ListTypeLookup;
  apiVersion: string;
  now: string;
  subresource?: string;
}): Record<string, unknown> {
  const now = normaliseTime(a.now);
  const subresource = a.subresource ?? '';
  const updatedBody = withoutManagedFields(a.updated);
  const liveBody = a.live === undefined ? undefined : withoutManagedFields(a.live);
  const managers = managersForUpdate(a.live, a.updated, subresource !== '');

  // skipNonAppliedManager: an existing object nobody tracks stays untracked until it is applied.
  if (managers.size === 0 && a.live !== undefined && hasUid(a.live)) return updatedBody;

  try {
    const outcome = updateOwnership(
      liveBody ?? {},
      updatedBody,
      managers,
      CURRENT_OPERATION,
      true,
      a.listType,
    );
    if ('conflicts' in outcome) throw new Error('an update cannot conflict');
    const next = outcome.managers;
    const taken = stripMeta(ownedByUpdate(outcome.comparison));
    if (!taken.isEmpty()) {
      const writer = manager(a.manager || 'unknown', 'Update', a.apiVersion, subresource, now, taken);
      const id = identity(writer);
      const previous = next.get(id);
      next.set(id, previous ? { ...writer, set: taken.union(previous.set) } : writer);
    }
    capUpdateManagers(next);
    return withManagedFields(updatedBody, next);
  } catch (err) {
    // FieldManager.UpdateNoErrors: an object the schema cannot type loses its managedFields.
    if (err instanceof TypedValueError) return updatedBody;
    throw err;
  }
}

function manager(
  name: string,
  operation: Manager['operation'],
  apiVersion: string,
  subresource: string,
  time: string | undefined,
  set: FieldSet,
): Manager {
  return { manager: name, operation, apiVersion, subresource, time, set };
}

/** Updater.Update's share for the writer: what it added or changed, less what it removed. */
const ownedByUpdate = (c: Comparison): FieldSet => c.modified.union(c.added).difference(c.removed);

/**
 * Updater.update: every manager but `workflow` loses the fields that were removed, and the fields
 * that were added or changed (conflicts, returned instead when not forced).
 */
function updateOwnership(
  oldObject: unknown,
  newObject: unknown,
  managers: Managers,
  workflow: string,
  force: boolean,
  lookup: ListTypeLookup,
): { conflicts: Map<string, FieldSet> } | { managers: Managers; comparison: Comparison } {
  const comparison = compare(oldObject, newObject, lookup);
  const changed = comparison.modified.union(comparison.added);
  const conflicts = new Map<string, FieldSet>();
  for (const [id, m] of managers) {
    if (id === workflow) continue;
    const clash = m.set.intersection(changed);
    if (!clash.isEmpty()) conflicts.set(id, clash);
  }
  if (!force && conflicts.size > 0) return { conflicts };
  const next: Managers = new Map();
  for (const [id, m] of managers) {
    let set = m.set;
    if (id !== workflow) set = set.difference(changed).difference(comparison.removed);
    if (!set.isEmpty()) next.set(id, set === m.set ? m : { ...m, set });
  }
  return { managers: next, comparison };
}

/**
 * Updater.prune: removes what the applier owned last time and no longer applies, unless another
 * manager (or the new configuration) owns it, in SMD's three steps (remove the last set, add back
 * owned items, add back items the applier never owned).
 */
function prune(
  merged: unknown,
  managers: Managers,
  lastSet: FieldSet | undefined,
  lookup: ListTypeLookup,
): unknown {
  if (!lastSet || lastSet.isEmpty()) return merged;
  const last = lastSet.ensureNamedFieldsAreMembers();
  const fieldsOf = (v: unknown) => toFieldSet(v, lookup).ensureNamedFieldsAreMembers();
  let owned = FieldSet.empty();
  for (const m of managers.values()) owned = owned.union(m.set);
  owned = owned.ensureNamedFieldsAreMembers();

  const mergedSet = fieldsOf(merged);
  const withoutLast = removeItems(merged, last, lookup);
  const ownedBack = removeItems(merged, mergedSet.difference(fieldsOf(withoutLast).union(owned)), lookup);
  return removeItems(merged, mergedSet.difference(fieldsOf(ownedBack)).intersection(last), lookup);
}

function checkApplied(applied: Record<string, unknown>, apiVersion: string): JsonObject {
  if (!isObject(applied)) throw new InvalidApplyError('the applied configuration must be a JSON object');
  const { apiVersion: version, kind, metadata } = applied;
  if (typeof kind !== 'string' || kind === '') throw new InvalidApplyError("Object 'Kind' is missing");
  if (typeof version !== 'string' || version === '')
    throw new InvalidApplyError("Object 'apiVersion' is missing");
  if (version !== apiVersion) {
    throw new InvalidApplyError(
      `Incorrect version specified in apply patch. Specified patch version: ${version}, expected: ${apiVersion}`,
    );
  }
  if (!isObject(metadata) || typeof metadata.name !== 'string' || metadata.name === '') {
    throw new InvalidApplyError('metadata.name: Required value: name is required');
  }
  if (metadata.managedFields !== undefined && metadata.managedFields !== null) {
    throw new InvalidApplyError('metadata.managedFields must be nil');
  }
  const config = clone(applied);
  delete (config.metadata as JsonObject).managedFields;
  return config;
}

function managedFieldsOf(obj: Record<string, unknown>): unknown {
  return isObject(obj.metadata) ? obj.metadata.managedFields : undefined;
}

function hasUid(obj: Record<string, unknown>): boolean {
  return isObject(obj.metadata) && typeof obj.metadata.uid === 'string' && obj.metadata.uid !== '';
}

/**
 * decodeManagedFields of the field manager: managedFields sent with the write are used (so they can
 * be edited), `[]` or `[{}]` resets them, anything else (absent, malformed, a subresource write)
 * falls back to the live object's.
 */
function managersForUpdate(
  live: Record<string, unknown> | undefined,
  updated: Record<string, unknown>,
  isSubresource: boolean,
): Managers {
  const fromLive = (): Managers =>
    (live === undefined ? undefined : decodeManagedFields(managedFieldsOf(live))) ??
    new Map<string, Manager>();
  if (isSubresource) return fromLive();
  const sent = managedFieldsOf(updated);
  if (Array.isArray(sent) && (sent.length === 0 || (sent.length === 1 && deepEqual(sent[0], {}))))
    return new Map<string, Manager>();
  const decoded = decodeManagedFields(sent);
  return decoded && decoded.size > 0 ? decoded : fromLive();
}

function withoutManagedFields(obj: Record<string, unknown>): JsonObject {
  const copy = clone(obj);
  if (isObject(copy.metadata)) delete copy.metadata.managedFields;
  return copy;
}

function withManagedFields(body: JsonObject, managers: Managers): JsonObject {
  const entries: ManagedFieldsEntry[] = encodeManagedFields(managers);
  if (entries.length === 0) return body;
  const metadata = isObject(body.metadata) ? body.metadata : {};
  return { ...body, metadata: { ...metadata, managedFields: entries } };
}
