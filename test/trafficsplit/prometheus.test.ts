/**
 * End to end: the TrafficSplit controller (a Manager in-process, against the local cluster or
 * MESHWRIGHT_TEST_KUBECONFIG) analysing canaries against a **real Prometheus** that scrapes two test
 * backends, while a load generator plays the data plane and splits requests by each TrafficSplit's
 * `status.weights`. Skipped, with a message, when the Prometheus binary is absent (`.ci/run`
 * installs Debian's package).
 *
 * The four scenarios run at once (each its own TrafficSplit), at the schema's minimum interval
 * (10s) with two steps (`stepWeight: 50`) and a 15s query window. Scenario (c) has a Prometheus of
 * its own, stopped mid-rollout.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Kube } from '../../operator/runtime/index.js';
import { METRIC } from '../../operator/trafficsplit/reconciler.js';
import { setup, type Env } from '../runtime/support.js';
import {
  HAVE_PROMETHEUS,
  LoadGenerator,
  PROMETHEUS_BINARY,
  startBackend,
  startPrometheus,
  type Backend,
  type Prometheus,
} from './prometheus.js';
import {
  canarySetup,
  conditionOf,
  eventCount,
  getSplit,
  installCrds,
  splitRef,
  startOperator,
  statusHistory,
  trafficSplit,
  waitSplit,
} from './support.js';

const SKIP = HAVE_PROMETHEUS
  ? false
  : `Prometheus not found at ${PROMETHEUS_BINARY} (apt-get install prometheus, or set MESHWRIGHT_PROMETHEUS)`;

let env: Env;
let kube: Kube;
let ns: string;
let stable: Backend;
let canary: Backend;
let prom: Prometheus;
let promDown: Prometheus;
let load: LoadGenerator;
let operator: Awaited<ReturnType<typeof startOperator>>;
let history: ReturnType<typeof statusHistory>;

const strategy = { interval: '10s', stepWeight: 50 };
const analysis = (address: string, o: Record<string, unknown> = {}) => ({
  prometheus: { address },
  failureThreshold: 2,
  consecutiveErrorLimit: 2,
  metrics: [
    { name: 'success-rate', type: 'RequestSuccessRate', thresholdRange: { min: 99 }, interval: '15s' },
    { name: 'latency-p99', type: 'RequestDuration', thresholdRange: { max: 500 }, interval: '15s' },
  ],
  ...o,
});

/** Creates the Services, Deployments and TrafficSplit `name`, and puts it under load. */
async function rollout(name: string, spec: Record<string, unknown>): Promise<void> {
  await canarySetup(kube, ns, name);
  await kube.create(trafficSplit(ns, name, spec));
  load.add(ns, name);
}

const metricsText = () => operator.mgr.metrics.text();
const sample = (text: string, metric: string, labels: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith(`${metric}{${labels}}`));
  return line === undefined ? undefined : Number(line.split(' ').pop());
};

