/**
 * The TrafficSplit rollout as a pure state machine: `next(input) → decision`. No clock, no I/O: time
 * comes in as `now`, observations as `canaryRevision` / `backendsReady`, analysis results as
 * `analysis`; the decision says what the status becomes, when to call again (`requeueAfterMs`) and
 * whether to run an analysis check first (`runAnalysis`). Everything the machine needs between calls
 * is in the status it returns, so an operator restart resumes exactly where the last status says.
 *
 * Phases (docs/trafficsplit.md, "Phases"):
 *
 *   Initializing ─▶ Progressing ⇄ Paused ─▶ Promoting ─▶ Succeeded
 *        │              │  │                      │
 *        │              │  └─▶ Frozen (onFailure: Freeze; waits for an action)
 *        │              └────▶ RolledBack (onFailure: Rollback)
 *        └─ any live phase, Frozen or Succeeded ─(Abort)─▶ Aborted
 *
 * How the reconciler uses it:
 *
 *   let d = next({ spec, status, generation, now, canaryRevision, backendsReady });
 *   if (d.runAnalysis) {
 *     const analysis = await runCheck(...);
 *     d = next({ ...same, status: d.status, now: later, analysis });   // events of both calls are emitted
 *   }
 *   write d.status (when it changed), emit d.events, apply d.status.weights, requeue after d.requeueAfterMs.
 */
import { formatDuration, parseDuration } from '../api/duration.js';
import type { Phase, TrafficSplitSpec, TrafficSplitStatus } from '../api/trafficsplit.js';
import { findCondition, setConditions, type Condition, type ConditionInput } from '../runtime/conditions.js';
import {
  BUILTIN_QUERIES,
  formatValue,
  renderQuery,
  TEMPLATE_VARIABLES,
  type CheckOutcome,
  type CheckResult,
  type TemplateVariables,
} from './analysis.js';
import { CONDITION, EVENT, REASON, type FailureReason } from './names.js';
import { describeStep, expandSteps, isIndefinitePause, type PlannedStep } from './steps.js';
import { ALL_CANARY, ALL_STABLE, assertWeights, canaryWeight, type Weights } from './weights.js';

export interface MachineInput {
  spec: TrafficSplitSpec;
  /** The status the previous call returned (as stored on the object); empty or absent for a new object. */
  status?: TrafficSplitStatus;
  /** `metadata.generation` of the TrafficSplit: written to `observedGeneration` and the conditions. */
  generation: number;
  /** Milliseconds since the epoch. */
  now: number;
  /** Pod-template hash of the canary backend; undefined while it cannot be resolved (no pods yet). */
  canaryRevision: string | undefined;
  /** Both backend Services have ready endpoints. */
  backendsReady: boolean;
  /** Results of the check the previous decision asked for (`runAnalysis`). */
  analysis?: CheckResult[];
}

export interface MachineEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface Decision {
  status: TrafficSplitStatus;
  /** Call again after this long (> 0); undefined when only a change (spec, backends) can move things on. */
  requeueAfterMs?: number;
  /** Run an analysis check now and call `next` again with its results and this decision's status. */
  runAnalysis?: boolean;
  events: MachineEvent[];
}

/** How long Promoting lasts at least: the weights 0/100 are handed to the data plane before Succeeded. */
export const PROMOTION_SETTLE_MS = 1000;

const DEFAULT_CONSECUTIVE_ERROR_LIMIT = 4;
const DEFAULT_FAILURE_THRESHOLD = 3;

/** Phases the rollout moves on by itself in, and that `spec.paused` holds. */
const HOLDABLE: readonly Phase[] = ['Initializing', 'Progressing', 'Paused', 'Promoting'];

// ------------------------------------------------------------------------------ state

/** The status, read into the form the machine works on. */
interface State {
  phase: Phase;
  /** undefined while Initializing (no step started); `plan.length` once promoting. */
  stepIndex: number | undefined;
  stepCount: number;
  /** When the current step started (Initializing: when the rollout started), shifted by time spent paused. */
  stepStartedAt: number;
  weights: Weights;
  canaryRevision: string | undefined;
  failedChecks: number;
  consecutiveErrors: number;
  analysis: CheckResult[];
  lastHandledActionID: string | undefined;
  /** Paused: the pause reason; RolledBack and Frozen: the failure reason. Read back from the conditions. */
  reason: string;
  /** Kept for the phases whose message is written at the transition (Succeeded, RolledBack, Frozen, Aborted). */
  message: string;
}

interface Context {
  spec: TrafficSplitSpec;
  plan: PlannedStep[];
  now: number;
  intervalMs: number;
  hasMetrics: boolean;
  ready: boolean;
  input: MachineInput;
  previous: Condition[];
  events: MachineEvent[];
  /** The check results still to be used (consumed by the first check step that is due). */
  analysis: CheckResult[] | undefined;
  /** A check passed in this call: its summary goes into the StepAdvanced event. */
  passedSummary?: string;
}

