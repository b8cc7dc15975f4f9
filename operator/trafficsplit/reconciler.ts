/**
 * The TrafficSplit controller: the standard reconcile path (`runtime/reconcile.ts`) around the pure
 * state machine (`machine.ts`). This file reads caches, asks Prometheus when the machine wants a
 * check, and wires watches; the standard path does the writes (HTTPRoute, then status, last, only
 * when changed; Events only from a reconcile that changed something).
 *
 * One reconcile of a TrafficSplit (in `observe`, the only asynchronous step):
 *
 *   1. resolve the apex, stable and canary Services (missing, or ports that differ from the apex
 *      Service's → `ResolvedRefs=False`, and the rollout does not move);
 *   2. the canary revision: the pod-template hash of the Deployment behind the canary Service;
 *      backends ready: a Deployment behind each backend Service has a ready replica;
 *   3. `next()`; when it answers `runAnalysis`, `runCheck` against Prometheus (bounded by
 *      `prometheusTimeoutMs`), then `next()` again with the results (Events of both calls kept);
 *   4. desired: the GAMMA HTTPRoute with the decision's weights — only where the Gateway API
 *      HTTPRoute CRD exists (discovered lazily, looked for again every `httpRouteRecheckMs` while
 *      absent; absent → the weights are in status only, which the control plane serves);
 *   5. status: the decision's, plus `ResolvedRefs`; `requeueAfter` from the decision. All timing goes
 *      through the work queue; nothing here sleeps.
 *
 * Everything the machine needs between reconciles is in the status, so a restarted operator resumes
 * where the last written status says. A reconcile that reads a stale cache (our own status write not
 * seen yet) computes from the old status; its status write then fails on the resourceVersion
 * precondition (409, retried), so a step is never taken twice.
 *
 * Metrics (in the manager's registry): `meshwright_trafficsplit_canary_weight{namespace,name}` and
 * `meshwright_trafficsplit_analysis_checks_total{namespace,name,metric,result}`.
 */
import { isDeepStrictEqual } from 'node:util';
import { Counter, Gauge, type Registry } from 'prom-client';
import { API_VERSION, TrafficSplit as TrafficSplitKind } from '../api/index.js';
import type { TrafficSplitResource, TrafficSplitStatus } from '../api/trafficsplit.js';
import {
  findCondition,
  InvalidSpecError,
  isNotFound,
  keyOf,
  onUpdate,
  primaryChanged,
  setCondition,
  standardReconciler,
  zodParser,
  type Clock,
  type Condition,
  type Controller,
  type Informer,
  type KubeObject,
  type Manager,
  type Reconcile,
  type ResourceType,
  type StandardKind,
  type StatusResult,
} from '../runtime/index.js';
import { runCheck, type CheckResult, type FetchFn } from './analysis.js';
import { httpRoute } from './desired.js';
import { next, type Decision, type MachineEvent } from './machine.js';
import { GATEWAY_API_VERSION, OWNER_KIND, OWNER_KIND_LABEL } from './names.js';
import {
  backendReady,
  canaryRevision,
  deploymentsBehind,
  podTemplateHash,
  resolveRefs,
  type Deployment,
  type Refs,
  type Revision,
  type Service,
} from './observe.js';

export { Deployments, Services } from '../runtime/resources.js';
import { Deployments, Services } from '../runtime/resources.js';

export const TrafficSplits: ResourceType = {
  apiVersion: API_VERSION,
  kind: 'TrafficSplit',
  plural: 'trafficsplits',
  namespaced: true,
};
export const HTTPRoutes: ResourceType = {
  apiVersion: GATEWAY_API_VERSION,
  kind: 'HTTPRoute',
  plural: 'httproutes',
  namespaced: true,
};

/** The TrafficSplit informer's index: `namespace/service` of the apex, stable and canary Services. */
export const BY_SERVICE = 'byService';

/** The condition this reconciler adds to the machine's: the three Services exist and agree on ports. */
export const RESOLVED_REFS = 'ResolvedRefs';

export const METRIC = {
  canaryWeight: 'meshwright_trafficsplit_canary_weight',
  analysisChecks: 'meshwright_trafficsplit_analysis_checks_total',
} as const;

