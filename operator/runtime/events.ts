/**
 * An EventRecorder writing `events.k8s.io/v1` Events about objects (what `kubectl describe` and
 * `kubectl events` show). Like client-go's recorder it:
 *
 * - aggregates repeats: the same object + type + reason + note within `aggregateWindowMs` bumps the
 *   existing Event's `series.count` / `series.lastObservedTime` instead of creating a new Event;
 * - is rate-limited (a token bucket: `burst` events, then `qps`), dropping what exceeds it;
 * - never throws into the reconciler: `event()` returns at once, writes happen in the background
 *   and failures are logged. `flush()` waits for pending writes (tests, shutdown).
 */
import { randomBytes } from 'node:crypto';
import type { Kube, KubeObject } from './client.js';
import { systemClock, type Clock } from './clock.js';
import { microTime } from './lease.js';
import { silentLogger, type Logger } from './log.js';

export type EventType = 'Normal' | 'Warning';

export interface EventRecorderOptions {
  kube: Kube;
  /** `reportingController` (e.g. `meshwright.io/operator`). */
  controller: string;
  /** `reportingInstance` (the pod name / leader identity). */
  instance: string;
  clock?: Clock;
  logger?: Logger;
  aggregateWindowMs?: number;
  burst?: number;
  qps?: number;
}

export interface Recorder {
  event(regarding: KubeObject, type: EventType, reason: string, note: string, action?: string): void;
}

interface Series {
  name: string;
  namespace: string;
  count: number;
  last: number;
  /** The write in flight for this series (writes of one series are sequential). */
  pending: Promise<void>;
}

export class EventRecorder implements Recorder {
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly series = new Map<string, Series>();
  private readonly pending = new Set<Promise<void>>();
  private tokens: number;
  private lastRefill: number;
  /** Counters for tests and metrics. */
  readonly stats = { created: 0, aggregated: 0, dropped: 0, failed: 0 };

  constructor(private readonly o: EventRecorderOptions) {
    this.clock = o.clock ?? systemClock;
    this.log = (o.logger ?? silentLogger()).child({ component: 'events' });
    this.tokens = o.burst ?? 25;
    this.lastRefill = this.clock.now();
  }

  event(regarding: KubeObject, type: EventType, reason: string, note: string, action = reason): void {
    try {
      const meta = regarding.metadata ?? {};
      const namespace = meta.namespace || 'default';
      const key = [meta.uid ?? `${namespace}/${meta.name ?? ''}`, type, reason, note].join('\u0000');
      const now = this.clock.now();
      const window = this.o.aggregateWindowMs ?? 10 * 60_000;
      const existing = this.series.get(key);
      if (!this.take()) {
        this.stats.dropped++;
        this.log.debug({ reason, note }, 'event dropped by the rate limit');
        return;
      }
      if (existing && now - existing.last <= window) {
        existing.count++;
        existing.last = now;
        const count = existing.count;
        existing.pending = existing.pending.then(() => this.bump(existing, count, now));
        this.track(existing.pending);
        return;
      }
      this.gc(now, window);
      const name = `${meta.name ?? 'object'}.${now.toString(16)}${randomBytes(2).toString('hex')}`.slice(
        -253,
      );
      const s: Series = { name, namespace, count: 1, last: now, pending: Promise.resolve() };
      this.series.set(key, s);
      s.pending = this.create(s, regarding, type, reason, note, action, now);
      this.track(s.pending);
    } catch (e) {
      this.log.error({ err: e }, 'recording an event failed');
    }
  }

  /** Resolves when every write started so far has finished. */
  async flush(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
  }

  private track(p: Promise<void>): void {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  private take(): boolean {
    const now = this.clock.now();
    const qps = this.o.qps ?? 1 / 5;
    const burst = this.o.burst ?? 25;
    this.tokens = Math.min(burst, this.tokens + ((now - this.lastRefill) / 1000) * qps);
    this.lastRefill = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  private gc(now: number, window: number): void {
    if (this.series.size < 4096) return;
    for (const [k, s] of this.series) if (now - s.last > window) this.series.delete(k);
  }

  private async create(
    s: Series,
    regarding: KubeObject,
    type: EventType,
    reason: string,
    note: string,
    action: string,
    now: number,
  ): Promise<void> {
    const meta = regarding.metadata ?? {};
    try {
      await this.o.kube.create({
        apiVersion: 'events.k8s.io/v1',
        kind: 'Event',
        metadata: { name: s.name, namespace: s.namespace },
        eventTime: microTime(new Date(now)),
        reportingController: this.o.controller,
        reportingInstance: this.o.instance,
        action: action.slice(0, 128),
        reason: reason.slice(0, 128),
        note: note.slice(0, 1024),
        type,
        regarding: {
          apiVersion: regarding.apiVersion,
          kind: regarding.kind,
          name: meta.name,
          ...(meta.namespace ? { namespace: meta.namespace } : {}),
          ...(meta.uid ? { uid: meta.uid } : {}),
          ...(meta.resourceVersion ? { resourceVersion: meta.resourceVersion } : {}),
        },
      });
      this.stats.created++;
    } catch (e) {
      this.stats.failed++;
      this.log.warn({ err: e, reason }, 'could not write an Event');
    }
  }

  private async bump(s: Series, count: number, now: number): Promise<void> {
    try {
      await this.o.kube.mergePatch(
        { apiVersion: 'events.k8s.io/v1', kind: 'Event', name: s.name, namespace: s.namespace },
        { series: { count, lastObservedTime: microTime(new Date(now)) } },
      );
      this.stats.aggregated++;
    } catch (e) {
      this.stats.failed++;
      this.log.warn({ err: e }, 'could not update an Event series');
    }
  }
}

/** A recorder that remembers instead of writing (reconciler tests). */
export class RecordingRecorder implements Recorder {
  readonly events: { type: EventType; reason: string; note: string; object: string }[] = [];
  event(regarding: KubeObject, type: EventType, reason: string, note: string): void {
    const m = regarding.metadata ?? {};
    this.events.push({
      type,
      reason,
      note,
      object: `${regarding.kind ?? ''}/${m.namespace ? `${m.namespace}/` : ''}${m.name ?? ''}`,
    });
  }
}
