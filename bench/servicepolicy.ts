/**
 * The ServicePolicy controller at scale (figures, never pass/fail), against the local cluster:
 *
 * - floor: the 1,000 NetworkPolicies the policies produce, created directly with the runtime's
 *   client, WORKERS requests in flight (the controller's parallelism), after an untimed first run
 *   of the same creates (JIT warm-up: the operator runs on warm code too);
 * - operator: 1,000 Services exist; 1,000 ServicePolicies are created at once (WORKERS in flight,
 *   by a separate client) → time until every one is `Ready` in the operator's cache, and the API
 *   requests the operator sent per policy.
 *
 * Goal: time to all Ready ≤ 1.5 × the floor.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { API_VERSION } from '../operator/api/index.js';
import { startLocalCluster } from '../operator/localcluster/index.js';
import {
  createKube,
  keyOf,
  Manager,
  silentLogger,
  type Kube,
  type KubeObject,
} from '../operator/runtime/index.js';
import { networkPolicy } from '../operator/servicepolicy/desired.js';
import { servicePolicy } from '../operator/servicepolicy/fixtures.js';
import { SERVED_GENERATION_ANNOTATION } from '../operator/servicepolicy/names.js';
import { ServicePolicies, setupServicePolicyController } from '../operator/servicepolicy/reconciler.js';
import type { Figure } from './runtime.js';

const N = 1_000;
const WORKERS = 16;
const ROOT = join(import.meta.dirname, '..');

/** Runs `fn` over `items`, `limit` at a time. */
async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

const service = (ns: string, i: number): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: `svc-${i}`, namespace: ns },
  spec: {
    selector: { app: `svc-${i}` },
    ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }],
  },
});

/**
 * Created already marked served (generation 1, as the control plane's leader would mark it): no
 * control plane runs here, and `Ready` waits for it — this bench measures the operator alone.
 */
const policy = (ns: string, i: number): KubeObject => ({
  apiVersion: API_VERSION,
  kind: 'ServicePolicy',
  metadata: { name: `svc-${i}`, namespace: ns, annotations: { [SERVED_GENERATION_ANNOTATION]: '1' } },
  spec: {
    targetRef: { kind: 'Service', name: `svc-${i}` },
    access: {
      rules: [
        {
          name: 'web',
          action: 'Allow',
          from: [{ serviceAccounts: ['web/frontend'] }],
          to: [{ ports: ['http'] }],
        },
      ],
    },
  },
});