describe('TrafficSplit analysis against a real Prometheus', { skip: SKIP, concurrency: true }, () => {
  before(async () => {
    env = await setup();
    kube = env.kube();
    await installCrds(kube);
    ns = await env.h.namespace('tsplit-prom');
    [stable, canary] = await Promise.all([startBackend(), startBackend()]);
    [prom, promDown] = await Promise.all([
      startPrometheus([stable.target, canary.target]),
      startPrometheus([stable.target, canary.target]),
    ]);
    history = statusHistory(kube, ns);
    operator = await startOperator(kube, ns, { prometheusTimeoutMs: 2000 });
    load = new LoadGenerator(kube, stable, canary);
    load.start();
  });

  after(async () => {
    load?.stop();
    history?.stop();
    await operator?.stop();
    await Promise.all([prom?.stop(), promDown?.stop(), stable?.stop(), canary?.stop()]);
    await env?.h.close();
  });

  it('(a) promotes a healthy canary through every step', async () => {
    await rollout('healthy', { strategy, analysis: analysis(prom.address) });
    const done = await waitSplit(
      kube,
      ns,
      'healthy',
      (s) => s.status?.phase === 'Succeeded',
      40_000,
      'Succeeded',
    );
    assert.equal(conditionOf(done, 'Promoted')?.status, 'True');
    assert.deepEqual(done.status?.weights, { stable: 0, canary: 100 });
    assert.deepEqual(
      history
        .of('healthy')
        .filter((h) => h.phase === 'Progressing')
        .map((h) => h.weights?.canary),
      [50, 100],
    );
    const rate = done.status?.analysis?.find((a) => a.name === 'success-rate');
    assert.equal(rate?.result, 'Passed');
    assert.ok((rate?.value ?? 0) >= 99, `success rate ${rate?.value}`);
    assert.ok((load.sent.get(`${ns}/healthy-canary`) ?? 0) > 0);
    const text = await metricsText();
    for (const metric of ['success-rate', 'latency-p99'])
      assert.equal(
        sample(
          text,
          METRIC.analysisChecks,
          `namespace="${ns}",name="healthy",metric="${metric}",result="Passed"`,
        ),
        2,
      );
    assert.equal(sample(text, METRIC.canaryWeight, `namespace="${ns}",name="healthy"`), 100);
  });

  it('(b) rolls back a canary whose error rate crosses the threshold, within failureThreshold checks', async () => {
    canary.errorRate.set(`${ns}/failing-canary`, 0.5);
    await rollout('failing', { strategy, analysis: analysis(prom.address) });
    const done = await waitSplit(
      kube,
      ns,
      'failing',
      (s) => s.status?.phase === 'RolledBack',
      40_000,
      'RolledBack',
    );
    assert.deepEqual(conditionOf(done, 'RolledBack')?.status, 'True');
    assert.deepEqual(conditionOf(done, 'RolledBack')?.reason, 'AnalysisFailed');
    assert.deepEqual(done.status?.weights, { stable: 100, canary: 0 });
    assert.equal(done.status?.failedChecks, 2);
    const rate = done.status?.analysis?.find((a) => a.name === 'success-rate');
    assert.equal(rate?.result, 'Failed');
    assert.ok((rate?.value ?? 100) < 99, `success rate ${rate?.value}`);
    // never past the first step, and no check beyond failureThreshold
    assert.ok(history.of('failing').every((h) => (h.weights?.canary ?? 0) <= 50));
    const text = await metricsText();
    assert.equal(
      sample(
        text,
        METRIC.analysisChecks,
        `namespace="${ns}",name="failing",metric="success-rate",result="Failed"`,
      ),
      2,
    );
    assert.equal(await eventCount(kube, ns, 'failing', 'RolledBack'), 1);
    assert.equal(sample(text, METRIC.canaryWeight, `namespace="${ns}",name="failing"`), 0);
  });

  it('(c) pauses (AnalysisInconclusive) and never promotes when Prometheus goes away mid-rollout', async () => {
    await rollout('promdown', { strategy, analysis: analysis(promDown.address) });
    // the first check passes, then Prometheus stops
    await waitSplit(kube, ns, 'promdown', (s) => s.status?.currentStepIndex === 1, 25_000, 'step 2');
    await promDown.stop();
    const paused = await waitSplit(
      kube,
      ns,
      'promdown',
      (s) => s.status?.phase === 'Paused',
      30_000,
      'Paused',
    );
    assert.equal(conditionOf(paused, 'Paused')?.reason, 'AnalysisInconclusive');
    assert.equal(conditionOf(paused, 'Promoted')?.status, 'False');
    assert.equal(paused.status?.consecutiveErrors, 2);
    assert.deepEqual(paused.status?.weights, { stable: 0, canary: 100 }, 'the weights stay where they were');
    assert.ok(paused.status?.analysis?.every((a) => a.result === 'Inconclusive'));
    assert.match(paused.status?.analysis?.[0]?.message ?? '', /cannot reach Prometheus|timed out/);
    assert.ok(
      history.of('promdown').every((h) => h.phase !== 'Promoting' && h.phase !== 'Succeeded'),
      'never promoted on missing data',
    );
  });

  it('(d) Abort rolls back once, even when the same requestID is applied again', async () => {
    await rollout('abort', { strategy, analysis: analysis(prom.address) });
    await waitSplit(kube, ns, 'abort', (s) => s.status?.weights?.canary === 50, 15_000, 'canary 50%');
    const action = { type: 'Abort', requestID: 'abort-1' };
    await kube.mergePatch(splitRef(ns, 'abort'), { spec: { action } });
    const aborted = await waitSplit(
      kube,
      ns,
      'abort',
      (s) => s.status?.phase === 'Aborted',
      10_000,
      'Aborted',
    );
    assert.deepEqual(aborted.status?.weights, { stable: 100, canary: 0 });
    assert.equal(conditionOf(aborted, 'RolledBack')?.reason, 'Aborted');
    assert.equal(aborted.status?.lastHandledActionID, 'abort-1');

    // GitOps: the same manifest applied again, then with another change and the same requestID
    const manifest = trafficSplit(ns, 'abort', { strategy, analysis: analysis(prom.address), action });
    await kube.apply(manifest, { fieldManager: 'gitops' });
    await kube.apply(
      { ...manifest, spec: { ...(manifest.spec as object), progressDeadlineSeconds: 900 } },
      { fieldManager: 'gitops' },
    );
    const current = await getSplit(kube, ns, 'abort');
    await waitSplit(
      kube,
      ns,
      'abort',
      (s) => s.status?.observedGeneration === current.metadata?.generation,
      10_000,
      'the last generation observed',
    );
    await operator.mgr.events.flush();
    const again = await getSplit(kube, ns, 'abort');
    assert.equal(again.status?.phase, 'Aborted');
    assert.equal(again.status?.lastHandledActionID, 'abort-1');
    assert.equal(await eventCount(kube, ns, 'abort', 'Aborted'), 1);
    assert.equal(await eventCount(kube, ns, 'abort', 'ActionIgnored'), 0);
  });
});
