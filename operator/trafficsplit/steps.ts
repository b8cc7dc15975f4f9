/**
 * The rollout plan: `spec.strategy` expanded into the flat list of steps the state machine walks
 * (`status.currentStepIndex` indexes it, `status.stepCount` is its length). Pure.
 *
 * What each step does with time (see docs/trafficsplit.md, "Steps"):
 *
 * - `SetWeight w`: the canary gets `w`% at the start of the step; the step then lasts one `interval`,
 *   at the end of which one analysis check runs (when `spec.analysis.metrics` are set). The step is
 *   done when that check Passed (or at once at the end of the interval when there are no metrics).
 * - `Analysis i/n`: `analysis {iterations: n}` becomes n steps, one per iteration, each one `interval`
 *   long at the weight already in force, each ending with one check that must Pass. Expanding the
 *   iterations makes "how many have passed" part of `currentStepIndex`, so a restart neither repeats
 *   nor skips one.
 * - `Pause d`: holds the weight for `d`; no check runs and none is counted. `Pause` without a
 *   duration holds until a `Promote` action (phase Paused, reason AwaitingPromotion).
 *
 * A check that does not Pass keeps the rollout on its step and restarts the step's interval: the next
 * check runs one `interval` later. The shorthand `stepWeight`/`maxWeight` (as Flagger has it) becomes
 * `SetWeight stepWeight, 2×stepWeight, …` up to `maxWeight` (100 when absent), the last step being
 * exactly `maxWeight`. After the last step the rollout is promoted (all traffic to the canary).
 */
import type { TrafficSplitSpec } from '../api/trafficsplit.js';
import { formatDuration, parseDuration } from '../api/duration.js';

interface StepBase {
  /** The canary weight (%) in force during the step. */
  weight: number;
  /** Index of the step in `spec.strategy.steps` it comes from (the shorthand's `SetWeight` index). */
  source: number;
}

export type PlannedStep =
  | (StepBase & { kind: 'SetWeight' })
  | (StepBase & { kind: 'Analysis'; iteration: number; iterations: number })
  | (StepBase & { kind: 'Pause'; durationMs: number | undefined });

export type Strategy = TrafficSplitSpec['strategy'];

/** The default `maxWeight` of the shorthand. */
export const DEFAULT_MAX_WEIGHT = 100;

/** The canary weight before the first `SetWeight`. */
export const INITIAL_CANARY_WEIGHT = 0;

/** `spec.strategy` as the flat list of steps the rollout walks. Throws on an unparsable duration. */
export function expandSteps(strategy: Strategy): PlannedStep[] {
  if (strategy.steps) {
    const plan: PlannedStep[] = [];
    let weight = INITIAL_CANARY_WEIGHT;
    strategy.steps.forEach((step, source) => {
      if (step.setWeight !== undefined) {
        weight = step.setWeight;
        plan.push({ kind: 'SetWeight', weight, source });
      } else if (step.pause !== undefined) {
        const durationMs = step.pause.duration === undefined ? undefined : parseDuration(step.pause.duration);
        plan.push({ kind: 'Pause', weight, durationMs, source });
      } else if (step.analysis !== undefined) {
        const iterations = step.analysis.iterations;
        for (let iteration = 1; iteration <= iterations; iteration++) {
          plan.push({ kind: 'Analysis', weight, iteration, iterations, source });
        }
      } else {
        throw new Error(`strategy.steps[${source}] has none of setWeight, pause or analysis`);
      }
    });
    return plan;
  }
  if (strategy.stepWeight !== undefined) {
    return shorthandWeights(strategy.stepWeight, strategy.maxWeight ?? DEFAULT_MAX_WEIGHT).map(
      (weight, source) => ({ kind: 'SetWeight', weight, source }),
    );
  }
  throw new Error('strategy has neither steps nor stepWeight');
}

/** `stepWeight, 2×stepWeight, …` below `maxWeight`, then `maxWeight` itself. */
export function shorthandWeights(stepWeight: number, maxWeight: number): number[] {
  if (stepWeight <= 0) throw new Error(`stepWeight must be positive (got ${stepWeight})`);
  const weights: number[] = [];
  for (let w = stepWeight; w < maxWeight; w += stepWeight) weights.push(w);
  weights.push(maxWeight);
  return weights;
}

/** True for a step that ends with an analysis check (when metrics are set). */
export const isCheckStep = (step: PlannedStep): boolean =>
  step.kind === 'SetWeight' || step.kind === 'Analysis';

/** True for `pause: {}`: a hold that only a `Promote` action ends. */
export const isIndefinitePause = (step: PlannedStep): boolean =>
  step.kind === 'Pause' && step.durationMs === undefined;

/** How a step reads in messages and Events: `setWeight 20`, `analysis 2/3`, `pause 5m0s`, `pause (until Promote)`. */
export function describeStep(step: PlannedStep): string {
  switch (step.kind) {
    case 'SetWeight':
      return `setWeight ${step.weight}`;
    case 'Analysis':
      return `analysis ${step.iteration}/${step.iterations}`;
    case 'Pause':
      return step.durationMs === undefined
        ? 'pause (until Promote)'
        : `pause ${formatDuration(step.durationMs)}`;
  }
}
