/**
 * runMutatingWebhooks against real HTTPS webhook servers on 127.0.0.1, with a throwaway CA minted by the
 * openssl CLI. Refusal messages are compared whole: they are what kube-apiserver would print.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, before, describe, it } from 'node:test';
import { runMutatingWebhooks, type AdmissionRequestInput } from './index.js';

// ---------------------------------------------------------------------------------------------------------
// Test PKI: a CA the webhooks trust, a rogue CA they are told to trust instead, and one serving certificate
// from the first, valid for 127.0.0.1, localhost and the Service name injector.mesh-system.svc.

const SERVICE = { namespace: 'mesh-system', name: 'injector' };

const hasOpenssl = spawnSync('openssl', ['version']).status === 0;

interface Pki {
  caBundle: string;
  rogueCaBundle: string;
  cert: string;
  key: string;
}

function mintPki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), 'admission-pki-'));
  // Every file name below is relative to `dir`; the command lines hold no other spaces.
  const openssl = (command: string) =>
    execFileSync('openssl', command.split(' '), { cwd: dir, stdio: 'pipe' });
  const newKey = '-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes';
  try {
    for (const ca of ['ca', 'rogue']) {
      openssl(
        `req -x509 ${newKey} -keyout ${ca}.key -out ${ca}.crt -days 2 -subj /CN=meshwright-test-${ca} ` +
          '-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign',
      );
    }
    openssl(`req ${newKey} -keyout serving.key -out serving.csr -subj /CN=webhook`);
    writeFileSync(
      join(dir, 'serving.ext'),
      [
        `subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:${SERVICE.name}.${SERVICE.namespace}.svc`,
        'basicConstraints=CA:FALSE',
        'keyUsage=critical,digitalSignature',
        'extendedKeyUsage=serverAuth',
      ].join('\n'),
    );
    openssl(
      'x509 -req -in serving.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out serving.crt -days 2 -extfile serving.ext',
    );
    const read = (name: string) => readFileSync(join(dir, name));
    return {
      caBundle: read('ca.crt').toString('base64'),
      rogueCaBundle: read('rogue.crt').toString('base64'),
      cert: read('serving.crt').toString('utf8'),
      key: read('serving.key').toString('utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------
// Webhook servers: each records what it was sent and answers through a handler.

interface ReceivedRequest {
  apiVersion: string;
  kind: string;
  request: {
    uid: string;
    operation: string;
    namespace?: string;
    name?: string;
    object: { metadata: { labels?: Record<string, string> } } | null;
    dryRun: boolean;
    [field: string]: unknown;
  };
}

interface Call {
  path: string;
  host: string | undefined;
  review: ReceivedRequest;
}

type Reply = object | { httpStatus: number; contentType: string; text: string } | 'hang';

interface WebhookServer {
  port: number;
  url: (path?: string) => string;
  calls: Call[];
}

let pki: Pki;
const servers: https.Server[] = [];

async function webhookServer(
  handler: (review: ReceivedRequest, call: Call) => Reply,
): Promise<WebhookServer> {
  const calls: Call[] = [];
  const server = https.createServer({ cert: pki.cert, key: pki.key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const call = {
        path: req.url ?? '',
        host: req.headers.host,
        review: JSON.parse(Buffer.concat(chunks).toString('utf8')) as ReceivedRequest,
      };
      calls.push(call);
      const reply = handler(call.review, call);
      if (reply === 'hang') return;
      if ('httpStatus' in reply) {
        res.writeHead(reply.httpStatus, { 'content-type': reply.contentType }).end(reply.text);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(reply));
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { port, url: (path = '/mutate') => `https://127.0.0.1:${port}${path}`, calls };
}

afterEach(async () => {
  await Promise.all(
    servers.splice(0).map((server) => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    }),
  );
});

// ---------------------------------------------------------------------------------------------------------
// Answers and fixtures.

type Operation = { op: string; path: string; value?: unknown; from?: string };

const allow = (review: ReceivedRequest, response: object = {}) => ({
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  response: { uid: review.request.uid, allowed: true, ...response },
});

const patch = (review: ReceivedRequest, operations: Operation[], response: object = {}) =>
  allow(review, {
    patchType: 'JSONPatch',
    patch: Buffer.from(JSON.stringify(operations)).toString('base64'),
    ...response,
  });

const deny = (review: ReceivedRequest, status?: object) =>
  allow(review, { allowed: false, ...(status ? { status } : {}) });

const addLabel = (key: string, value: string): Operation => ({
  op: 'add',
  path: `/metadata/labels/${key.replace('/', '~1')}`,
  value,
});

const configuration = (name: string, webhooks: object[]) => ({
  apiVersion: 'admissionregistration.k8s.io/v1',
  kind: 'MutatingWebhookConfiguration',
  metadata: { name },
  webhooks,
});

const webhook = (server: WebhookServer, overrides: Record<string, unknown> = {}) => ({
  name: 'inject.meshwright.io',
  clientConfig: { url: server.url(), caBundle: pki.caBundle },
  rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: '*' }],
  failurePolicy: 'Fail',
  sideEffects: 'None',
  timeoutSeconds: 10,
  admissionReviewVersions: ['v1'],
  ...overrides,
});

const pod = (labels: Record<string, string> = { app: 'web' }) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web', namespace: 'shop', labels },
  spec: { containers: [{ name: 'app', image: 'web:1' }] },
});

const podCreate = (overrides: Partial<AdmissionRequestInput> = {}): AdmissionRequestInput => ({
  uid: '7f0c7b1e-1d1a-4c55-9b1e-2a4f3c6d9e01',
  operation: 'CREATE',
  kind: { group: '', version: 'v1', kind: 'Pod' },
  resource: { group: '', version: 'v1', resource: 'pods' },
  namespace: 'shop',
  name: 'web',
  object: pod(),
  userInfo: { username: 'alice', groups: ['system:authenticated'] },
  dryRun: false,
  ...overrides,
});

const noServices = () => undefined;

const run = (configurations: object[], overrides: Partial<Parameters<typeof runMutatingWebhooks>[0]> = {}) =>
  runMutatingWebhooks({ configurations, request: podCreate(), resolveService: noServices, ...overrides });

function refusal(result: Awaited<ReturnType<typeof runMutatingWebhooks>>): {
  message: string;
  code: number;
  reason?: string;
} {
  assert.equal(result.allowed, false, `expected a refusal, got ${JSON.stringify(result)}`);
  return (result as { status: { message: string; code: number; reason?: string } }).status;
}

function admitted(result: Awaited<ReturnType<typeof runMutatingWebhooks>>) {
  assert.equal(result.allowed, true, `expected admission, got ${JSON.stringify(result)}`);
  return result as { object?: ReturnType<typeof pod>; warnings: string[]; patched: string[] };
}

// ---------------------------------------------------------------------------------------------------------

describe(
  'runMutatingWebhooks',
  { skip: hasOpenssl ? false : 'openssl CLI not found: cannot mint test certificates' },
  () => {
    before(() => {
      pki = mintPki();
    });

    describe('calling a webhook', () => {
      it('POSTs a v1 AdmissionReview with a timeout parameter and applies the JSONPatch it returns', async () => {
        const server = await webhookServer((review) =>
          patch(review, [
            addLabel('mesh.io/injected', 'true'),
            { op: 'add', path: '/spec/containers/-', value: { name: 'proxy' } },
          ]),
        );
        const result = admitted(await run([configuration('injector', [webhook(server)])]));

        assert.equal(server.calls.length, 1);
        const [{ path, review }] = server.calls as [Call];
        assert.equal(path, '/mutate?timeout=10s');
        assert.equal(review.apiVersion, 'admission.k8s.io/v1');
        assert.equal(review.kind, 'AdmissionReview');
        assert.equal(review.request.uid, podCreate().uid);
        assert.deepEqual(review.request.kind, { group: '', version: 'v1', kind: 'Pod' });
        assert.deepEqual(review.request.requestResource, { group: '', version: 'v1', resource: 'pods' });
        assert.equal(review.request.operation, 'CREATE');
        assert.equal(review.request.namespace, 'shop');
        assert.equal(review.request.oldObject, null);
        assert.deepEqual(review.request.object, pod());
        assert.equal(review.request.dryRun, false);

        assert.deepEqual(result.object?.metadata.labels, { app: 'web', 'mesh.io/injected': 'true' });
        assert.deepEqual(
          result.object?.spec.containers.map((c) => c.name),
          ['app', 'proxy'],
        );
        assert.deepEqual(result.patched, ['inject.meshwright.io']);
      });

      it('returns the webhook warnings and leaves the caller’s object untouched', async () => {
        const server = await webhookServer((review) =>
          patch(review, [addLabel('x', 'y')], {
            warnings: ['image tag "1" is mutable', 'image tag "1" is mutable'],
          }),
        );
        const request = podCreate();
        const result = admitted(
          await runMutatingWebhooks({
            configurations: [configuration('c', [webhook(server)])],
            request,
            resolveService: noServices,
          }),
        );
        assert.deepEqual(result.warnings, ['image tag "1" is mutable']);
        assert.deepEqual(request.object, pod());
      });

      it('sends a v1beta1 AdmissionReview to a webhook that only accepts v1beta1, and takes its patch as JSONPatch', async () => {
        const server = await webhookServer(() => ({
          apiVersion: 'admission.k8s.io/v1beta1',
          kind: 'AdmissionReview',
          response: {
            allowed: true,
            patch: Buffer.from(JSON.stringify([addLabel('beta', 'yes')])).toString('base64'),
          },
        }));
        const result = admitted(
          await run([configuration('c', [webhook(server, { admissionReviewVersions: ['v1beta1'] })])]),
        );
        assert.equal(server.calls[0]?.review.apiVersion, 'admission.k8s.io/v1beta1');
        assert.equal(result.object?.metadata.labels.beta, 'yes');
      });

      it('calls a Service webhook where resolveService points, verifying the certificate for <name>.<namespace>.svc', async () => {
        const server = await webhookServer((review) => patch(review, [addLabel('via', 'service')]));
        const resolved: unknown[] = [];
        const result = admitted(
          await run(
            [
              configuration('c', [
                webhook(server, {
                  clientConfig: {
                    service: { ...SERVICE, path: '/inject', port: 8443 },
                    caBundle: pki.caBundle,
                  },
                }),
              ]),
            ],
            {
              resolveService: (namespace, name, port) => {
                resolved.push([namespace, name, port]);
                return { host: '127.0.0.1', port: server.port };
              },
            },
          ),
        );
        assert.deepEqual(resolved, [['mesh-system', 'injector', 8443]]);
        assert.equal(server.calls[0]?.host, 'injector.mesh-system.svc:8443');
        assert.equal(server.calls[0]?.path, '/inject?timeout=10s');
        assert.equal(result.object?.metadata.labels.via, 'service');
      });
    });

    describe('which webhooks are called', () => {
      it('does not call a webhook whose rules do not match the operation or resource', async () => {
        const server = await webhookServer((review) => patch(review, [addLabel('x', 'y')]));
        const rules = [{ operations: ['UPDATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }];
        const deployments = [
          { operations: ['CREATE'], apiGroups: ['apps'], apiVersions: ['v1'], resources: ['deployments'] },
        ];
        const result = admitted(
          await run([
            configuration('c', [
              webhook(server, { rules }),
              webhook(server, { name: 'other.meshwright.io', rules: deployments }),
            ]),
          ]),
        );
        assert.equal(server.calls.length, 0);
        assert.deepEqual(result.object, pod());
        assert.deepEqual(result.patched, []);
      });

      it('calls a webhook only when namespaceSelector selects the request’s namespace', async () => {
        const server = await webhookServer((review) => allow(review));
        const hook = webhook(server, {
          namespaceSelector: { matchLabels: { 'mesh.io/injection': 'enabled' } },
        });
        admitted(await run([configuration('c', [hook])], { namespaceLabels: { team: 'shop' } }));
        assert.equal(server.calls.length, 0, 'not called for an unlabelled namespace');
        admitted(
          await run([configuration('c', [hook])], { namespaceLabels: { 'mesh.io/injection': 'enabled' } }),
        );
        assert.equal(server.calls.length, 1, 'called for a labelled namespace');
      });

      it('calls a webhook only when objectSelector selects the object', async () => {
        const server = await webhookServer((review) => allow(review));
        const hook = webhook(server, {
          objectSelector: {
            matchExpressions: [{ key: 'mesh.io/inject', operator: 'NotIn', values: ['false'] }],
          },
        });
        admitted(
          await run([configuration('c', [hook])], {
            request: podCreate({ object: pod({ 'mesh.io/inject': 'false' }) }),
          }),
        );
        assert.equal(server.calls.length, 0, 'not called for an opted-out pod');
        admitted(await run([configuration('c', [hook])]));
        assert.equal(server.calls.length, 1, 'called for a pod without the opt-out label');
      });

      it('skips a webhook whose matchConditions are false, and refuses with 403 when one fails under Fail', async () => {
        const server = await webhookServer((review) => allow(review));
        const conditions = (expression: string) => [{ name: 'not-system', expression }];
        admitted(
          await run([
            configuration('c', [
              webhook(server, { matchConditions: conditions("request.userInfo.username != 'alice'") }),
            ]),
          ]),
        );
        assert.equal(server.calls.length, 0);
        admitted(
          await run([
            configuration('c', [
              webhook(server, { matchConditions: conditions("object.metadata.labels['app'] == 'web'") }),
            ]),
          ]),
        );
        assert.equal(server.calls.length, 1);
        const status = refusal(
          await run([
            configuration('c', [
              webhook(server, { matchConditions: conditions('object.spec.missing == 1') }),
            ]),
          ]),
        );
        assert.equal(status.code, 403);
        assert.match(
          status.message,
          /^pods "web" is forbidden: expression 'object\.spec\.missing == 1' resulted in error: /,
        );
      });

      it('never calls webhooks for requests about admission configuration objects', async () => {
        const server = await webhookServer((review) => deny(review));
        const hook = webhook(server, {
          rules: [{ operations: ['*'], apiGroups: ['*'], apiVersions: ['*'], resources: ['*'] }],
        });
        const request = podCreate({
          kind: {
            group: 'admissionregistration.k8s.io',
            version: 'v1',
            kind: 'MutatingWebhookConfiguration',
          },
          resource: {
            group: 'admissionregistration.k8s.io',
            version: 'v1',
            resource: 'mutatingwebhookconfigurations',
          },
          namespace: undefined,
          object: configuration('c', []),
        });
        admitted(await run([configuration('c', [hook])], { request }));
        assert.equal(server.calls.length, 0);
      });
    });

    describe('order', () => {
      it('calls configurations in name order and webhooks in listed order, each seeing the previous mutations', async () => {
        const server = await webhookServer((review, call) => {
          const step = call.path.split('?')[0]!.slice(1);
          return patch(review, [
            addLabel(step, String(Object.keys(review.request.object?.metadata.labels ?? {}).length)),
          ]);
        });
        const hook = (name: string) =>
          webhook(server, {
            name: `${name}.meshwright.io`,
            clientConfig: { url: server.url(`/${name}`), caBundle: pki.caBundle },
          });
        const result = admitted(
          await run([
            configuration('z-sidecar', [hook('third')]),
            configuration('a-labels', [hook('first'), hook('second')]),
          ]),
        );
        assert.deepEqual(
          server.calls.map((c) => c.path.split('?')[0]),
          ['/first', '/second', '/third'],
        );
        assert.deepEqual(
          result.object?.metadata.labels,
          { app: 'web', first: '1', second: '2', third: '3' },
          'each saw one more label',
        );
        assert.deepEqual(result.patched, [
          'first.meshwright.io',
          'second.meshwright.io',
          'third.meshwright.io',
        ]);
      });

      it('reinvokes an IfNeeded webhook once when a later webhook changed the object, and a Never webhook not at all', async () => {
        const seen: Record<string, string[][]> = { '/early': [], '/never': [], '/late': [] };
        const server = await webhookServer((review, call) => {
          const path = call.path.split('?')[0]!;
          seen[path]!.push(Object.keys(review.request.object?.metadata.labels ?? {}));
          return path === '/late' ? patch(review, [addLabel('late', 'yes')]) : allow(review);
        });
        const hook = (name: string, reinvocationPolicy: string) =>
          webhook(server, {
            name: `${name}.meshwright.io`,
            reinvocationPolicy,
            clientConfig: { url: server.url(`/${name}`), caBundle: pki.caBundle },
          });
        const result = admitted(
          await run([
            configuration('c', [hook('early', 'IfNeeded'), hook('never', 'Never'), hook('late', 'IfNeeded')]),
          ]),
        );
        assert.deepEqual(
          seen['/early'],
          [['app'], ['app', 'late']],
          'early runs again and sees the late label',
        );
        assert.deepEqual(seen['/never'], [['app']]);
        assert.deepEqual(seen['/late'], [['app']], 'late is not reinvoked for its own change');
        assert.deepEqual(result.patched, ['late.meshwright.io']);
      });
    });

    describe('failures and failurePolicy', () => {
      it('refuses with the real 500 when the caBundle does not trust the serving certificate under Fail', async () => {
        const server = await webhookServer((review) => allow(review));
        const status = refusal(
          await run([
            configuration('c', [
              webhook(server, { clientConfig: { url: server.url(), caBundle: pki.rogueCaBundle } }),
            ]),
          ]),
        );
        assert.equal(status.code, 500);
        assert.equal(status.reason, 'InternalError');
        assert.equal(
          status.message,
          `Internal error occurred: failed calling webhook "inject.meshwright.io": failed to call webhook: ` +
            `Post "https://127.0.0.1:${server.port}/mutate?timeout=10s": tls: failed to verify certificate: x509: certificate signed by unknown authority`,
        );
        assert.equal(server.calls.length, 0, 'nothing is sent over an unverified connection');
      });

      it('skips an untrusted webhook under Ignore and goes on with the next one', async () => {
        const untrusted = await webhookServer((review) => patch(review, [addLabel('untrusted', 'yes')]));
        const trusted = await webhookServer((review) => patch(review, [addLabel('trusted', 'yes')]));
        const result = admitted(
          await run([
            configuration('a', [
              webhook(untrusted, {
                failurePolicy: 'Ignore',
                clientConfig: { url: untrusted.url(), caBundle: pki.rogueCaBundle },
              }),
            ]),
            configuration('b', [webhook(trusted, { name: 'next.meshwright.io' })]),
          ]),
        );
        assert.deepEqual(result.object?.metadata.labels, { app: 'web', trusted: 'yes' });
        assert.deepEqual(result.patched, ['next.meshwright.io']);
      });

      it('verifies against the system roots when there is no caBundle, which do not include the test CA', async () => {
        const server = await webhookServer((review) => allow(review));
        const status = refusal(
          await run([configuration('c', [webhook(server, { clientConfig: { url: server.url() } })])]),
        );
        assert.match(
          status.message,
          /: tls: failed to verify certificate: x509: certificate signed by unknown authority$/,
        );
      });

      it('refuses when the Service certificate is not valid for <name>.<namespace>.svc, naming what it is valid for', async () => {
        const server = await webhookServer((review) => allow(review));
        const clientConfig = { service: { namespace: 'mesh-system', name: 'other' }, caBundle: pki.caBundle };
        const status = refusal(
          await run([configuration('c', [webhook(server, { clientConfig })])], {
            resolveService: () => ({ host: '127.0.0.1', port: server.port }),
          }),
        );
        assert.equal(
          status.message,
          'Internal error occurred: failed calling webhook "inject.meshwright.io": failed to call webhook: ' +
            'Post "https://other.mesh-system.svc:443/?timeout=10s": tls: failed to verify certificate: ' +
            'x509: certificate is valid for localhost, injector.mesh-system.svc, not other.mesh-system.svc',
        );
      });

      it('fails the call when the Service cannot be resolved', async () => {
        const clientConfig = { service: { ...SERVICE, path: '/inject' }, caBundle: pki.caBundle };
        const server = await webhookServer((review) => allow(review));
        const status = refusal(await run([configuration('c', [webhook(server, { clientConfig })])]));
        assert.equal(
          status.message,
          'Internal error occurred: failed calling webhook "inject.meshwright.io": failed to call webhook: ' +
            'Post "https://injector.mesh-system.svc:443/inject?timeout=10s": service "injector" not found',
        );
      });

      it('gives up on a webhook that does not answer within timeoutSeconds: refused under Fail, skipped under Ignore', async () => {
        const server = await webhookServer(() => 'hang');
        const timeoutMs = (seconds: number) => seconds * 50;
        const status = refusal(
          await run([configuration('c', [webhook(server, { timeoutSeconds: 2 })])], { timeoutMs }),
        );
        assert.equal(
          status.message,
          `Internal error occurred: failed calling webhook "inject.meshwright.io": failed to call webhook: ` +
            `Post "https://127.0.0.1:${server.port}/mutate?timeout=2s": context deadline exceeded`,
        );
        const ignored = admitted(
          await run([configuration('c', [webhook(server, { timeoutSeconds: 2, failurePolicy: 'Ignore' })])], {
            timeoutMs,
          }),
        );
        assert.deepEqual(ignored.object, pod());
      });

      it('reports an HTTP error status from the webhook in the REST client’s words', async () => {
        const server = await webhookServer(() => ({
          httpStatus: 500,
          contentType: 'text/plain',
          text: 'boom\n',
        }));
        const status = refusal(await run([configuration('c', [webhook(server)])]));
        assert.equal(
          status.message,
          'Internal error occurred: failed calling webhook "inject.meshwright.io": failed to call webhook: ' +
            'an error on the server ("boom") has prevented the request from succeeding',
        );
      });

      it('treats an answer for another uid as an invalid response', async () => {
        const server = await webhookServer((review) => ({
          ...allow(review),
          response: { uid: 'someone-else', allowed: true },
        }));
        const status = refusal(await run([configuration('c', [webhook(server)])]));
        assert.equal(
          status.message,
          'Internal error occurred: failed calling webhook "inject.meshwright.io": received invalid webhook response: ' +
            `expected response.uid="${podCreate().uid}", got "someone-else"`,
        );
      });

      it('refuses a patch for a request without an object, whatever the failurePolicy', async () => {
        const server = await webhookServer((review) => patch(review, [addLabel('x', 'y')]));
        const hook = webhook(server, {
          failurePolicy: 'Ignore',
          rules: [{ operations: ['DELETE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
        });
        const request = podCreate({ operation: 'DELETE', object: undefined, oldObject: pod() });
        const status = refusal(await run([configuration('c', [hook])], { request }));
        assert.equal(
          status.message,
          'Internal error occurred: admission webhook "inject.meshwright.io" attempted to modify the object, which is not supported for this operation',
        );
      });
    });

    describe('denial', () => {
      it('refuses with the webhook’s message and code, prefixed by who denied the request', async () => {
        const server = await webhookServer((review) =>
          deny(review, { message: 'sidecar image is not allowed', code: 403 }),
        );
        const status = refusal(await run([configuration('c', [webhook(server)])]));
        assert.equal(
          status.message,
          'admission webhook "inject.meshwright.io" denied the request: sidecar image is not allowed',
        );
        assert.equal(status.code, 403);
      });

      it('raises a missing or sub-400 code to 400 and explains a denial that gives no reason', async () => {
        const server = await webhookServer((review) => deny(review, { code: 200, status: 'Success' }));
        const status = refusal(await run([configuration('c', [webhook(server)])])) as {
          message: string;
          code: number;
          status?: string;
        };
        assert.equal(
          status.message,
          'admission webhook "inject.meshwright.io" denied the request without explanation',
        );
        assert.equal(status.code, 400);
        assert.equal(status.status, 'Failure');
      });

      it('stops at the first denial: later webhooks are not called', async () => {
        const denier = await webhookServer((review) => deny(review, { message: 'no' }));
        const later = await webhookServer((review) => allow(review));
        refusal(await run([configuration('a', [webhook(denier)]), configuration('b', [webhook(later)])]));
        assert.equal(later.calls.length, 0);
      });
    });

    describe('dry run', () => {
      it('refuses a dry run reaching a webhook with side effects, without calling it, whatever the failurePolicy', async () => {
        const server = await webhookServer((review) => allow(review));
        const status = refusal(
          await run(
            [configuration('c', [webhook(server, { sideEffects: 'Unknown', failurePolicy: 'Ignore' })])],
            { request: podCreate({ dryRun: true }) },
          ),
        );
        assert.equal(status.message, 'admission webhook "inject.meshwright.io" does not support dry run');
        assert.equal(status.code, 400);
        assert.equal(status.reason, 'BadRequest');
        assert.equal(server.calls.length, 0);
      });

      it('calls webhooks without side effects on a dry run and tells them it is one', async () => {
        const server = await webhookServer((review) => patch(review, [addLabel('dry', 'run')]));
        const result = admitted(
          await run([configuration('c', [webhook(server, { sideEffects: 'NoneOnDryRun' })])], {
            request: podCreate({ dryRun: true }),
          }),
        );
        assert.equal(server.calls[0]?.review.request.dryRun, true);
        assert.equal(result.object?.metadata.labels.dry, 'run');
      });
    });
  },
);
