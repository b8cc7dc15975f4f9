/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-return -- Kubernetes objects are untyped JSON here (Obj) */
/**
 * Mutating admission webhooks through the API server: a MutatingWebhookConfiguration pointing at a
 * real HTTPS webhook server started here (test CA from ./auth), reached by URL and through a Service
 * whose Endpoints resolve to 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import https from 'node:https';
import { after, afterEach, before, describe, it } from 'node:test';
import { generateCertificates, type Certificates } from '../../operator/localcluster/auth/index.js';
import { connect, REAL, type Harness, type Obj } from './harness.js';

const SKIP = REAL
  ? 'a webhook server on 127.0.0.1 in the test process is not reachable from a real cluster'
  : false;

const WEBHOOKS = '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations';
const SERVICE = 'injector';

let h: Harness;
let injectNs: string;
let plainNs: string;
let certs: Certificates;
let server: https.Server;
let port: number;
const reviews: Obj[] = [];

before(async () => {
  if (REAL) return;
  h = await connect();
  injectNs = await h.namespace('inject');
  plainNs = await h.namespace('plain');
  certs = await generateCertificates(['127.0.0.1', 'localhost', `${SERVICE}.${injectNs}.svc`]);
  server = https.createServer({ cert: certs.serverCert, key: certs.serverKey }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Obj;
      reviews.push(review);
      const patch = [
        { op: 'add', path: '/metadata/labels/meshwright.io~1injected', value: 'true' },
        { op: 'add', path: '/spec/containers/-', value: { name: 'envoy', image: 'envoyproxy/envoy:v1' } },
      ];
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(
        JSON.stringify({
          apiVersion: 'admission.k8s.io/v1',
          kind: 'AdmissionReview',
          response: {
            uid: review.request.uid,
            allowed: true,
            patchType: 'JSONPatch',
            patch: Buffer.from(JSON.stringify(patch)).toString('base64'),
          },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

after(async () => {
  server?.close();
  await h?.close();
});

afterEach(async () => {
  if (REAL) return;
  reviews.length = 0;
  await h.request('DELETE', WEBHOOKS);
});

const caBundle = (): string => Buffer.from(certs.caCert).toString('base64');

function webhookConfiguration(clientConfig: Obj, failurePolicy: 'Fail' | 'Ignore' = 'Fail'): Obj {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name: `sidecar-injector-${h.unique()}` },
    webhooks: [
      {
        name: 'inject.meshwright.io',
        clientConfig: { caBundle: caBundle(), ...clientConfig },
        rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': injectNs } },
        failurePolicy,
        sideEffects: 'None',
        timeoutSeconds: 5,
        admissionReviewVersions: ['v1'],
      },
    ],
  };
}

async function install(config: Obj): Promise<void> {
  const r = await h.post(WEBHOOKS, config);
  assert.equal(r.status, 201, JSON.stringify(r.body));
}

const pod = (name: string): Obj => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels: { app: 'web' } },
  spec: { containers: [{ name: 'app', image: 'web:1' }] },
});

const createPod = (ns: string, name: string) => h.post(`/api/v1/namespaces/${ns}/pods`, pod(name));

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const p = (s.address() as AddressInfo).port;
  await new Promise((resolve) => s.close(resolve));
  return p;
}

describe('mutating admission webhooks', { skip: SKIP }, () => {
  it('mutates a Pod in a namespace the namespaceSelector matches (clientConfig.url), and stores the result', async () => {
    await install(webhookConfiguration({ url: `https://127.0.0.1:${port}/mutate` }));
    const r = await createPod(injectNs, 'web');
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.metadata.labels['meshwright.io/injected'], 'true');
    assert.deepEqual(
      (r.body.spec.containers as Obj[]).map((c) => c.name),
      ['app', 'envoy'],
    );
    const stored = (await h.get(`/api/v1/namespaces/${injectNs}/pods/web`)).body;
    assert.equal(stored.metadata.labels['meshwright.io/injected'], 'true');
    assert.equal(stored.spec.containers[1].image, 'envoyproxy/envoy:v1');
    assert.equal(reviews.length, 1);
    assert.equal(reviews[0]!.request.operation, 'CREATE');
    assert.equal(reviews[0]!.request.namespace, injectNs);
    assert.equal(reviews[0]!.request.object.metadata.name, 'web');
  });

  it('leaves a Pod in a namespace the namespaceSelector does not match untouched, without calling the webhook', async () => {
    await install(webhookConfiguration({ url: `https://127.0.0.1:${port}/mutate` }));
    const r = await createPod(plainNs, 'web');
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.deepEqual(r.body.metadata.labels, { app: 'web' });
    assert.deepEqual(
      (r.body.spec.containers as Obj[]).map((c) => c.name),
      ['app'],
    );
    assert.equal(reviews.length, 0);
  });

  it('reaches a webhook through a Service whose Endpoints resolve to 127.0.0.1 (certificate for <svc>.<ns>.svc)', async () => {
    const svc = await h.post(`/api/v1/namespaces/${injectNs}/services`, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: SERVICE },
      spec: { ports: [{ name: 'https', port: 443, targetPort: port }] },
    });
    assert.equal(svc.status, 201, JSON.stringify(svc.body));
    const ep = await h.post(`/api/v1/namespaces/${injectNs}/endpoints`, {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: SERVICE },
      subsets: [{ addresses: [{ ip: '127.0.0.1' }], ports: [{ name: 'https', port }] }],
    });
    assert.equal(ep.status, 201, JSON.stringify(ep.body));
    await install(
      webhookConfiguration({ service: { namespace: injectNs, name: SERVICE, path: '/mutate', port: 443 } }),
    );
    const r = await createPod(injectNs, 'via-service');
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.metadata.labels['meshwright.io/injected'], 'true');
    assert.equal(reviews.length, 1);
  });

  it('refuses the create with the real 500 message when an unreachable webhook has failurePolicy Fail', async () => {
    const dead = await closedPort();
    await install(webhookConfiguration({ url: `https://127.0.0.1:${dead}/mutate` }, 'Fail'));
    const r = await createPod(injectNs, 'refused');
    assert.equal(r.status, 500);
    assert.equal(r.body.kind, 'Status');
    assert.equal(r.body.reason, 'InternalError');
    assert.equal(
      r.body.message,
      `Internal error occurred: failed calling webhook "inject.meshwright.io": failed to call webhook: ` +
        `Post "https://127.0.0.1:${dead}/mutate?timeout=5s": dial tcp 127.0.0.1:${dead}: connect: connection refused`,
    );
    assert.equal((await h.get(`/api/v1/namespaces/${injectNs}/pods/refused`)).status, 404);
  });

  it('lets the create through unmutated when an unreachable webhook has failurePolicy Ignore', async () => {
    const dead = await closedPort();
    await install(webhookConfiguration({ url: `https://127.0.0.1:${dead}/mutate` }, 'Ignore'));
    const r = await createPod(injectNs, 'ignored');
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.deepEqual(r.body.metadata.labels, { app: 'web' });
    assert.equal((r.body.spec.containers as Obj[]).length, 1);
  });
});
