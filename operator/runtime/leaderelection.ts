/**
 * Leader election on a lease record, with client-go's `leaderelection` semantics.
 *
 * - **Expiry is judged from local time.** A candidate notes, on its own clock, when it last saw the
 *   record change (`observedTime`), and treats the lease as taken until `observedTime +
 *   leaseDurationSeconds`. `renewTime` is written for people, never trusted: clocks of different
 *   machines disagree, and a candidate whose clock runs ahead would otherwise steal a live lease.
 * - **Acquire**: try at once, then every `retryPeriod` plus up to 1.2× jitter, until the record is
 *   free (no holder, or not changed for a whole lease duration) and our write wins (version check).
 * - **Renew**: every `retryPeriod`. A round of attempts that does not succeed within `renewDeadline`
 *   ends the leadership at once: the signal given to `onStartedLeading` aborts when the deadline
 *   timer fires, even if a store call is still hanging. Seeing another holder with a live lease ends
 *   it at once too (client-go keeps trying until the deadline; there is no point).
 *   `renewDeadline < leaseDuration` means a leader always stops before anyone else may start.
 * - **Release on cancel**: when `run`'s signal aborts, the leader's signal aborts, the leader's work
 *   is awaited (if `onStartedLeading` returned a promise, at most `renewDeadline`), then the record
 *   is written with no holder and a 1 s duration, so a successor takes over at its next try.
 *
 * Graceful shutdown: drain the controllers first, then abort `run`'s signal; renewals continue
 * while the controllers finish, so no other replica starts in the meantime.
 */
import { pino, type Logger } from 'pino';
import { sleep, systemClock, type Clock } from './clock.js';
import { ConflictError, isConflictError } from './errors.js';

/** The fields of a `coordination.k8s.io/v1` Lease's spec that leader election uses. */
export interface LeaseRecord {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  /** RFC 3339 MicroTime (6 fractional digits). */
  acquireTime?: string;
  /** RFC 3339 MicroTime (6 fractional digits). */
  renewTime?: string;
  leaseTransitions?: number;
}

/**
 * Where the lease lives (lease.ts keeps it in a Lease object; tests keep it in memory). `version` is
 * the resourceVersion: `update` with a stale one, and `create` of an existing record, throw
 * `ConflictError`. The signal, when given, aborts a call that leader election no longer waits for.
 */
export interface LeaseStore {
  get(signal?: AbortSignal): Promise<{ record: LeaseRecord; version: string } | undefined>;
  create(record: LeaseRecord, signal?: AbortSignal): Promise<string>;
  update(record: LeaseRecord, version: string, signal?: AbortSignal): Promise<string>;
}

export interface LeaderElectorOptions {
  /** Unique per process (e.g. `<pod name>_<uuid>`): two processes with one identity both lead. */
  identity: string;
  store: LeaseStore;
  clock?: Clock;
  /** How long a lease lasts without renewal, as judged by the candidates (default 15 s). */
  leaseDurationMs?: number;
  /** How long the leader keeps trying to renew before it gives up (default 10 s). */
  renewDeadlineMs?: number;
  /** Time between attempts (default 2 s). */
  retryPeriodMs?: number;
  /** Write an empty record when `run`'s signal aborts (default true). */
  releaseOnCancel?: boolean;
  /** Called when this process becomes the leader; `signal` aborts when it stops being the leader. */
  onStartedLeading(signal: AbortSignal): void | Promise<void>;
  /** Called once when this process stops being the leader (lost, or released on cancel). */
  onStoppedLeading(): void;
  /** Called when a different holder (this process included) is observed. */
  onNewLeader?(identity: string): void;
  metrics?: { leaderStatus(isLeader: boolean): void };
  logger?: Logger;
  /** Source of jitter in [0, 1) (default Math.random); tests pass `() => 0`. */
  random?: () => number;
}

const JITTER_FACTOR = 1.2;

