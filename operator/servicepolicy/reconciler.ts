/**
 * The ServicePolicy controller: the standard reconcile path (`runtime/reconcile.ts`) with this
 * kind's observations, desired NetworkPolicy and status. All the I/O is the standard path's; this
 * file only reads caches and wires watches.
 *
 * Informers: ServicePolicies and Services (all namespaces, or `deps.namespace`), and the
 * NetworkPolicies labelled `meshwright.io/owner-kind=ServicePolicy` (ours only: a small cache).
 * No Namespace informer: namespace labels only matter to `namespaceSelector` peers, which the CNI
 * evaluates against live namespaces — the NetworkPolicy we write does not depend on them, so a
 * namespace change needs no reconcile.
 *
 * Watches:
 * - `for` ServicePolicy: spec changes, deletion, resyncs (not our own status writes);
 * - `owns` NetworkPolicy: a child changed or deleted by hand is put back;
 * - `watches` Service → the policies targeting it (index `byTarget`: `namespace/service`), when its
 *   selector or ports change, and when it appears or goes;
 * - `watches` ServicePolicy → the other policies on the same Service, when one appears, goes,
 *   starts being deleted or changes target: the oldest governs, the next one takes over.
 *
 * What becomes of the NetworkPolicy (as docs/servicepolicy.md says):
 * - `Generate` → applied; Conflicted, TargetNotFound, NoSelector, Disabled, NotNeeded, Audit → none
 *   (a stale one is pruned); Audit also gets an Event with what would be applied;
 * - InvalidSpec (semantic errors) → the last applied NetworkPolicy is kept as it is: deleting it
 *   would open the pods to every caller, updating it would enforce a half-understood policy.
 */
import { isDeepStrictEqual } from 'node:util';
import { API_VERSION, ServicePolicy as ServicePolicyKind } from '../api/index.js';
import {
  keyOf,
  onUpdate,
  or,
  primaryChanged,
  setConditions,
  standardReconciler,
  zodParser,
  type ApplyOutcome,
  type Condition,
  type Controller,
  type DesiredState,
  type Informer,
  type KubeObject,
  type Manager,
  type ResourceType,
  type StandardKind,
  type StatusResult,
} from '../runtime/index.js';
import { auditSummary, project, type MeshInfo, type Projection, type Service } from './desired.js';
import { OWNER_KIND, OWNER_KIND_LABEL, servedGeneration, targetKey } from './names.js';
import { asServicePolicy, type ServicePolicy } from './policy.js';
import {
  computeStatus,
  conflictWinner,
  ConditionType,
  networkPolicyState,
  Reason,
  targetState,
  type Observation,
} from './status.js';
import { validate } from './validate.js';

export { NetworkPolicies, Services } from '../runtime/resources.js';
import { NetworkPolicies, Services } from '../runtime/resources.js';

export const ServicePolicies: ResourceType = {
  apiVersion: API_VERSION,
  kind: 'ServicePolicy',
  plural: 'servicepolicies',
  namespaced: true,
};

/** The ServicePolicy informer's index: `namespace/service` of each policy's target. */
export const BY_TARGET = 'byTarget';

export interface ServicePolicyDeps {
  /** The installed mesh (a getter when it can change; enqueue the policies when it does). */
  mesh?: MeshInfo | (() => MeshInfo | undefined);
  /** Only this namespace (tests); default all. */
  namespace?: string;
  /** Parallel reconciles (default 4). */
  workers?: number;
}

export interface Observed {
  service: Service | undefined;
  /** The older policy that governs the same Service, when it is not this one. */
  winner: string | undefined;
  /** The projection against the Service (absent when conflicted or the Service is missing). */
  projection: Projection | undefined;
  errors: string[];
  warnings: string[];
}

