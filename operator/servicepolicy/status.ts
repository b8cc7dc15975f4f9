/**
 * A ServicePolicy's status, computed from what the reconciler observed. Pure: the clock comes in as
 * `now`, and conditions keep their `lastTransitionTime` unless their status flips.
 *
 * | condition      | True                                 | False (reason)                                          |
 * | -------------- | ------------------------------------ | ------------------------------------------------------- |
 * | `Accepted`     | `Accepted` (message lists warnings)  | `Conflicted` (an older policy governs the Service), `InvalidSpec` |
 * | `ResolvedRefs` | `ResolvedRefs`                       | `TargetNotFound`, `NoSelector`                          |
 * | `Programmed`   | `NetworkPolicyApplied`, `NetworkPolicyDisabled`, `NetworkPolicyNotNeeded`, `AuditOnly` (and the control plane serves this generation) | `Pending`, `NotServed`, or the reason of the `Accepted`/`ResolvedRefs` condition that blocks it |
 * | `Ready`        | `Ready`                              | the reason of the first condition above that is not True |
 */
import type { ServicePolicyStatus } from '../api/index.js';
import { setConditions, type ConditionInput } from '../runtime/conditions.js';
import {
  auditSummary,
  describeNetworkPolicy,
  hasSelector,
  type Projection,
  type Service,
} from './desired.js';
import { targetKey } from './names.js';
import type { ServicePolicy } from './policy.js';

export const ConditionType = {
  Accepted: 'Accepted',
  ResolvedRefs: 'ResolvedRefs',
  Programmed: 'Programmed',
  Ready: 'Ready',
} as const;

export const Reason = {
  Accepted: 'Accepted',
  Conflicted: 'Conflicted',
  InvalidSpec: 'InvalidSpec',
  ResolvedRefs: 'ResolvedRefs',
  TargetNotFound: 'TargetNotFound',
  NoSelector: 'NoSelector',
  NetworkPolicyApplied: 'NetworkPolicyApplied',
  NetworkPolicyDisabled: 'NetworkPolicyDisabled',
  NetworkPolicyNotNeeded: 'NetworkPolicyNotNeeded',
  AuditOnly: 'AuditOnly',
  Pending: 'Pending',
  NotServed: 'NotServed',
  Ready: 'Ready',
} as const;

