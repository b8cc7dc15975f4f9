/**
 * The Manager against an API server: leader election between two managers on one Lease (exactly
 * one reconciles; the other takes over when the first stops renewing), the /metrics, /healthz and
 * /readyz endpoints, and a graceful shutdown that finishes the reconcile in flight and releases the lease.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  KubeLeaseStore,
  KubeUnavailableError,
  LeaderElectionLostError,
  Manager,
  silentLogger,
  type Kube,
  type LeaseRecord,
  type LeaseStore,
} from '../../operator/runtime/index.js';
import { configMap, ConfigMaps, setup, waitFor, type Env } from './support.js';

let env: Env;
let kube: Kube;
before(async () => {
  env = await setup();
  kube = env.kube();
});
after(() => env?.h.close());

/** A LeaseStore that can be cut off, as a replica that is frozen or partitioned (it cannot renew). */
class Partitionable implements LeaseStore {
  cut = false;
  constructor(private readonly inner: LeaseStore) {}
  private check(): void {
    if (this.cut) throw new KubeUnavailableError('partitioned');
  }
  async get() {
    this.check();
    return this.inner.get();
  }
  async create(r: LeaseRecord) {
    this.check();
    return this.inner.create(r);
  }
  async update(r: LeaseRecord, v: string) {
    this.check();
    return this.inner.update(r, v);
  }
}

// short timings: a configuration for a fast test, not a timing assertion
const timings = { leaseDurationMs: 2000, renewDeadlineMs: 1500, retryPeriodMs: 200 };

function replica(ns: string, leaseName: string, identity: string) {
  const store = new Partitionable(new KubeLeaseStore({ kube, namespace: ns, name: leaseName }));
  const mgr = new Manager({
    kube: env.kube(),
    namespace: ns,
    logger: silentLogger(),
    leaderElection: { enabled: true, leaseName, identity, store, ...timings },
    informers: { initialBackoffMs: 20, maxBackoffMs: 500 },
  });
  const reconciled: string[] = [];
  const cms = mgr.informer(ConfigMaps, { namespace: ns });
  mgr.add(
    mgr
      .controller({
        name: `noop-${identity}`,
        reconcile: (key) => {
          reconciled.push(key);
          return Promise.resolve();
        },
      })
      .for(cms),
  );
  const stop = new AbortController();
  const run = mgr.start(stop.signal);
  run.catch(() => undefined); // inspected by the test
  return { mgr, store, reconciled, stop, run, identity };
}

describe('manager', () => {
  it('lets exactly one of two managers reconcile, and the other take over when it stops renewing', async () => {
    const ns = await env.h.namespace('le');
    for (const n of ['a', 'b', 'c']) await kube.create(configMap(ns, n));
    const one = replica(ns, 'example-lease', 'one');
    const two = replica(ns, 'example-lease', 'two');
    try {
      const leader = await waitFor(
        () => [one, two].find((r) => r.mgr.isLeader() && r.reconciled.length >= 3),
        15_000,
        'a leader to reconcile',
      );
      const follower = leader === one ? two : one;
      await kube.mergePatch(
        { apiVersion: 'v1', kind: 'ConfigMap', name: 'a', namespace: ns },
        { data: { a: '2' } },
      );
      await waitFor(
        () => leader.reconciled.filter((k) => k === `${ns}/a`).length >= 2,
        10_000,
        'the leader to see a change',
      );
      assert.equal(follower.reconciled.length, 0, 'the follower reconciles nothing');
      assert.equal(follower.mgr.isLeader(), false);

      // the leader freezes: it can no longer renew, so it must stop, and the follower must take over
      leader.store.cut = true;
      await assert.rejects(leader.run, LeaderElectionLostError);
      const stoppedAt = leader.reconciled.length;
      await waitFor(
        () => follower.mgr.isLeader() && follower.reconciled.length >= 3,
        15_000,
        'the follower to take over',
      );
      await kube.mergePatch(
        { apiVersion: 'v1', kind: 'ConfigMap', name: 'b', namespace: ns },
        { data: { a: '3' } },
      );
      await waitFor(
        () =>
          follower.reconciled.includes(`${ns}/b`) &&
          follower.reconciled.filter((k) => k === `${ns}/b`).length >= 2,
        10_000,
        'the new leader to see a change',
      );
      assert.equal(
        leader.reconciled.length,
        stoppedAt,
        'the old leader reconciles nothing after losing the lease',
      );
    } finally {
      one.stop.abort();
      two.stop.abort();
      await Promise.allSettled([one.run, two.run]);
    }
  });

  it('serves /metrics, /healthz and /readyz, drains in-flight work on shutdown and releases the lease', async () => {
    const ns = await env.h.namespace('mgr');
    await kube.create(configMap(ns, 'slow'));
    const mgr = new Manager({
      kube: env.kube(),
      namespace: ns,
      logger: silentLogger(),
      metricsPort: 0,
      healthPort: 0,
      leaderElection: { enabled: true, leaseName: 'drain-lease', identity: 'drainer', ...timings },
    });
    let started = 0;
    let finished = 0;
    mgr.add(
      mgr
        .controller({
          name: 'slow',
          reconcile: async () => {
            started++;
            await new Promise((r) => setTimeout(r, 300));
            finished++;
          },
        })
        .for(mgr.informer(ConfigMaps, { namespace: ns })),
    );
    const stop = new AbortController();
    const run = mgr.start(stop.signal);
    await waitFor(() => started === 1, 15_000, 'the slow reconcile to start');

    const get = async (port: number | undefined, path: string) => {
      const r = await fetch(`http://127.0.0.1:${port}${path}`);
      return { status: r.status, text: await r.text() };
    };
    assert.equal((await get(mgr.healthPort, '/healthz')).status, 200);
    assert.equal((await get(mgr.healthPort, '/readyz')).status, 200);
    const metrics = (await get(mgr.metricsPort, '/metrics')).text;
    for (const name of [
      'workqueue_adds_total{name="slow",controller="slow"}',
      'workqueue_depth',
      'controller_runtime_max_concurrent_reconciles{controller="slow"} 1',
      'leader_election_master_status{name="drain-lease"} 1',
      'rest_client_requests_total{method="GET",code="200"}',
    ])
      assert.ok(metrics.includes(name), `/metrics has ${name}`);

    stop.abort(); // SIGTERM: the reconcile in flight finishes, then the lease is released
    await run;
    assert.equal(finished, 1, 'the in-flight reconcile finished before start() resolved');
    const lease = await new KubeLeaseStore({ kube, namespace: ns, name: 'drain-lease' }).get();
    assert.equal(lease?.record.holderIdentity ?? '', '', 'the lease was released');
    const final = await get(mgr.metricsPort, '/metrics').catch(() => undefined);
    assert.equal(final, undefined, 'the endpoints are closed');
  });
});