export interface TrafficSplitDeps {
  /** The `fetch` Prometheus queries go through (tests). Default: the global one. */
  fetch?: FetchFn;
  /** Per-query timeout. Default 10 s (`analysis.ts`). */
  prometheusTimeoutMs?: number;
  /** Only this namespace (tests); default all. */
  namespace?: string;
  /** Parallel reconciles (default 4). */
  workers?: number;
  /** While the HTTPRoute CRD is absent, look for it again at most this often. Default 60 s. */
  httpRouteRecheckMs?: number;
}

/** A TrafficSplit as parsed (defaults applied), with the metadata the reconciler needs. */
export type TrafficSplit = TrafficSplitResource & {
  metadata: TrafficSplitResource['metadata'] & { name: string; namespace: string; uid: string };
};

export interface Observed {
  refs: Refs;
  revision: Revision;
  backendsReady: boolean;
  /** The final decision of this reconcile (after the check, when one ran). */
  decision: Decision;
  /** The Events of both calls of `next`. */
  events: MachineEvent[];
  /** The check run by this reconcile, if any. */
  checks: CheckResult[] | undefined;
  /** The HTTPRoute informer, when the CRD exists (and the cache has synced). */
  routes: Informer | undefined;
}

/** Where HTTPRoutes are, once known: `current()` (synchronous) and `discover()` (may ask the API server). */
export interface RouteSource {
  current(): Informer | undefined;
  discover(): Promise<Informer | undefined>;
  /**
   * While the CRD is absent, how often to look again: a TrafficSplit with nothing else to wait for
   * is requeued after this long, so it gets its route once the CRD appears.
   */
  recheckMs?: number;
}

export interface TrafficSplitMetrics {
  canaryWeight(namespace: string, name: string, weight: number | undefined): void;
  check(namespace: string, name: string, results: readonly CheckResult[]): void;
}

export interface TrafficSplitKindDeps extends Pick<TrafficSplitDeps, 'fetch' | 'prometheusTimeoutMs'> {
  clock: Clock;
  routes: RouteSource;
  metrics?: TrafficSplitMetrics;
  /**
   * Per `namespace/name`: the status the last reconcile decided on and the resourceVersion it read
   * (the caller may pass its own, to forget deleted objects).
   */
  memory?: Map<string, { rv: string; status: TrafficSplitStatus }>;
  /** Told the status each reconcile decided on (before it is written). */
  decided?(split: TrafficSplit, status: TrafficSplitStatus): void;
}

export interface TrafficSplitInformers {
  services: Informer<Service>;
  deployments: Informer<Deployment>;
}

const narrow = (parsed: TrafficSplitResource): TrafficSplit => {
  const m = parsed.metadata;
  if (!m.name || !m.namespace || !m.uid)
    throw new InvalidSpecError('metadata: name, namespace and uid are required');
  return parsed as TrafficSplit;
};

