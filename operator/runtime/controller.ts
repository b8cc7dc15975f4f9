/**
 * The controller loop (controller-runtime's `controller` + `builder`): watches turn events into keys,
 * the work queue deduplicates and rate-limits them, workers call `reconcile` for one key at a time.
 *
 * One error policy, here, for every reconciler:
 *
 * | reconcile…                          | logged        | metrics result  | then                          |
 * | ----------------------------------- | ------------- | --------------- | ----------------------------- |
 * | returns nothing / `{}`              | –             | `success`       | `forget`                      |
 * | returns `{ requeueAfter: ms }`      | –             | `requeue_after` | `forget`, `addAfter(ms)`      |
 * | returns `{ requeue: true }`         | –             | `requeue`       | `addRateLimited`              |
 * | throws `RequeueError(ms)`           | info          | `requeue_after` | `forget`, `addAfter(ms)`      |
 * | throws `TerminalError` (any cause)  | error, once   | `error`         | `forget`, not retried         |
 * | throws a bug ("panic", see errors)  | error, once   | `error` + panic | `addRateLimited`              |
 * | throws anything else                | error, once   | `error`         | `addRateLimited`              |
 *
 * Event handlers never throw (an informer handler that throws crashes the process): a predicate or
 * map function that throws is logged and the event dropped.
 */
import { randomUUID } from 'node:crypto';
import { pino, type Logger } from 'pino';
import { systemClock, type Clock } from './clock.js';
import { isConflictError, isPanic, isTerminalError, RequeueError } from './errors.js';
import { groupOf, type KubeObject } from './ownership.js';
import type { Predicate, WatchEvent } from './predicates.js';
import { WorkQueue, type QueueMetrics } from './queue.js';
import type { RateLimiter } from './ratelimit.js';

export type { KubeObject, OwnerReference } from './ownership.js';
export type { Predicate, WatchEvent } from './predicates.js';

export interface ReconcileResult {
  /** Reconcile again after this many milliseconds (the backoff is reset). */
  requeueAfter?: number;
  /** Reconcile again after the rate limiter's backoff (controller-runtime's `Requeue: true`). */
  requeue?: boolean;
}

export interface ReconcileContext {
  /** A fresh UUID for each reconcile; also on every line of `log`. */
  reconcileID: string;
  /** Carries `controller`, `namespace` (when namespaced), `name` and `reconcileID`. */
  log: Logger;
  /** Aborted when the reconcile times out, or when the controller stops and the drain time is up. */
  signal: AbortSignal;
  /** The key, split. */
  namespace: string | undefined;
  name: string;
}

export type Reconcile = (key: string, ctx: ReconcileContext) => Promise<ReconcileResult | void>;

/** What the informer offers: a subscription to its events. Returns the unsubscribe function. */
export interface WatchSource<T> {
  onEvent(handler: (event: WatchEvent<T>) => void): () => void;
}

export type ReconcileResultLabel = 'success' | 'error' | 'requeue' | 'requeue_after';

/** What the controller reports; metrics.ts binds it to controller-runtime's `controller_runtime_*` metrics. */
export interface ControllerMetrics {
  reconcileTotal(controller: string, result: ReconcileResultLabel): void;
  reconcileErrors(controller: string): void;
  /** controller_runtime_terminal_reconcile_errors_total (optional). */
  terminalReconcileErrors?(controller: string): void;
  reconcileTime(controller: string, seconds: number): void;
  panics(controller: string): void;
  activeWorkers(controller: string, n: number): void;
  maxConcurrentReconciles(controller: string, n: number): void;
}

export interface ControllerOptions {
  /** Names the controller in logs and metrics (controller-runtime uses the lower-cased kind). */
  name: string;
  reconcile: Reconcile;
  /** Parallel reconciles of different keys (default 1). The same key never runs twice at once. */
  workers?: number;
  clock?: Clock;
  rateLimiter?: RateLimiter;
  logger?: Logger;
  metrics?: ControllerMetrics;
  /** Passed to the work queue (workqueue_* metrics). */
  queueMetrics?: QueueMetrics;
  /** Aborts `ctx.signal` after this long. The controller still waits for the reconcile to settle. */
  reconcileTimeoutMs?: number;
}

/** The owner kind of `owns()`. Owner references are namespace-local: a namespaced owner shares its child's namespace. */
export interface OwnerType {
  apiVersion: string;
  kind: string;
  /** The owner is cluster-scoped (its key is its name alone), e.g. MeshInstallation. */
  clusterScoped?: boolean;
}

/** `namespace/name`, or `name` for a cluster-scoped object. */
export const objectKey = (obj: KubeObject): string => {
  const ns = obj.metadata?.namespace;
  const name = obj.metadata?.name ?? '';
  return ns ? `${ns}/${name}` : name;
};

