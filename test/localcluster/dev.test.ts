/**
 * `npm start` (`meshwright dev`): the local cluster comes up with the CRDs and samples installed,
 * prints its kubeconfig and a kubectl line, and stops cleanly when signalled. Local only: it starts
 * its own server.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { describe, it } from 'node:test';
import { runDev } from '../../operator/localcluster/dev.js';
import { ROOT } from '../api/support.js';
import { REAL } from './harness.js';

const refused = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = tcpConnect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });

describe('npm start', { skip: REAL && 'starts its own local cluster' }, () => {
  it('installs the CRDs and samples, prints the kubeconfig and a kubectl line, and stops on the signal', async () => {
    const lines: string[] = [];
    const abort = new AbortController();
    const { cluster, stopped } = await runDev({
      root: ROOT,
      port: 0,
      signal: abort.signal,
      log: (l) => lines.push(l),
    });
    try {
      const out = lines.join('\n');
      assert.doesNotMatch(out, /warning:/);
      assert.match(out, new RegExp(`kubeconfig: ${cluster.kubeconfigPath}`));
      assert.ok(out.includes(`kubectl --kubeconfig ${cluster.kubeconfigPath} get meshwright -A`), out);
      assert.ok(existsSync(cluster.kubeconfigPath));
      assert.match(cluster.url, /^https:\/\/127\.0\.0\.1:\d+$/);

      const reg = cluster.registry;
      const tsplits = reg.resolve('mesh.meshwright.io', 'v1alpha1', 'trafficsplits');
      assert.ok(tsplits, 'the TrafficSplit CRD is served');
      const checkout = reg.get(tsplits, 'shop', 'checkout') as { spec: { targetRef: { name: string } } };
      assert.equal(checkout.spec.targetRef.name, 'checkout');
      const installations = reg.resolve('mesh.meshwright.io', 'v1alpha1', 'meshinstallations')!;
      const mesh = reg.get(installations, '', 'default') as { metadata: { name: string } };
      assert.equal(mesh.metadata.name, 'default');
    } finally {
      // Stopped whatever the assertions say: a server left running would keep this test file alive.
      abort.abort();
      await stopped;
    }
    assert.ok(await refused(cluster.port), 'the port is closed after the signal');
  });
});
