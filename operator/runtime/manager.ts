/**
 * The Manager (controller-runtime's `manager.Manager`): owns the shared informers, the controllers,
 * leader election, the metrics registry and the `/metrics`, `/healthz`, `/readyz` endpoints.
 *
 *   const mgr = new Manager({ kube, namespace: 'meshwright-system', leaderElection: { enabled: true, leaseName: 'meshwright' } });
 *   const cms = mgr.informer(ConfigMaps);
 *   mgr.add(mgr.controller({ name: 'configmap', reconcile }).for(cms));
 *   await mgr.start();      // until SIGTERM/SIGINT (or `signal`): then drains, releases the lease, resolves
 *
 * `start`: serve the endpoints → start informers → wait for their sync (`/readyz` turns 200) → run
 * for the lease (or not, when leader election is off) → start the controllers while leader. On
 * losing the lease the controllers stop at once and `start` rejects with `LeaderElectionLostError`
 * (controller-runtime exits the process then: another replica holds the lease, and this one must
 * not act on a stale view). On shutdown: controllers stop taking work and finish what is in flight
 * (bounded by `shutdownTimeoutMs`), the lease is released, informers and servers stop.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Kube, KubeObject, ResourceType } from './client.js';
import { systemClock, type Clock } from './clock.js';
import { Controller, type ControllerOptions } from './controller.js';
import { EventRecorder } from './events.js';
import { HttpEndpoint } from './health.js';
import { SharedInformers, type Informer, type InformerOptions, type InformerTuning } from './informer.js';
import { LeaderElector, type LeaseStore } from './leaderelection.js';
import { KubeLeaseStore } from './lease.js';
import { createLogger, type Logger } from './log.js';
import { RuntimeMetrics } from './metrics.js';

export interface LeaderElectionOptions {
  enabled: boolean;
  leaseName: string;
  /** Default: `<hostname>_<random>` (as client-go). */
  identity?: string;
  /** Defaults 15 s / 10 s / 2 s. */
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** Replace the Lease-backed store (tests simulate a partitioned replica with it). */
  store?: LeaseStore;
}

export interface ManagerOptions {
  kube: Kube;
  /** Namespace of the Lease (the operator's own). Default `default`. */
  namespace?: string;
  leaderElection?: LeaderElectionOptions;
  /** `/metrics` port; 0 = random, undefined/false = not served. */
  metricsPort?: number | false;
  /** `/healthz` + `/readyz` port; 0 = random; the same number as `metricsPort` = one server. */
  healthPort?: number | false;
  /** Interface to bind (default 127.0.0.1; `0.0.0.0` in a pod). */
  bindAddress?: string;
  logger?: Logger;
  clock?: Clock;
  /** Defaults for every informer (resync period, watchdog, backoff). */
  informers?: InformerTuning;
  /** How long shutdown waits for in-flight reconciles. Default 30 s. */
  shutdownTimeoutMs?: number;
  /** How long `start` waits for the caches to sync before failing. Default 2 min. */
  cacheSyncTimeoutMs?: number;
  /** The component name on Events (`reportingController`). Default `meshwright`. */
  eventSource?: string;
  /** Collect process metrics (CPU, memory, event loop) too. Default false. */
  processMetrics?: boolean;
  /** What else `/readyz` waits for besides synced caches (e.g. the control plane's first xDS build). */
  readiness?: () => boolean;
}

export class LeaderElectionLostError extends Error {
  override readonly name = 'LeaderElectionLostError';
}

type AnyController = Controller;

export class Manager {
  readonly kube: Kube;
  readonly metrics: RuntimeMetrics;
  readonly informers: SharedInformers;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly identity: string;
  readonly events: EventRecorder;
  private readonly controllers: AnyController[] = [];
  private readonly endpoints: HttpEndpoint[] = [];
  private leading = false;
  private controllersRunning = false;
  private elector: LeaderElector | undefined;
  /** The ports actually bound (after `start`). */
  metricsPort: number | undefined;
  healthPort: number | undefined;

  constructor(private readonly o: ManagerOptions) {
    this.kube = o.kube;
    this.clock = o.clock ?? systemClock;
    this.logger = o.logger ?? createLogger();
    this.identity = o.leaderElection?.identity ?? `${hostname()}_${randomBytes(4).toString('hex')}`;
    this.metrics = new RuntimeMetrics({ defaultMetrics: o.processMetrics ?? false });
    this.metrics.countRequests(o.kube.requests);
    this.informers = new SharedInformers(o.kube, {
      clock: this.clock,
      logger: this.logger,
      ...(o.informers ?? {}),
    });
    this.events = new EventRecorder({
      kube: o.kube,
      controller: o.eventSource ?? 'meshwright',
      instance: this.identity,
      clock: this.clock,
      logger: this.logger,
    });
  }

  /** The shared informer of `type` (one per resource, namespace and selector). */
  informer<T extends KubeObject = KubeObject>(
    type: ResourceType,
    opts: Pick<
      InformerOptions<T>,
      'namespace' | 'labelSelector' | 'fieldSelector' | 'transform' | 'resyncPeriodMs'
    > = {},
  ): Informer<T> {
    return this.informers.informer<T>(type, opts);
  }

  /** A Controller wired to this manager's clock, logger and metrics (not yet added). */
  controller(o: Omit<ControllerOptions, 'clock' | 'logger' | 'metrics' | 'queueMetrics'>): Controller {
    return new Controller({
      ...o,
      clock: this.clock,
      logger: this.logger,
      metrics: this.metrics.controller,
      queueMetrics: this.metrics.queue(o.name),
    });
  }

