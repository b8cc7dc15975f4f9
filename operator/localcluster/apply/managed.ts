/**
 * metadata.managedFields as k8s.io/apimachinery's managedfields internals keep it: one field set per
 * manager identity, the identity being (manager, operation, subresource) plus the apiVersion for
 * Update entries (appliers keep one entry whatever version they apply with).
 */
import { FieldSet, fieldToken, renderPath, type Token } from './fieldset.js';
import { compareStrings, goQuote, isObject } from './json.js';

export type Operation = 'Apply' | 'Update';

export interface ManagedFieldsEntry {
  manager: string;
  operation: Operation;
  apiVersion: string;
  time: string;
  fieldsType: 'FieldsV1';
  fieldsV1: object;
  subresource?: string;
}

export interface Manager {
  readonly manager: string;
  readonly operation: Operation;
  readonly apiVersion: string;
  readonly subresource: string;
  readonly time: string | undefined;
  readonly set: FieldSet;
}

/** Keyed by identity (see `identity`). */
export type Managers = Map<string, Manager>;

/**
 * The manager identifier the API server builds (BuildManagerIdentifier): the entry's JSON without
 * time, fields and, for Apply, apiVersion. Conflict messages sort managers by it.
 */
export function identity(m: Pick<Manager, 'manager' | 'operation' | 'apiVersion' | 'subresource'>): string {
  const parts = [`"manager":${goString(m.manager)}`, `"operation":${goString(m.operation)}`];
  if (m.operation === 'Update' && m.apiVersion !== '') parts.push(`"apiVersion":${goString(m.apiVersion)}`);
  if (m.subresource !== '') parts.push(`"subresource":${goString(m.subresource)}`);
  return `{${parts.join(',')}}`;
}

const goString = (s: string): string =>
  JSON.stringify(s).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );

/**
 * Reads managedFields. Returns undefined when any entry is malformed (the API server's decoder
 * refuses the whole list): operation not Apply/Update, empty apiVersion, fieldsType not FieldsV1,
 * or fieldsV1 that does not parse. A later entry with the same identity replaces an earlier one.
 */
export function decodeManagedFields(raw: unknown): Managers | undefined {
  const managers: Managers = new Map();
  if (raw === undefined || raw === null) return managers;
  if (!Array.isArray(raw)) return undefined;
  for (const entry of raw) {
    if (!isObject(entry)) return undefined;
    const { manager = '', operation, apiVersion, time, fieldsType, fieldsV1, subresource = '' } = entry;
    if (operation !== 'Apply' && operation !== 'Update') return undefined;
    if (typeof apiVersion !== 'string' || apiVersion === '') return undefined;
    if (fieldsType !== 'FieldsV1') return undefined;
    if (typeof manager !== 'string' || typeof subresource !== 'string') return undefined;
    if (time !== undefined && time !== null && typeof time !== 'string') return undefined;
    let set: FieldSet;
    try {
      set = fieldsV1 === undefined || fieldsV1 === null ? FieldSet.empty() : FieldSet.fromFieldsV1(fieldsV1);
    } catch {
      return undefined;
    }
    const m: Manager = { manager, operation, apiVersion, subresource, time: time ?? undefined, set };
    managers.set(identity(m), m);
  }
  return managers;
}

/** The entries in the API server's order: Apply before Update, then oldest first, then by name. */
export function encodeManagedFields(managers: Managers): ManagedFieldsEntry[] {
  const sorted = [...managers.values()].filter((m) => !m.set.isEmpty()).sort(byEncodedOrder);
  return sorted.map((m) => {
    const entry: Partial<ManagedFieldsEntry> = {
      manager: m.manager,
      operation: m.operation,
      apiVersion: m.apiVersion,
    };
    if (m.time !== undefined) entry.time = m.time;
    entry.fieldsType = 'FieldsV1';
    entry.fieldsV1 = m.set.toFieldsV1();
    if (m.subresource !== '') entry.subresource = m.subresource;
    return entry as ManagedFieldsEntry;
  });
}

function byEncodedOrder(p: Manager, q: Manager): number {
  if (p.operation !== q.operation) return compareStrings(p.operation, q.operation);
  const dt = seconds(p.time) - seconds(q.time);
  if (dt !== 0) return Math.sign(dt);
  return (
    compareStrings(p.manager, q.manager) ||
    compareStrings(p.apiVersion, q.apiVersion) ||
    compareStrings(p.subresource, q.subresource)
  );
}

