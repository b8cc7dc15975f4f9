/**
 * A `Kube` that records every write (`calls`: verb, `Kind/name`, body) and answers it with a fresh
 * resourceVersion; reads find nothing. What the reconciler tests assert their writes against.
 */
import { RequestCounter } from './client.js';
import type { Kube, KubeObject, ObjectRef } from './client.js';

export interface Call {
  verb: string;
  ref: string;
  body?: unknown;
}

export class RecordingKube implements Kube {
  readonly calls: Call[] = [];
  readonly requests = new RequestCounter();
  private rv = 100;
  private name = (r: { kind?: string; name?: string; metadata?: { name?: string } }) =>
    `${r.kind}/${r.name ?? r.metadata?.name ?? ''}`;
  private ok = <T>(obj: T): Promise<T> =>
    Promise.resolve({ ...obj, metadata: { resourceVersion: String(++this.rv) } });
  get = <T extends KubeObject>(): Promise<T> => Promise.reject(new Error('not in the fake'));
  list = <T extends KubeObject>() => Promise.resolve({ items: [] as T[], resourceVersion: '1' });
  create = <T extends KubeObject>(obj: T) => (
    this.calls.push({ verb: 'create', ref: this.name(obj) }),
    this.ok(obj)
  );
  replace = <T extends KubeObject>(obj: T) => this.ok(obj);
  delete = (ref: ObjectRef) => (
    this.calls.push({ verb: 'delete', ref: this.name(ref) }),
    Promise.resolve(true)
  );
  apply = <T extends KubeObject>(obj: T) => (
    this.calls.push({ verb: 'apply', ref: this.name(obj), body: obj }),
    this.ok(obj)
  );
  mergePatch = <T extends KubeObject>(ref: ObjectRef, patch: object) => (
    this.calls.push({ verb: 'patch', ref: this.name(ref), body: patch }),
    this.ok({} as T)
  );
  patchStatus = <T extends KubeObject>(ref: ObjectRef, status: unknown) => (
    this.calls.push({ verb: 'status', ref: this.name(ref), body: status }),
    this.ok({} as T)
  );
  watch = () => ({ done: Promise.resolve(), abort: () => undefined });
}