interface Outcome {
  requeueAfterMs?: number;
  runAnalysis?: boolean;
}

// ------------------------------------------------------------------------------ entry point

/** One step of the state machine. Pure: equal inputs give equal decisions. */
export function next(input: MachineInput): Decision {
  const { spec, now } = input;
  const events: MachineEvent[] = [];
  const previous = (input.status?.conditions ?? []) as Condition[];
  const firstSight = input.status?.phase === undefined;
  const problems = validate(spec);
  const plan = problems.length === 0 ? expandSteps(spec.strategy) : [];
  const ctx: Context = {
    spec,
    plan,
    now,
    intervalMs: problems.length === 0 ? parseDuration(spec.strategy.interval) : 0,
    hasMetrics: (spec.analysis?.metrics?.length ?? 0) > 0,
    ready: input.canaryRevision !== undefined && input.backendsReady,
    input,
    previous,
    events,
    analysis: input.analysis,
  };

  let s: State;
  if (firstSight) {
    s = newRollout(ctx, undefined, input.canaryRevision);
    if (problems.length === 0) emit(ctx, 'Normal', EVENT.RolloutStarted, rolloutStartedMessage(s));
    if (spec.action) {
      // A requestID already there when the object is first seen (a re-created object, a restore
      // without status) is history, not a request: it is recorded, never acted on.
      s.lastHandledActionID = spec.action.requestID;
      emit(
        ctx,
        'Warning',
        EVENT.ActionIgnored,
        `action ${spec.action.type} (requestID ${spec.action.requestID}) was already set when the TrafficSplit was first seen; set a new requestID to act`,
      );
    }
  } else {
    s = readState(input.status ?? {}, ctx);
  }

  if (problems.length > 0) return invalid(s, ctx, problems);

  if (!firstSight) startNewRolloutIfNeeded(s, ctx);
  if (!spec.paused && isPausedBySpec(s)) resume(s, ctx);
  if (spec.action && spec.action.requestID !== s.lastHandledActionID) {
    handleAction(s, ctx, spec.action);
    s.lastHandledActionID = spec.action.requestID;
  }
  if (spec.paused && HOLDABLE.includes(s.phase)) {
    if (!isPausedBySpec(s)) {
      s.phase = 'Paused';
      s.reason = REASON.PausedBySpec;
      emit(ctx, 'Normal', EVENT.Paused, `paused by spec.paused at ${where(s, ctx)}`);
    }
    return finish(s, ctx, {});
  }
  return finish(s, ctx, drive(s, ctx));
}

// ------------------------------------------------------------------------------ validation

/**
 * What the CRD schema cannot refuse and would make the rollout meaningless: reported as
 * Ready=False/InvalidSpec, and nothing moves (an Abort still works).
 */
