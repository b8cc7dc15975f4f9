/**
 * `meshwright control-plane` as one process, against an API server: it reads `mesh.yaml` as the
 * operator writes it, serves xDS on both ports (plaintext for proxyless gRPC, mutual TLS with a
 * test CA), answers `/readyz` only once its first configuration is published, and tells the
 * operator what it serves — with the operator's ServicePolicy controller running beside it, a
 * policy becomes `Programmed` only after the control plane has served its generation, follows a
 * spec change, and a steady state makes no write.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { parse } from 'yaml';
import {
  AdsTestClient,
  issue,
  resourceNames,
  testCa,
  testNode,
} from '../../operator/controlplane/ads/testing.js';
import { startControlPlane, type ControlPlane } from '../../operator/controlplane/controlplane.js';
import { parseMeshConfig } from '../../operator/controlplane/meshconfig.js';
import { TYPE } from '../../operator/controlplane/xds/protos.js';
import { meshConfigText } from '../../operator/meshinstallation/desired.js';
import { meshInstallation } from '../../operator/meshinstallation/fixtures.test.js';
import { Manager, silentLogger, type Kube, type KubeObject } from '../../operator/runtime/index.js';
import { SERVED_GENERATION_ANNOTATION } from '../../operator/servicepolicy/names.js';
import { ServicePolicies, setupServicePolicyController } from '../../operator/servicepolicy/reconciler.js';
import { setup, waitFor, type Env } from '../runtime/support.js';

const ROOT = join(import.meta.dirname, '..', '..');

let env: Env;
let kube: Kube;
let ns: string;
let tlsDir: string;
let ca: Awaited<ReturnType<typeof testCa>>;
let controlPlane: ControlPlane;
let operatorStop: AbortController;
let operatorDone: Promise<void>;
const controlPlaneStop = new AbortController();

interface Policy extends KubeObject {
  status?: { conditions?: { type: string; status: string; reason: string; observedGeneration?: number }[] };
}

const policyRef = (name: string) => ({
  apiVersion: ServicePolicies.apiVersion,
  kind: 'ServicePolicy',
  name,
  namespace: ns,
});
const condition = async (name: string, type: string) =>
  (await kube.get<Policy>(policyRef(name))).status?.conditions?.find((c) => c.type === type);

async function installCrds(k: Kube): Promise<void> {
  for (const file of (await readdir(join(ROOT, 'crds'))).filter((f) => f.endsWith('.yaml')))
    await k.apply(parse(await readFile(join(ROOT, 'crds', file), 'utf8')) as KubeObject, {
      fieldManager: 'meshwright-test',
    });
  await waitFor(() => k.list(ServicePolicies, { namespace: 'default' }).then(() => true), 15_000, 'the CRDs');
}

before(async () => {
  env = await setup();
  kube = env.kube();
  await installCrds(kube);
  ns = await env.h.namespace('cp');

  ca = await testCa();
  const serving = await issue(ca, { dns: ['localhost'], ips: ['127.0.0.1'] });
  tlsDir = await mkdtemp(join(tmpdir(), 'meshwright-cp-tls-'));
  await writeFile(join(tlsDir, 'tls.crt'), serving.cert);
  await writeFile(join(tlsDir, 'tls.key'), serving.key);
  await writeFile(join(tlsDir, 'ca.crt'), ca.cert);

  controlPlane = await startControlPlane(
    {
      kube: env.kube(),
      mesh: parseMeshConfig(meshConfigText(meshInstallation())),
      tlsDir,
      namespace: ns,
      leaderElection: false,
      bindAddress: '127.0.0.1',
      ports: { xds: 0, xdsPlaintext: 0, webhook: 0, metrics: false, health: 0 },
      identities: false,
      watchNamespace: ns,
      logger: silentLogger(),
    },
    controlPlaneStop.signal,
  );

  const mgr = new Manager({ kube: env.kube(), logger: silentLogger(), informers: { initialBackoffMs: 20 } });
  setupServicePolicyController(mgr, { namespace: ns });
  operatorStop = new AbortController();
  operatorDone = mgr.start(operatorStop.signal);
});

after(async () => {
  operatorStop?.abort();
  controlPlaneStop.abort();
  await operatorDone;
  await controlPlane?.done;
  await env?.h.close();
  if (tlsDir) await rm(tlsDir, { recursive: true, force: true });
});

describe('meshwright control-plane', () => {
  it('is ready once its first configuration is published', async () => {
    await controlPlane.firstPublish;
    const res = await fetch(`http://127.0.0.1:${controlPlane.mgr.healthPort}/readyz`);
    assert.equal(res.status, 200);
    assert.ok(controlPlane.ports.xds && controlPlane.ports.xdsPlaintext && controlPlane.ports.webhook);
  });

  it('serves a Service over plaintext xDS and over mutual TLS to a client with a mesh identity', async () => {
    await kube.create({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'checkout', namespace: ns },
      spec: { selector: { app: 'checkout' }, ports: [{ name: 'grpc', port: 8080, protocol: 'TCP' }] },
    });
    const listener = `checkout.${ns}.svc.cluster.local:8080`;
    const fetchListener = async (client: AdsTestClient) => {
      try {
        for (;;) {
          client.send({
            node: testNode(`c-0.${ns}`, { NAMESPACE: ns }),
            type_url: TYPE.listener,
            resource_names: [listener],
          });
          const response = await client.next();
          if (resourceNames(response).includes(listener)) return true;
        }
      } finally {
        client.close();
      }
    };
    assert.ok(await fetchListener(new AdsTestClient(`127.0.0.1:${controlPlane.ports.xdsPlaintext}`)));

    // a client certificate from the mesh CA (in a cluster: the workload's, from cert-manager)
    const client = await issue(ca, { uris: [`spiffe://cluster.local/ns/${ns}/sa/default`] });
    const credentials = grpc.credentials.createSsl(
      Buffer.from(ca.cert),
      Buffer.from(client.key),
      Buffer.from(client.cert),
    );
    assert.ok(await fetchListener(new AdsTestClient(`localhost:${controlPlane.ports.xds}`, credentials)));
  });

  it('serves an Envoy sidecar its capture listeners, and a gRPC client never sees them', async () => {
    const wildcardListeners = async (proxyType: string) => {
      const client = new AdsTestClient(`127.0.0.1:${controlPlane.ports.xdsPlaintext}`);
      try {
        client.send({
          node: testNode(`c-0.${ns}`, { NAMESPACE: ns, PROXY_TYPE: proxyType }),
          type_url: TYPE.listener,
          resource_names: [],
        });
        return resourceNames(await client.next()).sort();
      } finally {
        client.close();
      }
    };
    assert.deepEqual(await wildcardListeners('envoy'), ['virtualInbound', 'virtualOutbound']);
    const grpc = await wildcardListeners('grpc');
    assert.ok(grpc.includes(`checkout.${ns}.svc.cluster.local:8080`));
    assert.ok(!grpc.includes('virtualOutbound'));
  });

  it('marks a ServicePolicy served: Programmed follows, for every generation, and the steady state writes nothing', async () => {
    await kube.create({
      apiVersion: ServicePolicies.apiVersion,
      kind: 'ServicePolicy',
      metadata: { name: 'checkout', namespace: ns },
      spec: {
        targetRef: { kind: 'Service', name: 'checkout' },
        resilience: { timeouts: { request: '2s' } },
      },
    });
    await waitFor(
      async () => (await condition('checkout', 'Ready'))?.status === 'True',
      15_000,
      'the policy to be Ready (served)',
    );
    const first = await kube.get<Policy>(policyRef('checkout'));
    assert.equal(
      first.metadata!.annotations![SERVED_GENERATION_ANNOTATION],
      String(first.metadata!.generation),
    );

    await kube.mergePatch(policyRef('checkout'), { spec: { resilience: { timeouts: { request: '3s' } } } });
    const second = await waitFor(
      async () => {
        const p = await kube.get<Policy>(policyRef('checkout'));
        const ready = p.status?.conditions?.find((c) => c.type === 'Ready');
        return p.metadata!.annotations![SERVED_GENERATION_ANNOTATION] === String(p.metadata!.generation) &&
          ready?.status === 'True' &&
          ready.observedGeneration === p.metadata!.generation
          ? p
          : undefined;
      },
      15_000,
      'generation 2 to be served and Ready',
    );
    assert.equal(second.metadata!.generation, 2);

    // a steady state: another build reports the policy again, and nothing is written
    const version = second.metadata!.resourceVersion;
    const writesBefore = controlPlane.mgr.kube.requests.writes();
    const builds = controlPlane.model.builds.total;
    controlPlane.model.meshChanged();
    await waitFor(() => controlPlane.model.builds.total > builds, 10_000, 'another build');
    const reporter = controlPlane.servedReporter.queue;
    await waitFor(() => reporter.len() === 0 && reporter.inFlight() === 0, 10_000, 'the reporter');
    const again = await kube.get<Policy>(policyRef('checkout'));
    assert.equal(again.metadata!.resourceVersion, version);
    assert.equal(
      controlPlane.mgr.kube.requests.writes(),
      writesBefore,
      'no request written by the control plane',
    );
  });
});