/** The target key of a cached (raw) ServicePolicy. */
const targetOf = (obj: KubeObject): string | undefined => {
  const name = (obj.spec as { targetRef?: { name?: unknown } } | undefined)?.targetRef?.name;
  const ns = obj.metadata?.namespace;
  return typeof name === 'string' && ns ? targetKey(ns, name) : undefined;
};

export interface ServicePolicyInformers {
  policies: Informer;
  services: Informer<Service & KubeObject>;
  networkPolicies: Informer;
}

/** The ServicePolicy kind on the standard path, over these informers. */
export function servicePolicyKind(
  inf: ServicePolicyInformers,
  deps: Pick<ServicePolicyDeps, 'mesh'> = {},
): StandardKind<ServicePolicy, Observed> {
  const meshOf = (): MeshInfo | undefined => (typeof deps.mesh === 'function' ? deps.mesh() : deps.mesh);
  return {
    name: 'servicepolicy',
    primary: ServicePolicies,
    parse: zodParser(ServicePolicyKind.resource, asServicePolicy),

    observe(policy) {
      const { namespace, name } = policy.metadata;
      const target = targetKey(namespace, policy.spec.targetRef.name);
      const service = inf.services.get(target);
      const rivals = inf.policies.byIndex(BY_TARGET, target).flatMap((p) => {
        const m = p.metadata;
        return m?.name && m.namespace
          ? [
              {
                metadata: { ...m, name: m.name, namespace: m.namespace },
                spec: { targetRef: policy.spec.targetRef },
              },
            ]
          : [];
      });
      const winnerName = conflictWinner(rivals).get(target);
      const winner = winnerName !== undefined && winnerName !== name ? winnerName : undefined;
      const mesh = meshOf();
      const d = mesh ? { mesh } : {};
      if (winner !== undefined) return { service, winner, projection: undefined, errors: [], warnings: [] };
      if (service === undefined)
        return { service, winner, projection: undefined, ...validate(policy, undefined, d) };
      const projection = project(policy, service, d);
      return { service, winner, projection, errors: projection.errors, warnings: projection.warnings };
    },

    desired(_policy, o): KubeObject[] | DesiredState {
      // Semantic errors keep the last applied NetworkPolicy (deleting it would open the pods).
      if (o.winner === undefined && o.errors.length > 0) return { children: [], prune: false };
      if (o.winner !== undefined || o.projection?.outcome !== 'Generate') return [];
      return [o.projection.networkPolicy as unknown as KubeObject];
    },

    owned: [{ type: NetworkPolicies, informer: inf.networkPolicies }],

    status(policy, o, outcome, now): StatusResult {
      const obs: Observation = {
        target: targetState(o.service),
        ...(o.winner !== undefined ? { conflictWinner: o.winner } : {}),
        errors: o.errors,
        warnings: o.warnings,
        notes: o.projection?.notes ?? [],
        generatedResources: outcome.existing,
      };
      const served = servedGeneration(policy.metadata.annotations);
      if (served !== undefined) obs.servedGeneration = served;
      const np =
        o.projection && o.winner === undefined
          ? networkPolicyState(o.projection, applied(o.projection, outcome))
          : undefined;
      if (np) obs.networkPolicy = np;
      const status = computeStatus(policy, obs, now);
      return { status, events: events(o, outcome, status.conditions ?? []) };
    },

    invalid(raw, message, now) {
      const status = (raw.status ?? {}) as { conditions?: Condition[]; generatedResources?: unknown };
      const generation = raw.metadata?.generation;
      const c = (type: string) => ({
        type,
        status: 'False' as const,
        reason: Reason.InvalidSpec,
        message,
        ...(generation === undefined ? {} : { observedGeneration: generation }),
      });
      return {
        ...status,
        ...(generation === undefined ? {} : { observedGeneration: generation }),
        conditions: setConditions(
          status.conditions,
          [c(ConditionType.Accepted), c(ConditionType.Programmed), c(ConditionType.Ready)],
          now,
        ),
      };
    },
  };
}

