/**
 * Informers: list + watch of one resource (optionally one namespace and label selector) into an
 * indexed cache, delivering add/update/delete events (with the previous object) to subscribers.
 *
 * Why not client-node's `makeInformer`/`ListWatch`: it stops on most errors and reports its own
 * `stop()` as an `error`; `stop()` during its reconnect delay does not prevent the next watch (a
 * restart then runs two watch loops and leaks a connection); bookmarks never reach a handler (a
 * watchdog cannot see them); its cache keeps `managedFields` and offers no indexes, no transform, no
 * old object and no "synced" signal; its delays ignore an injected clock. Each of those would be a
 * wrapper around a state machine we cannot see, so the runtime runs its own single loop instead,
 * over the client's `list` (paginated) and `watch` (raw streaming request, same auth and counters):
 *
 *   loop: [relist if no resourceVersion] → watch from resourceVersion (bookmarks, timeoutSeconds)
 *     clean end            → watch again at once (after a short backoff if it was empty and brief)
 *     410 Gone / ERROR 410 → relist (diffing the cache: adds, updates, deletes for what changed)
 *     any other error      → capped (30 s), jittered exponential backoff, then resume
 *     no event or bookmark for `watchdogMs` → abort the watch and resume (half-open connections)
 */
import { IndexedStore, keyOf, type IndexFunc } from './cache.js';
import { isKubeApiError, type Kube, type KubeObject, type ResourceType } from './client.js';
import { systemClock, type Clock } from './clock.js';
import { silentLogger, type Logger } from './log.js';

export type InformerEventType = 'add' | 'update' | 'delete';
export interface InformerEvent<T> {
  type: InformerEventType;
  object: T;
  old?: T;
}
export type InformerHandler<T> = (event: InformerEvent<T>) => void;

export interface InformerSelection {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

export interface InformerTuning {
  /** Re-deliver every cached object as `update` (old === new) this often. 0 (default): off. */
  resyncPeriodMs?: number;
  /** Restart a watch that saw no event or bookmark for this long. Default 5 min. */
  watchdogMs?: number;
  /** Server-side watch timeout asked for (jittered up to ×2, as client-go). Default 300 s. */
  watchTimeoutSeconds?: number;
  /** Page size of the list. Default 500. */
  pageSize?: number;
  /** Backoff after a failure: initial and cap. Defaults 800 ms and 30 s. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  clock?: Clock;
  logger?: Logger;
}

export interface InformerOptions<T> extends InformerSelection, InformerTuning {
  /** Applied to every object before it is cached. Default: drop `metadata.managedFields`. */
  transform?: (obj: T) => T;
}

/** Drops `metadata.managedFields` (most of an object's size, useless to a reconciler). */
export const stripManagedFields = <T extends KubeObject>(obj: T): T => {
  if (obj.metadata?.managedFields) delete obj.metadata.managedFields;
  return obj;
};

const rvOf = (o: KubeObject | undefined): string | undefined => o?.metadata?.resourceVersion;

class Gone extends Error {}

export class Informer<T extends KubeObject = KubeObject> {
  readonly store = new IndexedStore<T>();
  private readonly handlers = new Set<InformerHandler<T>>();
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly transform: (obj: T) => T;
  private resourceVersion = '';
  private synced = false;
  private syncWaiters: (() => void)[] = [];
  private running = false;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private readonly wakers = new Set<() => void>();
  private currentWatch: { abort(): void } | undefined;
  private resyncTimer: unknown;
  /** Counters for tests and metrics. */
  readonly stats = { lists: 0, watches: 0, failures: 0, watchdogRestarts: 0, relistsOnGone: 0 };

  constructor(
    private readonly kube: Kube,
    readonly type: ResourceType,
    private readonly options: InformerOptions<T> = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.log = (options.logger ?? silentLogger()).child({
      informer: `${type.plural}.${type.apiVersion}`,
      ...(options.namespace ? { namespace: options.namespace } : {}),
      ...(options.labelSelector ? { labelSelector: options.labelSelector } : {}),
    });
    this.transform = options.transform ?? stripManagedFields;
  }

  // ------------------------------------------------------------ WatchSource

  /** Subscribes to events; returns the unsubscribe function. Handlers should only enqueue. */
  onEvent(handler: InformerHandler<T>): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  // ------------------------------------------------------------ reads

  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves true once synced, false if `timeoutMs` passes or the informer stops first. */
  waitForSync(timeoutMs?: number): Promise<boolean> {
    if (this.synced) return Promise.resolve(true);
    return new Promise((resolve) => {
      let timer: unknown;
      const waiter = (): void => {
        if (timer !== undefined) this.clock.clearTimeout(timer);
        resolve(this.synced);
      };
      this.syncWaiters.push(waiter);
      if (timeoutMs !== undefined)
        timer = this.clock.setTimeout(() => {
          this.syncWaiters = this.syncWaiters.filter((w) => w !== waiter);
          resolve(this.synced);
        }, timeoutMs);
    });
  }

