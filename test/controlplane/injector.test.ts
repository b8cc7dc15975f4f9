/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-return -- Kubernetes objects are untyped JSON here (Obj) */
/**
 * The injector through an API server's admission path: the local cluster calls the injection
 * webhook (started here over HTTPS with a certificate from a test CA) for pods created through its
 * REST API, as kube-apiserver does. The MutatingWebhookConfiguration is the one a MeshInstallation
 * registers (`injectorWebhook` from operator/meshinstallation/desired.ts: same rules,
 * namespaceSelector, objectSelector, failurePolicy), with its Service reference swapped for the URL
 * of the server started here and the test CA as its caBundle. The mesh configuration is the
 * operator's `mesh.yaml` read by the control plane's parser; each mode runs the same checks.
 *
 * Not against MESHWRIGHT_TEST_KUBECONFIG: a real API server cannot reach 127.0.0.1 in this process.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { parseMeshConfig, type MeshConfig } from '../../operator/controlplane/meshconfig.js';
import {
  IDENTITY_DIR,
  identityCertificateName,
  INJECTED_ANNOTATION,
  PROXY_VERSION_LABEL,
  SERVICE_ACCOUNT_LABEL,
} from '../../operator/controlplane/names.js';
import {
  createTestCa,
  expandVariables,
  grpcValidateBootstrap,
} from '../../operator/controlplane/injector/fixtures.test.js';
import { GRPC_ENV, INIT_CONTAINER, PROXY_CONTAINER } from '../../operator/controlplane/injector/names.js';
import { startInjectorServer, type InjectorServer } from '../../operator/controlplane/injector/webhook.js';
import { injectorWebhook, meshConfigText } from '../../operator/meshinstallation/desired.js';
import { meshInstallation } from '../../operator/meshinstallation/fixtures.test.js';
import { INJECT_PATH, LABELS } from '../../operator/meshinstallation/names.js';
import { silentLogger } from '../../operator/runtime/log.js';
import { connect, REAL, type Harness, type Obj } from '../localcluster/harness.js';

const SKIP = REAL
  ? 'a webhook server on 127.0.0.1 in the test process is not reachable from a real cluster'
  : false;
const WEBHOOKS = '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations';
const HOST = '127.0.0.1';

const meshFor = (mode: 'Sidecar' | 'Proxyless'): MeshConfig =>
  parseMeshConfig(meshConfigText(meshInstallation({ spec: { dataPlane: { mode } } })));

const podBody = (name: string, o: { labels?: Obj; annotations?: Obj; spec?: Obj } = {}): Obj => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name,
    labels: { app: 'checkout', ...o.labels },
    ...(o.annotations ? { annotations: o.annotations } : {}),
  },
  spec: {
    serviceAccountName: 'checkout',
    containers: [{ name: 'app', image: 'shop/checkout:1.0', env: [{ name: 'LOG_LEVEL', value: 'info' }] }],
    ...o.spec,
  },
});

/** What a client could send again of a stored pod: its spec and labels, without what the server set. */
const resubmittable = (stored: Obj, name: string): Obj => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels: stored.metadata.labels, annotations: stored.metadata.annotations },
  spec: stored.spec,
});