/** The apply outcome of the projection's NetworkPolicy, as `networkPolicyState` wants it. */
function applied(
  projection: Projection,
  outcome: ApplyOutcome,
): { resource: ApplyOutcome['applied'][number] } | { error: string } | undefined {
  if (projection.outcome !== 'Generate') return undefined;
  const name = projection.networkPolicy.metadata.name;
  if (outcome.failed?.ref.name === name && outcome.failed.ref.kind === 'NetworkPolicy')
    return { error: outcome.failed.error.message };
  const resource = outcome.applied.find((r) => r.kind === 'NetworkPolicy' && r.name === name);
  return resource ? { resource } : undefined;
}

/** What a reconcile that changed something says about it (the standard path emits them only then). */
function events(
  o: Observed,
  outcome: ApplyOutcome,
  conditions: readonly Condition[],
): StatusResult['events'] {
  const out: NonNullable<StatusResult['events']> = [];
  const ready = conditions.find((c) => c.type === ConditionType.Ready);
  if (o.projection?.outcome === 'Audit' && o.winner === undefined && o.errors.length === 0)
    out.push({
      type: 'Normal',
      reason: Reason.AuditOnly,
      note: auditSummary(o.projection.networkPolicy, o.projection.notes),
    });
  for (const r of outcome.written)
    out.push({ type: 'Normal', reason: 'NetworkPolicyApplied', note: `applied NetworkPolicy ${r.name}` });
  for (const r of outcome.pruned)
    out.push({ type: 'Normal', reason: 'NetworkPolicyDeleted', note: `deleted NetworkPolicy ${r.name}` });
  if (ready?.status === 'False') out.push({ type: 'Warning', reason: ready.reason, note: ready.message });
  return out;
}

/**
 * Sets up the ServicePolicy controller on `mgr` (informers, watches) and adds it; returns it.
 */
export function setupServicePolicyController(mgr: Manager, deps: ServicePolicyDeps = {}): Controller {
  const scope = deps.namespace ? { namespace: deps.namespace } : {};
  const policies = mgr.informer(ServicePolicies, scope);
  if (!policies.store.hasIndex(BY_TARGET))
    policies.addIndex(BY_TARGET, (p) => {
      const t = targetOf(p);
      return t ? [t] : [];
    });
  const services = mgr.informer<Service & KubeObject>(Services, scope);
  const networkPolicies = mgr.informer(NetworkPolicies, {
    ...scope,
    labelSelector: `${OWNER_KIND_LABEL}=${OWNER_KIND}`,
  });
  const kind = servicePolicyKind({ policies, services, networkPolicies }, deps);
  const rivalsOf = (p: KubeObject): string[] => {
    const t = targetOf(p);
    return t ? policies.byIndex(BY_TARGET, t).map(keyOf) : [];
  };
  const controller = mgr
    .controller({
      name: kind.name,
      workers: deps.workers ?? 4,
      reconcile: standardReconciler(mgr, kind, policies),
    })
    .for(
      policies,
      or(
        primaryChanged,
        onUpdate(
          (a, b) => servedGeneration(a.metadata?.annotations) !== servedGeneration(b.metadata?.annotations),
        ),
      ),
    )
    .owns(networkPolicies, { apiVersion: API_VERSION, kind: 'ServicePolicy' })
    .watches(
      services,
      (svc) => policies.byIndex(BY_TARGET, keyOf(svc)).map(keyOf),
      onUpdate<Service & KubeObject>(
        (a, b) =>
          !isDeepStrictEqual(a.spec?.selector, b.spec?.selector) ||
          !isDeepStrictEqual(a.spec?.ports, b.spec?.ports),
      ),
    )
    .watches(
      policies,
      rivalsOf,
      onUpdate(
        (a, b) =>
          targetOf(a) !== targetOf(b) || !a.metadata?.deletionTimestamp !== !b.metadata?.deletionTimestamp,
      ),
    );
  mgr.add(controller);
  return controller;
}