  get(key: string): T | undefined {
    return this.store.get(key);
  }

  list(o: { namespace?: string; labelSelector?: string } = {}): T[] {
    return this.store.list(o);
  }

  addIndex(name: string, fn: IndexFunc<T>): void {
    this.store.addIndex(name, fn);
  }

  byIndex(name: string, value: string): T[] {
    return this.store.byIndex(name, value);
  }

  /** The last resourceVersion seen (list, event or bookmark). */
  get lastResourceVersion(): string {
    return this.resourceVersion;
  }

  // ------------------------------------------------------------ lifecycle

  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopped = false;
    this.loop = this.run();
    this.scheduleResync();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.running = false;
    if (this.resyncTimer !== undefined) this.clock.clearTimeout(this.resyncTimer);
    this.currentWatch?.abort();
    for (const w of this.wakers) w();
    await this.loop;
    for (const w of this.syncWaiters.splice(0)) w();
  }

  /** Aborts the current watch (it resumes from the last resourceVersion): what the watchdog does. */
  restartWatch(): void {
    this.currentWatch?.abort();
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        if (!this.resourceVersion) await this.relist();
        if (this.stopped) break;
        const healthy = await this.watchOnce();
        failures = healthy ? 0 : failures + 1;
        if (!healthy) await this.sleep(this.backoff(failures));
      } catch (e) {
        if (this.stopped) break;
        if (e instanceof Gone || (isKubeApiError(e) && e.code === 410)) {
          this.stats.relistsOnGone++;
          this.log.info('resourceVersion too old (410 Gone): relisting');
          this.resourceVersion = '';
          continue;
        }
        failures++;
        this.stats.failures++;
        const delay = Math.max(this.backoff(failures), isKubeApiError(e) ? (e.retryAfterMs ?? 0) : 0);
        this.log.warn({ err: e, retryInMs: Math.round(delay) }, 'list/watch failed; retrying');
        await this.sleep(delay);
      }
    }
  }

  private backoff(failures: number): number {
    const initial = this.options.initialBackoffMs ?? 800;
    const max = this.options.maxBackoffMs ?? 30_000;
    const exp = Math.min(max, initial * 2 ** Math.min(failures - 1, 30));
    return Math.min(max, exp * (0.5 + Math.random())); // jitter ×[0.5, 1.5), capped
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.stopped) return resolve();
      const wake = (): void => {
        this.clock.clearTimeout(handle);
        this.wakers.delete(wake);
        resolve();
      };
      const handle = this.clock.setTimeout(wake, ms);
      this.wakers.add(wake);
    });
  }

  private async relist(): Promise<void> {
    const { namespace, labelSelector, fieldSelector } = this.options;
    const items: T[] = [];
    let cont: string | undefined;
    let rv = '';
    do {
      const page = await this.kube.list<T>(this.type, {
        ...(namespace ? { namespace } : {}),
        ...(labelSelector ? { labelSelector } : {}),
        ...(fieldSelector ? { fieldSelector } : {}),
        limit: this.options.pageSize ?? 500,
        ...(cont ? { continue: cont } : {}),
      });
      for (const it of page.items) items.push(it);
      cont = page.continue;
      rv = page.resourceVersion;
      if (this.stopped) return;
    } while (cont);
    this.stats.lists++;
    const seen = new Set<string>();
    for (const raw of items) {
      const obj = this.transform(raw);
      const key = keyOf(obj);
      seen.add(key);
      const old = this.store.get(key);
      if (!old) {
        this.store.put(key, obj);
        this.emit({ type: 'add', object: obj });
      } else if (rvOf(old) !== rvOf(obj)) {
        this.store.put(key, obj);
        this.emit({ type: 'update', object: obj, old });
      }
    }
    for (const key of [...this.store.keys()]) {
      if (seen.has(key)) continue;
      const old = this.store.remove(key)!;
      this.emit({ type: 'delete', object: old });
    }
    this.resourceVersion = rv;
    this.log.debug({ objects: items.length, resourceVersion: rv }, 'listed');
    if (!this.synced) {
      this.synced = true;
      for (const w of this.syncWaiters.splice(0)) w();
    }
  }

  /**
   * One watch from the current resourceVersion. Resolves `true` when it ended cleanly after being
   * useful (saw events or lasted ≥ 1 s), `false` when it ended at once and empty; throws on errors.
   */
  private async watchOnce(): Promise<boolean> {
    const { namespace, labelSelector, fieldSelector } = this.options;
    const base = this.options.watchTimeoutSeconds ?? 300;
    const started = this.clock.now();
    let events = 0;
    let gone = false;
    let failure: Error | undefined;
    let watchdog: unknown;
    const watchdogMs = this.options.watchdogMs ?? 300_000;
    const arm = (): void => {
      if (watchdog !== undefined) this.clock.clearTimeout(watchdog);
      watchdog = this.clock.setTimeout(() => {
        this.stats.watchdogRestarts++;
        this.log.warn({ silentForMs: watchdogMs }, 'watch silent for too long: restarting it');
        handle.abort();
      }, watchdogMs);
    };
    this.stats.watches++;
    const handle = this.kube.watch<T>(
      this.type,
      {
        ...(namespace ? { namespace } : {}),
        ...(labelSelector ? { labelSelector } : {}),
        ...(fieldSelector ? { fieldSelector } : {}),
        resourceVersion: this.resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds: Math.round(base * (1 + Math.random())),
      },
      (ev) => {
        if (failure || gone) return;
        arm();
        events++;
        try {
          this.apply(ev.type, ev.object);
        } catch (e) {
          if (e instanceof Gone) gone = true;
          else failure = e instanceof Error ? e : new Error(String(e));
          handle.abort();
        }
      },
    );
    this.currentWatch = handle;
    arm();
    try {
      await handle.done;
    } finally {
      this.clock.clearTimeout(watchdog);
      this.currentWatch = undefined;
    }
    if (gone) throw new Gone('410 Gone');
    if (failure) throw failure;
    return events > 0 || this.clock.now() - started >= 1000;
  }

  private apply(type: string, raw: T): void {
    switch (type) {
      case 'BOOKMARK':
        if (rvOf(raw)) this.resourceVersion = rvOf(raw)!;
        return;
      case 'ERROR': {
        const status = raw as unknown as { code?: number; message?: string; reason?: string };
        if (status.code === 410) throw new Gone(status.message ?? '410 Gone');
        throw new Error(
          `watch ERROR event: ${status.code ?? '?'} ${status.reason ?? ''} ${status.message ?? ''}`,
        );
      }
      case 'ADDED':
      case 'MODIFIED': {
        const obj = this.transform(raw);
        const key = keyOf(obj);
        const old = this.store.get(key);
        this.resourceVersion = rvOf(obj) ?? this.resourceVersion;
        if (old && rvOf(old) === rvOf(obj)) return;
        this.store.put(key, obj);
        this.emit(old ? { type: 'update', object: obj, old } : { type: 'add', object: obj });
        return;
      }
      case 'DELETED': {
        const obj = this.transform(raw);
        const key = keyOf(obj);
        this.resourceVersion = rvOf(obj) ?? this.resourceVersion;
        const old = this.store.remove(key);
        if (old) this.emit({ type: 'delete', object: obj });
        return;
      }
      default:
        this.log.warn({ type }, 'unknown watch event type');
    }
  }

  /** Re-delivers every cached object as an `update` with old === new (controller-runtime's resync). */
  resync(): void {
    if (!this.synced) return;
    for (const obj of this.store.values()) this.emit({ type: 'update', object: obj, old: obj });
  }

  private scheduleResync(): void {
    const period = this.options.resyncPeriodMs ?? 0;
    if (!period) return;
    this.resyncTimer = this.clock.setTimeout(() => {
      if (this.stopped) return;
      this.resync();
      this.scheduleResync();
    }, period);
  }

  private emit(ev: InformerEvent<T>): void {
    for (const h of this.handlers) {
      try {
        h(ev);
      } catch (e) {
        this.log.error({ err: e, event: ev.type }, 'informer event handler threw');
      }
    }
  }
}