  add(controller: AnyController): this {
    this.controllers.push(controller);
    if (this.controllersRunning) controller.start();
    return this;
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** Ready: every informer has synced (and `readiness`, when given, holds). */
  ready(): boolean {
    return this.informers.hasSynced() && (this.o.readiness?.() ?? true);
  }

  /**
   * Runs until `signal` aborts (default: SIGTERM or SIGINT), then shuts down gracefully and resolves.
   * Rejects with `LeaderElectionLostError` when the lease is lost, or when the caches do not sync.
   */
  async start(signal?: AbortSignal): Promise<void> {
    const stop = new AbortController();
    const onSignal = (): void => stop.abort();
    let removeSignals = (): void => undefined;
    if (signal) {
      if (signal.aborted) return;
      signal.addEventListener('abort', onSignal, { once: true });
      removeSignals = () => signal.removeEventListener('abort', onSignal);
    } else {
      process.once('SIGTERM', onSignal);
      process.once('SIGINT', onSignal);
      removeSignals = () => {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
      };
    }
    const log = this.logger;
    let lost: Error | undefined;
    const electionStop = new AbortController();
    let election: Promise<void> | undefined;
    try {
      await this.serve();
      this.informers.start();
      log.info('Waiting for caches to sync');
      const synced = await Promise.race([
        this.informers.waitForSync(this.o.cacheSyncTimeoutMs ?? 120_000),
        new Promise<'stopped'>((r) =>
          stop.signal.addEventListener('abort', () => r('stopped'), { once: true }),
        ),
      ]);
      if (synced === 'stopped') return;
      if (!synced) throw new Error('timed out waiting for the caches to sync');
      log.info('Caches synced');

      const le = this.o.leaderElection;
      if (le?.enabled) {
        const leaderMetrics = this.metrics.leader(le.leaseName);
        this.elector = new LeaderElector({
          identity: this.identity,
          store:
            le.store ??
            new KubeLeaseStore({
              kube: this.kube,
              namespace: this.o.namespace ?? 'default',
              name: le.leaseName,
            }),
          clock: this.clock,
          ...(le.leaseDurationMs !== undefined ? { leaseDurationMs: le.leaseDurationMs } : {}),
          ...(le.renewDeadlineMs !== undefined ? { renewDeadlineMs: le.renewDeadlineMs } : {}),
          ...(le.retryPeriodMs !== undefined ? { retryPeriodMs: le.retryPeriodMs } : {}),
          metrics: leaderMetrics,
          onStartedLeading: () => {
            this.leading = true;
            log.info({ identity: this.identity, lease: le.leaseName }, 'Became leader: starting controllers');
            this.startControllers();
          },
          onStoppedLeading: () => {
            const wasLeading = this.leading;
            this.leading = false;
            if (!wasLeading || stop.signal.aborted) return;
            lost = new LeaderElectionLostError(`leader election lost (lease ${le.leaseName})`);
            log.error(
              { identity: this.identity, lease: le.leaseName },
              'Leader election lost: stopping controllers',
            );
            // at once: another replica may already be acting
            void Promise.all(this.controllers.map((c) => c.stop(0)));
            this.controllersRunning = false;
            stop.abort();
          },
        });
        election = this.elector.run(electionStop.signal);
        log.info({ identity: this.identity, lease: le.leaseName }, 'Waiting for leadership');
      } else {
        this.leading = true;
        this.startControllers();
      }

      await new Promise<void>((resolve) => {
        if (stop.signal.aborted) resolve();
        else stop.signal.addEventListener('abort', () => resolve(), { once: true });
      });
      log.info('Shutting down');
    } finally {
      removeSignals();
      await this.shutdown(electionStop, election);
    }
    if (lost) throw lost;
  }

  private startControllers(): void {
    this.controllersRunning = true;
    for (const c of this.controllers) c.start();
  }

  private async shutdown(electionStop: AbortController, election: Promise<void> | undefined): Promise<void> {
    const timeout = this.o.shutdownTimeoutMs ?? 30_000;
    // stop taking work, finish what is in flight (bounded)
    await Promise.all(this.controllers.map((c) => c.stop(timeout)));
    this.controllersRunning = false;
    // then give the lease back, so another replica takes over without waiting for it to expire
    electionStop.abort();
    await election?.catch((err: unknown) => this.logger.warn({ err }, 'leader election ended with an error'));
    this.leading = false;
    await this.events.flush();
    await this.informers.stop();
    await Promise.all(this.endpoints.splice(0).map((e) => e.stop()));
    this.logger.info('Stopped');
  }

  private async serve(): Promise<void> {
    const host = this.o.bindAddress ?? '127.0.0.1';
    const metrics = async () => ({
      contentType: this.metrics.registry.contentType,
      body: await this.metrics.text(),
    });
    const healthz = (): boolean => true;
    const readyz = (): boolean => this.ready();
    const mp = this.o.metricsPort;
    const hp = this.o.healthPort;
    if (mp !== undefined && mp !== false && mp === hp && mp !== 0) {
      const e = new HttpEndpoint({ host, port: mp, metrics, healthz, readyz });
      this.endpoints.push(e);
      this.metricsPort = this.healthPort = await e.start();
      return;
    }
    if (mp !== undefined && mp !== false) {
      const e = new HttpEndpoint({ host, port: mp, metrics });
      this.endpoints.push(e);
      this.metricsPort = await e.start();
    }
    if (hp !== undefined && hp !== false) {
      const e = new HttpEndpoint({ host, port: hp, healthz, readyz });
      this.endpoints.push(e);
      this.healthPort = await e.start();
    }
  }
}