async function installCrds(kube: Kube): Promise<void> {
  for (const file of (await readdir(join(ROOT, 'crds'))).filter((f) => f.endsWith('.yaml')))
    await kube.apply(parse(await readFile(join(ROOT, 'crds', file), 'utf8')) as KubeObject);
  for (;;) {
    try {
      await kube.list(ServicePolicies, { namespace: 'default' });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

export async function servicePolicyBench(): Promise<Figure[]> {
  const cluster = await startLocalCluster();
  const admin = createKube({ kubeconfigPath: cluster.kubeconfigPath });
  await installCrds(admin);
  for (const name of ['bench-floor-warmup', 'bench-floor', 'bench-svcpol', 'bench-svcpol-cold'])
    await admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  // the floor: the same NetworkPolicies (without an owner, which does not exist there), created directly
  const floorKube = createKube({ kubeconfigPath: cluster.kubeconfigPath });
  const nps = (ns: string): KubeObject[] =>
    Array.from({ length: N }, (_, i) => {
      const np = networkPolicy(
        servicePolicy({ name: `svc-${i}`, namespace: ns, target: `svc-${i}`, uid: `u${i}` }),
        {
          metadata: { name: `svc-${i}` },
          spec: {
            selector: { app: `svc-${i}` },
            ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }],
          },
        },
      )!;
      return { ...np, metadata: { ...np.metadata, ownerReferences: [] } };
    });
  // First on a fresh process (client and API server code not yet optimised by the JIT), untimed:
  // the operator runs later on warm code, so a floor measured cold would flatter the ratio.
  let t0 = performance.now();
  await pool(nps('bench-floor-warmup'), WORKERS, (np) => floorKube.create(np));
  const coldFloorMs = performance.now() - t0;
  t0 = performance.now();
  await pool(nps('bench-floor'), WORKERS, (np) => floorKube.create(np));
  const floorMs = performance.now() - t0;

  // the operator, live: the policies are created while it runs
  const live = await runOperator(cluster.kubeconfigPath, admin, 'bench-svcpol', true);
  // the operator, cold: the policies exist before it starts (its own throughput, nothing else running)
  const cold = await runOperator(cluster.kubeconfigPath, admin, 'bench-svcpol-cold', false);
  await cluster.stop();
  return [
    {
      name: `floor: ${N} NetworkPolicies created directly (${WORKERS} in flight)`,
      value: Math.round(floorMs),
      unit: 'ms',
    },
    {
      name: 'floor, first run on a fresh process (JIT warm-up; not the floor)',
      value: Math.round(coldFloorMs),
      unit: 'ms',
    },
    { name: `live: ${N} ServicePolicies created (user side)`, value: Math.round(live.createdMs), unit: 'ms' },
    { name: `live: create → all Ready (${WORKERS} workers)`, value: Math.round(live.readyMs), unit: 'ms' },
    { name: 'live: all Ready / floor', value: ratio(live.readyMs, floorMs), unit: '×', goal: '≤ 1.5' },
    { name: 'live: operator API requests per policy', value: ratio(live.requests, N), unit: '' },
    { name: `cold: operator start → all ${N} Ready`, value: Math.round(cold.readyMs), unit: 'ms' },
    { name: 'cold: all Ready / floor', value: ratio(cold.readyMs, floorMs), unit: '×', goal: '≤ 1.5' },
    { name: 'cold: operator API requests per policy', value: ratio(cold.requests, N), unit: '' },
    { name: 'operator 409 conflicts (both runs)', value: live.conflicts + cold.conflicts, unit: '' },
  ];
}

const ratio = (a: number, b: number): number => Math.round((a / b) * 100) / 100;

/**
 * Services and policies in `ns`; with `live` the policies are created after the operator started
 * (the clock starts at the first create), else before (the clock starts with the operator).
 */
async function runOperator(
  kubeconfigPath: string,
  admin: Kube,
  ns: string,
  live: boolean,
): Promise<{ createdMs: number; readyMs: number; requests: number; conflicts: number }> {
  const indexes = Array.from({ length: N }, (_, i) => i);
  await pool(indexes, WORKERS, (i) => admin.create(service(ns, i)));
  if (!live) await pool(indexes, WORKERS, (i) => admin.create(policy(ns, i)));
  const kube = createKube({ kubeconfigPath });
  const mgr = new Manager({ kube, logger: silentLogger() });
  setupServicePolicyController(mgr, { namespace: ns, workers: WORKERS });
  const policies = mgr.informer(ServicePolicies, { namespace: ns });
  const total = (): number => kube.requests.entries().reduce((n, [, , c]) => n + c, 0);
  // "all Ready" from the operator's own informer events (a watch), not by polling its cache
  const isReady = (p: KubeObject): boolean =>
    (p.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions?.some(
      (c) => c.type === 'Ready' && c.status === 'True',
    ) ?? false;
  const readyKeys = new Set<string>();
  let allReady!: () => void;
  const allReadyNow = new Promise<void>((resolve) => (allReady = resolve));
  policies.onEvent(({ type, object }) => {
    const key = keyOf(object);
    if (type !== 'delete' && isReady(object)) readyKeys.add(key);
    else readyKeys.delete(key);
    if (readyKeys.size >= N) allReady();
  });
  const stop = new AbortController();
  let t0 = performance.now();
  const running = mgr.start(stop.signal);
  let createdMs = 0;
  let before = 0;
  if (live) {
    await mgr.informers.waitForSync(60_000);
    before = total();
    t0 = performance.now();
    await pool(indexes, WORKERS, (i) => admin.create(policy(ns, i)));
    createdMs = performance.now() - t0;
  }
  await allReadyNow;
  const readyMs = performance.now() - t0;
  const requests = total() - before;
  const conflicts = kube.requests.count(undefined, '409');
  stop.abort();
  await running;
  return { createdMs, readyMs, requests, conflicts };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { printTable } = await import('./runtime.js');
  printTable('servicepolicy (bench/servicepolicy.ts)', await servicePolicyBench());
}