describe('the injector through the API server', { skip: SKIP }, () => {
  let h: Harness;
  let server: InjectorServer;
  let tlsDir: string;
  let member: string;
  let plain: string;
  let mesh: MeshConfig = meshFor('Sidecar');
  const registry = new Registry();

  const createPod = (ns: string, body: Obj) => h.post(`/api/v1/namespaces/${ns}/pods`, body);
  const reviews = async (): Promise<number> => {
    const metric = (await registry.getSingleMetric('meshwright_injector_requests_total')!.get()).values;
    return metric.reduce((sum, v) => sum + v.value, 0);
  };

  before(async () => {
    if (REAL) return;
    h = await connect();
    const ca = await createTestCa();
    const cert = await ca.issue([HOST], '01c0ffee');
    tlsDir = await mkdtemp(join(tmpdir(), 'injector-it-'));
    await writeFile(join(tlsDir, 'tls.crt'), cert.cert);
    await writeFile(join(tlsDir, 'tls.key'), cert.key);
    server = await startInjectorServer({
      host: HOST,
      port: 0,
      tlsDir,
      mesh: () => mesh,
      logger: silentLogger(),
      registry,
    });

    // The MeshInstallation's own registration, pointed at this server.
    const mi = meshInstallation({ name: `injector-${h.unique()}` });
    const configuration = injectorWebhook(mi);
    // no owner in this cluster: the garbage collector would delete a child of a missing owner
    const { ownerReferences: _, ...metadata } = configuration.metadata;
    const webhooks = configuration.webhooks!.map((w) => ({
      ...w,
      clientConfig: {
        url: `https://${HOST}:${server.port}${INJECT_PATH}`,
        caBundle: Buffer.from(ca.caCert).toString('base64'),
      },
    }));
    const created = await h.post(WEBHOOKS, { ...configuration, metadata, webhooks });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    h.cleanup(() => h.delete(`${WEBHOOKS}/${metadata.name}`));

    member = await h.namespace('member');
    const labelled = await h.patch(`/api/v1/namespaces/${member}`, {
      metadata: { labels: { [LABELS.inject]: 'enabled' } },
    });
    assert.equal(labelled.status, 200, JSON.stringify(labelled.body));
    plain = await h.namespace('plain');
  });

  after(async () => {
    await h?.close();
    await server?.stop();
    if (tlsDir) await rm(tlsDir, { recursive: true, force: true });
  });

  for (const mode of ['Sidecar', 'Proxyless'] as const) {
    describe(`${mode} mode`, () => {
      const name = (what: string) => `${mode.toLowerCase()}-${what}`;
      let injected: Obj;

      before(() => {
        mesh = meshFor(mode);
      });

      it('injects a pod created in a member namespace: containers, labels, annotation, identity', async () => {
        const r = await createPod(member, podBody(name('web')));
        assert.equal(r.status, 201, JSON.stringify(r.body));
        const stored = (await h.get(`/api/v1/namespaces/${member}/pods/${name('web')}`)).body;
        assert.deepEqual(stored.spec, r.body.spec, 'the API server stored the injected pod');
        injected = stored;
        assert.equal(stored.metadata.annotations[INJECTED_ANNOTATION], mode);
        assert.equal(stored.metadata.labels[SERVICE_ACCOUNT_LABEL], 'checkout');
        assert.equal(stored.metadata.labels[PROXY_VERSION_LABEL], mesh.meshVersion);
        assert.equal(stored.metadata.labels.app, 'checkout');
        const identity = (stored.spec.volumes as Obj[]).find(
          (v) => v.secret?.secretName === identityCertificateName('checkout'),
        );
        assert.ok(identity, 'the identity Secret is a volume');
        const app = (stored.spec.containers as Obj[]).find((c) => c.name === 'app')!;
        if (mode === 'Sidecar') {
          assert.deepEqual(
            (stored.spec.initContainers as Obj[]).map((c) => c.name),
            [INIT_CONTAINER, PROXY_CONTAINER],
          );
          const proxy = stored.spec.initContainers[1];
          assert.equal(proxy.image, mesh.dataPlane.proxy.image);
          assert.equal(proxy.restartPolicy, 'Always');
          assert.equal(stored.spec.initContainers[0].image, mesh.controlPlane.image);
          assert.ok(
            (proxy.volumeMounts as Obj[]).some((m) => m.mountPath === IDENTITY_DIR && m.readOnly === true),
          );
          assert.deepEqual(
            (stored.spec.containers as Obj[]).map((c) => c.name),
            ['app'],
          );
          assert.deepEqual(app.env, [{ name: 'LOG_LEVEL', value: 'info' }], 'the application is not touched');
        } else {
          assert.equal(stored.spec.initContainers, undefined);
          const env = Object.fromEntries(
            (app.env as Obj[]).map((e) => [e.name, e.value ?? e.valueFrom.fieldRef.fieldPath]),
          );
          assert.equal(env.LOG_LEVEL, 'info');
          assert.equal(env.POD_NAME, 'metadata.name');
          assert.equal(env[GRPC_ENV.rbac], 'true');
          const bootstrap = JSON.parse(
            expandVariables(env[GRPC_ENV.bootstrapConfig], {
              POD_NAME: name('web'),
              POD_NAMESPACE: member,
              POD_IP: '10.1.0.7',
            }),
          );
          assert.equal(grpcValidateBootstrap(bootstrap).node.id, `${name('web')}.${member}`);
          assert.ok(
            (app.volumeMounts as Obj[]).some((m) => m.mountPath === IDENTITY_DIR && m.readOnly === true),
          );
        }
      });

      it('leaves a pod in a namespace that is not a member untouched', async () => {
        const before = await reviews();
        const r = await createPod(plain, podBody(name('plain')));
        assert.equal(r.status, 201, JSON.stringify(r.body));
        assert.equal(r.body.metadata.annotations?.[INJECTED_ANNOTATION], undefined);
        assert.equal(r.body.spec.initContainers, undefined);
        assert.equal(r.body.spec.volumes, undefined);
        assert.equal(
          await reviews(),
          before,
          'the namespaceSelector kept the API server from calling the injector',
        );
      });

      it('leaves a pod opted out by label (never sent) or by annotation (sent, skipped) untouched', async () => {
        const before = await reviews();
        const byLabel = await createPod(
          member,
          podBody(name('out-label'), { labels: { [LABELS.inject]: 'disabled' } }),
        );
        assert.equal(byLabel.status, 201, JSON.stringify(byLabel.body));
        assert.equal(byLabel.body.metadata.annotations?.[INJECTED_ANNOTATION], undefined);
        assert.equal(
          await reviews(),
          before,
          'the objectSelector kept the API server from calling the injector',
        );
        const byAnnotation = await createPod(
          member,
          podBody(name('out-annotation'), { annotations: { [LABELS.inject]: 'disabled' } }),
        );
        assert.equal(byAnnotation.status, 201, JSON.stringify(byAnnotation.body));
        assert.equal(byAnnotation.body.metadata.annotations[INJECTED_ANNOTATION], undefined);
        assert.equal(byAnnotation.body.spec.volumes, undefined);
        assert.equal(await reviews(), before + 1);
      });

      it('changes nothing when an injected pod is created again', async () => {
        assert.ok(injected, 'the first test injected a pod');
        const again = resubmittable(injected, name('again'));
        const r = await createPod(member, again);
        assert.equal(r.status, 201, JSON.stringify(r.body));
        assert.deepEqual(r.body.spec, injected.spec);
        assert.deepEqual(r.body.metadata.labels, injected.metadata.labels);
        assert.deepEqual(r.body.metadata.annotations, injected.metadata.annotations);
      });

      it('refuses a host-network pod, with the reason in the API error', async () => {
        const r = await createPod(member, podBody(name('host'), { spec: { hostNetwork: true } }));
        assert.equal(r.status, 403, JSON.stringify(r.body));
        assert.equal(r.body.kind, 'Status');
        assert.match(
          r.body.message,
          /^admission webhook "inject\.meshwright\.io" denied the request: spec\.hostNetwork is true: .*meshwright\.io\/inject=disabled/,
        );
        assert.equal((await h.get(`/api/v1/namespaces/${member}/pods/${name('host')}`)).status, 404);
      });
    });
  }
});