export function validate(spec: TrafficSplitSpec): string[] {
  const problems: string[] = [];
  const check = (what: string, fn: () => void): void => {
    try {
      fn();
    } catch (err) {
      problems.push(`${what}: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  check('strategy.interval', () => parseDuration(spec.strategy.interval));
  check('strategy', () => expandSteps(spec.strategy));
  const metrics = spec.analysis?.metrics ?? [];
  (spec.strategy.steps ?? []).forEach((step, i) => {
    if (step.analysis !== undefined && metrics.length === 0) {
      problems.push(`strategy.steps[${i}].analysis: there is nothing to analyse without analysis.metrics`);
    }
  });
  if (metrics.length > 0 && spec.analysis?.prometheus === undefined) {
    problems.push('analysis.prometheus: required when metrics are set');
  }
  const dummy = Object.fromEntries(TEMPLATE_VARIABLES.map((v) => [v, v])) as TemplateVariables;
  for (const metric of metrics) {
    check(`analysis.metrics[${metric.name}].interval`, () => {
      if (parseDuration(metric.interval) <= 0) throw new Error('must be longer than 0s');
    });
    const template = metric.query ?? (metric.type === 'Custom' ? undefined : BUILTIN_QUERIES[metric.type]);
    if (template === undefined)
      problems.push(`analysis.metrics[${metric.name}].query: required for type Custom`);
    else check(`analysis.metrics[${metric.name}].query`, () => renderQuery(template, dummy));
  }
  return problems;
}

function invalid(s: State, ctx: Context, problems: string[]): Decision {
  const message = problems.join('; ');
  const prevReady = findCondition(ctx.previous, CONDITION.Ready);
  if (!(prevReady?.reason === REASON.InvalidSpec && prevReady.message === message)) {
    emit(ctx, 'Warning', EVENT.InvalidSpec, message);
  }
  const action = ctx.spec.action;
  if (action && action.requestID !== s.lastHandledActionID) {
    if (action.type !== 'Abort') ignoreAction(ctx, action, 'the spec is invalid; only Abort acts');
    else if (s.phase === 'RolledBack' || s.phase === 'Aborted') {
      ignoreAction(ctx, action, `all traffic is already on stable (phase ${s.phase})`);
    } else abort(s, ctx, action.requestID);
    s.lastHandledActionID = action.requestID;
  }
  return finish(s, ctx, {}, message);
}

// ------------------------------------------------------------------------------ reading the status

function readState(status: TrafficSplitStatus, ctx: Context): State {
  const phase = status.phase ?? 'Initializing';
  const startedAt = status.stepStartedAt === undefined ? NaN : Date.parse(status.stepStartedAt);
  const s: State = {
    phase,
    stepIndex: status.currentStepIndex,
    stepCount: status.stepCount ?? ctx.plan.length,
    stepStartedAt: Number.isFinite(startedAt) ? startedAt : ctx.now,
    weights: status.weights ? { ...status.weights } : { ...ALL_STABLE },
    canaryRevision: status.canaryRevision,
    failedChecks: status.failedChecks ?? 0,
    consecutiveErrors: status.consecutiveErrors ?? 0,
    analysis: (status.analysis ?? []).map((a) => ({ ...a })),
    lastHandledActionID: status.lastHandledActionID,
    reason: '',
    message: status.message ?? '',
  };
  const reasonOf = (type: string): string | undefined => findCondition(ctx.previous, type)?.reason;
  switch (phase) {
    case 'Paused': {
      const r = reasonOf(CONDITION.Paused);
      s.reason =
        r === REASON.PausedBySpec || r === REASON.AwaitingPromotion || r === REASON.AnalysisInconclusive
          ? r
          : underlying(s, ctx).reason;
      break;
    }
    case 'RolledBack':
      s.reason = asFailureReason(reasonOf(CONDITION.RolledBack));
      break;
    case 'Frozen':
      s.reason = asFailureReason(reasonOf(CONDITION.Progressing));
      break;
    case 'Aborted':
      s.reason = REASON.Aborted;
      break;
    default:
      s.reason = phase === 'Initializing' ? REASON.RolloutStarted : REASON.StepAdvanced;
  }
  return s;
}

const asFailureReason = (r: string | undefined): FailureReason =>
  r === REASON.ProgressDeadlineExceeded ? REASON.ProgressDeadlineExceeded : REASON.AnalysisFailed;

const isPausedBySpec = (s: State): boolean => s.phase === 'Paused' && s.reason === REASON.PausedBySpec;

/** Where a rollout held by spec.paused stands underneath the hold. */
function underlying(s: State, ctx: Context): { phase: Phase; reason: string } {
  if (s.stepIndex === undefined) return { phase: 'Initializing', reason: REASON.RolloutStarted };
  if (s.stepIndex >= ctx.plan.length) return { phase: 'Promoting', reason: REASON.Promoting };
  if (s.consecutiveErrors >= consecutiveErrorLimit(ctx)) {
    return { phase: 'Paused', reason: REASON.AnalysisInconclusive };
  }
  if (isIndefinitePause(ctx.plan[s.stepIndex]!)) return { phase: 'Paused', reason: REASON.AwaitingPromotion };
  return { phase: 'Progressing', reason: REASON.StepAdvanced };
}

const consecutiveErrorLimit = (ctx: Context): number =>
  ctx.spec.analysis?.consecutiveErrorLimit ?? DEFAULT_CONSECUTIVE_ERROR_LIMIT;
const failureThreshold = (ctx: Context): number =>
  ctx.spec.analysis?.failureThreshold ?? DEFAULT_FAILURE_THRESHOLD;

// ------------------------------------------------------------------------------ new rollouts

function newRollout(ctx: Context, from: State | undefined, revision: string | undefined): State {
  return {
    phase: 'Initializing',
    stepIndex: undefined,
    stepCount: ctx.plan.length,
    stepStartedAt: ctx.now,
    weights: { ...ALL_STABLE },
    canaryRevision: revision,
    failedChecks: 0,
    consecutiveErrors: 0,
    analysis: [],
    lastHandledActionID: from?.lastHandledActionID,
    reason: REASON.RolloutStarted,
    message: '',
  };
}

function restart(s: State, ctx: Context, revision: string | undefined): void {
  Object.assign(s, newRollout(ctx, s, revision));
}

const rolloutStartedMessage = (s: State): string =>
  s.canaryRevision === undefined
    ? 'rollout started; the canary revision is not known yet'
    : `rollout of canary revision ${s.canaryRevision} started`;

/**
 * A new canary revision starts a new rollout from stable 100%, whatever the phase. So does a change
 * of the strategy that no longer fits where a live rollout stands (another number of steps, or
 * another weight at the current step); any other spec change (analysis, thresholds, onFailure,
 * paused, action, …) applies to the rollout in flight. A generation change alone does not restart:
 * setting `action` or `paused` changes the generation too.
 */
function startNewRolloutIfNeeded(s: State, ctx: Context): void {
  const revision = ctx.input.canaryRevision;
  if (revision !== undefined && s.canaryRevision !== undefined && revision !== s.canaryRevision) {
    const old = s.canaryRevision;
    restart(s, ctx, revision);
    emit(
      ctx,
      'Normal',
      EVENT.RolloutStarted,
      `canary revision changed from ${old} to ${revision}: ${rolloutStartedMessage(s)}`,
    );
    return;
  }
  if (revision !== undefined && s.canaryRevision === undefined) s.canaryRevision = revision;
  if (s.phase === 'Initializing' || (isPausedBySpec(s) && s.stepIndex === undefined)) {
    s.stepCount = ctx.plan.length;
    return;
  }
  const promoting =
    s.phase === 'Promoting' || (isPausedBySpec(s) && s.stepIndex !== undefined && s.stepIndex >= s.stepCount);
  if (promoting) {
    // Every step is behind it (or was skipped by PromoteFull): a new plan changes nothing but the count.
    s.stepIndex = s.stepCount = ctx.plan.length;
    return;
  }
  if (s.phase !== 'Progressing' && s.phase !== 'Paused') return;
  const planned = s.stepIndex === undefined ? undefined : ctx.plan[s.stepIndex];
  const fits =
    s.stepCount === ctx.plan.length && planned !== undefined && planned.weight === s.weights.canary;
  if (!fits) {
    restart(s, ctx, s.canaryRevision);
    emit(
      ctx,
      'Normal',
      EVENT.RolloutRestarted,
      'the strategy changed under the rollout in flight: restarting from step 1',
    );
  }
}

// ------------------------------------------------------------------------------ spec.paused

/** Leaves a spec.paused hold: the step's timers resume with the time the step had left. */
function resume(s: State, ctx: Context): void {
  const paused = findCondition(ctx.previous, CONDITION.Paused);
  const since = paused?.status === 'True' ? Date.parse(paused.lastTransitionTime) : NaN;
  const pausedAt = Math.max(Number.isFinite(since) ? since : ctx.now, s.stepStartedAt);
  s.stepStartedAt += Math.max(0, ctx.now - pausedAt);
  const { phase, reason } = underlying(s, ctx);
  s.phase = phase;
  s.reason = reason;
  emit(ctx, 'Normal', EVENT.Resumed, `spec.paused is false: resumed at ${where(s, ctx)}`);
}

// ------------------------------------------------------------------------------ actions

type Action = NonNullable<TrafficSplitSpec['action']>;

function handleAction(s: State, ctx: Context, action: Action): void {
  const held = ctx.spec.paused ? 'the rollout is held by spec.paused; unpause it first' : undefined;
  switch (action.type) {
    case 'Promote': {
      if (held) return ignoreAction(ctx, action, held);
      const live =
        (s.phase === 'Progressing' || s.phase === 'Paused') &&
        s.stepIndex !== undefined &&
        s.stepIndex < ctx.plan.length;
      if (live) {
        const at = where(s, ctx);
        s.consecutiveErrors = 0;
        handled(ctx, action, `ended ${at}`);
        completeStep(s, ctx);
        return;
      }
      if (s.phase === 'Frozen') {
        const at = where(s, ctx);
        s.failedChecks = 0;
        s.consecutiveErrors = 0;
        handled(ctx, action, `unfroze the rollout: ended ${at}`);
        if (s.stepIndex === undefined) {
          s.phase = 'Initializing';
          s.reason = REASON.RolloutStarted;
          s.stepCount = ctx.plan.length;
          s.stepStartedAt = ctx.now;
        } else if (s.stepIndex >= ctx.plan.length) {
          enterPromoting(s, ctx);
        } else {
          completeStep(s, ctx);
        }
        return;
      }
      return ignoreAction(ctx, action, `nothing to promote in phase ${s.phase}`);
    }
    case 'PromoteFull': {
      if (held) return ignoreAction(ctx, action, held);
      if (
        s.phase === 'Initializing' ||
        s.phase === 'Progressing' ||
        s.phase === 'Paused' ||
        s.phase === 'Frozen'
      ) {
        handled(ctx, action, `skipped the remaining steps from ${where(s, ctx)}`);
        s.consecutiveErrors = 0;
        enterPromoting(s, ctx);
        return;
      }
      return ignoreAction(
        ctx,
        action,
        s.phase === 'Promoting'
          ? 'already promoting'
          : `nothing to promote in phase ${s.phase} (Retry restarts a rollout)`,
      );
    }
    case 'Abort': {
      if (s.phase === 'RolledBack' || s.phase === 'Aborted') {
        return ignoreAction(ctx, action, `all traffic is already on stable (phase ${s.phase})`);
      }
      abort(s, ctx, action.requestID);
      return;
    }
    case 'Retry': {
      if (s.phase === 'RolledBack' || s.phase === 'Aborted' || s.phase === 'Frozen') {
        handled(ctx, action, `restarting the rollout from step 1 (was ${s.phase})`);
        restart(s, ctx, ctx.input.canaryRevision ?? s.canaryRevision);
        return;
      }
      if (s.phase === 'Paused' && s.reason === REASON.AnalysisInconclusive) {
        if (held) return ignoreAction(ctx, action, held);
        handled(
          ctx,
          action,
          `analysis resumed at ${where(s, ctx)}; next check in ${formatDuration(ctx.intervalMs)}`,
        );
        s.consecutiveErrors = 0;
        s.phase = 'Progressing';
        s.reason = REASON.StepAdvanced;
        s.stepStartedAt = ctx.now;
        return;
      }
      return ignoreAction(ctx, action, `nothing to retry in phase ${s.phase}`);
    }
  }
}

function abort(s: State, ctx: Context, requestID: string): void {
  const from = s.phase;
  s.phase = 'Aborted';
  s.reason = REASON.Aborted;
  s.weights = { ...ALL_STABLE };
  s.message = `aborted by action (requestID ${requestID}) in phase ${from}: all traffic back to stable`;
  emit(ctx, 'Warning', EVENT.Aborted, s.message);
}

const handled = (ctx: Context, action: Action, what: string): void =>
  emit(ctx, 'Normal', EVENT.ActionHandled, `action ${action.type} (requestID ${action.requestID}): ${what}`);

const ignoreAction = (ctx: Context, action: Action, why: string): void =>
  emit(
    ctx,
    'Warning',
    EVENT.ActionIgnored,
    `action ${action.type} (requestID ${action.requestID}) ignored: ${why}`,
  );

// ------------------------------------------------------------------------------ moving on

/** Moves the rollout on as far as `now`, the backends and the analysis allow. */
function drive(s: State, ctx: Context): Outcome {
  // Each pass either returns or moves to a later step, so this ends; the bound is a safety net.
  for (let pass = 0; pass <= ctx.plan.length + 2; pass++) {
    switch (s.phase) {
      case 'Initializing':
        if (!ctx.ready) return blocked(s, ctx);
        startStep(s, ctx, 0);
        continue;
      case 'Promoting': {
        if (!ctx.ready) return blocked(s, ctx);
        const settled = s.stepStartedAt + PROMOTION_SETTLE_MS;
        if (ctx.now < settled) return { requeueAfterMs: settled - ctx.now };
        succeed(s, ctx);
        return {};
      }
      case 'Progressing':
        break;
      default:
        return {};
    }
    const step = ctx.plan[s.stepIndex!]!;
    if (!ctx.ready) return blocked(s, ctx);
    if (step.kind === 'Pause') {
      if (step.durationMs === undefined) {
        awaitPromotion(s, ctx);
        return {};
      }
      const due = s.stepStartedAt + step.durationMs;
      if (ctx.now < due) return { requeueAfterMs: due - ctx.now };
      completeStep(s, ctx);
      continue;
    }
    const due = s.stepStartedAt + ctx.intervalMs;
    if (ctx.now < due) return { requeueAfterMs: due - ctx.now };
    if (!ctx.hasMetrics) {
      completeStep(s, ctx);
      continue;
    }
    if (ctx.analysis === undefined) return { runAnalysis: true };
    const verdict = applyCheck(s, ctx, ctx.analysis);
    ctx.analysis = undefined;
    if (verdict === 'Passed') {
      completeStep(s, ctx);
      continue;
    }
    return s.phase === 'Progressing' ? { requeueAfterMs: ctx.intervalMs } : {};
  }
  throw new Error('trafficsplit: the state machine did not settle');
}

/** The step at `index` starts now: its weight applies at once. */
function startStep(s: State, ctx: Context, index: number): void {
  const step = ctx.plan[index]!;
  s.stepIndex = index;
  s.stepCount = ctx.plan.length;
  s.stepStartedAt = ctx.now;
  s.weights = canaryWeight(step.weight);
  if (isIndefinitePause(step)) {
    awaitPromotion(s, ctx);
    return;
  }
  s.phase = 'Progressing';
  s.reason = REASON.StepAdvanced;
  const lastCheck = ctx.passedSummary ? `; last check: ${ctx.passedSummary}` : '';
  ctx.passedSummary = undefined;
  emit(
    ctx,
    'Normal',
    EVENT.StepAdvanced,
    `${where(s, ctx)}: canary ${s.weights.canary}%, stable ${s.weights.stable}%${lastCheck}`,
  );
}

function awaitPromotion(s: State, ctx: Context): void {
  if (s.phase === 'Paused' && s.reason === REASON.AwaitingPromotion) return;
  s.phase = 'Paused';
  s.reason = REASON.AwaitingPromotion;
  emit(
    ctx,
    'Normal',
    EVENT.AwaitingPromotion,
    `${where(s, ctx)}: canary ${s.weights.canary}%; waiting for action Promote`,
  );
}

/** The current step is done: the next one starts now, or promotion after the last. */
function completeStep(s: State, ctx: Context): void {
  const nextIndex = (s.stepIndex ?? -1) + 1;
  if (nextIndex >= ctx.plan.length) enterPromoting(s, ctx);
  else startStep(s, ctx, nextIndex);
}

function enterPromoting(s: State, ctx: Context): void {
  s.phase = 'Promoting';
  s.reason = REASON.Promoting;
  s.stepIndex = s.stepCount = ctx.plan.length;
  s.stepStartedAt = ctx.now;
  s.weights = { ...ALL_CANARY };
  const lastCheck = ctx.passedSummary ? `; last check: ${ctx.passedSummary}` : '';
  ctx.passedSummary = undefined;
  emit(
    ctx,
    'Normal',
    EVENT.Promoting,
    `promoting canary revision ${s.canaryRevision ?? '(unknown)'}: all traffic to ${ctx.spec.backends.canary.name}${lastCheck}`,
  );
}

function succeed(s: State, ctx: Context): void {
  s.phase = 'Succeeded';
  s.reason = REASON.Succeeded;
  s.message = `canary revision ${s.canaryRevision ?? '(unknown)'} promoted: all traffic goes to ${ctx.spec.backends.canary.name}; roll ${ctx.spec.backends.stable.name} to this version before the next canary revision, which starts again from stable 100%`;
  emit(ctx, 'Normal', EVENT.Succeeded, s.message);
}

/** The rollout cannot go on (onFailure decides what the traffic does). */
function fail(s: State, ctx: Context, reason: FailureReason, why: string): void {
  const at = where(s, ctx);
  s.reason = reason;
  if (ctx.spec.onFailure === 'Freeze') {
    s.phase = 'Frozen';
    s.message = `frozen at ${at} with canary ${s.weights.canary}%: ${why}; waiting for an action (Promote, PromoteFull, Abort or Retry)`;
    emit(ctx, 'Warning', EVENT.Frozen, s.message);
  } else {
    s.phase = 'RolledBack';
    s.weights = { ...ALL_STABLE };
    s.message = `rolled back at ${at}: ${why}; all traffic back to stable (Retry or a new canary revision starts again)`;
    emit(ctx, 'Warning', EVENT.RolledBack, s.message);
  }
}

/**
 * Nothing moves while the canary revision is unknown or a backend is not ready. After
 * `progressDeadlineSeconds` of this (time paused does not count) the rollout fails.
 */
function blocked(s: State, ctx: Context): Outcome {
  const prevReady = findCondition(ctx.previous, CONDITION.Ready);
  const alreadyBlocked =
    prevReady?.status === 'False' &&
    (prevReady.reason === REASON.BackendsNotReady || prevReady.reason === REASON.CanaryRevisionUnknown);
  const readyFalseSince = alreadyBlocked ? Date.parse(prevReady.lastTransitionTime) : ctx.now;
  const paused = findCondition(ctx.previous, CONDITION.Paused);
  const unpausedSince =
    paused === undefined
      ? -Infinity
      : paused.status === 'True'
        ? ctx.now
        : Date.parse(paused.lastTransitionTime);
  const since = Math.max(
    Number.isFinite(readyFalseSince) ? readyFalseSince : ctx.now,
    s.stepStartedAt,
    unpausedSince,
  );
  const deadlineMs = ctx.spec.progressDeadlineSeconds * 1000;
  const deadline = since + deadlineMs;
  const why = blockReason(ctx);
  if (ctx.now >= deadline) {
    emit(
      ctx,
      'Warning',
      EVENT.ProgressDeadlineExceeded,
      `no progress for ${formatDuration(deadlineMs)}: ${why}`,
    );
    fail(
      s,
      ctx,
      REASON.ProgressDeadlineExceeded,
      `progress deadline exceeded (${why} for ${formatDuration(deadlineMs)})`,
    );
    return {};
  }
  if (!alreadyBlocked) emit(ctx, 'Normal', EVENT.WaitingForBackends, `${where(s, ctx)}: ${why}`);
  return { requeueAfterMs: Math.min(deadline - ctx.now, Math.max(ctx.intervalMs, 1000)) };
}

const blockReason = (ctx: Context): string =>
  ctx.input.canaryRevision === undefined
    ? `the revision of canary ${ctx.spec.backends.canary.name} cannot be resolved (no pods yet?)`
    : `waiting for backends ${ctx.spec.backends.stable.name} and ${ctx.spec.backends.canary.name} to be ready`;

// ------------------------------------------------------------------------------ analysis

/** Counts one check's results; returns its verdict. Failed wins over Inconclusive; only all-Passed passes. */
function applyCheck(s: State, ctx: Context, results: CheckResult[]): CheckOutcome {
  const time = new Date(ctx.now).toISOString();
  const metrics = ctx.spec.analysis?.metrics ?? [];
  const checked = metrics.map((m): CheckResult => {
    const r = results.find((x) => x.name === m.name);
    if (!r) return { name: m.name, result: 'Inconclusive', message: 'no result for this metric', time };
    return sanitize(r);
  });
  s.analysis = checked;
  const summary = checked.map(describeResult).join(', ');
  const at = where(s, ctx);
  const verdict: CheckOutcome = checked.some((r) => r.result === 'Failed')
    ? 'Failed'
    : checked.every((r) => r.result === 'Passed')
      ? 'Passed'
      : 'Inconclusive';
  if (verdict === 'Passed') {
    s.consecutiveErrors = 0;
    emit(ctx, 'Normal', EVENT.AnalysisPassed, `${at}: ${summary}`);
    ctx.passedSummary = summary;
  } else if (verdict === 'Failed') {
    s.failedChecks += 1;
    s.consecutiveErrors = 0;
    const threshold = failureThreshold(ctx);
    emit(
      ctx,
      'Warning',
      EVENT.AnalysisFailed,
      `${at}: ${summary} (failed checks ${s.failedChecks}/${threshold})`,
    );
    if (s.failedChecks >= threshold)
      fail(s, ctx, REASON.AnalysisFailed, `${s.failedChecks} failed checks (${summary})`);
    else s.stepStartedAt = ctx.now;
  } else {
    s.consecutiveErrors += 1;
    const limit = consecutiveErrorLimit(ctx);
    emit(
      ctx,
      'Warning',
      EVENT.AnalysisInconclusive,
      `${at}: ${summary} (inconclusive checks in a row ${s.consecutiveErrors}/${limit})`,
    );
    if (s.consecutiveErrors >= limit) {
      s.phase = 'Paused';
      s.reason = REASON.AnalysisInconclusive;
      emit(
        ctx,
        'Warning',
        EVENT.Paused,
        `${at}: ${s.consecutiveErrors} inconclusive checks in a row; never promoted on missing data: action Promote goes on, Retry checks again`,
      );
    } else {
      s.stepStartedAt = ctx.now;
    }
  }
  return verdict;
}

const MAX_RESULT_MESSAGE = 1024;

function sanitize(r: CheckResult): CheckResult {
  const out: CheckResult = { name: r.name, result: r.result, time: r.time };
  if (r.value !== undefined && Number.isFinite(r.value)) out.value = r.value;
  if (r.message !== undefined) {
    out.message =
      r.message.length > MAX_RESULT_MESSAGE ? `${r.message.slice(0, MAX_RESULT_MESSAGE - 1)}…` : r.message;
  }
  return out;
}

const describeResult = (r: CheckResult): string =>
  `${r.name}=${r.value !== undefined ? formatValue(r.value) : 'n/a'} ${r.result}${r.result === 'Passed' || !r.message ? '' : ` (${r.message})`}`;

// ------------------------------------------------------------------------------ output

/** `step 2/6 (setWeight 20)`, `initialization`, `promotion`. */
function where(s: State, ctx: Context): string {
  if (s.stepIndex === undefined) return 'initialization';
  const step = ctx.plan[s.stepIndex];
  if (!step) return 'promotion';
  return `step ${s.stepIndex + 1}/${ctx.plan.length} (${describeStep(step)})`;
}

function liveMessage(s: State, ctx: Context): string {
  const waiting = ctx.ready ? '' : `; ${blockReason(ctx)}`;
  const counts = [
    s.failedChecks > 0 ? `failed checks ${s.failedChecks}/${failureThreshold(ctx)}` : '',
    s.consecutiveErrors > 0
      ? `inconclusive checks in a row ${s.consecutiveErrors}/${consecutiveErrorLimit(ctx)}`
      : '',
  ]
    .filter(Boolean)
    .map((c) => `; ${c}`)
    .join('');
  switch (s.phase) {
    case 'Initializing':
      return `${rolloutStartedMessage(s)}${waiting}`;
    case 'Progressing':
      return `${where(s, ctx)}: canary ${s.weights.canary}%${counts}${waiting}`;
    case 'Promoting':
      return `promoting canary revision ${s.canaryRevision ?? '(unknown)'}: all traffic to ${ctx.spec.backends.canary.name}${waiting}`;
    case 'Paused':
      if (s.reason === REASON.PausedBySpec)
        return `held by spec.paused at ${where(s, ctx)}: canary ${s.weights.canary}%`;
      if (s.reason === REASON.AwaitingPromotion) {
        return `${where(s, ctx)}: canary ${s.weights.canary}%; waiting for action Promote`;
      }
      return `paused at ${where(s, ctx)} with canary ${s.weights.canary}%: ${s.consecutiveErrors} inconclusive checks in a row (${s.analysis.map(describeResult).join(', ')}); action Promote goes on, Retry checks again`;
    default:
      return s.message;
  }
}

function finish(s: State, ctx: Context, outcome: Outcome, invalidMessage?: string): Decision {
  assertWeights(s.weights);
  const message =
    invalidMessage !== undefined && HOLDABLE.includes(s.phase)
      ? `invalid spec: ${invalidMessage}`
      : liveMessage(s, ctx);
  const conditions = setConditions(
    ctx.previous,
    conditionsFor(s, ctx, message, invalidMessage),
    new Date(ctx.now),
  );
  const status: TrafficSplitStatus = {
    observedGeneration: ctx.input.generation,
    conditions,
    phase: s.phase,
    ...(s.stepIndex !== undefined ? { currentStepIndex: s.stepIndex } : {}),
    stepCount: s.stepCount,
    stepStartedAt: new Date(s.stepStartedAt).toISOString(),
    weights: { stable: s.weights.stable, canary: s.weights.canary },
    ...(s.canaryRevision !== undefined ? { canaryRevision: s.canaryRevision } : {}),
    failedChecks: s.failedChecks,
    consecutiveErrors: s.consecutiveErrors,
    ...(s.analysis.length > 0 ? { analysis: s.analysis } : {}),
    ...(s.lastHandledActionID !== undefined ? { lastHandledActionID: s.lastHandledActionID } : {}),
    message,
  };
  const decision: Decision = { status, events: ctx.events };
  if (outcome.requeueAfterMs !== undefined) decision.requeueAfterMs = outcome.requeueAfterMs;
  if (outcome.runAnalysis) decision.runAnalysis = true;
  return decision;
}

function conditionsFor(
  s: State,
  ctx: Context,
  message: string,
  invalidMessage: string | undefined,
): ConditionInput[] {
  const observedGeneration = ctx.input.generation;
  const c = (
    type: string,
    status: ConditionInput['status'],
    reason: string,
    msg: string,
  ): ConditionInput => ({
    type,
    status,
    reason,
    message: msg,
    observedGeneration,
  });
  const ready =
    invalidMessage !== undefined
      ? c(CONDITION.Ready, 'False', REASON.InvalidSpec, invalidMessage)
      : ctx.input.canaryRevision === undefined
        ? c(CONDITION.Ready, 'False', REASON.CanaryRevisionUnknown, blockReason(ctx))
        : !ctx.input.backendsReady
          ? c(CONDITION.Ready, 'False', REASON.BackendsNotReady, blockReason(ctx))
          : c(CONDITION.Ready, 'True', REASON.BackendsReady, 'the spec is valid and both backends are ready');

  const moving = !ctx.ready ? REASON.WaitingForBackends : undefined;
  let progressing: ConditionInput;
  if (invalidMessage !== undefined)
    progressing = c(CONDITION.Progressing, 'False', REASON.InvalidSpec, invalidMessage);
  else {
    switch (s.phase) {
      case 'Initializing':
        progressing = c(CONDITION.Progressing, 'True', moving ?? REASON.RolloutStarted, message);
        break;
      case 'Progressing':
        progressing = c(CONDITION.Progressing, 'True', moving ?? REASON.StepAdvanced, message);
        break;
      case 'Promoting':
        progressing = c(CONDITION.Progressing, 'True', moving ?? REASON.Promoting, message);
        break;
      case 'Succeeded':
        progressing = c(CONDITION.Progressing, 'False', REASON.RolloutCompleted, message);
        break;
      default:
        progressing = c(CONDITION.Progressing, 'False', s.reason, message);
    }
  }

  const promoted =
    s.phase === 'Succeeded'
      ? c(
          CONDITION.Promoted,
          'True',
          REASON.Succeeded,
          `canary revision ${s.canaryRevision ?? '(unknown)'} promoted`,
        )
      : c(
          CONDITION.Promoted,
          'False',
          s.phase === 'RolledBack'
            ? REASON.RolledBack
            : s.phase === 'Frozen'
              ? REASON.Frozen
              : s.phase === 'Aborted'
                ? REASON.Aborted
                : REASON.RolloutInProgress,
          s.canaryRevision === undefined
            ? 'the canary revision is not known yet'
            : `canary revision ${s.canaryRevision} is not promoted (phase ${s.phase})`,
        );

  const rolledBack =
    s.phase === 'RolledBack' || s.phase === 'Aborted'
      ? c(CONDITION.RolledBack, 'True', s.reason, message)
      : c(CONDITION.RolledBack, 'False', REASON.NotRolledBack, 'traffic has not been sent back to stable');

  const paused =
    s.phase === 'Paused'
      ? c(CONDITION.Paused, 'True', s.reason, message)
      : c(CONDITION.Paused, 'False', REASON.NotPaused, 'the rollout is not paused');

  return [ready, progressing, promoted, rolledBack, paused];
}

const emit = (ctx: Context, type: MachineEvent['type'], reason: string, message: string): void => {
  ctx.events.push({ type, reason, message });
};
