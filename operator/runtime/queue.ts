/**
 * The work queue: client-go's `workqueue` (the rate-limiting, delaying queue) in one class.
 *
 * - **dirty** holds every key waiting to be processed, **processing** every key a worker holds.
 *   `add` of a key that is already dirty does nothing, so a burst of events becomes one reconcile.
 * - A key added while a worker processes it is only marked dirty; `done` puts it back in the queue,
 *   once. So a key is never handed to two workers at once, and no event is lost.
 * - `addAfter` parks the key in a heap ordered by due time, served by one timer on the `Clock`.
 *   Parking a key that is already parked keeps the earlier of the two times.
 * - `addRateLimited` is `addAfter(key, rateLimiter.when(key))`; `forget` resets the key's backoff.
 * - After `shutDown`, adds are ignored, parked keys are dropped, idle `get`s resolve `undefined`;
 *   keys already queued are still handed out (client-go's semantics: `get` answers `undefined` once
 *   the queue is shut down and empty). `shutDownWithDrain` also waits for the keys in flight.
 */
import { systemClock, type Clock } from './clock.js';
import { defaultControllerRateLimiter, type RateLimiter } from './ratelimit.js';

/** What the queue reports; metrics.ts binds it to controller-runtime's `workqueue_*` metrics. */
export interface QueueMetrics {
  /** Keys waiting to be processed (workqueue_depth). */
  depth(n: number): void;
  /** A key was added that was not already waiting (workqueue_adds_total). */
  add(): void;
  /** A key was parked with a delay, a retry or a requeue (workqueue_retries_total). */
  retry(): void;
  /** How long a key waited between add and get (workqueue_queue_duration_seconds). */
  queueDuration(seconds: number): void;
  /** How long a worker held a key, from get to done (workqueue_work_duration_seconds). */
  workDuration(seconds: number): void;
  /**
   * Seconds of work in flight not yet reported by workDuration, summed over keys, and the age of the
   * oldest key in flight (workqueue_unfinished_work_seconds, workqueue_longest_running_processor_seconds).
   * Reported every 500 ms while keys are in flight, and once more with zeros when the last one is done.
   */
  unfinishedWork?(unfinishedSeconds: number, longestRunningSeconds: number): void;
}

export interface WorkQueueOptions {
  name: string;
  clock?: Clock;
  rateLimiter?: RateLimiter;
  metrics?: QueueMetrics;
}

interface Parked {
  key: string;
  at: number;
  seq: number;
  index: number;
}

const UNFINISHED_WORK_PERIOD_MS = 500;
const DEFAULT_DRAIN_MS = 30_000;

/** A FIFO of strings with O(1) push and shift (an array with a moving head). */
class Fifo {
  private items: string[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: string): void {
    this.items.push(item);
  }

  shift(): string | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head++];
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}

/** Min-heap of parked keys by (due time, insertion order), with each entry's index for decrease-key. */
class DelayHeap {
  private readonly heap: Parked[] = [];

  get size(): number {
    return this.heap.length;
  }

  peek(): Parked | undefined {
    return this.heap[0];
  }

  push(entry: Parked): void {
    entry.index = this.heap.length;
    this.heap.push(entry);
    this.up(entry.index);
  }

  pop(): Parked | undefined {
    const top = this.heap[0];
    const last = this.heap.pop();
    if (top && last && last !== top) {
      this.heap[0] = last;
      last.index = 0;
      this.down(0);
    }
    return top;
  }

  /** Call after lowering `entry.at`. */
  moved(entry: Parked): void {
    this.up(entry.index);
  }

  clear(): void {
    this.heap.length = 0;
  }

  private less(i: number, j: number): boolean {
    const a = this.heap[i]!;
    const b = this.heap[j]!;
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private swap(i: number, j: number): void {
    const a = this.heap[i]!;
    const b = this.heap[j]!;
    this.heap[i] = b;
    this.heap[j] = a;
    a.index = j;
    b.index = i;
  }

  private up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private down(i: number): void {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let min = i;
      if (l < this.heap.length && this.less(l, min)) min = l;
      if (r < this.heap.length && this.less(r, min)) min = r;
      if (min === i) return;
      this.swap(i, min);
      i = min;
    }
  }
}

