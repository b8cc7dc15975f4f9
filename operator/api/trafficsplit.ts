import { z } from 'zod';
import {
  conditions,
  dnsLabel,
  duration,
  listAtomic,
  listMap,
  observedGeneration,
  withRules,
} from './common.js';
import { parseDuration } from './duration.js';
import { defineKind } from './kind.js';

const serviceRef = (what: string) =>
  z.object({ name: dnsLabel('Name of the Service in the TrafficSplit namespace') }).describe(what);

const step = withRules(
  z
    .object({
      setWeight: z
        .int()
        .min(0)
        .max(100)
        .optional()
        .describe(
          'Send this percentage of traffic to the canary, then wait one `interval` (analysing if metrics are set).',
        ),
      pause: z
        .object({
          duration: duration(
            'How long to hold the current weight; until a `Promote` action when absent',
          ).optional(),
        })
        .optional()
        .describe('Hold the current weight for a while, or until promoted.'),
      analysis: z
        .object({
          iterations: z
            .int()
            .min(1)
            .max(100)
            .default(1)
            .describe('Analysis runs, one per `interval`, that must pass before the next step.'),
        })
        .optional()
        .describe('Run the analysis metrics at the current weight before going on.'),
    })
    .describe('One step of a rollout: exactly one of setWeight, pause or analysis.'),
  [
    {
      rule: '[has(self.setWeight), has(self.pause), has(self.analysis)].filter(x, x).size() == 1',
      message: 'a step must have exactly one of setWeight, pause or analysis',
      holds: (s) => [s.setWeight, s.pause, s.analysis].filter((x) => x !== undefined).length === 1,
    },
  ],
);

const MIN_INTERVAL_MS = 10_000;

const strategy = withRules(
  z
    .object({
      steps: listAtomic(
        z.array(step).min(1).max(100).describe('The rollout, step by step (as Argo Rollouts has it).'),
      ).optional(),
      stepWeight: z
        .int()
        .min(1)
        .max(100)
        .optional()
        .describe('Shorthand (as Flagger has it): raise the canary weight by this much each `interval`.'),
      maxWeight: z
        .int()
        .min(1)
        .max(100)
        .optional()
        .describe('With `stepWeight`: the canary weight at which the canary is promoted (100 when absent).'),
      interval: duration('Time between steps and between analysis runs; at least 10s').default('1m'),
    })
    .describe('How traffic moves to the canary: explicit `steps`, or `stepWeight` up to `maxWeight`.'),
  [
    {
      rule: 'has(self.steps) != has(self.stepWeight)',
      message: 'exactly one of steps or stepWeight must be set',
      holds: (s) => (s.steps === undefined) !== (s.stepWeight === undefined),
    },
    {
      rule: '!has(self.maxWeight) || has(self.stepWeight)',
      message: 'maxWeight is only used with stepWeight',
      fieldPath: '.maxWeight',
      holds: (s) => s.maxWeight === undefined || s.stepWeight !== undefined,
    },
    {
      rule: '!has(self.stepWeight) || !has(self.maxWeight) || self.stepWeight <= self.maxWeight',
      message: 'stepWeight must not be greater than maxWeight',
      fieldPath: '.stepWeight',
      holds: (s) => s.stepWeight === undefined || s.maxWeight === undefined || s.stepWeight <= s.maxWeight,
    },
    {
      rule: "duration(self.interval) >= duration('10s')",
      message: 'interval must be at least 10s',
      fieldPath: '.interval',
      holds: (s) => parseDuration(s.interval) >= MIN_INTERVAL_MS,
    },
  ],
);

const thresholdRange = withRules(
  z
    .object({
      min: z.number().optional().describe('Lowest passing value (inclusive).'),
      max: z.number().optional().describe('Highest passing value (inclusive).'),
    })
    .describe('The range a metric value must fall in to pass.'),
  [
    {
      rule: 'has(self.min) || has(self.max)',
      message: 'thresholdRange must set min, max or both',
      holds: (r) => r.min !== undefined || r.max !== undefined,
    },
    {
      rule: '!has(self.min) || !has(self.max) || self.min <= self.max',
      message: 'min must not be greater than max',
      fieldPath: '.min',
      holds: (r) => r.min === undefined || r.max === undefined || r.min <= r.max,
    },
  ],
);

