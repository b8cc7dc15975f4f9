/** Test fixtures for the apply module: objects as functions with overrides, and call helpers. */
import assert from 'node:assert/strict';
import {
  BUILTIN_LIST_TYPES,
  serverSideApply,
  type ListTypeLookup,
  type ManagedFieldsEntry,
} from './index.js';

export const T0 = '2024-05-01T10:00:00Z';
export const T1 = '2024-05-01T10:01:00Z';
export const T2 = '2024-05-01T10:02:00Z';
export const T3 = '2024-05-01T10:03:00Z';

type Obj = Record<string, unknown>;

export function configMap(data: Record<string, string>, o: { labels?: Record<string, string> } = {}): Obj {
  const metadata: Obj = { name: 'settings', namespace: 'default' };
  if (o.labels) metadata.labels = o.labels;
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata, data };
}

export function container(name: string, o: Obj = {}): Obj {
  return { name, image: `${name}:1`, ...o };
}

export function deployment(o: { containers?: Obj[]; replicas?: number; finalizers?: string[] } = {}): Obj {
  const metadata: Obj = { name: 'web', namespace: 'default' };
  if (o.finalizers) metadata.finalizers = o.finalizers;
  const spec: Obj = { template: { spec: { containers: o.containers ?? [container('web')] } } };
  if (o.replicas !== undefined) spec.replicas = o.replicas;
  return { apiVersion: 'apps/v1', kind: 'Deployment', metadata, spec };
}

/** What the API server adds once an object is stored. */
export function stored(obj: Obj, uid = 'uid-1'): Obj {
  const metadata = { ...(obj.metadata as Obj), uid, resourceVersion: '1', creationTimestamp: T0 };
  return { ...obj, metadata };
}

/** serverSideApply that must succeed; returns the object. */
export function applied(
  live: Obj | undefined,
  config: Obj,
  manager: string,
  o: { now?: string; force?: boolean; listType?: ListTypeLookup; subresource?: string } = {},
): Obj {
  const result = serverSideApply({
    live,
    applied: config,
    manager,
    force: o.force ?? false,
    listType: o.listType ?? BUILTIN_LIST_TYPES,
    apiVersion: String(config.apiVersion),
    now: o.now ?? T0,
    ...(o.subresource === undefined ? {} : { subresource: o.subresource }),
  });
  if (!result.ok) assert.fail(`expected the apply to succeed: ${result.message}`);
  return result.object;
}

export function managedFields(obj: Obj): ManagedFieldsEntry[] {
  const metadata = obj.metadata as Obj | undefined;
  return (metadata?.managedFields as ManagedFieldsEntry[] | undefined) ?? [];
}

/** The fieldsV1 of one manager's entry, or undefined when it has none. */
export function fieldsOf(
  obj: Obj,
  manager: string,
  operation: 'Apply' | 'Update' = 'Apply',
): object | undefined {
  return managedFields(obj).find((e) => e.manager === manager && e.operation === operation)?.fieldsV1;
}

export function managers(obj: Obj): string[] {
  return managedFields(obj).map((e) => `${e.manager}/${e.operation}`);
}

/** Freezes a value deeply, so a test fails if the code under test mutates it. */
export function frozen<T>(v: T): T {
  if (typeof v === 'object' && v !== null) {
    for (const child of Object.values(v)) frozen(child);
    Object.freeze(v);
  }
  return v;
}

/** The value at a chain of keys, or undefined. */
export function dig(v: unknown, ...keys: string[]): unknown {
  let at = v;
  for (const k of keys) {
    if (typeof at !== 'object' || at === null || Array.isArray(at)) return undefined;
    at = (at as Obj)[k];
  }
  return at;
}
