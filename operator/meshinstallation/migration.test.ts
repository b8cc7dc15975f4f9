import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { meshInstallation, workload } from './fixtures.test.js';
import {
  migrationSettings,
  planMigration,
  restartPatch,
  type MigrationInput,
  type MigrationPlan,
  type MigrationWorkload,
} from './migration.js';

const NOW = new Date('2025-03-01T12:00:00.000Z');
const ago = (ms: number) => new Date(NOW.getTime() - ms).toISOString();
const MIN = 60_000;

const input = (workloads: MigrationWorkload[], o: Partial<MigrationInput> = {}): MigrationInput => ({
  mode: 'Automatic',
  targetVersion: '1.1.0',
  controlPlaneReady: true,
  workloads,
  batchSize: 2,
  batchIntervalMs: 30_000,
  now: NOW,
  ...o,
});
const refs = (list: { kind: string; namespace: string; name: string }[]) =>
  list.map((w) => `${w.kind} ${w.namespace}/${w.name}`);
const expect = <A extends MigrationPlan['action']>(plan: MigrationPlan, action: A) => {
  assert.equal(plan.action, action, plan.message);
  return plan as Extract<MigrationPlan, { action: A }>;
};
const restartedFor1_1 = (at: string) => ({ restartedAt: at, restartedForVersion: '1.1.0' });

describe('planMigration', () => {
  it('restarts nothing with Manual migration, and reports what is outdated', () => {
    const plan = expect(planMigration(input([workload({ name: 'web' })], { mode: 'Manual' })), 'None');
    assert.equal(plan.reason, 'Manual');
    assert.deepEqual(refs(plan.pending), ['Deployment shop/web']);
    assert.match(plan.message, /1 workload\(s\) run an outdated proxy/);
  });

  it('restarts the first batch in (namespace, kind, name) order with the restart annotations', () => {
    const plan = expect(
      planMigration(
        input([
          workload({ name: 'web', namespace: 'shop' }),
          workload({ name: 'api', namespace: 'shop', kind: 'StatefulSet' }),
          workload({ name: 'db', namespace: 'payments' }),
          workload({ name: 'cart', namespace: 'shop' }),
          workload({ name: 'fine', outdatedPods: 0 }),
        ]),
      ),
      'Restart',
    );
    assert.deepEqual(refs(plan.restart), ['Deployment payments/db', 'Deployment shop/cart']);
    assert.deepEqual(refs(plan.pending), ['Deployment shop/web', 'StatefulSet shop/api']);
    assert.deepEqual(plan.patch, {
      spec: {
        template: {
          metadata: {
            annotations: {
              'meshwright.io/restartedAt': '2025-03-01T12:00:00.000Z',
              'meshwright.io/restartedForVersion': '1.1.0',
            },
          },
        },
      },
    });
    assert.equal(plan.requeueAfterMs, 30_000);
  });

  it('waits for the control plane to run the new version first (else the old proxy would be injected again)', () => {
    const plan = expect(
      planMigration(input([workload({ name: 'web' })], { controlPlaneReady: false })),
      'Wait',
    );
    assert.equal(plan.reason, 'ControlPlaneNotReady');
  });

  it('waits while the current batch rolls out, requeueing before its deadline', () => {
    const plan = expect(
      planMigration(
        input([
          workload({ name: 'web', available: false, ...restartedFor1_1(ago(MIN)) }),
          workload({ name: 'api' }),
        ]),
      ),
      'Wait',
    );
    assert.equal(plan.reason, 'BatchInProgress');
    assert.ok(plan.requeueAfterMs > 0 && plan.requeueAfterMs <= 30_000);
    assert.deepEqual(refs(plan.pending), ['Deployment shop/api']);
  });

  it('waits out the batch interval after a finished batch, then restarts the next one', () => {
    const done = workload({ name: 'web', outdatedPods: 0, ...restartedFor1_1(ago(10_000)) });
    const waiting = expect(planMigration(input([done, workload({ name: 'api' })])), 'Wait');
    assert.equal(waiting.reason, 'BatchInterval');
    assert.equal(waiting.requeueAfterMs, 20_000);

    const later = workload({ name: 'web', outdatedPods: 0, ...restartedFor1_1(ago(31_000)) });
    const next = expect(planMigration(input([later, workload({ name: 'api' })])), 'Restart');
    assert.deepEqual(refs(next.restart), ['Deployment shop/api']);
  });

  it('stops on a restarted workload that is not available within the deadline, and restarts nothing', () => {
    const plan = expect(
      planMigration(
        input(
          [
            workload({ name: 'web', available: false, ...restartedFor1_1(ago(6 * MIN)) }),
            workload({ name: 'ok', outdatedPods: 0, ...restartedFor1_1(ago(6 * MIN)) }),
            workload({ name: 'api' }),
          ],
          { deadlineMs: 5 * MIN },
        ),
      ),
      'Stop',
    );
    assert.deepEqual(refs(plan.failed), ['Deployment shop/web']);
    assert.deepEqual(refs(plan.pending), ['Deployment shop/api']);
    assert.match(plan.message, /migration stopped: Deployment shop\/web .* within 5m0s/);
  });

  it('stops instead of looping when a restarted workload rolls out but keeps its outdated proxy', () => {
    const stuck = workload({
      name: 'web',
      available: true,
      outdatedPods: 2,
      ...restartedFor1_1(ago(11 * MIN)),
    });
    const plan = expect(planMigration(input([stuck])), 'Stop');
    assert.deepEqual(refs(plan.failed), ['Deployment shop/web']);
  });

  it('resumes once the failed workload recovers', () => {
    const recovered = workload({ name: 'web', outdatedPods: 0, ...restartedFor1_1(ago(11 * MIN)) });
    const plan = expect(planMigration(input([recovered, workload({ name: 'api' })])), 'Restart');
    assert.deepEqual(refs(plan.restart), ['Deployment shop/api']);
  });

  it('restarts again a workload last restarted for an older version', () => {
    const old = workload({ name: 'web', restartedAt: ago(60 * MIN), restartedForVersion: '1.0.0' });
    assert.deepEqual(refs(expect(planMigration(input([old])), 'Restart').restart), ['Deployment shop/web']);
  });

  it('never restarts OnDelete workloads, only reports them', () => {
    const plan = expect(
      planMigration(input([workload({ name: 'cache', kind: 'DaemonSet', onDelete: true })])),
      'None',
    );
    assert.equal(plan.reason, 'Complete');
    assert.deepEqual(refs(plan.skipped), ['DaemonSet shop/cache']);
    assert.match(plan.message, /OnDelete must be restarted by hand/);
  });

  it('is complete when nothing is outdated', () => {
    const plan = expect(planMigration(input([workload({ name: 'web', outdatedPods: 0 })])), 'None');
    assert.equal(plan.reason, 'Complete');
  });
});

describe('migration helpers', () => {
  it('reads the settings from the spec', () => {
    const mi = meshInstallation({
      spec: {
        version: '1.0.0',
        updateStrategy: { workloadMigration: 'Automatic', batchSize: 3, batchInterval: '1m30s' },
      },
    });
    assert.deepEqual(migrationSettings(mi), {
      mode: 'Automatic',
      targetVersion: '1.0.0',
      batchSize: 3,
      batchIntervalMs: 90_000,
    });
  });

  it('writes the restart time as RFC 3339', () => {
    const annotations = restartPatch(NOW, '1.1.0').spec.template.metadata.annotations;
    assert.equal(annotations['meshwright.io/restartedAt'], NOW.toISOString());
  });
});
