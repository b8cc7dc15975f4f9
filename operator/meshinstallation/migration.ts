/**
 * Workload migration after an upgrade: which workloads with an outdated proxy to restart now. Pure:
 * the reconciler observes the workloads and applies the plan.
 *
 * The cluster is the state. A restart is a merge patch of the pod template's annotations
 * (`restartPatch`): `meshwright.io/restartedAt` (what restarts the pods, as `kubectl rollout
 * restart` does with its own annotation) and `meshwright.io/restartedForVersion`. Reading them back
 * tells which workloads were restarted for the target version, and when; the latest `restartedAt`
 * is the current batch. So nothing is lost when the operator restarts or its leader changes, and a
 * workload is restarted at most once per version (no restart loop when injection keeps failing).
 *
 * `Automatic`:
 *   1. wait until the control plane runs the target version (else the injector would inject the
 *      old proxy again);
 *   2. a restarted workload that is not available and up to date within the deadline stops the
 *      migration (`Stop`): nothing more is restarted until it recovers or is removed, then the
 *      migration resumes by itself;
 *   3. wait while the current batch rolls out, then for `batchInterval` after the batch started;
 *   4. restart the next `batchSize` outdated workloads, in (namespace, kind, name) order.
 * `Manual`: nothing is restarted; the outdated workloads are only reported.
 *
 * Workloads whose update strategy is `OnDelete` (StatefulSets, DaemonSets) are never restarted:
 * changing their template restarts nothing. They are reported as `skipped`.
 */
import { formatDuration, parseDuration } from '../api/duration.js';
import { ANNOTATIONS } from './names.js';
import type { NamedMeshInstallation } from './names.js';

export type WorkloadKind = 'Deployment' | 'StatefulSet' | 'DaemonSet';

export interface WorkloadRef {
  kind: WorkloadKind;
  namespace: string;
  name: string;
}

export interface MigrationWorkload extends WorkloadRef {
  /** Its pods whose proxy runs a version other than the target (by `meshwright.io/proxy-version`). */
  outdatedPods: number;
  /** Its rollout is complete: the controller saw the latest spec, every replica is updated and available. */
  available: boolean;
  /** The pod template's `meshwright.io/restartedAt`, if set. */
  restartedAt?: string;
  /** The pod template's `meshwright.io/restartedForVersion`, if set. */
  restartedForVersion?: string;
  /** `updateStrategy.type: OnDelete`. */
  onDelete?: boolean;
}

export interface MigrationInput {
  mode: 'Manual' | 'Automatic';
  targetVersion: string;
  /** The control plane is available and every replica runs `targetVersion`. */
  controlPlaneReady: boolean;
  /** Meshed workloads in member namespaces: at least the outdated ones and those restarted for the target version. */
  workloads: readonly MigrationWorkload[];
  batchSize: number;
  batchIntervalMs: number;
  /** How long a restarted workload may take to be available and up to date (default 10 min, a Deployment's progress deadline). */
  deadlineMs?: number;
  now: Date;
}

interface PlanCommon {
  /** Outdated workloads still to restart, in restart order. */
  pending: WorkloadRef[];
  /** Outdated workloads that are never restarted (`OnDelete`). */
  skipped: WorkloadRef[];
  message: string;
}

export type MigrationPlan =
  | (PlanCommon & { action: 'None'; reason: 'Manual' | 'Complete' })
  | (PlanCommon & {
      action: 'Wait';
      reason: 'ControlPlaneNotReady' | 'BatchInProgress' | 'BatchInterval';
      requeueAfterMs: number;
    })
  | (PlanCommon & { action: 'Restart'; restart: WorkloadRef[]; patch: RestartPatch; requeueAfterMs: number })
  | (PlanCommon & { action: 'Stop'; failed: WorkloadRef[] });

export interface RestartPatch {
  spec: { template: { metadata: { annotations: Record<string, string> } } };
}

export const DEFAULT_MIGRATION_DEADLINE_MS = 10 * 60_000;

/** The merge patch that restarts a workload for `version` at `now`. */
export function restartPatch(now: Date, version: string): RestartPatch {
  return {
    spec: {
      template: {
        metadata: {
          annotations: {
            [ANNOTATIONS.restartedAt]: now.toISOString(),
            [ANNOTATIONS.restartedForVersion]: version,
          },
        },
      },
    },
  };
}

/** The migration settings of `mi`'s spec, for `planMigration`. */
export function migrationSettings(
  mi: NamedMeshInstallation,
): Pick<MigrationInput, 'mode' | 'targetVersion' | 'batchSize' | 'batchIntervalMs'> {
  const s = mi.spec.updateStrategy;
  return {
    mode: s.workloadMigration,
    targetVersion: mi.spec.version,
    batchSize: s.batchSize,
    batchIntervalMs: parseDuration(s.batchInterval),
  };
}