export interface GeneratedResource {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

/** What became of the NetworkPolicy. */
export type NetworkPolicyState =
  /** Applied (server-side apply succeeded); `summary` is `describeNetworkPolicy` of it. */
  | { state: 'Applied'; resource: GeneratedResource; summary: string }
  /** Not applied yet, or applying it failed (`message` says which). */
  | { state: 'Pending'; message: string }
  | { state: 'Disabled' }
  | { state: 'NotNeeded'; message: string }
  /** Audit mode: nothing applied; `summary` is `auditSummary` of what would be. */
  | { state: 'AuditOnly'; summary: string };

export type TargetState = 'Found' | 'NotFound' | 'NoSelector';

/** Everything the status is computed from. */
export interface Observation {
  target: TargetState;
  /** The older policy that governs the same Service, when it is not this one. */
  conflictWinner?: string;
  errors?: readonly string[];
  warnings?: readonly string[];
  /** What only the proxies enforce (from the projection). */
  notes?: readonly string[];
  /** Ignored while the policy is not accepted or its target unresolved. */
  networkPolicy?: NetworkPolicyState;
  /** The objects that exist for this policy now (the NetworkPolicy, when there is one). */
  generatedResources?: readonly GeneratedResource[];
  /**
   * The generation of this policy the control plane has put into the configuration it serves to the
   * proxies (the `meshwright.io/served-generation` annotation its leader writes); absent while none.
   */
  servedGeneration?: number;
}

/** The state of the target Service for `Observation.target`. */
export function targetState(service: Service | undefined): TargetState {
  if (service === undefined) return 'NotFound';
  return hasSelector(service) ? 'Found' : 'NoSelector';
}

/**
 * The NetworkPolicy state for a projection: `applied` is the outcome of applying its NetworkPolicy
 * (`undefined` while not attempted, `{ error }` when it failed).
 */
export function networkPolicyState(
  projection: Projection,
  applied?: { resource: GeneratedResource } | { error: string },
): NetworkPolicyState | undefined {
  switch (projection.outcome) {
    case 'Disabled':
      return { state: 'Disabled' };
    case 'NotNeeded':
      return { state: 'NotNeeded', message: projection.message };
    case 'Audit':
      return { state: 'AuditOnly', summary: auditSummary(projection.networkPolicy, projection.notes) };
    case 'Generate': {
      const name = projection.networkPolicy.metadata?.name ?? '';
      if (applied === undefined)
        return { state: 'Pending', message: `NetworkPolicy ${name} is not applied yet` };
      if ('error' in applied) {
        return { state: 'Pending', message: `applying NetworkPolicy ${name} failed: ${applied.error}` };
      }
      return {
        state: 'Applied',
        resource: applied.resource,
        summary: describeNetworkPolicy(projection.networkPolicy),
      };
    }
    case 'Invalid':
    case 'NoSelector':
      return undefined; // Accepted or ResolvedRefs already says why
  }
}

/** The status to write for `policy`, given what was observed; conditions keep their history. */
export function computeStatus(policy: ServicePolicy, obs: Observation, now: Date): ServicePolicyStatus {
  const generation = policy.metadata.generation;
  const at = (c: Omit<ConditionInput, 'observedGeneration'>): ConditionInput =>
    generation === undefined ? c : { ...c, observedGeneration: generation };

  const accepted = acceptedCondition(policy, obs);
  const resolved = resolvedRefsCondition(policy, obs);
  const programmed = programmedCondition(obs, generation, [accepted, resolved]);
  const ready = readyCondition([accepted, resolved, programmed]);

  return {
    ...(generation === undefined ? {} : { observedGeneration: generation }),
    conditions: setConditions(
      policy.status?.conditions,
      [accepted, resolved, programmed, ready].map(at),
      now,
    ),
    generatedResources: (obs.generatedResources ?? []).map((r) => ({ ...r })),
  };
}

type Cond = Omit<ConditionInput, 'observedGeneration'>;

function acceptedCondition(policy: ServicePolicy, obs: Observation): Cond {
  const type = ConditionType.Accepted;
  const service = policy.spec.targetRef.name;
  if (obs.conflictWinner !== undefined) {
    return {
      type,
      status: 'False',
      reason: Reason.Conflicted,
      message:
        `Service ${service} is already governed by ServicePolicy ${obs.conflictWinner}, which is older ` +
        `(one policy per Service; the oldest wins); this policy takes effect once ${obs.conflictWinner} ` +
        `is deleted or targets another Service`,
    };
  }
  const errors = obs.errors ?? [];
  if (errors.length > 0) {
    return { type, status: 'False', reason: Reason.InvalidSpec, message: listed(errors) };
  }
  const warnings = obs.warnings ?? [];
  return {
    type,
    status: 'True',
    reason: Reason.Accepted,
    message: warnings.length > 0 ? `accepted with warnings: ${listed(warnings)}` : 'the policy is valid',
  };
}

function resolvedRefsCondition(policy: ServicePolicy, obs: Observation): Cond {
  const type = ConditionType.ResolvedRefs;
  const service = `Service ${policy.spec.targetRef.name}`;
  switch (obs.target) {
    case 'NotFound':
      return {
        type,
        status: 'False',
        reason: Reason.TargetNotFound,
        message: `${service} not found in namespace ${policy.metadata.namespace}`,
      };
    case 'NoSelector':
      return {
        type,
        status: 'False',
        reason: Reason.NoSelector,
        message:
          `${service} has no pod selector, so the policy cannot tell which pods it governs ` +
          `(Services without a selector, such as ExternalName ones, cannot be governed)`,
      };
    case 'Found':
      return { type, status: 'True', reason: Reason.ResolvedRefs, message: `${service} found` };
  }
}

function programmedCondition(
  obs: Observation,
  generation: number | undefined,
  prerequisites: readonly Cond[],
): Cond {
  const type = ConditionType.Programmed;
  const blocker = prerequisites.find((c) => c.status !== 'True');
  if (blocker) {
    return {
      type,
      status: 'False',
      reason: blocker.reason,
      message: `nothing is programmed while ${blocker.type} is False (${blocker.reason}); see that condition`,
    };
  }
  const notes = obs.notes ?? [];
  // The L7 part (methods, paths, Deny rules, resilience) is in force only once the control plane
  // serves this very generation; until then the NetworkPolicy alone is not the whole policy.
  const served = generation === undefined || obs.servedGeneration === generation;
  const l7 = served
    ? 'The control plane serves the L7 part (access rules, resilience) to the proxies'
    : undefined;
  const done = (reason: string, what: string): Cond =>
    served ? { type, status: 'True', reason, message: sentences([what, ...notes, l7!]) } : notServed(what);
  const notServed = (what: string): Cond => ({
    type,
    status: 'False',
    reason: Reason.NotServed,
    message: sentences([
      what,
      `the control plane has not served generation ${generation} of this policy to the proxies yet` +
        (obs.servedGeneration === undefined ? '' : ` (it serves generation ${obs.servedGeneration})`) +
        `: is the MeshInstallation's control plane running? (kubectl get meshinstallations)`,
    ]),
  });
  const np = obs.networkPolicy;
  switch (np?.state) {
    case undefined:
      return {
        type,
        status: 'False',
        reason: Reason.Pending,
        message: 'the NetworkPolicy is not applied yet',
      };
    case 'Pending':
      return { type, status: 'False', reason: Reason.Pending, message: np.message };
    case 'Applied':
      return done(Reason.NetworkPolicyApplied, `NetworkPolicy ${np.resource.name} admits ${np.summary}`);
    case 'Disabled':
      return done(
        Reason.NetworkPolicyDisabled,
        'networkPolicy.mode is Disabled: no NetworkPolicy is generated and the access rules are left to the proxies',
      );
    case 'NotNeeded':
      return done(Reason.NetworkPolicyNotNeeded, np.message);
    case 'AuditOnly': {
      // The summary already carries the notes.
      const what = `enforcement is Audit: no NetworkPolicy is applied; it ${np.summary}`;
      return served
        ? { type, status: 'True', reason: Reason.AuditOnly, message: sentences([what, l7!]) }
        : notServed(what);
    }
  }
}

function readyCondition(conditions: readonly Cond[]): Cond {
  const type = ConditionType.Ready;
  const notTrue = conditions.find((c) => c.status !== 'True');
  if (notTrue) return { type, status: notTrue.status, reason: notTrue.reason, message: notTrue.message };
  const programmed = conditions.find((c) => c.type === ConditionType.Programmed);
  return {
    type,
    status: 'True',
    reason: Reason.Ready,
    message: programmed?.message ?? 'the policy is in force',
  };
}

// ---------------------------------------------------------------------------------------------
// Conflicts

interface Candidate {
  metadata: { name: string; namespace: string; creationTimestamp?: string; [k: string]: unknown };
  spec: { targetRef: { name: string } };
}

/**
 * For each Service that policies target (keyed `namespace/name`, see `targetKey`), the policy that
 * governs it: the oldest by `creationTimestamp`, then the first by name. A policy being deleted does
 * not compete, so the next one takes over at once instead of after garbage collection.
 */
export function conflictWinner(policies: readonly Candidate[]): Map<string, string> {
  const winners = new Map<string, Candidate>();
  for (const policy of policies) {
    if (policy.metadata.deletionTimestamp) continue;
    const key = targetKey(policy.metadata.namespace, policy.spec.targetRef.name);
    const current = winners.get(key);
    if (current === undefined || olderThan(policy, current)) winners.set(key, policy);
  }
  return new Map([...winners].map(([key, p]) => [key, p.metadata.name]));
}

/** `a` wins over `b`: created earlier (an unstored policy, without a timestamp, is the newest), or same time and name first. */
function olderThan(a: Candidate, b: Candidate): boolean {
  const ta = created(a);
  const tb = created(b);
  if (ta !== tb) return ta < tb;
  return a.metadata.name < b.metadata.name;
}

function created(p: Candidate): number {
  const t = p.metadata.creationTimestamp === undefined ? NaN : Date.parse(p.metadata.creationTimestamp);
  return Number.isNaN(t) ? Number.POSITIVE_INFINITY : t;
}

// ---------------------------------------------------------------------------------------------

const MAX_LISTED = 10;

/** Messages joined with `; `, the first ten of them, so a condition stays readable and within limits. */
function listed(messages: readonly string[]): string {
  const shown = messages.slice(0, MAX_LISTED).join('; ');
  const more = messages.length - MAX_LISTED;
  return more > 0 ? `${shown}; and ${more} more` : shown;
}

function sentences(parts: readonly string[]): string {
  return parts.map((p) => p.replace(/[.\s]+$/, '')).join('. ') + '.';
}