/** Kubernetes MicroTime: RFC 3339 in UTC with exactly 6 fractional digits (the API server refuses 3). */
export function formatMicroTime(ms: number): string {
  return new Date(Math.floor(ms)).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** Milliseconds since the epoch of a MicroTime (or any RFC 3339 time); NaN when unreadable. */
export function parseMicroTime(s: string): number {
  const m = /^(.*T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/.exec(s);
  if (!m) return NaN;
  const millis = (m[2] ?? '').padEnd(3, '0').slice(0, 3);
  return Date.parse(`${m[1]}.${millis}${m[3]}`);
}

type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown } | { ok: false; aborted: true };

/** Runs a store call, settling early (as aborted) when `signal` aborts. Never rejects. */
function attempt<T>(call: (signal: AbortSignal) => Promise<T>, signal: AbortSignal): Promise<Outcome<T>> {
  if (signal.aborted) return Promise.resolve({ ok: false, aborted: true });
  return new Promise((resolve) => {
    const onAbort = (): void => resolve({ ok: false, aborted: true });
    signal.addEventListener('abort', onAbort, { once: true });
    let promise: Promise<T>;
    try {
      promise = call(signal);
    } catch (error) {
      signal.removeEventListener('abort', onAbort);
      resolve({ ok: false, error });
      return;
    }
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve({ ok: true, value });
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        resolve({ ok: false, error });
      },
    );
  });
}

const isAborted = <T>(o: Outcome<T>): boolean => !o.ok && 'aborted' in o;

const sameRecord = (a: LeaseRecord, b: LeaseRecord): boolean =>
  (a.holderIdentity ?? '') === (b.holderIdentity ?? '') &&
  a.leaseDurationSeconds === b.leaseDurationSeconds &&
  a.acquireTime === b.acquireTime &&
  a.renewTime === b.renewTime &&
  (a.leaseTransitions ?? 0) === (b.leaseTransitions ?? 0);

type TryResult = 'ok' | 'held' | 'failed' | 'aborted';

export class LeaderElector {
  readonly identity: string;
  private readonly store: LeaseStore;
  private readonly clock: Clock;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly releaseOnCancel: boolean;
  private readonly o: LeaderElectorOptions;
  private readonly log: Logger;
  private readonly random: () => number;

  private observed: { record: LeaseRecord; version: string } | undefined;
  /** Local time at which `observed.record` was last seen to change. */
  private observedTime = 0;
  private reportedLeader: string | undefined;
  private leading: AbortController | undefined;
  private leaderWork: Promise<void> | undefined;
  private running = false;

  constructor(o: LeaderElectorOptions) {
    this.o = o;
    this.identity = o.identity;
    this.store = o.store;
    this.clock = o.clock ?? systemClock;
    this.leaseDurationMs = o.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = o.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = o.retryPeriodMs ?? 2_000;
    this.releaseOnCancel = o.releaseOnCancel ?? true;
    this.log = (o.logger ?? pino({ level: 'silent' })).child({
      component: 'leader-election',
      identity: o.identity,
    });
    this.random = o.random ?? Math.random;
    if (!o.identity) throw new RangeError('leader election needs a non-empty identity');
    if (!(this.retryPeriodMs > 0)) throw new RangeError('retryPeriodMs must be > 0');
    if (!(this.leaseDurationMs > this.renewDeadlineMs))
      throw new RangeError('leaseDurationMs must be greater than renewDeadlineMs');
    if (!(this.renewDeadlineMs > JITTER_FACTOR * this.retryPeriodMs))
      throw new RangeError(`renewDeadlineMs must be greater than ${JITTER_FACTOR} × retryPeriodMs`);
  }

  isLeader(): boolean {
    return this.leading !== undefined;
  }

  /** The holder of the lease as last observed (undefined when none). */
  getLeader(): string | undefined {
    return this.observed?.record.holderIdentity || undefined;
  }

  /**
   * Campaigns until elected, leads until the lease is lost or `signal` aborts, then resolves. After
   * a loss, call `run` again to campaign again (controller-runtime exits the process instead).
   */
  async run(signal: AbortSignal): Promise<void> {
    if (this.running) throw new Error('LeaderElector.run is already running');
    this.running = true;
    this.o.metrics?.leaderStatus(false);
    try {
      if (!(await this.acquire(signal))) return;
      this.startLeading();
      if ((await this.renewLoop(signal)) === 'cancelled') await this.cancelLeading();
    } finally {
      this.running = false;
    }
  }

  // ------------------------------------------------------------------ campaign and lead

  private async acquire(signal: AbortSignal): Promise<boolean> {
    this.log.info('Attempting to acquire the leader lease');
    while (!signal.aborted) {
      if ((await this.tryAcquireOrRenew(signal)) === 'ok') {
        this.log.info('Acquired the leader lease');
        return true;
      }
      await sleep(this.clock, this.retryPeriodMs * (1 + this.random() * JITTER_FACTOR), signal);
    }
    return false;
  }