/** The TrafficSplit kind on the standard path. */
export function trafficSplitKind(
  inf: TrafficSplitInformers,
  deps: TrafficSplitKindDeps,
): StandardKind<TrafficSplit, Observed> {
  const memory = deps.memory ?? new Map<string, { rv: string; status: TrafficSplitStatus }>();
  return {
    name: 'trafficsplit',
    primary: TrafficSplits,
    parse: zodParser(TrafficSplitKind.resource, narrow),

    async observe(split) {
      const { namespace, name } = split.metadata;
      const { spec } = split;
      const svc = (n: string) => inf.services.get(`${namespace}/${n}`);
      const stable = svc(spec.backends.stable.name);
      const canary = svc(spec.backends.canary.name);
      const refs = resolveRefs({
        apex: svc(spec.targetRef.name),
        stable,
        canary,
        names: {
          apex: spec.targetRef.name,
          stable: spec.backends.stable.name,
          canary: spec.backends.canary.name,
        },
      });
      const deployments = inf.deployments.list({ namespace });
      const revision = canaryRevision(canary, deployments);
      const backendsReady =
        refs.resolved && backendReady(stable, deployments) && backendReady(canary, deployments);
      const routes = await deps.routes.discover();

      // The status to go on from: ours from the last reconcile while the cache still holds the
      // version that reconcile read (our write not seen yet: a child write or a watch event can
      // bring the key back at once), so a check is never run twice for one step.
      const key = `${namespace}/${name}`;
      const rv = split.metadata.resourceVersion;
      const remembered = memory.get(key);
      const from =
        remembered !== undefined && rv !== undefined && remembered.rv === rv
          ? remembered.status
          : split.status;
      const input = {
        spec,
        ...(from ? { status: from } : {}),
        generation: split.metadata.generation ?? 0,
        canaryRevision: revision.revision,
        backendsReady,
      };
      const first = next({ ...input, now: deps.clock.now() });
      const decided = (d: Decision): void => {
        if (rv !== undefined) memory.set(key, { rv, status: d.status });
        deps.decided?.(split, d.status);
      };
      if (!first.runAnalysis) {
        decided(first);
        return {
          refs,
          revision,
          backendsReady,
          decision: first,
          events: first.events,
          checks: undefined,
          routes,
        };
      }
      const checks = await runCheck(
        { namespace, spec },
        {
          now: deps.clock.now(),
          ...(deps.fetch ? { fetch: deps.fetch } : {}),
          ...(deps.prometheusTimeoutMs !== undefined ? { timeoutMs: deps.prometheusTimeoutMs } : {}),
        },
      );
      deps.metrics?.check(namespace, name, checks);
      const second = next({ ...input, status: first.status, now: deps.clock.now(), analysis: checks });
      decided(second);
      return {
        refs,
        revision,
        backendsReady,
        decision: second,
        events: [...first.events, ...second.events],
        checks,
        routes,
      };
    },

    desired(split, o) {
      if (!o.routes) return [];
      // Unresolved Services: keep the route as it is (deleting it would hand the apex's traffic to
      // whatever the mesh does without a route; rewriting it needs ports we do not know).
      if (!o.refs.resolved) return { children: [], prune: false };
      return [httpRoute(split, o.decision.status.weights!, o.refs.ports) as unknown as KubeObject];
    },

    get owned() {
      const routes = deps.routes.current();
      return routes ? [{ type: HTTPRoutes, informer: routes }] : [];
    },

    status(split, o, outcome, now): StatusResult {
      const decided = o.decision.status;
      const resolved = resolvedRefsCondition(o.refs, o.revision, split.metadata.generation);
      const previous = findCondition(split.status?.conditions ?? [], RESOLVED_REFS);
      const status: TrafficSplitStatus = {
        ...decided,
        conditions: setCondition(decided.conditions ?? [], resolved, now),
      };
      const events: NonNullable<StatusResult['events']> = o.events.map((e) => ({
        type: e.type,
        reason: e.reason,
        note: e.message,
      }));
      if (
        resolved.status === 'False' &&
        (previous?.status !== 'False' || previous.message !== resolved.message)
      )
        events.push({ type: 'Warning', reason: resolved.reason, note: resolved.message });
      for (const r of outcome.written)
        events.push({
          type: 'Normal',
          reason: 'HTTPRouteApplied',
          note: `HTTPRoute ${r.name}: ${split.spec.backends.stable.name} ${decided.weights!.stable}%, ${split.spec.backends.canary.name} ${decided.weights!.canary}%`,
        });
      const requeueAfterMs =
        o.decision.requeueAfterMs ?? (o.routes === undefined ? deps.routes.recheckMs : undefined);
      return { status, events, ...(requeueAfterMs !== undefined ? { requeueAfterMs } : {}) };
    },
  };
}

function resolvedRefsCondition(
  refs: Refs,
  revision: Revision,
  generation: number | undefined,
): Omit<Condition, 'lastTransitionTime'> {
  const g = generation === undefined ? {} : { observedGeneration: generation };
  if (!refs.resolved)
    return { type: RESOLVED_REFS, status: 'False', reason: refs.reason, message: refs.message, ...g };
  return {
    type: RESOLVED_REFS,
    status: 'True',
    reason: 'ResolvedRefs',
    message:
      revision.revision === undefined
        ? `the Services resolve; the canary revision is unknown: ${revision.why}`
        : `the Services resolve; canary revision ${revision.revision} (Deployment ${revision.deployment})`,
    ...g,
  };
}

