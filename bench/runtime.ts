/**
 * Runtime benchmarks (figures, never pass/fail):
 *
 * 1. no-op reconciles/s: one worker, 10,000 keys enqueued at once, time until all reconciled
 *    (with the Manager's prom-client metrics attached, as in production);
 * 2. end-to-end latency: a label PATCHed at the API server → the reconcile of that object starts,
 *    over 200 changes, one every 20 ms (through the client, the watch, the informer and the queue);
 * 3. memory: RSS and heap of a separate process holding an informer over 10,000 ConfigMaps.
 *
 * Goals: ≥ 2,000 no-op reconciles/s on one core, p99 ≤ 50 ms, ≤ 150 MB RSS for 10,000 objects.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startLocalCluster } from '../operator/localcluster/index.js';
import {
  Controller,
  createKube,
  Informer,
  Manager,
  RuntimeMetrics,
  silentLogger,
  type ResourceType,
} from '../operator/runtime/index.js';

const ConfigMaps: ResourceType = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  plural: 'configmaps',
  namespaced: true,
};
const N = 10_000;

export interface Figure {
  name: string;
  value: number;
  unit: string;
  goal?: string;
}

async function noopThroughput(): Promise<Figure> {
  const metrics = new RuntimeMetrics();
  let done = 0;
  let finish!: () => void;
  const all = new Promise<void>((r) => (finish = r));
  const c = new Controller({
    name: 'noop',
    workers: 1,
    logger: silentLogger(),
    metrics: metrics.controller,
    queueMetrics: metrics.queue('noop'),
    reconcile: () => {
      if (++done === N) finish();
      return Promise.resolve();
    },
  });
  const t0 = performance.now();
  for (let i = 0; i < N; i++) c.enqueue(`ns/obj-${i}`);
  c.start();
  await all;
  const seconds = (performance.now() - t0) / 1000;
  await c.stop();
  return {
    name: 'no-op reconciles/s (1 worker, 10,000 keys)',
    value: Math.round(N / seconds),
    unit: '/s',
    goal: '≥ 2000',
  };
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

async function latency(): Promise<Figure[]> {
  const cluster = await startLocalCluster();
  const kube = createKube({ kubeconfigPath: cluster.kubeconfigPath });
  const ns = 'bench';
  await kube.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  const changes = 200;
  for (let i = 0; i < changes; i++)
    await kube.create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: `cm-${i}`, namespace: ns },
      data: { a: '1' },
    });
  const mgr = new Manager({
    kube: createKube({ kubeconfigPath: cluster.kubeconfigPath }),
    logger: silentLogger(),
  });
  const sent = new Map<string, number>();
  const lat: number[] = [];
  const cms = mgr.informer(ConfigMaps, { namespace: ns });
  mgr.add(
    mgr
      .controller({
        name: 'latency',
        reconcile: (key) => {
          const t = sent.get(key);
          if (t !== undefined) {
            lat.push(performance.now() - t);
            sent.delete(key);
          }
          return Promise.resolve();
        },
      })
      .for(cms),
  );
  const stop = new AbortController();
  const run = mgr.start(stop.signal);
  while (!mgr.ready()) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 200)); // initial reconciles done
  for (let i = 0; i < changes; i++) {
    const key = `${ns}/cm-${i}`;
    sent.set(key, performance.now());
    await kube.mergePatch(
      { apiVersion: 'v1', kind: 'ConfigMap', name: `cm-${i}`, namespace: ns },
      { metadata: { labels: { touched: String(i) } } },
    );
    await new Promise((r) => setTimeout(r, 20));
  }
  const deadline = Date.now() + 5000;
  while (lat.length < changes && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  stop.abort();
  await run;
  await cluster.stop();
  return [
    {
      name: `change → reconcile start, p50 (${lat.length} changes)`,
      value: +pct(lat, 50).toFixed(1),
      unit: 'ms',
    },
    {
      name: `change → reconcile start, p99 (${lat.length} changes)`,
      value: +pct(lat, 99).toFixed(1),
      unit: 'ms',
      goal: '≤ 50',
    },
  ];
}

/** Child process: cache every ConfigMap of the cluster, report memory as JSON on stdout. */
async function cacheChild(kubeconfigPath: string): Promise<void> {
  const kube = createKube({ kubeconfigPath });
  await kube.list(ConfigMaps, { namespace: 'mem', limit: 1 }); // warm up the client (modules, agent)
  globalThis.gc?.();
  const base = process.memoryUsage();
  const inf = new Informer(kube, ConfigMaps, { namespace: 'mem' });
  inf.start();
  await inf.waitForSync();
  await new Promise((r) => setTimeout(r, 100));
  globalThis.gc?.();
  const m = process.memoryUsage();
  process.stdout.write(
    JSON.stringify({
      objects: inf.list().length,
      rss: m.rss,
      heap: m.heapUsed,
      baseRss: base.rss,
      baseHeap: base.heapUsed,
    }) + '\n',
  );
  await inf.stop();
}

async function memory(): Promise<Figure[]> {
  const cluster = await startLocalCluster();
  const kube = createKube({ kubeconfigPath: cluster.kubeconfigPath });
  await kube.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'mem' } });
  const data: Record<string, string> = {};
  for (let k = 0; k < 5; k++) data[`key-${k}`] = `value-${k}-${'x'.repeat(40)}`;
  let next = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (next < N) {
        const i = next++;
        await kube.create({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: `cm-${i}`, namespace: 'mem', labels: { app: 'bench', shard: String(i % 10) } },
          data,
        });
      }
    }),
  );
  const self = fileURLToPath(import.meta.url);
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', self, '--cache-child', cluster.kubeconfigPath],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let text = '';
    child.stdout.on('data', (c: Buffer) => (text += c.toString()));
    child.on('error', reject);
    child.on('exit', () => resolve(text));
  });
  await cluster.stop();
  const r = JSON.parse(out.trim().split('\n').pop()!) as {
    objects: number;
    rss: number;
    heap: number;
    baseRss: number;
    baseHeap: number;
  };
  const mb = (b: number) => +(b / 2 ** 20).toFixed(1);
  return [
    {
      name: `RSS with ${r.objects} cached ConfigMaps (own process)`,
      value: mb(r.rss),
      unit: 'MB',
      goal: '≤ 150',
    },
    { name: `  of which before the informer started (tsx, client)`, value: mb(r.baseRss), unit: 'MB' },
    { name: `heap used with ${r.objects} cached ConfigMaps`, value: mb(r.heap), unit: 'MB' },
    { name: `  of which before the informer started`, value: mb(r.baseHeap), unit: 'MB' },
  ];
}

export async function runtimeBench(): Promise<Figure[]> {
  return [await noopThroughput(), ...(await latency()), ...(await memory())];
}

export function printTable(title: string, figures: Figure[]): void {
  const w = Math.max(...figures.map((f) => f.name.length));
  console.log(`\n${title}`);
  console.log(`${'figure'.padEnd(w)}  ${'value'.padStart(10)}  unit  goal`);
  for (const f of figures)
    console.log(`${f.name.padEnd(w)}  ${String(f.value).padStart(10)}  ${f.unit.padEnd(4)}  ${f.goal ?? ''}`);
}

const invokedDirectly = process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1];
if (invokedDirectly) {
  const i = process.argv.indexOf('--cache-child');
  if (i >= 0) await cacheChild(process.argv[i + 1]!);
  else if (process.argv.includes('--memory')) printTable('runtime: memory', await memory());
  else printTable('runtime', await runtimeBench());
}