  private startLeading(): void {
    const leading = new AbortController();
    this.leading = leading;
    this.o.metrics?.leaderStatus(true);
    try {
      const work = this.o.onStartedLeading(leading.signal);
      if (work && typeof work.then === 'function') {
        this.leaderWork = Promise.resolve(work).catch((err: unknown) =>
          this.log.error({ err }, 'onStartedLeading failed'),
        );
      }
    } catch (err) {
      this.log.error({ err }, 'onStartedLeading failed');
    }
  }

  /** Ends the leadership now: the leader's signal aborts, then onStoppedLeading runs. Idempotent. */
  private stopLeading(reason: string): void {
    const leading = this.leading;
    if (!leading) return;
    this.leading = undefined;
    this.leaderWork = undefined;
    this.log.info({ reason }, 'Stopped leading');
    this.o.metrics?.leaderStatus(false);
    leading.abort(new Error(reason));
    try {
      this.o.onStoppedLeading();
    } catch (err) {
      this.log.error({ err }, 'onStoppedLeading failed');
    }
  }

  /** Returns how leading ended: lost (already stopped) or cancelled (still to release). */
  private async renewLoop(signal: AbortSignal): Promise<'lost' | 'cancelled'> {
    for (;;) {
      await sleep(this.clock, this.retryPeriodMs, signal);
      if (signal.aborted) return 'cancelled';
      const round = await this.renewRound(signal);
      if (round !== 'renewed') return round;
    }
  }

  private async renewRound(signal: AbortSignal): Promise<'renewed' | 'lost' | 'cancelled'> {
    const round = new AbortController();
    const onCancel = (): void => round.abort();
    signal.addEventListener('abort', onCancel, { once: true });
    let expired = false;
    const deadline = this.clock.setTimeout(() => {
      expired = true;
      this.stopLeading(`failed to renew the lease within ${this.renewDeadlineMs}ms`);
      round.abort();
    }, this.renewDeadlineMs);
    try {
      for (;;) {
        const result = await this.tryAcquireOrRenew(round.signal);
        if (expired) return 'lost';
        if (signal.aborted) return 'cancelled';
        if (result === 'ok') return 'renewed';
        if (result === 'held') {
          this.stopLeading(`the lease is held by ${this.getLeader() ?? 'another candidate'}`);
          return 'lost';
        }
        await sleep(this.clock, this.retryPeriodMs, round.signal);
        if (expired) return 'lost';
        if (signal.aborted) return 'cancelled';
      }
    } finally {
      this.clock.clearTimeout(deadline);
      signal.removeEventListener('abort', onCancel);
    }
  }

  private async cancelLeading(): Promise<void> {
    const leading = this.leading;
    if (!leading) return;
    leading.abort(new Error('leader election cancelled'));
    if (this.leaderWork) {
      const bound = new AbortController();
      const timer = this.clock.setTimeout(() => bound.abort(), this.renewDeadlineMs);
      await attempt(() => this.leaderWork ?? Promise.resolve(), bound.signal);
      this.clock.clearTimeout(timer);
    }
    if (this.releaseOnCancel) await this.release();
    this.stopLeading('leader election cancelled');
  }

  /** Writes an empty holder with a 1 s lease, so the next candidate takes over at its next try. */
  private async release(): Promise<void> {
    const observed = this.observed;
    if (!observed || observed.record.holderIdentity !== this.identity) return;
    const now = formatMicroTime(this.clock.now());
    const record: LeaseRecord = {
      holderIdentity: '',
      leaseDurationSeconds: 1,
      acquireTime: now,
      renewTime: now,
      leaseTransitions: observed.record.leaseTransitions ?? 0,
    };
    const bound = new AbortController();
    const timer = this.clock.setTimeout(() => bound.abort(), this.renewDeadlineMs);
    const result = await attempt((s) => this.store.update(record, observed.version, s), bound.signal);
    this.clock.clearTimeout(timer);
    if (result.ok) {
      this.observe(record, result.value);
      this.log.info('Released the leader lease');
    } else {
      this.log.warn(
        { err: 'error' in result ? result.error : 'timed out' },
        'Could not release the leader lease',
      );
    }
  }

  // ------------------------------------------------------------------ one attempt

  private leaseValid(now: number): boolean {
    const seconds = this.observed?.record.leaseDurationSeconds ?? this.leaseDurationMs / 1000;
    return this.observedTime + seconds * 1000 > now;
  }