// ------------------------------------------------------------------------------ metrics

/** The two TrafficSplit metrics in `registry` (created once per registry). */
export function trafficSplitMetrics(registry: Registry): TrafficSplitMetrics {
  const registers = [registry];
  const weight =
    (registry.getSingleMetric(METRIC.canaryWeight) as Gauge<'namespace' | 'name'> | undefined) ??
    new Gauge({
      name: METRIC.canaryWeight,
      help: 'Percentage of the apex traffic a TrafficSplit sends to its canary (status.weights.canary).',
      labelNames: ['namespace', 'name'] as const,
      registers,
    });
  const checks =
    (registry.getSingleMetric(METRIC.analysisChecks) as
      Counter<'namespace' | 'name' | 'metric' | 'result'> | undefined) ??
    new Counter({
      name: METRIC.analysisChecks,
      help: 'Analysis checks of a TrafficSplit metric against Prometheus, by result (Passed, Failed, Inconclusive).',
      labelNames: ['namespace', 'name', 'metric', 'result'] as const,
      registers,
    });
  return {
    canaryWeight: (namespace, name, w) => {
      if (w === undefined) weight.remove({ namespace, name });
      else weight.set({ namespace, name }, w);
    },
    check: (namespace, name, results) => {
      for (const r of results) checks.inc({ namespace, name, metric: r.name, result: r.result });
    },
  };
}

// ------------------------------------------------------------------------------ HTTPRoute discovery

/**
 * Finds out lazily whether the HTTPRoute CRD is installed: a `list` of HTTPRoutes (limit 1) that
 * answers 404 means absent, and is asked again at most every `recheckMs`. Once present, the
 * HTTPRoute informer (our routes only: the owner-kind label) is created, `onFound` wires it, and
 * its first sync is awaited.
 */
export function discoverHttpRoutes(
  mgr: Manager,
  o: { namespace?: string; recheckMs: number; onFound(informer: Informer): void },
): RouteSource {
  let informer: Informer | undefined;
  let checkedAt = -Infinity;
  let pending: Promise<void> | undefined;
  const look = async (): Promise<void> => {
    try {
      await mgr.kube.list(HTTPRoutes, { ...(o.namespace ? { namespace: o.namespace } : {}), limit: 1 });
    } catch (e) {
      if (isNotFound(e)) {
        checkedAt = mgr.clock.now();
        return;
      }
      throw e;
    }
    informer = mgr.informer(HTTPRoutes, {
      ...(o.namespace ? { namespace: o.namespace } : {}),
      labelSelector: `${OWNER_KIND_LABEL}=${OWNER_KIND}`,
    });
    o.onFound(informer);
    mgr.logger.info(
      { apiVersion: HTTPRoutes.apiVersion },
      'The HTTPRoute CRD is installed: writing weights to HTTPRoutes too',
    );
  };
  return {
    recheckMs: o.recheckMs,
    current: () => (informer?.hasSynced() ? informer : undefined),
    async discover() {
      if (!informer) {
        if (mgr.clock.now() - checkedAt < o.recheckMs) return undefined;
        pending ??= look().finally(() => (pending = undefined));
        await pending;
        if (!informer) return undefined;
      }
      if (!informer.hasSynced() && !(await informer.waitForSync(10_000))) return undefined;
      return informer;
    },
  };
}

// ------------------------------------------------------------------------------ wiring

/** The Services a cached (raw) TrafficSplit names, as `namespace/name` keys. */
const servicesOf = (obj: KubeObject): string[] => {
  const spec = obj.spec as
    | {
        targetRef?: { name?: unknown };
        backends?: { stable?: { name?: unknown }; canary?: { name?: unknown } };
      }
    | undefined;
  const ns = obj.metadata?.namespace;
  return [spec?.targetRef?.name, spec?.backends?.stable?.name, spec?.backends?.canary?.name]
    .filter((n): n is string => typeof n === 'string')
    .map((n) => `${ns}/${n}`);
};

