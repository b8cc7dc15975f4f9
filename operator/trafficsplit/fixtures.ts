/**
 * Test fixtures: functions with overrides, and a `Rollout` that drives the state machine the way the
 * reconciler will (status stored as JSON and fed back, an injected clock, a check run when asked).
 */
import assert from 'node:assert/strict';
import {
  trafficSplitSpec,
  trafficSplitStatus,
  type TrafficSplitSpec,
  type TrafficSplitStatus,
} from '../api/trafficsplit.js';
import type { CheckOutcome, CheckResult } from './analysis.js';
import { next, type Decision, type MachineEvent, type MachineInput } from './machine.js';

/** 2025-01-01T12:00:00Z: whole seconds, as condition times are. */
export const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);
export const SECOND = 1000;
export const MINUTE = 60 * SECOND;

type SpecInput = Record<string, unknown>;

/** A valid spec (defaults filled by the schema): two setWeight steps, one success-rate metric. */
export function spec(overrides: SpecInput = {}): TrafficSplitSpec {
  return trafficSplitSpec.parse({
    targetRef: { name: 'checkout' },
    backends: { stable: { name: 'checkout-stable' }, canary: { name: 'checkout-canary' } },
    strategy: { interval: '1m', steps: [{ setWeight: 10 }, { setWeight: 50 }] },
    analysis: {
      prometheus: { address: 'http://prometheus.test:9090' },
      failureThreshold: 2,
      consecutiveErrorLimit: 2,
      metrics: [{ name: 'success-rate', type: 'RequestSuccessRate', thresholdRange: { min: 99 } }],
    },
    ...overrides,
  });
}

/** A spec without analysis: steps advance on time alone. */
export const specWithoutAnalysis = (overrides: SpecInput = {}): TrafficSplitSpec => {
  const s = spec(overrides);
  delete s.analysis;
  return s;
};

/** One result per metric of `s`, all with `outcome`. */
export function results(
  s: TrafficSplitSpec,
  outcome: CheckOutcome,
  now: number,
  value?: number,
): CheckResult[] {
  return (s.analysis?.metrics ?? []).map((m) => ({
    name: m.name,
    result: outcome,
    ...(outcome === 'Inconclusive'
      ? { message: 'no data: the query returned no series' }
      : { value: value ?? (outcome === 'Passed' ? 99.9 : 80), message: 'x' }),
    time: new Date(now).toISOString(),
  }));
}

/**
 * A TrafficSplit over time. Each call stores the status as the API server would (JSON), checks it
 * against the status schema and the weights invariant, and keeps every event.
 */
export class Rollout {
  status: TrafficSplitStatus | undefined;
  now = T0;
  canaryRevision: string | undefined = 'rev-1';
  backendsReady = true;
  generation = 1;
  events: MachineEvent[] = [];
  last!: Decision;

  constructor(public spec: TrafficSplitSpec = specWithoutAnalysis()) {}

  /** One call of `next` with the current observations. */
  call(extra: Partial<MachineInput> = {}): Decision {
    const d = next({
      spec: this.spec,
      status: this.status,
      generation: this.generation,
      now: this.now,
      canaryRevision: this.canaryRevision,
      backendsReady: this.backendsReady,
      ...extra,
    });
    const stored = JSON.parse(JSON.stringify(d.status)) as TrafficSplitStatus;
    trafficSplitStatus.parse(stored);
    const w = stored.weights!;
    assert.equal(w.stable + w.canary, 100);
    if (d.requeueAfterMs !== undefined) assert.ok(d.requeueAfterMs > 0, `requeueAfterMs ${d.requeueAfterMs}`);
    this.status = stored;
    this.events.push(...d.events);
    this.last = d;
    return d;
  }

  /**
   * A reconcile: a call, and when it asks for a check, a second call with `outcome`'s results (the
   * test fails if a check is asked for and no outcome was given).
   */
  reconcile(outcome?: CheckOutcome | CheckResult[]): Decision {
    const first = this.call();
    if (!first.runAnalysis) return first;
    assert.ok(outcome !== undefined, `a check was asked for at ${new Date(this.now).toISOString()}`);
    const analysis = typeof outcome === 'string' ? results(this.spec, outcome, this.now) : outcome;
    const events = first.events;
    const second = this.call({ analysis });
    this.last = { ...second, events: [...events, ...second.events] };
    return this.last;
  }

  /** Moves the clock on, then reconciles. */
  after(ms: number, outcome?: CheckOutcome | CheckResult[]): Decision {
    this.now += ms;
    return this.reconcile(outcome);
  }

  /** Sets `spec.action` (a spec change: the generation moves on). */
  act(type: NonNullable<TrafficSplitSpec['action']>['type'], requestID: string): Decision {
    this.spec = { ...this.spec, action: { type, requestID } };
    this.generation += 1;
    return this.reconcile();
  }

  setPaused(paused: boolean): Decision {
    this.spec = { ...this.spec, paused };
    this.generation += 1;
    return this.reconcile();
  }

  condition(type: string) {
    return this.status?.conditions?.find((c) => c.type === type);
  }

  /** The reasons of the events the last reconcile emitted. */
  reasons(): string[] {
    return this.last.events.map((e) => e.reason);
  }
}