export const BUILTIN_METRICS = ['RequestSuccessRate', 'RequestDuration'] as const;

const metric = withRules(
  z
    .object({
      name: dnsLabel('Name of the metric, unique in the analysis; shown in status and Events'),
      type: z
        .enum([...BUILTIN_METRICS, 'Custom'])
        .describe(
          '`RequestSuccessRate` (percentage of non-5xx responses of the canary), `RequestDuration` (p99 latency of the canary in milliseconds), or `Custom` with a `query`.',
        ),
      query: z
        .string()
        .min(1)
        .max(4096)
        .optional()
        .describe(
          'PromQL returning one number. Required for `Custom`; replaces the built-in query otherwise. Template variables: `{{ namespace }}`, `{{ target }}`, `{{ canary }}`, `{{ stable }}`, `{{ interval }}`.',
        ),
      thresholdRange,
      interval: duration('Window the query looks back over (`{{ interval }}`)').default('1m'),
    })
    .describe('A metric checked at each analysis run.'),
  [
    {
      rule: "self.type != 'Custom' || has(self.query)",
      message: 'query is required when type is Custom',
      fieldPath: '.query',
      holds: (m) => m.type !== 'Custom' || m.query !== undefined,
    },
  ],
);

const analysis = withRules(
  z
    .object({
      prometheus: z
        .object({
          address: z
            .string()
            .max(2048)
            .regex(/^https?:\/\/[^\s/]+(\/\S*)?$/)
            .describe(
              'Base URL of the Prometheus HTTP API, for example `http://prometheus.monitoring:9090`.',
            ),
        })
        .optional()
        .describe('Where the metrics are queried.'),
      metrics: listMap(z.array(metric).max(20).describe('Metrics that must all pass.'), ['name']).optional(),
      failureThreshold: z
        .int()
        .min(1)
        .max(100)
        .default(3)
        .describe('Failed checks that end the rollout (see `onFailure`).'),
      consecutiveErrorLimit: z
        .int()
        .min(1)
        .max(100)
        .default(4)
        .describe(
          'Inconclusive checks in a row (Prometheus unreachable, query error, no data) that pause the rollout. An inconclusive check never promotes.',
        ),
    })
    .describe('Metric analysis of the canary against Prometheus.'),
  [
    {
      rule: '!has(self.metrics) || size(self.metrics) == 0 || has(self.prometheus)',
      message: 'prometheus.address is required when metrics are set',
      fieldPath: '.prometheus',
      holds: (a) => (a.metrics?.length ?? 0) === 0 || a.prometheus !== undefined,
    },
  ],
);

export const ACTION_TYPES = ['Promote', 'PromoteFull', 'Abort', 'Retry'] as const;

const action = z
  .object({
    type: z
      .enum(ACTION_TYPES)
      .describe(
        '`Promote` ends a pause or an analysis wait, `PromoteFull` skips to 100%, `Abort` sends all traffic back to stable, `Retry` restarts an aborted or failed rollout.',
      ),
    requestID: z
      .string()
      .min(1)
      .max(253)
      .describe(
        'Any new value makes the action happen once; re-applying the same value does nothing (GitOps-safe).',
      ),
  })
  .describe('A one-off action on the rollout, taken once per requestID.');

const backends = withRules(
  z
    .object({
      stable: serviceRef('The Service of the current version.'),
      canary: serviceRef('The Service of the new version.'),
    })
    .describe('The two Services traffic is split between.'),
  [
    {
      rule: 'self.stable.name != self.canary.name',
      message: 'stable and canary must be different Services',
      fieldPath: '.canary',
      holds: (b) => b.stable.name !== b.canary.name,
    },
  ],
);

export const trafficSplitSpec = withRules(
  z
    .object({
      targetRef: serviceRef('The apex Service clients call.'),
      backends,
      strategy,
      analysis: analysis.optional(),
      paused: z
        .boolean()
        .default(false)
        .describe('Hold the rollout where it is; no step is taken and no check counted.'),
      onFailure: z
        .enum(['Rollback', 'Freeze'])
        .default('Rollback')
        .describe(
          'When checks fail: `Rollback` sends all traffic back to stable; `Freeze` keeps the current weights and waits for an action.',
        ),
      progressDeadlineSeconds: z
        .int()
        .min(30)
        .max(86400)
        .default(600)
        .describe(
          'A step that makes no progress for this long (waiting for backends, say) fails the rollout. Pauses do not count.',
        ),
      action: action.optional(),
    })
    .describe('A progressive rollout of the canary behind an apex Service.'),
  [
    {
      rule: 'self.targetRef.name != self.backends.stable.name && self.targetRef.name != self.backends.canary.name',
      message: 'the apex Service cannot also be a backend',
      fieldPath: '.targetRef',
      holds: (s) =>
        s.targetRef.name !== s.backends.stable.name && s.targetRef.name !== s.backends.canary.name,
    },
  ],
);