export class WorkQueue {
  readonly name: string;
  private readonly clock: Clock;
  private readonly rateLimiter: RateLimiter;
  private readonly metrics: QueueMetrics | undefined;

  private readonly queue = new Fifo();
  private readonly dirty = new Set<string>();
  /** Key → when a worker took it. */
  private readonly processing = new Map<string, number>();
  /** Key → when it became dirty (for queueDuration). */
  private readonly addedAt = new Map<string, number>();
  private readonly waiters: ((key: string | undefined) => void)[] = [];

  private readonly parked = new Map<string, Parked>();
  private readonly heap = new DelayHeap();
  private seq = 0;
  private timer: { handle: unknown; at: number } | undefined;

  private unfinishedTimer: unknown;
  private drainWaiters: (() => void)[] = [];
  private closed = false;

  constructor(o: WorkQueueOptions) {
    this.name = o.name;
    this.clock = o.clock ?? systemClock;
    this.rateLimiter = o.rateLimiter ?? defaultControllerRateLimiter(this.clock);
    this.metrics = o.metrics;
  }

  get shuttingDown(): boolean {
    return this.closed;
  }

  /** Queues `key` unless it is already waiting; a key being processed is queued again when it is done. */
  add(key: string): void {
    if (this.closed || this.dirty.has(key)) return;
    this.dirty.add(key);
    this.addedAt.set(key, this.clock.now());
    this.metrics?.add();
    this.metrics?.depth(this.dirty.size);
    if (this.processing.has(key)) return;
    this.queue.push(key);
    this.handOut();
  }

  /** Adds `key` after `ms`; a key already parked for later is moved to the earlier time. */
  addAfter(key: string, ms: number): void {
    if (this.closed) return;
    this.metrics?.retry();
    if (!(ms > 0)) {
      this.add(key);
      return;
    }
    const at = this.clock.now() + ms;
    const entry = this.parked.get(key);
    if (entry) {
      if (at < entry.at) {
        entry.at = at;
        this.heap.moved(entry);
      }
    } else {
      const parked: Parked = { key, at, seq: this.seq++, index: -1 };
      this.parked.set(key, parked);
      this.heap.push(parked);
    }
    this.schedule();
  }

  /** Adds `key` after the rate limiter's delay for it (per-key backoff under the overall bucket). */
  addRateLimited(key: string): void {
    if (this.closed) return;
    this.addAfter(key, this.rateLimiter.when(key));
  }

  /** Resets `key`'s backoff (it succeeded, or it is gone). Does not remove it from the queue. */
  forget(key: string): void {
    this.rateLimiter.forget(key);
  }

  numRequeues(key: string): number {
    return this.rateLimiter.retries(key);
  }