/**
 * Sets up the TrafficSplit controller on `mgr` (informers, watches, metrics) and adds it.
 *
 * Watches: `for` TrafficSplit (spec changes, deletion, resyncs; not our status writes); `owns`
 * HTTPRoute once the CRD is found (a route changed by hand is put back); Services → the
 * TrafficSplits naming them (selector or ports changed, created, deleted); Deployments → the
 * TrafficSplits whose backend Services select their pods (pod template or readiness changed).
 */
export function setupTrafficSplitController(mgr: Manager, deps: TrafficSplitDeps = {}): Controller {
  const scope = deps.namespace ? { namespace: deps.namespace } : {};
  const splits = mgr.informer(TrafficSplits, scope);
  if (!splits.store.hasIndex(BY_SERVICE)) splits.addIndex(BY_SERVICE, servicesOf);
  const services = mgr.informer<Service>(Services, scope);
  const deployments = mgr.informer<Deployment>(Deployments, scope);
  const metrics = trafficSplitMetrics(mgr.metrics.registry);
  const owner = { apiVersion: API_VERSION, kind: 'TrafficSplit' };
  const routes = discoverHttpRoutes(mgr, {
    ...scope,
    recheckMs: deps.httpRouteRecheckMs ?? 60_000,
    // only called from a reconcile, so after `controller` is set below; every TrafficSplit gets
    // its route now
    onFound: (informer) => {
      controller.owns(informer, owner);
      for (const split of splits.list()) controller.enqueue(keyOf(split));
    },
  });
  const decided = new Map<string, number>();
  const memory = new Map<string, { rv: string; status: TrafficSplitStatus }>();
  const kind = trafficSplitKind(
    { services, deployments },
    {
      clock: mgr.clock,
      memory,
      decided: (split, status) => decided.set(keyOf(split), status.weights?.canary ?? 0),
      routes,
      metrics,
      ...(deps.fetch ? { fetch: deps.fetch } : {}),
      ...(deps.prometheusTimeoutMs !== undefined ? { prometheusTimeoutMs: deps.prometheusTimeoutMs } : {}),
    },
  );
  const standard = standardReconciler(mgr, kind, splits);
  // The gauge follows what a successful reconcile wrote (or found current); a deleted TrafficSplit
  // loses its series.
  const reconcile: Reconcile = async (key, ctx) => {
    decided.delete(key);
    const result = await standard(key, ctx);
    const canary = decided.get(key);
    if (!splits.get(key)) {
      memory.delete(key);
      metrics.canaryWeight(ctx.namespace ?? '', ctx.name, undefined);
    } else if (canary !== undefined) metrics.canaryWeight(ctx.namespace ?? '', ctx.name, canary);
    return result;
  };
  const splitsOfService = (svc: KubeObject): string[] => splits.byIndex(BY_SERVICE, keyOf(svc)).map(keyOf);
  const splitsOfDeployment = (d: Deployment): string[] => {
    const ns = d.metadata?.namespace;
    const selecting = services
      .list(ns ? { namespace: ns } : {})
      .filter((s) => deploymentsBehind(s, [d]).length > 0);
    return [...new Set(selecting.flatMap(splitsOfService))];
  };
  const ready = (d: Deployment): boolean => (d.status?.readyReplicas ?? 0) > 0;
  const controller = mgr
    .controller({ name: kind.name, workers: deps.workers ?? 4, reconcile })
    .for(splits, primaryChanged)
    .watches(
      services,
      splitsOfService,
      onUpdate<Service>(
        (a, b) =>
          !isDeepStrictEqual(a.spec?.selector, b.spec?.selector) ||
          !isDeepStrictEqual(a.spec?.ports, b.spec?.ports),
      ),
    )
    .watches(
      deployments,
      splitsOfDeployment,
      onUpdate<Deployment>(
        (a, b) =>
          ready(a) !== ready(b) ||
          podTemplateHash(a.spec?.template) !== podTemplateHash(b.spec?.template) ||
          !a.metadata?.deletionTimestamp !== !b.metadata?.deletionTimestamp,
      ),
    );
  mgr.add(controller);
  return controller;
}