export const PHASES = [
  'Initializing',
  'Progressing',
  'Paused',
  'Promoting',
  'Succeeded',
  'RolledBack',
  'Frozen',
  'Aborted',
] as const;

const weights = withRules(
  z
    .object({
      stable: z.int().min(0).max(100).describe('Percentage of traffic to the stable backend.'),
      canary: z.int().min(0).max(100).describe('Percentage of traffic to the canary backend.'),
    })
    .describe('The traffic split in force; the two always add up to 100.'),
  [
    {
      rule: 'self.stable + self.canary == 100',
      message: 'weights must add up to 100',
      holds: (w) => w.stable + w.canary === 100,
    },
  ],
);

const metricResult = z
  .object({
    name: z.string().describe('The metric.'),
    value: z.number().optional().describe('The last value; absent when the check was inconclusive.'),
    result: z.enum(['Passed', 'Failed', 'Inconclusive']).describe('Outcome of the last check.'),
    message: z.string().max(1024).optional().describe('Why the check failed or was inconclusive.'),
    time: z.iso.datetime().describe('When the check ran.'),
  })
  .describe('The last check of one metric.');

export const trafficSplitStatus = z
  .object({
    observedGeneration,
    conditions,
    phase: z.enum(PHASES).optional().describe('Where the rollout stands.'),
    currentStepIndex: z.int().min(0).optional().describe('Index of the current step in the expanded steps.'),
    stepCount: z.int().min(0).optional().describe('Number of steps in the expanded strategy.'),
    stepStartedAt: z.iso
      .datetime()
      .optional()
      .describe('When the current step started; timers resume from it after a restart.'),
    weights: weights.optional(),
    canaryRevision: z
      .string()
      .optional()
      .describe('Pod-template hash of the canary backend this rollout is for.'),
    failedChecks: z.int().min(0).optional().describe('Failed checks in this rollout.'),
    consecutiveErrors: z.int().min(0).optional().describe('Inconclusive checks in a row.'),
    analysis: listMap(z.array(metricResult).max(20).describe('The last check of each metric.'), [
      'name',
    ]).optional(),
    lastHandledActionID: z.string().optional().describe('The requestID of the last action taken.'),
    message: z.string().max(32768).optional().describe('A human-readable summary of the current phase.'),
  })
  .describe('Progress of the rollout.');

export const TrafficSplit = defineKind({
  kind: 'TrafficSplit',
  plural: 'trafficsplits',
  singular: 'trafficsplit',
  shortNames: ['tsplit'],
  scope: 'Namespaced',
  description:
    'A TrafficSplit moves traffic from a stable to a canary Service step by step, checks the canary against Prometheus metrics, and promotes or rolls back.',
  printerColumns: [
    { name: 'Phase', type: 'string', jsonPath: '.status.phase', description: 'Where the rollout stands.' },
    {
      name: 'Weight',
      type: 'integer',
      jsonPath: '.status.weights.canary',
      description: 'Canary weight (%).',
    },
    { name: 'Step', type: 'integer', jsonPath: '.status.currentStepIndex', description: 'Current step.' },
    {
      name: 'Failed',
      type: 'integer',
      jsonPath: '.status.failedChecks',
      description: 'Failed checks.',
      priority: 1,
    },
    {
      name: 'Age',
      type: 'date',
      jsonPath: '.metadata.creationTimestamp',
      description: 'Time since creation.',
    },
  ],
  spec: trafficSplitSpec,
  status: trafficSplitStatus,
});

export type TrafficSplitSpec = z.output<typeof trafficSplitSpec>;
export type TrafficSplitStatus = z.output<typeof trafficSplitStatus>;
export type TrafficSplitResource = z.output<typeof TrafficSplit.resource>;
export type Phase = (typeof PHASES)[number];