function seconds(time: string | undefined): number {
  if (time === undefined) return 0;
  const ms = Date.parse(time);
  return Number.isNaN(ms) ? 0 : Math.floor(ms / 1000);
}

/** metav1.Time as it serialises: RFC 3339 in UTC, whole seconds. Unparseable input is kept as is. */
export function normaliseTime(now: string): string {
  const ms = Date.parse(now);
  return Number.isNaN(ms) ? now : new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
}

/** Paths the API server never records as owned (stripMetaManager), removed member by member. */
const STRIPPED = FieldSet.of(
  [fieldToken('apiVersion')],
  [fieldToken('kind')],
  [fieldToken('metadata')],
  ...[
    'name',
    'namespace',
    'creationTimestamp',
    'selfLink',
    'uid',
    'clusterName',
    'generation',
    'managedFields',
    'resourceVersion',
  ].map((f) => [fieldToken('metadata'), fieldToken(f)]),
);

export const stripMeta = (set: FieldSet): FieldSet => set.difference(STRIPPED);

/** DefaultMaxUpdateManagers and the bucket the oldest Update entries are merged into. */
const MAX_UPDATE_MANAGERS = 10;
const OLD_UPDATES_MANAGER = 'ancient-changes';

/** capManagersManager: merges the oldest Update entries, per apiVersion, past ten of them. */
export function capUpdateManagers(managers: Managers): void {
  const updaters = [...managers].filter(([, m]) => m.operation === 'Update').map(([id]) => id);
  if (updaters.length <= MAX_UPDATE_MANAGERS) return;
  updaters.sort((a, b) => {
    const dt = seconds(managers.get(a)!.time) - seconds(managers.get(b)!.time);
    return dt !== 0 ? Math.sign(dt) : compareStrings(a, b);
  });
  const firstByVersion = new Map<string, string>();
  let length = updaters.length;
  for (let i = 0; i < updaters.length && length > MAX_UPDATE_MANAGERS; i++) {
    const id = updaters[i]!;
    const m = managers.get(id);
    if (!m) continue;
    const bucketInfo = {
      manager: OLD_UPDATES_MANAGER,
      operation: 'Update' as const,
      apiVersion: m.apiVersion,
      subresource: '',
    };
    const bucket = identity(bucketInfo);
    const first = firstByVersion.get(m.apiVersion);
    if (first === undefined) {
      firstByVersion.set(m.apiVersion, id);
      continue;
    }
    if (!managers.has(bucket)) {
      const moved = managers.get(first)!;
      managers.delete(first);
      managers.set(bucket, { ...moved, ...bucketInfo });
    }
    const held = managers.get(bucket)!;
    managers.set(bucket, { ...held, set: m.set.union(held.set), time: m.time });
    managers.delete(id);
    length--;
  }
}

/** How the API server names a manager in a conflict (printManager). */
export function describeManager(m: Manager): string {
  let out = goQuote(m.manager);
  if (m.subresource !== '') out += ` with subresource ${goQuote(m.subresource)}`;
  if (m.operation === 'Update') out += ` using ${m.apiVersion}`;
  return out;
}

export interface Conflict {
  /** The conflicting manager's name. */
  manager: string;
  /** The field, as `.spec.containers[name="web"].image`. */
  field: string;
  /** The StatusCause message the API server gives this conflict, e.g. `conflict with "kubectl" using v1`. */
  message: string;
}

/** Conflicts grouped by manager identity (sorted), each manager's paths in set order. */
export function describeConflicts(
  conflicts: Map<string, FieldSet>,
  managers: Managers,
): { conflicts: Conflict[]; message: string } {
  const ids = [...conflicts.keys()].sort(compareStrings);
  const list: Conflict[] = [];
  const lines: string[] = [];
  for (const id of ids) {
    const m = managers.get(id)!;
    const who = describeManager(m);
    const paths: Token[][] = conflicts.get(id)!.paths();
    lines.push(`conflicts with ${who}:`);
    for (const p of paths) {
      const field = renderPath(p);
      list.push({ manager: m.manager, field, message: `conflict with ${who}` });
      lines.push(`- ${field}`);
    }
  }
  const message =
    list.length === 1
      ? `Apply failed with 1 conflict: ${list[0]!.message}: ${list[0]!.field}`
      : `Apply failed with ${list.length} conflicts: ${lines.join('\n')}`;
  return { conflicts: list, message };
}
