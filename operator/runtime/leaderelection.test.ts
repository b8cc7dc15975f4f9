import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock, settle, sleep, type Clock } from './clock.js';
import { ConflictError } from './errors.js';
import {
  formatMicroTime,
  InMemoryLeaseStore,
  LeaderElector,
  parseMicroTime,
  type LeaderElectorOptions,
  type LeaseRecord,
  type LeaseStore,
} from './leaderelection.js';

const T0 = Date.UTC(2025, 0, 1);

interface Write {
  by: string;
  at: number;
  record: LeaseRecord;
}

/** One candidate's view of the shared store: records its successful writes, and can be made to hang or fail. */
class CandidateStore implements LeaseStore {
  mode: 'ok' | 'hang' | 'fail' = 'ok';

  constructor(
    private readonly shared: InMemoryLeaseStore,
    private readonly identity: string,
    private readonly clock: Clock,
    private readonly writes: Write[],
  ) {}

  get() {
    return this.guard(() => this.shared.get());
  }

  create(record: LeaseRecord) {
    return this.guard(() => this.shared.create(record).then((v) => this.wrote(record, v)));
  }

  update(record: LeaseRecord, version: string) {
    return this.guard(() => this.shared.update(record, version).then((v) => this.wrote(record, v)));
  }

  private wrote(record: LeaseRecord, version: string): string {
    this.writes.push({ by: this.identity, at: this.clock.now() - T0, record });
    return version;
  }

  private guard<T>(call: () => Promise<T>): Promise<T> {
    if (this.mode === 'hang') return new Promise(() => {});
    if (this.mode === 'fail') return Promise.reject(new Error('etcdserver: request timed out'));
    return call();
  }
}

function world() {
  const clock = new FakeClock(T0);
  const shared = new InMemoryLeaseStore();
  const writes: Write[] = [];
  const rel = () => clock.now() - T0;

  function candidate(identity: string, o: Partial<LeaderElectorOptions> & { clock?: Clock } = {}) {
    const store = new CandidateStore(shared, identity, clock, writes);
    const log: string[] = [];
    let leaderSignal: AbortSignal | undefined;
    const started: number[] = [];
    const stopped: number[] = [];
    const statuses: boolean[] = [];
    const newLeaders: string[] = [];
    const elector = new LeaderElector({
      identity,
      store,
      clock,
      random: () => 0,
      onStartedLeading: (signal) => {
        leaderSignal = signal;
        started.push(rel());
        signal.addEventListener('abort', () => log.push(`signal aborted@${rel()}`));
      },
      onStoppedLeading: () => stopped.push(rel()),
      onNewLeader: (id) => newLeaders.push(id),
      metrics: { leaderStatus: (b) => statuses.push(b) },
      ...o,
    });
    const abort = new AbortController();
    let finished = false;
    const done = elector.run(abort.signal).then(() => (finished = true));
    return {
      elector,
      store,
      abort,
      done,
      log,
      started,
      stopped,
      statuses,
      newLeaders,
      get signal() {
        return leaderSignal;
      },
      get finished() {
        return finished;
      },
    };
  }

  /** Advances to `ms` after T0. */
  const until = (ms: number) => clock.advanceAsync(T0 + ms - clock.now());
  const lastWriteBy = (id: string) => writes.filter((w) => w.by === id).at(-1);

  return { clock, shared, writes, rel, candidate, until, lastWriteBy };
}

describe('MicroTime', () => {
  it('formats with exactly 6 fractional digits in UTC, and parses back to the millisecond', () => {
    const ms = Date.UTC(2025, 0, 2, 3, 4, 5, 678);
    assert.equal(formatMicroTime(ms), '2025-01-02T03:04:05.678000Z');
    assert.equal(formatMicroTime(Date.UTC(2025, 0, 1)), '2025-01-01T00:00:00.000000Z');
    assert.equal(parseMicroTime('2025-01-02T03:04:05.678901Z'), ms);
    assert.equal(parseMicroTime('2025-01-02T03:04:05Z'), ms - 678);
    assert.equal(parseMicroTime('2025-01-02T05:04:05.678+02:00'), ms);
    assert.ok(Number.isNaN(parseMicroTime('yesterday')));
  });
});

