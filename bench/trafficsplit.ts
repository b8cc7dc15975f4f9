/**
 * TrafficSplit step timing (figures, never pass/fail), against the local cluster: the real
 * controller on a Manager rolls a canary out at the schema's minimum interval (10s) with one
 * analysis metric against a fake Prometheus (a node:http server that always answers 100, so every
 * check passes). For each step: the configured interval against the actual time from the start of
 * the step to the start of the next (or to promotion), read from `status.stepStartedAt` (the
 * operator's own time of the transition) and from the watch (when the API server served it).
 *
 * 3 steps by default (`stepWeight: 34`, ~30 s); `BENCH_FULL=1` runs 10 steps (`stepWeight: 10`,
 * ~100 s). `BENCH_TS_INTERVAL` (a duration, default `10s`) changes the interval.
 *
 * Goal: drift (actual − configured) under 100 ms per step, on average and at most: a step is timed
 * by the work queue's `requeueAfter`, plus one Prometheus query and a status write.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { API_VERSION, parseDuration } from '../operator/api/index.js';
import type { TrafficSplitStatus } from '../operator/api/trafficsplit.js';
import { startLocalCluster } from '../operator/localcluster/index.js';
import { createKube, Manager, silentLogger, type Kube, type KubeObject } from '../operator/runtime/index.js';
import { setupTrafficSplitController, TrafficSplits } from '../operator/trafficsplit/reconciler.js';
import type { Figure } from './runtime.js';

const ROOT = join(import.meta.dirname, '..');
const NS = 'bench-tsplit';

async function installCrds(k: Kube): Promise<void> {
  for (const file of (await readdir(join(ROOT, 'crds'))).filter((f) => f.endsWith('.yaml')))
    await k.apply(parse(await readFile(join(ROOT, 'crds', file), 'utf8')) as KubeObject, {
      fieldManager: 'bench',
    });
  for (let i = 0; ; i++) {
    try {
      await k.list(TrafficSplits, { namespace: 'default' });
      return;
    } catch (e) {
      if (i > 1500) throw e;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

/** The apex/stable/canary Services and a ready Deployment behind each backend (no Deployment controller here). */
async function backends(k: Kube, name: string): Promise<void> {
  for (const n of [name, `${name}-stable`, `${name}-canary`])
    await k.apply(
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: n, namespace: NS },
        spec: {
          selector: { app: n },
          ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }],
        },
      },
      { fieldManager: 'bench' },
    );
  for (const [d, app, image] of [
    [`${name}-v1`, `${name}-stable`, 'app:1'],
    [`${name}-v2`, `${name}-canary`, 'app:2'],
  ] as const) {
    await k.apply(
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: d, namespace: NS },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app } },
          template: { metadata: { labels: { app } }, spec: { containers: [{ name: 'app', image }] } },
        },
      },
      { fieldManager: 'bench' },
    );
    await k.patchStatus(
      { apiVersion: 'apps/v1', kind: 'Deployment', plural: 'deployments', name: d, namespace: NS },
      { replicas: 1, readyReplicas: 1, availableReplicas: 1 },
      { resourceVersion: undefined },
    );
  }
}

export async function trafficSplitBench(): Promise<Figure[]> {
  const full = process.env.BENCH_FULL === '1';
  const interval = process.env.BENCH_TS_INTERVAL ?? '10s';
  const intervalMs = parseDuration(interval);
  const stepWeight = full ? 10 : 34;

  const prometheus = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(
      JSON.stringify({
        status: 'success',
        data: { resultType: 'vector', result: [{ metric: {}, value: [Date.now() / 1000, '100'] }] },
      }),
    );
  });
  await new Promise<void>((r) => prometheus.listen(0, '127.0.0.1', r));
  const address = `http://127.0.0.1:${(prometheus.address() as AddressInfo).port}`;

  const cluster = await startLocalCluster();
  const admin = createKube({ kubeconfigPath: cluster.kubeconfigPath });
  await installCrds(admin);
  await admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  await backends(admin, 'app');

  const mgr = new Manager({
    kube: createKube({ kubeconfigPath: cluster.kubeconfigPath }),
    logger: silentLogger(),
  });
  setupTrafficSplitController(mgr, { namespace: NS });
  const stop = new AbortController();
  const running = mgr.start(stop.signal);
  await mgr.informers.waitForSync(60_000);

  // when each step (and promotion) started: by the operator's status, and as the watch saw it
  const started = new Map<number, { status: number; seen: number }>();
  let promoted: (() => void) | undefined;
  const done = new Promise<void>((r) => (promoted = r));
  const watch = admin.watch<KubeObject & { status?: TrafficSplitStatus }>(
    TrafficSplits,
    { namespace: NS },
    (ev) => {
      const s = ev.object.status;
      if (s?.currentStepIndex === undefined || s.stepStartedAt === undefined) return;
      if (!started.has(s.currentStepIndex))
        started.set(s.currentStepIndex, { status: Date.parse(s.stepStartedAt), seen: Date.now() });
      if (s.phase === 'Succeeded') promoted?.();
    },
  );
  watch.done.catch(() => undefined);

  await admin.create({
    apiVersion: API_VERSION,
    kind: 'TrafficSplit',
    metadata: { name: 'app', namespace: NS },
    spec: {
      targetRef: { name: 'app' },
      backends: { stable: { name: 'app-stable' }, canary: { name: 'app-canary' } },
      strategy: { interval, stepWeight },
      analysis: {
        prometheus: { address },
        metrics: [{ name: 'success-rate', type: 'RequestSuccessRate', thresholdRange: { min: 99 } }],
      },
    },
  });
  const steps = Math.ceil(100 / stepWeight);
  const timeout = setTimeout(() => promoted?.(), (steps + 3) * intervalMs + 30_000);
  await done;
  clearTimeout(timeout);
  watch.abort();
  stop.abort();
  await running;
  await cluster.stop();
  await new Promise((r) => prometheus.close(r));

  const figures: Figure[] = [];
  const drifts: number[] = [];
  const seenDrifts: number[] = [];
  for (let i = 0; i < steps; i++) {
    const a = started.get(i);
    const b = started.get(i + 1);
    if (!a || !b) {
      figures.push({ name: `step ${i + 1}/${steps}: did not finish`, value: NaN, unit: '' });
      continue;
    }
    const actual = b.status - a.status;
    drifts.push(actual - intervalMs);
    seenDrifts.push(b.seen - a.seen - intervalMs);
    figures.push({
      name: `step ${i + 1}/${steps} (setWeight ${Math.min(100, (i + 1) * stepWeight)}): configured ${intervalMs} ms, actual`,
      value: actual,
      unit: 'ms',
    });
  }
  const mean = (xs: number[]) => (xs.length ? Math.round(xs.reduce((x, y) => x + y, 0) / xs.length) : NaN);
  figures.push(
    { name: 'drift per step, mean (status.stepStartedAt)', value: mean(drifts), unit: 'ms', goal: '< 100' },
    {
      name: 'drift per step, max (status.stepStartedAt)',
      value: Math.max(...drifts),
      unit: 'ms',
      goal: '< 100',
    },
    { name: 'drift per step, mean (as the watch saw it)', value: mean(seenDrifts), unit: 'ms' },
    { name: 'drift per step, max (as the watch saw it)', value: Math.max(...seenDrifts), unit: 'ms' },
  );
  return figures;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { printTable } = await import('./runtime.js');
  printTable('trafficsplit (bench/trafficsplit.ts)', await trafficSplitBench());
}
