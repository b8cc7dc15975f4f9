/**
 * Prometheus metrics under controller-runtime's names, one prom-client `Registry` per Manager (so
 * tests running several managers in one process do not clash):
 *
 *   workqueue_depth / _adds_total / _retries_total / _queue_duration_seconds / _work_duration_seconds
 *   controller_runtime_reconcile_total{controller,result} / _reconcile_errors_total / _reconcile_time_seconds
 *   controller_runtime_reconcile_panics_total / _active_workers / _max_concurrent_reconciles
 *   leader_election_master_status{name}
 *   rest_client_requests_total{code,method}
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RequestCounter } from './client.js';
import type { ControllerMetrics } from './controller.js';
import type { QueueMetrics } from './queue.js';

/** controller-runtime's workqueue buckets: 10 ns … 10 s (ExponentialBuckets(10e-9, 10, 10)). */
const QUEUE_BUCKETS = Array.from({ length: 10 }, (_, i) => 1e-8 * 10 ** i);
/** controller-runtime's reconcile-time buckets. */
const RECONCILE_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.25, 1.5,
  1.75, 2, 2.5, 3, 3.5, 4, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60,
];

export class RuntimeMetrics {
  readonly registry: Registry;
  private readonly wq;
  private readonly cr;
  private readonly leaderGauge: Gauge<'name'>;
  private readonly restRequests: Counter<'code' | 'method'>;

  constructor(o: { registry?: Registry; defaultMetrics?: boolean } = {}) {
    this.registry = o.registry ?? new Registry();
    const registers = [this.registry];
    if (o.defaultMetrics) collectDefaultMetrics({ register: this.registry });
    const qLabels = ['name', 'controller'] as const;
    this.wq = {
      depth: new Gauge({
        name: 'workqueue_depth',
        help: 'Current depth of workqueue',
        labelNames: qLabels,
        registers,
      }),
      adds: new Counter({
        name: 'workqueue_adds_total',
        help: 'Total number of adds handled by workqueue',
        labelNames: qLabels,
        registers,
      }),
      retries: new Counter({
        name: 'workqueue_retries_total',
        help: 'Total number of retries handled by workqueue',
        labelNames: qLabels,
        registers,
      }),
      queueDuration: new Histogram({
        name: 'workqueue_queue_duration_seconds',
        help: 'How long in seconds an item stays in workqueue before being requested',
        labelNames: qLabels,
        buckets: QUEUE_BUCKETS,
        registers,
      }),
      workDuration: new Histogram({
        name: 'workqueue_work_duration_seconds',
        help: 'How long in seconds processing an item from workqueue takes',
        labelNames: qLabels,
        buckets: QUEUE_BUCKETS,
        registers,
      }),
    };
    const c = ['controller'] as const;
    this.cr = {
      total: new Counter({
        name: 'controller_runtime_reconcile_total',
        help: 'Total number of reconciliations per controller',
        labelNames: ['controller', 'result'] as const,
        registers,
      }),
      errors: new Counter({
        name: 'controller_runtime_reconcile_errors_total',
        help: 'Total number of reconciliation errors per controller',
        labelNames: c,
        registers,
      }),
      time: new Histogram({
        name: 'controller_runtime_reconcile_time_seconds',
        help: 'Length of time per reconciliation per controller',
        labelNames: c,
        buckets: RECONCILE_BUCKETS,
        registers,
      }),
      panics: new Counter({
        name: 'controller_runtime_reconcile_panics_total',
        help: 'Total number of reconciliation panics per controller',
        labelNames: c,
        registers,
      }),
      active: new Gauge({
        name: 'controller_runtime_active_workers',
        help: 'Number of currently used workers per controller',
        labelNames: c,
        registers,
      }),
      max: new Gauge({
        name: 'controller_runtime_max_concurrent_reconciles',
        help: 'Maximum number of concurrent reconciles per controller',
        labelNames: c,
        registers,
      }),
    };
    this.leaderGauge = new Gauge({
      name: 'leader_election_master_status',
      help: 'Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master.',
      labelNames: ['name'] as const,
      registers,
    });
    this.restRequests = new Counter({
      name: 'rest_client_requests_total',
      help: 'Number of HTTP requests, partitioned by status code and method.',
      labelNames: ['code', 'method'] as const,
      registers,
    });
  }

  /** The QueueMetrics of the work queue named `name` (the controller's name). */
  queue(name: string): QueueMetrics {
    const l = { name, controller: name };
    return {
      depth: (n) => this.wq.depth.set(l, n),
      add: () => this.wq.adds.inc(l),
      retry: () => this.wq.retries.inc(l),
      queueDuration: (s) => this.wq.queueDuration.observe(l, s),
      workDuration: (s) => this.wq.workDuration.observe(l, s),
    };
  }

  readonly controller: ControllerMetrics = {
    reconcileTotal: (controller, result) => this.cr.total.inc({ controller, result }),
    reconcileErrors: (controller) => this.cr.errors.inc({ controller }),
    reconcileTime: (controller, seconds) => this.cr.time.observe({ controller }, seconds),
    panics: (controller) => this.cr.panics.inc({ controller }),
    activeWorkers: (controller, n) => this.cr.active.set({ controller }, n),
    maxConcurrentReconciles: (controller, n) => this.cr.max.set({ controller }, n),
  };

  /** The LeaderElector's metrics for the lease `name`. */
  leader(name: string): { leaderStatus(isLeader: boolean): void } {
    this.leaderGauge.set({ name }, 0);
    return { leaderStatus: (isLeader) => this.leaderGauge.set({ name }, isLeader ? 1 : 0) };
  }

  /** Counts the client's requests as `rest_client_requests_total{code,method}`. */
  countRequests(counter: RequestCounter): void {
    counter.onRequest((method, code) => this.restRequests.inc({ method, code }));
  }

  /** The exposition text (what `/metrics` serves). */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}