/**
 * The shared informers of one manager: one informer per (resource, namespace, label selector,
 * field selector), however many controllers subscribe to it.
 */
export class SharedInformers {
  private readonly informers = new Map<string, Informer<KubeObject>>();
  private started = false;

  constructor(
    private readonly kube: Kube,
    private readonly defaults: InformerTuning = {},
  ) {}

  informer<T extends KubeObject = KubeObject>(
    type: ResourceType,
    o: InformerSelection & Pick<InformerOptions<T>, 'transform' | 'resyncPeriodMs'> = {},
  ): Informer<T> {
    const key = [
      type.apiVersion,
      type.plural,
      o.namespace ?? '',
      o.labelSelector ?? '',
      o.fieldSelector ?? '',
    ].join('|');
    let inf = this.informers.get(key) as Informer<T> | undefined;
    if (!inf) {
      inf = new Informer<T>(this.kube, type, { ...this.defaults, ...o });
      this.informers.set(key, inf as unknown as Informer<KubeObject>);
      if (this.started) inf.start();
    }
    return inf;
  }

  all(): Informer<KubeObject>[] {
    return [...this.informers.values()];
  }

  start(): void {
    this.started = true;
    for (const inf of this.informers.values()) inf.start();
  }

  async stop(): Promise<void> {
    this.started = false;
    await Promise.all([...this.informers.values()].map((i) => i.stop()));
  }

  hasSynced(): boolean {
    return [...this.informers.values()].every((i) => i.hasSynced());
  }

  async waitForSync(timeoutMs?: number): Promise<boolean> {
    const results = await Promise.all([...this.informers.values()].map((i) => i.waitForSync(timeoutMs)));
    return results.every(Boolean);
  }

  resync(): void {
    for (const inf of this.informers.values()) inf.resync();
  }
}
