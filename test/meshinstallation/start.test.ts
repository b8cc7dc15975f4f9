/**
 * `npm start` (`meshwright dev`): the local cluster with the CRDs and samples, the operator
 * in-process against it, the sample MeshInstallation converging to Ready with every condition
 * transition printed, and the simulated controllers labelled as such. Local only: it starts its
 * own cluster.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runDev } from '../../operator/localcluster/dev.js';
import { startDevOperator } from '../../operator/operator.js';
import { createKube, silentLogger } from '../../operator/runtime/index.js';
import { ROOT } from '../api/support.js';
import { REAL, waitFor } from '../runtime/support.js';
import { summary } from './support.js';

describe('npm start with the operator', { skip: REAL && 'starts its own local cluster' }, () => {
  it('applies the sample, prints the condition transitions and converges to Ready', async () => {
    const lines: string[] = [];
    const clusterStop = new AbortController();
    const operatorStop = new AbortController();
    const { cluster, stopped } = await runDev({
      root: ROOT,
      port: 0,
      signal: clusterStop.signal,
      log: () => undefined,
    });
    const { done } = startDevOperator({
      kubeconfigPath: cluster.kubeconfigPath,
      log: (l) => lines.push(l),
      signal: operatorStop.signal,
      logger: silentLogger(),
    });
    try {
      const kube = createKube({ kubeconfigPath: cluster.kubeconfigPath });
      const ref = { apiVersion: 'mesh.meshwright.io/v1alpha1', kind: 'MeshInstallation', name: 'default' };
      await waitFor(
        async () => summary(await kube.get(ref), 'Ready') === 'True/Ready',
        20_000,
        'mi/default Ready',
      );
      await waitFor(
        () => lines.some((l) => /^mi\/default +Ready +False → True +Ready: mesh 1\.1\.0 is ready$/.test(l)),
        5_000,
        'the Ready line',
      );
      const out = lines.join('\n');
      assert.match(out, /^mi\/default +Reconciled +- +→ True +Applied/m);
      assert.match(out, /^mi\/default +CertificatesReady +False → True/m);
      assert.match(
        out,
        /\[simulated: local cluster only\] Deployment meshwright-system\/meshwright-default-control-plane: 2\/2 replicas available/,
      );
      assert.match(
        out,
        /\[simulated: local cluster only\] Certificate cert-manager\/meshwright-default-root-ca: issued/,
      );
      assert.match(
        out,
        /\[simulated: local cluster only\] MutatingWebhookConfiguration meshwright-default-injector: caBundle injected/,
      );
    } finally {
      operatorStop.abort();
      await done;
      clusterStop.abort();
      await stopped;
    }
  });
});