/** The inverse of `objectKey`. */
export const parseKey = (key: string): { namespace: string | undefined; name: string } => {
  const i = key.indexOf('/');
  return i < 0 ? { namespace: undefined, name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
};

/**
 * The key of the owner of `obj` that is its controller and of the given group and kind (the
 * version may differ: an owner reference written under v1alpha1 still names the same object).
 */
export function controllerOwnerKey(obj: KubeObject, owner: OwnerType): string | undefined {
  const ref = obj.metadata?.ownerReferences?.find((r) => r.controller === true);
  if (!ref || ref.kind !== owner.kind || groupOf(ref.apiVersion) !== groupOf(owner.apiVersion))
    return undefined;
  const ns = owner.clusterScoped ? undefined : obj.metadata?.namespace;
  return ns ? `${ns}/${ref.name}` : ref.name;
}

const DEFAULT_DRAIN_MS = 30_000;

export class Controller {
  readonly name: string;
  readonly queue: WorkQueue;
  private readonly reconcileFn: Reconcile;
  private readonly workers: number;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly metrics: ControllerMetrics | undefined;
  private readonly reconcileTimeoutMs: number | undefined;

  private readonly unsubscribers: (() => void)[] = [];
  private readonly running = new Map<string, AbortController>();
  private workerLoops: Promise<void>[] = [];
  private active = 0;
  private started = false;
  private stopping = false;
  private stopped: Promise<void> | undefined;

  constructor(o: ControllerOptions) {
    this.name = o.name;
    this.reconcileFn = o.reconcile;
    this.workers = Math.max(1, Math.floor(o.workers ?? 1));
    this.clock = o.clock ?? systemClock;
    this.log = (o.logger ?? pino({ level: 'silent' })).child({ controller: o.name });
    this.metrics = o.metrics;
    this.reconcileTimeoutMs = o.reconcileTimeoutMs;
    this.queue = new WorkQueue({
      name: o.name,
      clock: this.clock,
      ...(o.rateLimiter ? { rateLimiter: o.rateLimiter } : {}),
      ...(o.queueMetrics ? { metrics: o.queueMetrics } : {}),
    });
  }

  /** Reconciles the objects of `source` themselves (key = the object's key). */
  for<T extends KubeObject>(source: WatchSource<T>, ...predicates: Predicate<T>[]): this {
    return this.watch(source, predicates, (obj) => [objectKey(obj)], 'for');
  }

  /**
   * Reconciles the owner when one of its children changes: the child's controller owner reference
   * of `owner`'s group and kind gives the key. Children with no such controller are ignored. On an
   * update the old object's owner is enqueued too (the reference may have moved).
   */
  owns<T extends KubeObject>(source: WatchSource<T>, owner: OwnerType, ...predicates: Predicate<T>[]): this {
    return this.watch(
      source,
      predicates,
      (obj) => {
        const key = controllerOwnerKey(obj, owner);
        return key === undefined ? [] : [key];
      },
      `owns ${owner.kind}`,
    );
  }

  /** Reconciles the keys `map` returns for an object of `source` (old and new object, on updates). */
  watches<T extends KubeObject>(
    source: WatchSource<T>,
    map: (obj: T) => string[],
    ...predicates: Predicate<T>[]
  ): this {
    return this.watch(source, predicates, map, 'watches');
  }

  enqueue(key: string): void {
    this.queue.add(key);
  }

  /** Starts the workers. Events that arrived since the watches were set up are already queued. */
  start(): void {
    if (this.started || this.stopping) return;
    this.started = true;
    this.metrics?.maxConcurrentReconciles(this.name, this.workers);
    this.metrics?.activeWorkers(this.name, 0);
    this.log.info({ workers: this.workers }, 'Starting workers');
    this.workerLoops = Array.from({ length: this.workers }, () => this.worker());
  }

  /**
   * Stops watching and taking work, then waits for the reconciles in flight, at most `drainTimeoutMs`
   * on the controller's clock. Reconciles still running then get their `ctx.signal` aborted and are
   * not waited for.
   */
  stop(drainTimeoutMs = DEFAULT_DRAIN_MS): Promise<void> {
    this.stopped ??= this.shutdown(drainTimeoutMs);
    return this.stopped;
  }

  // ------------------------------------------------------------------ internals

  private watch<T extends KubeObject>(
    source: WatchSource<T>,
    predicates: Predicate<T>[],
    map: (obj: T) => string[],
    what: string,
  ): this {
    const handler = (event: WatchEvent<T>): void => {
      try {
        if (this.stopping || !predicates.every((p) => p(event))) return;
        const keys = new Set(map(event.object));
        if (event.type === 'update' && event.old !== undefined) for (const k of map(event.old)) keys.add(k);
        for (const key of keys) if (key) this.queue.add(key);
      } catch (err) {
        this.log.error(
          { err, watch: what, event: event?.type, key: safeKey(event?.object) },
          'Event handler failed',
        );
      }
    };
    this.unsubscribers.push(source.onEvent(handler));
    return this;
  }

  private async worker(): Promise<void> {
    while (!this.stopping) {
      const key = await this.queue.get();
      if (key === undefined) return;
      if (this.stopping) {
        this.queue.done(key);
        return;
      }
      try {
        await this.reconcileHandler(key);
      } catch (err) {
        // Only a throwing metrics or logger implementation gets here; the key is already done.
        this.log.error({ err, key }, 'Worker failed');
      }
    }
  }

  private async reconcileHandler(key: string): Promise<void> {
    const reconcileID = randomUUID();
    const { namespace, name } = parseKey(key);
    const log = this.log.child({ ...(namespace !== undefined ? { namespace } : {}), name, reconcileID });
    const abort = new AbortController();
    this.running.set(key, abort);
    const timeout =
      this.reconcileTimeoutMs !== undefined
        ? this.clock.setTimeout(
            () =>
              abort.abort(
                new DOMException(`reconcile timed out after ${this.reconcileTimeoutMs}ms`, 'TimeoutError'),
              ),
            this.reconcileTimeoutMs,
          )
        : undefined;
    const started = this.clock.now();
    this.active++;
    this.metrics?.activeWorkers(this.name, this.active);
    try {
      const result = await this.reconcileFn(key, { reconcileID, log, signal: abort.signal, namespace, name });
      this.onResult(key, result ?? undefined);
    } catch (err) {
      this.onError(key, err, log);
    } finally {
      if (timeout !== undefined) this.clock.clearTimeout(timeout);
      this.running.delete(key);
      this.active--;
      try {
        this.metrics?.reconcileTime(this.name, (this.clock.now() - started) / 1000);
        this.metrics?.activeWorkers(this.name, this.active);
      } finally {
        this.queue.done(key); // exactly once, whatever happened above
      }
    }
  }

  private onResult(key: string, result: ReconcileResult | undefined): void {
    const after = result?.requeueAfter;
    if (after !== undefined && after > 0) {
      this.queue.forget(key);
      this.queue.addAfter(key, after);
      this.metrics?.reconcileTotal(this.name, 'requeue_after');
    } else if (result?.requeue) {
      this.queue.addRateLimited(key);
      this.metrics?.reconcileTotal(this.name, 'requeue');
    } else {
      this.queue.forget(key);
      this.metrics?.reconcileTotal(this.name, 'success');
    }
  }

  private onError(key: string, err: unknown, log: Logger): void {
    if (err instanceof RequeueError) {
      log.info({ requeueAfterMs: err.requeueAfterMs, reason: err.message }, 'Requeue requested');
      this.onResult(key, { requeueAfter: Math.max(1, err.requeueAfterMs) });
      return;
    }
    this.metrics?.reconcileErrors(this.name);
    this.metrics?.reconcileTotal(this.name, 'error');
    if (isTerminalError(err)) {
      this.metrics?.terminalReconcileErrors?.(this.name);
      log.error({ err }, 'Reconciler error (terminal, not retried)');
      this.queue.forget(key);
      return;
    }
    if (isPanic(err)) {
      this.metrics?.panics(this.name);
      log.error(
        { err: err instanceof Error ? err : { message: String(err) }, panic: true },
        'Observed a panic in reconciler',
      );
    } else if (isConflictError(err)) {
      // The object changed under the reconcile (a write raced a cache update): routine, retried.
      log.info({ reason: err instanceof Error ? err.message : String(err) }, 'Conflict, requeued');
    } else {
      log.error({ err }, 'Reconciler error');
    }
    this.queue.addRateLimited(key);
  }

  private async shutdown(drainTimeoutMs: number): Promise<void> {
    this.stopping = true;
    for (const unsubscribe of this.unsubscribers.splice(0)) {
      try {
        unsubscribe();
      } catch (err) {
        this.log.warn({ err }, 'Unsubscribing a watch failed');
      }
    }
    this.log.info({ inFlight: this.queue.inFlight() }, 'Stopping, waiting for reconciles in flight');
    await this.queue.shutDownWithDrain(drainTimeoutMs);
    if (this.queue.inFlight() > 0) {
      this.log.error(
        { keys: [...this.running.keys()], drainTimeoutMs },
        'Reconciles still running after the drain timeout; aborting them',
      );
      for (const abort of this.running.values())
        abort.abort(new DOMException('controller stopped', 'AbortError'));
      return;
    }
    await Promise.all(this.workerLoops);
    this.log.info('All workers finished');
  }
}

function safeKey(obj: unknown): string | undefined {
  try {
    return obj && typeof obj === 'object' ? objectKey(obj) : undefined;
  } catch {
    return undefined;
  }
}
