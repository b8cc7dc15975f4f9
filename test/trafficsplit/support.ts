/**
 * Shared pieces of the TrafficSplit integration tests: CRD installation, the three Services and the
 * two Deployments of a canary setup, a TrafficSplit builder, a Manager running the controller, and
 * a recorder of the status history (every distinct status the API server served, via a watch).
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { API_VERSION } from '../../operator/api/index.js';
import type { TrafficSplitStatus } from '../../operator/api/trafficsplit.js';
import {
  Manager,
  silentLogger,
  type Condition,
  type Controller,
  type Kube,
  type KubeObject,
  type ResourceType,
} from '../../operator/runtime/index.js';
import {
  HTTPRoutes,
  setupTrafficSplitController,
  TrafficSplits,
  type TrafficSplitDeps,
} from '../../operator/trafficsplit/reconciler.js';
import { REAL, waitFor } from '../runtime/support.js';

export { REAL, waitFor };

const ROOT = join(import.meta.dirname, '..', '..');
const PUBLISHED_HTTPROUTE = join(
  ROOT,
  '..',
  'shared',
  'crds',
  'gateway-api',
  'gateway.networking.k8s.io_httproutes.yaml',
);
const MINIMAL_HTTPROUTE = join(ROOT, 'test', 'fixtures', 'crds', 'gateway-api-httproute.yaml');

export const Events: ResourceType = {
  apiVersion: 'events.k8s.io/v1',
  kind: 'Event',
  plural: 'events',
  namespaced: true,
};

/** Applies every CRD in crds/ and waits until the API serves TrafficSplits. */
export async function installCrds(k: Kube): Promise<void> {
  for (const file of (await readdir(join(ROOT, 'crds'))).filter((f) => f.endsWith('.yaml')))
    await k.apply(parse(await readFile(join(ROOT, 'crds', file), 'utf8')) as KubeObject, {
      fieldManager: 'meshwright-test',
    });
  await waitFor(() => k.list(TrafficSplits, { namespace: 'default' }).then(() => true), 15_000, 'the CRDs');
}

/** Installs the HTTPRoute CRD (the published one where ../shared/crds has it) and waits until it is served. */
export async function installHttpRouteCrd(k: Kube): Promise<void> {
  const file = existsSync(PUBLISHED_HTTPROUTE) ? PUBLISHED_HTTPROUTE : MINIMAL_HTTPROUTE;
  for (const doc of parseAllDocuments(await readFile(file, 'utf8'))) {
    const obj = doc.toJS() as KubeObject | null;
    if (obj?.kind === 'CustomResourceDefinition') await k.apply(obj, { fieldManager: 'meshwright-test' });
  }
  await waitFor(
    () => k.list(HTTPRoutes, { namespace: 'default' }).then(() => true),
    15_000,
    'the HTTPRoute CRD',
  );
}

export const service = (namespace: string, name: string, port = 80): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace },
  spec: { selector: { app: name }, ports: [{ name: 'http', port, targetPort: 8080, protocol: 'TCP' }] },
});

export const deployment = (namespace: string, name: string, app: string, image: string): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app } },
    template: {
      metadata: { labels: { app } },
      spec: { containers: [{ name: 'app', image, ports: [{ containerPort: 8080 }] }] },
    },
  },
});

/**
 * The apex, stable and canary Services of `name`, and a ready Deployment behind each backend. The
 * local cluster has no Deployment controller: the test writes `readyReplicas` itself (a real
 * cluster's controller does, once the pods run).
 */
export async function canarySetup(
  k: Kube,
  namespace: string,
  name: string,
  canaryImage = 'app:2',
): Promise<void> {
  for (const n of [name, `${name}-stable`, `${name}-canary`])
    await k.apply(service(namespace, n), { fieldManager: 'meshwright-test' });
  for (const [d, app, image] of [
    [`${name}-v1`, `${name}-stable`, 'app:1'],
    [`${name}-v2`, `${name}-canary`, canaryImage],
  ] as const) {
    await k.apply(deployment(namespace, d, app, image), { fieldManager: 'meshwright-test' });
    if (!REAL)
      await k.patchStatus(
        { apiVersion: 'apps/v1', kind: 'Deployment', plural: 'deployments', name: d, namespace },
        { replicas: 1, readyReplicas: 1, availableReplicas: 1, updatedReplicas: 1 },
        { resourceVersion: undefined },
      );
  }
}

