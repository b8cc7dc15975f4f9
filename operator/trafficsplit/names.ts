/**
 * Every name, label, condition type and reason a TrafficSplit uses. Nothing else in this folder
 * spells a child name, a label key or a reason.
 */
import { childSubdomain, labelValue } from '../runtime/names.js';

export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'meshwright';
/** The name of the TrafficSplit a child was generated from (a label value: long names are shortened with a hash). */
export const OWNER_LABEL = 'meshwright.io/owner';
/** The kind of the object a child was generated from, so two kinds' children never mix in a selector. */
export const OWNER_KIND_LABEL = 'meshwright.io/owner-kind';
export const OWNER_KIND = 'TrafficSplit';

export const GATEWAY_API_VERSION = 'gateway.networking.k8s.io/v1';

interface Named {
  metadata: { name: string };
}

/**
 * The Gateway API (GAMMA) HTTPRoute carrying a TrafficSplit's weights: `meshwright-tsplit-<name>`
 * in the TrafficSplit's namespace. The prefix keeps it apart from HTTPRoutes users write themselves
 * (server-side apply with `force` would take one over). A DNS-1123 subdomain, as HTTPRoute names are.
 */
export const httpRouteName = (split: Named): string =>
  childSubdomain('meshwright', 'tsplit', split.metadata.name);

/** The labels every child of `split` carries. */
export const ownerLabels = (split: Named): Record<string, string> => ({
  [MANAGED_BY_LABEL]: MANAGED_BY,
  [OWNER_LABEL]: labelValue(split.metadata.name),
  [OWNER_KIND_LABEL]: OWNER_KIND,
});

/** A label selector (`kubectl get -l`) for the children of `split`. */
export const ownerSelector = (split: Named): string =>
  Object.entries(ownerLabels(split))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');

// ------------------------------------------------------------------------------ conditions

export const CONDITION = {
  /** The TrafficSplit is valid and its backends are ready: its weights are in force. */
  Ready: 'Ready',
  /** True while a rollout moves on by itself (Initializing, Progressing, Promoting). */
  Progressing: 'Progressing',
  /** True only in phase Succeeded, for the canary revision in `status.canaryRevision`. */
  Promoted: 'Promoted',
  /** True when traffic was sent back to stable: phase RolledBack (analysis or deadline) or Aborted. */
  RolledBack: 'RolledBack',
  /** True in phase Paused (spec.paused, a `pause: {}` step, or inconclusive analysis). */
  Paused: 'Paused',
} as const;

/** Condition reasons (CamelCase, machine-readable). */
export const REASON = {
  // Ready
  BackendsReady: 'BackendsReady',
  BackendsNotReady: 'BackendsNotReady',
  CanaryRevisionUnknown: 'CanaryRevisionUnknown',
  InvalidSpec: 'InvalidSpec',
  // Progressing
  RolloutStarted: 'RolloutStarted',
  StepAdvanced: 'StepAdvanced',
  WaitingForBackends: 'WaitingForBackends',
  Promoting: 'Promoting',
  RolloutCompleted: 'RolloutCompleted',
  // Paused (also Progressing=False while paused)
  PausedBySpec: 'PausedBySpec',
  AwaitingPromotion: 'AwaitingPromotion',
  AnalysisInconclusive: 'AnalysisInconclusive',
  NotPaused: 'NotPaused',
  // failures (RolledBack, Frozen)
  AnalysisFailed: 'AnalysisFailed',
  ProgressDeadlineExceeded: 'ProgressDeadlineExceeded',
  Aborted: 'Aborted',
  NotRolledBack: 'NotRolledBack',
  // Promoted
  Succeeded: 'Succeeded',
  RolloutInProgress: 'RolloutInProgress',
  RolledBack: 'RolledBack',
  Frozen: 'Frozen',
} as const;

export type FailureReason = typeof REASON.AnalysisFailed | typeof REASON.ProgressDeadlineExceeded;
export type PauseReason =
  typeof REASON.PausedBySpec | typeof REASON.AwaitingPromotion | typeof REASON.AnalysisInconclusive;

// ------------------------------------------------------------------------------ events

/** Event reasons. Events are emitted on transitions and check results, never in a steady state. */
export const EVENT = {
  RolloutStarted: 'RolloutStarted',
  RolloutRestarted: 'RolloutRestarted',
  StepAdvanced: 'StepAdvanced',
  AnalysisPassed: 'AnalysisPassed',
  AnalysisFailed: 'AnalysisFailed',
  AnalysisInconclusive: 'AnalysisInconclusive',
  Paused: 'Paused',
  Resumed: 'Resumed',
  AwaitingPromotion: 'AwaitingPromotion',
  WaitingForBackends: 'WaitingForBackends',
  Promoting: 'Promoting',
  Succeeded: 'Succeeded',
  RolledBack: 'RolledBack',
  Frozen: 'Frozen',
  Aborted: 'Aborted',
  ProgressDeadlineExceeded: 'ProgressDeadlineExceeded',
  ActionHandled: 'ActionHandled',
  ActionIgnored: 'ActionIgnored',
  InvalidSpec: 'InvalidSpec',
} as const;