const ref = ({ kind, namespace, name }: WorkloadRef): WorkloadRef => ({ kind, namespace, name });
const show = (w: WorkloadRef): string => `${w.kind} ${w.namespace}/${w.name}`;
const order = (a: WorkloadRef, b: WorkloadRef): number =>
  a.namespace.localeCompare(b.namespace) || a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name);

const restartedTime = (w: MigrationWorkload, target: string): number | undefined => {
  if (w.restartedForVersion !== target || w.restartedAt === undefined) return undefined;
  const t = Date.parse(w.restartedAt);
  return Number.isNaN(t) ? undefined : t;
};

const done = (w: MigrationWorkload): boolean => w.available && w.outdatedPods === 0;

export function planMigration(input: MigrationInput): MigrationPlan {
  const { targetVersion: target, batchIntervalMs } = input;
  const now = input.now.getTime();
  const deadline = input.deadlineMs ?? DEFAULT_MIGRATION_DEADLINE_MS;
  const outdated = input.workloads.filter((w) => w.outdatedPods > 0);
  const skipped = outdated
    .filter((w) => w.onDelete)
    .map(ref)
    .sort(order);

  const restarted = input.workloads
    .map((w) => ({ w, at: restartedTime(w, target) }))
    .filter((r): r is { w: MigrationWorkload; at: number } => r.at !== undefined);
  const pending = outdated
    .filter((w) => !w.onDelete && restartedTime(w, target) === undefined)
    .map(ref)
    .sort(order);
  const common = { pending, skipped };
  const skippedNote = skipped.length
    ? `; ${skipped.length} with updateStrategy OnDelete must be restarted by hand (${skipped.map(show).join(', ')})`
    : '';

  if (input.mode === 'Manual') {
    return {
      action: 'None',
      reason: 'Manual',
      ...common,
      message:
        outdated.length === 0
          ? 'no outdated workloads'
          : `${outdated.length} workload(s) run an outdated proxy; restart them to update it (workloadMigration: Manual)`,
    };
  }

  const unfinished = restarted.filter((r) => !done(r.w));
  const failed = unfinished.filter((r) => now - r.at >= deadline).map((r) => ref(r.w));
  if (failed.length > 0) {
    failed.sort(order);
    return {
      action: 'Stop',
      ...common,
      failed,
      message:
        `migration stopped: ${failed.map(show).join(', ')} restarted for ${target} but not available and up to date ` +
        `within ${formatDuration(deadline)}; it resumes once they recover or are removed (${pending.length} workload(s) left)`,
    };
  }

  if (pending.length === 0 && unfinished.length === 0) {
    return {
      action: 'None',
      reason: 'Complete',
      ...common,
      message: `every restartable workload runs the ${target} proxy${skippedNote}`,
    };
  }

  if (!input.controlPlaneReady) {
    return {
      action: 'Wait',
      reason: 'ControlPlaneNotReady',
      ...common,
      requeueAfterMs: batchIntervalMs,
      message: `waiting for the control plane to run ${target} before restarting ${pending.length} workload(s)`,
    };
  }

  if (unfinished.length > 0) {
    const firstDeadline = Math.min(...unfinished.map((r) => r.at + deadline));
    return {
      action: 'Wait',
      reason: 'BatchInProgress',
      ...common,
      requeueAfterMs: Math.max(1, Math.min(batchIntervalMs, firstDeadline - now)),
      message: `waiting for ${unfinished.map((r) => show(r.w)).join(', ')} to roll out (${pending.length} workload(s) left)`,
    };
  }

  const lastBatchAt = restarted.length ? Math.max(...restarted.map((r) => r.at)) : undefined;
  if (lastBatchAt !== undefined && now < lastBatchAt + batchIntervalMs) {
    return {
      action: 'Wait',
      reason: 'BatchInterval',
      ...common,
      requeueAfterMs: lastBatchAt + batchIntervalMs - now,
      message: `next batch after the batch interval (${pending.length} workload(s) left)`,
    };
  }

  const restart = pending.slice(0, input.batchSize);
  return {
    action: 'Restart',
    ...common,
    pending: pending.slice(restart.length),
    restart,
    patch: restartPatch(input.now, target),
    requeueAfterMs: batchIntervalMs,
    message: `restarting ${restart.map(show).join(', ')} for the ${target} proxy (${pending.length - restart.length} workload(s) left)${skippedNote}`,
  };
}