export const trafficSplit = (namespace: string, name: string, spec: Record<string, unknown>): KubeObject => ({
  apiVersion: API_VERSION,
  kind: 'TrafficSplit',
  metadata: { name, namespace },
  spec: {
    targetRef: { name },
    backends: { stable: { name: `${name}-stable` }, canary: { name: `${name}-canary` } },
    ...spec,
  },
});

export interface SplitJson extends KubeObject {
  status?: TrafficSplitStatus;
}

export const splitRef = (namespace: string, name: string) => ({
  apiVersion: API_VERSION,
  kind: 'TrafficSplit',
  name,
  namespace,
});

export const getSplit = (k: Kube, namespace: string, name: string): Promise<SplitJson> =>
  k.get<SplitJson>(splitRef(namespace, name));

export const conditionOf = (s: SplitJson | undefined, type: string): Condition | undefined =>
  s?.status?.conditions?.find((c) => c.type === type);

/** Waits (bounded) until `pred` holds for the stored TrafficSplit; returns it. */
export const waitSplit = (
  k: Kube,
  namespace: string,
  name: string,
  pred: (s: SplitJson) => boolean,
  timeoutMs: number,
  what: string,
): Promise<SplitJson> =>
  waitFor(
    async () => {
      const s = await getSplit(k, namespace, name);
      return pred(s) ? s : undefined;
    },
    timeoutMs,
    `${name}: ${what}`,
  );

/** A Manager running the TrafficSplit controller for `namespace`, started; `stop()` shuts it down. */
export async function startOperator(
  kube: Kube,
  namespace: string,
  deps: Omit<TrafficSplitDeps, 'namespace'> = {},
): Promise<{ mgr: Manager; controller: Controller; stop(): Promise<void> }> {
  const mgr = new Manager({
    kube,
    logger: silentLogger(),
    informers: { initialBackoffMs: 20, maxBackoffMs: 500 },
    shutdownTimeoutMs: 15_000,
  });
  const controller = setupTrafficSplitController(mgr, { namespace, ...deps });
  const abort = new AbortController();
  const running = mgr.start(abort.signal);
  await waitFor(() => mgr.ready(), 15_000, 'the caches');
  return {
    mgr,
    controller,
    stop: async () => {
      abort.abort();
      await running;
    },
  };
}

/** One entry per distinct stored status of one TrafficSplit (by resourceVersion), in order. */
export interface HistoryEntry {
  at: number;
  phase: string | undefined;
  step: number | undefined;
  weights: { stable: number; canary: number } | undefined;
}

/** Records the status history of the TrafficSplits in `namespace` through a watch. */
export function statusHistory(
  k: Kube,
  namespace: string,
): { of(name: string): HistoryEntry[]; stop(): void } {
  const seen = new Map<string, HistoryEntry[]>();
  const last = new Map<string, string>();
  const handle = k.watch<SplitJson>(TrafficSplits, { namespace }, (ev) => {
    if (ev.type !== 'ADDED' && ev.type !== 'MODIFIED') return;
    const name = ev.object.metadata?.name ?? '';
    const s = ev.object.status;
    const sig = JSON.stringify([s?.phase, s?.currentStepIndex, s?.weights]);
    if (last.get(name) === sig) return;
    last.set(name, sig);
    const list = seen.get(name) ?? [];
    list.push({ at: Date.now(), phase: s?.phase, step: s?.currentStepIndex, weights: s?.weights });
    seen.set(name, list);
  });
  handle.done.catch(() => undefined);
  return { of: (name) => seen.get(name) ?? [], stop: () => handle.abort() };
}

/** The Events about TrafficSplit `name` with `reason`, counting aggregated repeats (`series.count`). */
export async function eventCount(k: Kube, namespace: string, name: string, reason: string): Promise<number> {
  const list = await k.list<
    KubeObject & {
      reason?: string;
      regarding?: { name?: string; kind?: string };
      series?: { count?: number };
    }
  >(Events, { namespace });
  return list.items
    .filter((e) => e.reason === reason && e.regarding?.kind === 'TrafficSplit' && e.regarding.name === name)
    .reduce((n, e) => n + (e.series?.count ?? 1), 0);
}