  /** Records a record we read or wrote; resets `observedTime` only when its content changed. */
  private observe(record: LeaseRecord, version: string): void {
    if (!this.observed || !sameRecord(this.observed.record, record)) this.observedTime = this.clock.now();
    this.observed = { record, version };
    const holder = record.holderIdentity;
    if (holder && holder !== this.reportedLeader) {
      this.reportedLeader = holder;
      this.log.info({ leader: holder }, 'New leader observed');
      try {
        this.o.onNewLeader?.(holder);
      } catch (err) {
        this.log.error({ err }, 'onNewLeader failed');
      }
    }
  }

  private async tryAcquireOrRenew(signal: AbortSignal): Promise<TryResult> {
    const now = formatMicroTime(this.clock.now());
    const desired: LeaseRecord = {
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
      acquireTime: now,
      renewTime: now,
      leaseTransitions: 0,
    };

    // Fast path: the leader updates against the version it last wrote, without reading first.
    const mine = this.observed;
    if (this.leading && mine?.record.holderIdentity === this.identity && this.leaseValid(this.clock.now())) {
      const record = {
        ...desired,
        acquireTime: mine.record.acquireTime,
        leaseTransitions: mine.record.leaseTransitions,
      };
      const written = await attempt((s) => this.store.update(record, mine.version, s), signal);
      if (written.ok) {
        this.observe(record, written.value);
        return 'ok';
      }
      if (isAborted(written)) return 'aborted';
      this.logFailure('Optimistic lease renewal failed, reading the lease', written);
    }

    const read = await attempt((s) => this.store.get(s), signal);
    if (!read.ok) return this.failed('Reading the lease failed', read);
    if (!read.value) {
      const created = await attempt((s) => this.store.create(desired, s), signal);
      if (!created.ok) return this.failed('Creating the lease failed', created);
      this.observe(desired, created.value);
      return 'ok';
    }

    const { record: current, version } = read.value;
    this.observe(current, version);
    const holder = current.holderIdentity ?? '';
    if (holder !== '' && holder !== this.identity && this.leaseValid(this.clock.now())) return 'held';

    const record: LeaseRecord =
      holder === this.identity
        ? { ...desired, acquireTime: current.acquireTime, leaseTransitions: current.leaseTransitions ?? 0 }
        : { ...desired, leaseTransitions: (current.leaseTransitions ?? 0) + 1 };
    const written = await attempt((s) => this.store.update(record, version, s), signal);
    if (!written.ok) return this.failed('Updating the lease failed', written);
    this.observe(record, written.value);
    return 'ok';
  }

  private failed(message: string, outcome: Outcome<unknown>): TryResult {
    if (isAborted(outcome)) return 'aborted';
    this.logFailure(message, outcome);
    return 'failed';
  }

  private logFailure(message: string, outcome: Outcome<unknown>): void {
    const err = 'error' in outcome ? outcome.error : undefined;
    // A conflict is the normal result of two candidates racing: not worth an error line.
    if (isConflictError(err)) this.log.debug({ err }, message);
    else this.log.error({ err }, message);
  }
}

/** A LeaseStore in memory, with versions and conflicts like the API server's. For tests and `dev`. */
export class InMemoryLeaseStore implements LeaseStore {
  private current: { record: LeaseRecord; version: number } | undefined;
  private nextVersion = 1;

  get(): Promise<{ record: LeaseRecord; version: string } | undefined> {
    const c = this.current;
    return Promise.resolve(c && { record: { ...c.record }, version: String(c.version) });
  }

  create(record: LeaseRecord): Promise<string> {
    if (this.current) return Promise.reject(new ConflictError('lease already exists'));
    this.current = { record: { ...record }, version: this.nextVersion++ };
    return Promise.resolve(String(this.current.version));
  }

  update(record: LeaseRecord, version: string): Promise<string> {
    if (!this.current) return Promise.reject(new Error('lease not found'));
    if (String(this.current.version) !== version)
      return Promise.reject(
        new ConflictError(`lease version ${version} is stale (now ${this.current.version})`),
      );
    this.current = { record: { ...record }, version: this.nextVersion++ };
    return Promise.resolve(String(this.current.version));
  }

  /** The stored record, read synchronously (tests). */
  peek(): LeaseRecord | undefined {
    return this.current && { ...this.current.record };
  }
}