  /**
   * The next key to process, which the caller owns until it calls `done(key)`; `undefined` once the
   * queue is shut down and empty. The key is taken from the queue when the call is made or, for a
   * waiting caller, when the key arrives (callers are served in the order they called).
   */
  get(): Promise<string | undefined> {
    if (this.queue.length > 0) return Promise.resolve(this.take());
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Ends the processing of `key`. If it was added meanwhile, it goes back in the queue. */
  done(key: string): void {
    const started = this.processing.get(key);
    if (started === undefined) return;
    this.processing.delete(key);
    this.metrics?.workDuration((this.clock.now() - started) / 1000);
    if (this.dirty.has(key)) {
      this.queue.push(key);
      this.handOut();
    }
    if (this.processing.size === 0) {
      this.stopUnfinishedWork();
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** Keys queued and ready to be handed out (not parked, not in flight). */
  len(): number {
    return this.queue.length;
  }

  /** Keys handed out and not yet done. */
  inFlight(): number {
    return this.processing.size;
  }

  /** Keys parked by `addAfter` / `addRateLimited`. */
  parkedCount(): number {
    return this.parked.size;
  }

  /** Current unfinished-work figures (also reported to `metrics.unfinishedWork`). */
  unfinishedWork(): { unfinishedSeconds: number; longestRunningSeconds: number } {
    const now = this.clock.now();
    let unfinished = 0;
    let longest = 0;
    for (const started of this.processing.values()) {
      const age = Math.max(0, now - started) / 1000;
      unfinished += age;
      longest = Math.max(longest, age);
    }
    return { unfinishedSeconds: unfinished, longestRunningSeconds: longest };
  }

  /** Stops accepting keys; idle `get`s resolve `undefined`. Keys in flight may still be `done`. */
  shutDown(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) this.clock.clearTimeout(this.timer.handle);
    this.timer = undefined;
    this.heap.clear();
    this.parked.clear();
    const waiters = this.waiters.splice(0);
    for (const w of waiters) w(undefined);
  }

  /**
   * `shutDown`, then waits until every key in flight is `done`, or `timeoutMs` (on the queue's clock)
   * has passed, whichever comes first. `inFlight()` tells afterwards which it was.
   */
  shutDownWithDrain(timeoutMs = DEFAULT_DRAIN_MS): Promise<void> {
    this.shutDown();
    if (this.processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      let handle: unknown;
      const finish = (): void => {
        if (handle !== undefined) this.clock.clearTimeout(handle);
        this.drainWaiters = this.drainWaiters.filter((w) => w !== finish);
        resolve();
      };
      this.drainWaiters.push(finish);
      if (Number.isFinite(timeoutMs)) handle = this.clock.setTimeout(finish, Math.max(0, timeoutMs));
    });
  }

  // ------------------------------------------------------------------ internals

  /** Moves the head of the queue into processing. Only called when the queue is not empty. */
  private take(): string {
    const key = this.queue.shift()!;
    const now = this.clock.now();
    this.dirty.delete(key);
    this.processing.set(key, now);
    const added = this.addedAt.get(key);
    this.addedAt.delete(key);
    this.metrics?.depth(this.dirty.size);
    if (added !== undefined) this.metrics?.queueDuration((now - added) / 1000);
    this.startUnfinishedWork();
    return key;
  }

  /** Serves waiting `get`s while there are keys. */
  private handOut(): void {
    while (this.waiters.length > 0 && this.queue.length > 0) this.waiters.shift()!(this.take());
  }

  /** Keeps one timer, set for the earliest parked key. */
  private schedule(): void {
    const next = this.heap.peek();
    if (this.timer && (!next || this.timer.at !== next.at)) {
      this.clock.clearTimeout(this.timer.handle);
      this.timer = undefined;
    }
    if (!next || this.timer) return;
    const at = next.at;
    this.timer = { at, handle: this.clock.setTimeout(() => this.fire(), at - this.clock.now()) };
  }

  private fire(): void {
    this.timer = undefined;
    const now = this.clock.now();
    for (let next = this.heap.peek(); next && next.at <= now; next = this.heap.peek()) {
      this.heap.pop();
      this.parked.delete(next.key);
      this.add(next.key);
    }
    this.schedule(); // also re-arms when a (clamped) system timer fired early
  }

  private startUnfinishedWork(): void {
    if (!this.metrics?.unfinishedWork || this.unfinishedTimer !== undefined) return;
    const tick = (): void => {
      const { unfinishedSeconds, longestRunningSeconds } = this.unfinishedWork();
      this.metrics?.unfinishedWork?.(unfinishedSeconds, longestRunningSeconds);
      this.unfinishedTimer = this.clock.setTimeout(tick, UNFINISHED_WORK_PERIOD_MS);
    };
    this.unfinishedTimer = this.clock.setTimeout(tick, UNFINISHED_WORK_PERIOD_MS);
  }

  private stopUnfinishedWork(): void {
    if (this.unfinishedTimer === undefined) return;
    this.clock.clearTimeout(this.unfinishedTimer);
    this.unfinishedTimer = undefined;
    this.metrics?.unfinishedWork?.(0, 0);
  }
}
