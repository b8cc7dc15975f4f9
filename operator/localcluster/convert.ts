/* eslint-disable @typescript-eslint/no-unsafe-assignment -- Kubernetes objects are untyped JSON here (Obj) */
/**
 * Conversion between the versions a resource is served in and its stored form. Custom resources
 * (conversion strategy None) only change apiVersion; events.k8s.io/v1 Events are stored as core
 * v1 Events, as the real server does, so `kubectl describe` sees what a controller recorded.
 */
import { apiVersionOf, type ResourceType } from './kinds.js';
import type { Obj } from './store.js';

const EVENT_FIELDS: [string, string][] = [
  ['regarding', 'involvedObject'],
  ['note', 'message'],
  ['reportingController', 'reportingComponent'],
  ['deprecatedSource', 'source'],
  ['deprecatedFirstTimestamp', 'firstTimestamp'],
  ['deprecatedLastTimestamp', 'lastTimestamp'],
  ['deprecatedCount', 'count'],
];

function rename(obj: Obj, pairs: [string, string][]): Obj {
  const out: Obj = {};
  const map = new Map(pairs);
  for (const [k, v] of Object.entries(obj)) out[map.get(k) ?? k] = v;
  return out;
}

const isEventsV1 = (t: ResourceType): boolean => t.group === 'events.k8s.io';

/** Request form → stored form. */
export function toStorage(t: ResourceType, obj: Obj): Obj {
  if (isEventsV1(t)) {
    const out = rename(obj, EVENT_FIELDS);
    out.apiVersion = 'v1';
    return out;
  }
  return obj;
}

/** Stored form → the form of `t`'s version (a new object; the stored one is not touched). */
export function fromStorage(t: ResourceType, obj: Obj): Obj {
  if (isEventsV1(t)) {
    const out = rename(
      obj,
      EVENT_FIELDS.map(([a, b]) => [b, a]),
    );
    out.apiVersion = apiVersionOf(t);
    out.kind = t.kind;
    return out;
  }
  const apiVersion = apiVersionOf(t);
  if (obj.apiVersion === apiVersion && obj.kind === t.kind) return obj;
  return { ...obj, apiVersion, kind: t.kind };
}
