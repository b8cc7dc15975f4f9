/**
 * The TrafficSplit controller on a Manager against an API server (the local cluster, or
 * MESHWRIGHT_TEST_KUBECONFIG), with a fake Prometheus (a node:http server that always answers 100):
 * an operator restart mid-rollout, and the HTTPRoute written once its CRD appears. Real time, the
 * schema's minimum interval (10s), few steps; waits are bounded polls, never sleeps.
 */
import { isDeepStrictEqual } from 'node:util';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Kube, KubeObject } from '../../operator/runtime/index.js';
import { httpRouteName } from '../../operator/trafficsplit/names.js';
import { HTTPRoutes } from '../../operator/trafficsplit/reconciler.js';
import { setup, type Env } from '../runtime/support.js';
import {
  canarySetup,
  conditionOf,
  eventCount,
  installCrds,
  installHttpRouteCrd,
  REAL,
  startOperator,
  statusHistory,
  trafficSplit,
  waitFor,
  waitSplit,
} from './support.js';

let env: Env;
let kube: Kube;
let prometheus: Server;
let address: string;
const queries: string[] = [];

before(async () => {
  env = await setup();
  kube = env.kube();
  await installCrds(kube);
  prometheus = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    queries.push(url.searchParams.get('query') ?? '');
    if (process.env.DEBUG_TS) console.log('QUERY', Date.now(), url.searchParams.get('time'));
    res.setHeader('content-type', 'application/json');
    res.end(
      JSON.stringify({
        status: 'success',
        data: { resultType: 'vector', result: [{ metric: {}, value: [Date.now() / 1000, '100'] }] },
      }),
    );
  });
  await new Promise<void>((r) => prometheus.listen(0, '127.0.0.1', r));
  address = `http://127.0.0.1:${(prometheus.address() as AddressInfo).port}`;
});

after(async () => {
  await new Promise((r) => prometheus?.close(r));
  await env?.h.close();
});

const analysis = () => ({
  prometheus: { address },
  failureThreshold: 1,
  metrics: [
    { name: 'success-rate', type: 'RequestSuccessRate', thresholdRange: { min: 99 }, interval: '15s' },
  ],
});

describe('TrafficSplit controller', { concurrency: true }, () => {
  it('resumes from status after an operator restart mid-rollout: no step repeated or skipped', async () => {
    const ns = await env.h.namespace('tsplit-restart');
    await canarySetup(kube, ns, 'checkout');
    const history = statusHistory(kube, ns);
    let op = await startOperator(kube, ns);
    try {
      await kube.create(
        trafficSplit(ns, 'checkout', { strategy: { interval: '10s', stepWeight: 50 }, analysis: analysis() }),
      );
      const first = await waitSplit(
        kube,
        ns,
        'checkout',
        (s) => s.status?.currentStepIndex === 0,
        10_000,
        'step 1',
      );
      const stepStartedAt = Date.parse(first.status!.stepStartedAt!);
      // the operator goes away for longer than the step's interval
      await op.stop();
      const down = Date.now();
      await waitFor(() => Date.now() > stepStartedAt + 11_000, 15_000, 'the step to be overdue');
      assert.equal(queries.filter((q) => q.includes(`destination_namespace="${ns}"`)).length, 0);
      op = await startOperator(kube, ns);
      const restarted = Date.now();
      const done = await waitSplit(
        kube,
        ns,
        'checkout',
        (s) => s.status?.phase === 'Succeeded',
        25_000,
        'Succeeded',
      );
      assert.equal(conditionOf(done, 'Promoted')?.status, 'True');

      if (process.env.DEBUG_TS) console.log('HIST', JSON.stringify(history.of('checkout')));
      const steps = history
        .of('checkout')
        .filter((h) => h.phase === 'Progressing')
        .map((h) => [h.step, h.weights?.canary]);
      assert.deepEqual(steps, [
        [0, 50],
        [1, 100],
      ]);
      const step2 = history.of('checkout').find((h) => h.step === 1)!;
      assert.ok(
        step2.at >= restarted && step2.at > down,
        'step 2 started by the new operator, not during the outage',
      );
      assert.equal(await eventCount(kube, ns, 'checkout', 'StepAdvanced'), 2);
      assert.equal(await eventCount(kube, ns, 'checkout', 'RolloutStarted'), 1);
      assert.equal(
        queries.filter((q) => q.includes(`destination_namespace="${ns}"`)).length,
        2,
        'one check per step, none repeated',
      );
    } finally {
      history.stop();
      await op.stop();
    }
  });

  it('writes the weights to an HTTPRoute once the Gateway API CRD is installed', async () => {
    const ns = await env.h.namespace('tsplit-route');
    await canarySetup(kube, ns, 'web');
    const routeAbsent = await kube.list(HTTPRoutes, { namespace: ns }).then(
      () => false,
      () => true,
    );
    const op = await startOperator(kube, ns, { httpRouteRecheckMs: 200 });
    const routeRef = {
      apiVersion: HTTPRoutes.apiVersion,
      kind: 'HTTPRoute',
      name: httpRouteName({ metadata: { name: 'web' } }),
      namespace: ns,
    };
    type Route = KubeObject & { spec: { rules: { backendRefs: { name: string; weight: number }[] }[] } };
    const weightsOf = (r: Route) => r.spec.rules[0]!.backendRefs.map((b) => [b.name, b.weight]);
    try {
      await kube.create(trafficSplit(ns, 'web', { strategy: { interval: '10s', stepWeight: 50 } }));
      await waitSplit(kube, ns, 'web', (s) => s.status?.weights?.canary === 50, 10_000, 'canary 50%');
      if (routeAbsent && !REAL) {
        // weights in status only; then the CRD appears and the next reconcile finds it
        await installHttpRouteCrd(kube);
        await kube.mergePatch(
          { apiVersion: 'mesh.meshwright.io/v1alpha1', kind: 'TrafficSplit', name: 'web', namespace: ns },
          { spec: { progressDeadlineSeconds: 601 } },
        );
      }
      // The route follows the weights in status, whichever step the rollout has reached by now.
      const routeMatchesStatus = async () => {
        const route = await kube.get<Route>(routeRef).catch(() => undefined);
        const split = await kube.get<
          KubeObject & { status?: { weights?: { stable: number; canary: number } } }
        >({ apiVersion: 'mesh.meshwright.io/v1alpha1', kind: 'TrafficSplit', name: 'web', namespace: ns });
        const w = split.status?.weights;
        return route &&
          w &&
          isDeepStrictEqual(weightsOf(route), [
            ['web-stable', w.stable],
            ['web-canary', w.canary],
          ])
          ? route
          : undefined;
      };
      const route = await waitFor(routeMatchesStatus, 10_000, 'the HTTPRoute with the weights in status');
      // changed by hand: put back (the controller owns it)
      route.spec.rules[0]!.backendRefs[1]!.weight = 1;
      await kube.mergePatch(routeRef, { spec: route.spec });
      await waitFor(routeMatchesStatus, 10_000, 'the HTTPRoute repaired');
      // the last step moves the route too
      await waitFor(
        async () => weightsOf(await kube.get<Route>(routeRef))[1]![1] === 100,
        25_000,
        'the HTTPRoute at canary 100%',
      );
    } finally {
      await op.stop();
    }
  });
});