describe('LeaderElector', () => {
  it('acquires a free lease at once and writes a complete record with MicroTimes', async () => {
    const w = world();
    const a = w.candidate('a');
    await settle();
    assert.equal(a.elector.isLeader(), true);
    assert.deepEqual(a.started, [0]);
    assert.deepEqual(a.statuses, [false, true]);
    assert.deepEqual(a.newLeaders, ['a']);
    assert.deepEqual(w.shared.peek(), {
      holderIdentity: 'a',
      leaseDurationSeconds: 15,
      acquireTime: '2025-01-01T00:00:00.000000Z',
      renewTime: '2025-01-01T00:00:00.000000Z',
      leaseTransitions: 0,
    });
  });

  it('renews every retry period, keeping acquireTime and leaseTransitions', async () => {
    const w = world();
    const a = w.candidate('a');
    await w.until(60_000);
    assert.equal(a.elector.isLeader(), true);
    const renewals = w.writes.filter((x) => x.by === 'a').map((x) => x.at);
    assert.deepEqual(renewals.slice(0, 4), [0, 2000, 4000, 6000]);
    assert.equal(renewals.at(-1), 60_000);
    const record = w.shared.peek()!;
    assert.equal(record.renewTime, formatMicroTime(T0 + 60_000));
    assert.equal(record.acquireTime, formatMicroTime(T0));
    assert.equal(record.leaseTransitions, 0);
  });

  it('keeps a second candidate out while the leader renews', async () => {
    const w = world();
    const a = w.candidate('a');
    await w.until(1000);
    const b = w.candidate('b');
    await w.until(120_000);
    assert.equal(a.elector.isLeader(), true);
    assert.equal(b.elector.isLeader(), false);
    assert.deepEqual(b.started, []);
    assert.equal(b.elector.getLeader(), 'a');
    assert.deepEqual(b.newLeaders, ['a']);
    assert.equal(w.writes.filter((x) => x.by === 'b').length, 0);
  });

  it('lets only one of two candidates that race for a missing lease win (conflict on create)', async () => {
    const w = world();
    const a = w.candidate('a');
    const b = w.candidate('b');
    await w.until(30_000);
    assert.deepEqual([a.elector.isLeader(), b.elector.isLeader()].sort(), [false, true]);
  });

  it('takes over a lease that is no longer renewed (no release) one lease duration after last seeing it change', async () => {
    const w = world();
    const a = w.candidate('a', { releaseOnCancel: false });
    await w.until(1000);
    const b = w.candidate('b');
    await w.until(10_500);
    a.abort.abort(); // a's process stops renewing and does not release
    await w.until(60_000);
    const lastRenewal = w.lastWriteBy('a')!.at;
    assert.equal(lastRenewal, 10_000);
    assert.equal(w.shared.peek()!.leaseDurationSeconds, 15);
    assert.equal(b.started.length, 1);
    const takeover = b.started[0]!;
    assert.ok(
      takeover - lastRenewal >= 15_000,
      `b took over ${takeover - lastRenewal} ms after the last renewal`,
    );
    assert.ok(takeover - lastRenewal <= 15_000 + 2 * 2000, `b took over ${takeover - lastRenewal} ms after`);
    assert.equal(w.shared.peek()!.holderIdentity, 'b');
    assert.equal(w.shared.peek()!.leaseTransitions, 1);
    assert.equal(w.shared.peek()!.acquireTime, formatMicroTime(T0 + takeover));
  });

  it('releases on cancel so a successor takes over at its next try', async () => {
    const w = world();
    const a = w.candidate('a');
    await w.until(1000);
    const b = w.candidate('b');
    await w.until(10_500);
    a.abort.abort();
    await settle();
    assert.deepEqual(w.shared.peek(), {
      holderIdentity: '',
      leaseDurationSeconds: 1,
      acquireTime: formatMicroTime(T0 + 10_500),
      renewTime: formatMicroTime(T0 + 10_500),
      leaseTransitions: 0,
    });
    assert.deepEqual(a.log, ['signal aborted@10500']);
    assert.deepEqual(a.stopped, [10_500]);
    assert.equal(a.elector.isLeader(), false);
    assert.equal(a.finished, true);
    await w.until(11_000);
    assert.deepEqual(b.started, [11_000]);
    assert.equal(w.shared.peek()!.leaseTransitions, 1);
  });

  it('on cancel, waits for the leader work it was handed back before releasing', async () => {
    const w = world();
    let workDone = -1;
    const a = w.candidate('a', {
      onStartedLeading: (signal) =>
        new Promise<void>((resolve) =>
          signal.addEventListener('abort', () => {
            // e.g. the controllers draining their reconciles in flight
            void sleep(w.clock, 3000).then(() => {
              workDone = w.rel();
              resolve();
            });
          }),
        ),
    });
    await w.until(5000);
    a.abort.abort();
    await w.until(7999);
    assert.equal(w.shared.peek()!.holderIdentity, 'a', 'still held while the work finishes');
    await w.until(8000);
    assert.equal(workDone, 8000);
    assert.equal(w.shared.peek()!.holderIdentity, '');
    assert.equal(a.finished, true);
  });

  for (const mode of ['hang', 'fail'] as const) {
    it(`stops leading at once when renewals ${mode === 'hang' ? 'hang' : 'fail'} for renewDeadline, before anyone may take over`, async () => {
      const w = world();
      const a = w.candidate('a');
      await w.until(1000);
      const b = w.candidate('b');
      await w.until(3000); // a renewed at 2000
      a.store.mode = mode;
      // the renewal round starts at 4000; its deadline is 4000 + 10_000
      await w.until(13_999);
      assert.equal(a.elector.isLeader(), true);
      w.clock.advance(1); // synchronously: no promise callback runs before the checks below
      assert.equal(a.elector.isLeader(), false);
      assert.equal(a.signal!.aborted, true);
      assert.deepEqual(a.stopped, [14_000]);
      assert.deepEqual(a.statuses, [false, true, false]);
      await settle();
      assert.equal(a.finished, true);

      await w.until(60_000);
      assert.equal(b.started.length, 1);
      assert.ok(b.started[0]! >= 2000 + 15_000, `b started at ${b.started[0]}`);
      assert.ok(b.started[0]! > a.stopped[0]!, 'never two leaders at once');
    });
  }

  it('stops leading at once when it sees another holder with a live lease', async () => {
    const w = world();
    const a = w.candidate('a');
    await w.until(1000);
    // someone else (a process that judged the lease expired) writes the lease
    const current = (await w.shared.get())!;
    await w.shared.update({ ...current.record, holderIdentity: 'intruder' }, current.version);
    await w.until(2000);
    assert.equal(a.elector.isLeader(), false);
    assert.deepEqual(a.stopped, [2000]);
    assert.equal(a.elector.getLeader(), 'intruder');
  });

  for (const [label, offset] of [
    ['ahead', 3_600_000],
    ['behind', -3_600_000],
  ] as const) {
    it(`is not fooled by a candidate whose wall clock is an hour ${label}`, async () => {
      const w = world();
      const a = w.candidate('a', { releaseOnCancel: false });
      await w.until(1000);
      const b = w.candidate('b', { clock: w.clock.withOffset(offset) });
      await w.until(60_000);
      assert.equal(b.elector.isLeader(), false, 'no premature takeover while a renews');
      assert.equal(a.elector.isLeader(), true);
      a.abort.abort();
      await w.until(120_000);
      const lastRenewal = w.lastWriteBy('a')!.at;
      assert.equal(b.started.length, 1);
      const takeover = b.started[0]!;
      assert.ok(
        takeover - lastRenewal >= 15_000,
        `b took over ${takeover - lastRenewal} ms after the last renewal`,
      );
      assert.ok(
        takeover - lastRenewal <= 19_000,
        `b took over ${takeover - lastRenewal} ms after the last renewal`,
      );
      // b writes its own (skewed) wall time: for people only
      assert.equal(w.shared.peek()!.acquireTime, formatMicroTime(T0 + takeover + offset));
    });
  }

  it('stays out of a lease whose record keeps changing even if its renewTime looks ancient', async () => {
    const w = world();
    const a = w.candidate('a', { clock: w.clock.withOffset(-86_400_000) }); // writes renewTimes a day old
    await w.until(1000);
    const b = w.candidate('b');
    await w.until(60_000);
    assert.equal(a.elector.isLeader(), true);
    assert.equal(b.elector.isLeader(), false);
  });

  it('refuses timings that could give two leaders', () => {
    const base = {
      identity: 'a',
      store: new InMemoryLeaseStore(),
      onStartedLeading() {},
      onStoppedLeading() {},
    };
    assert.throws(
      () => new LeaderElector({ ...base, leaseDurationMs: 10_000, renewDeadlineMs: 10_000 }),
      RangeError,
    );
    assert.throws(
      () => new LeaderElector({ ...base, renewDeadlineMs: 2000, retryPeriodMs: 2000 }),
      RangeError,
    );
    assert.throws(() => new LeaderElector({ ...base, identity: '' }), RangeError);
  });
});

describe('InMemoryLeaseStore', () => {
  it('refuses a second create and an update against a stale version with ConflictError', async () => {
    const store = new InMemoryLeaseStore();
    const v1 = await store.create({ holderIdentity: 'a' });
    await assert.rejects(store.create({ holderIdentity: 'b' }), ConflictError);
    const v2 = await store.update({ holderIdentity: 'a', leaseTransitions: 0 }, v1);
    await assert.rejects(store.update({ holderIdentity: 'b' }, v1), ConflictError);
    assert.deepEqual(await store.get(), {
      record: { holderIdentity: 'a', leaseTransitions: 0 },
      version: v2,
    });
  });
});
