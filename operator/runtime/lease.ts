/**
 * A `LeaseStore` over a `coordination.k8s.io/v1` Lease: what the LeaderElector reads and writes.
 * Times are MicroTime (RFC 3339 with 6 fractional digits: the API server rejects 3). A 409
 * (Conflict on update, AlreadyExists on create) becomes the runtime's `ConflictError`.
 */
import { isAlreadyExists, isConflict, isNotFound, type Kube, type KubeObject } from './client.js';
import { ConflictError } from './errors.js';
import type { LeaseRecord, LeaseStore } from './leaderelection.js';

/** A MicroTime string: `2024-05-01T12:00:00.123000Z`. */
export const microTime = (d: Date): string => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

interface LeaseObject extends KubeObject {
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

/** Accepts what arrives on read (strings) or what a caller passes (strings or Dates). */
const asMicroTime = (v: unknown): string | undefined =>
  v instanceof Date ? microTime(v) : typeof v === 'string' && v ? normaliseMicroTime(v) : undefined;

/** Pads/truncates the fraction of an RFC 3339 time to 6 digits. */
export function normaliseMicroTime(s: string): string {
  const m = s.match(/^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/);
  if (!m) return s;
  const frac = (m[2] ?? '').padEnd(6, '0').slice(0, 6);
  return `${m[1]}.${frac}${m[3]}`;
}

export interface KubeLeaseStoreOptions {
  kube: Kube;
  namespace: string;
  name: string;
  /** Labels put on the Lease when it is created. */
  labels?: Record<string, string>;
}

export class KubeLeaseStore implements LeaseStore {
  constructor(private readonly o: KubeLeaseStoreOptions) {}

  private ref() {
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      name: this.o.name,
      namespace: this.o.namespace,
    };
  }

  private body(record: LeaseRecord, version?: string): LeaseObject {
    const spec: NonNullable<LeaseObject['spec']> = {};
    if (record.holderIdentity !== undefined) spec.holderIdentity = record.holderIdentity;
    if (record.leaseDurationSeconds !== undefined) spec.leaseDurationSeconds = record.leaseDurationSeconds;
    const acquire = asMicroTime(record.acquireTime);
    const renew = asMicroTime(record.renewTime);
    if (acquire) spec.acquireTime = acquire;
    if (renew) spec.renewTime = renew;
    if (record.leaseTransitions !== undefined) spec.leaseTransitions = record.leaseTransitions;
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name: this.o.name,
        namespace: this.o.namespace,
        ...(version ? { resourceVersion: version } : {}),
        ...(this.o.labels && !version ? { labels: this.o.labels } : {}),
      },
      spec,
    };
  }

  async get(): Promise<{ record: LeaseRecord; version: string } | undefined> {
    try {
      const lease = await this.o.kube.get<LeaseObject>(this.ref());
      const s = lease.spec ?? {};
      const record: LeaseRecord = {};
      if (s.holderIdentity) record.holderIdentity = s.holderIdentity;
      if (s.leaseDurationSeconds !== undefined) record.leaseDurationSeconds = s.leaseDurationSeconds;
      const acquire = asMicroTime(s.acquireTime);
      const renew = asMicroTime(s.renewTime);
      if (acquire) record.acquireTime = acquire;
      if (renew) record.renewTime = renew;
      if (s.leaseTransitions !== undefined) record.leaseTransitions = s.leaseTransitions;
      return { record, version: lease.metadata?.resourceVersion ?? '' };
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  async create(record: LeaseRecord): Promise<string> {
    try {
      const lease = await this.o.kube.create(this.body(record));
      return lease.metadata?.resourceVersion ?? '';
    } catch (e) {
      if (isAlreadyExists(e) || isConflict(e)) throw new ConflictError(`lease ${this.o.name} already exists`);
      throw e;
    }
  }

  async update(record: LeaseRecord, version: string): Promise<string> {
    try {
      const lease = await this.o.kube.replace(this.body(record, version));
      return lease.metadata?.resourceVersion ?? '';
    } catch (e) {
      if (isConflict(e) || isNotFound(e))
        throw new ConflictError(`lease ${this.o.name} changed: ${(e as Error).message}`);
      throw e;
    }
  }
}
