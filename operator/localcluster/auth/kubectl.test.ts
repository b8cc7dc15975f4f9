/**
 * The module against a real Go client: kubectl (client-go, crypto/x509) talking to a minimal HTTPS server
 * that authenticates, authorizes and answers SelfSubjectAccessReviews with this module. Skipped when kubectl
 * is not installed.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import {
  PROTOBUF_CONTENT_TYPE,
  TokenAuthenticator,
  authorize,
  decodeReviewProtobuf,
  forbiddenStatus,
  generateCertificates,
  kubeconfigYaml,
  selfSubjectAccessReview,
  selfSubjectReview,
  selfSubjectRulesReview,
  unauthorizedStatus,
} from './index.js';
import type { Certificates, RbacSource, RequestAttributes } from './index.js';
import { clusterRole, rbacSource, role, roleBinding, rule, urlRule } from './fixtures.js';

const run = promisify(execFile);
const hasKubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;

const REVIEWS: Record<string, { group: string; resource: string }> = {
  '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews': {
    group: 'authorization.k8s.io',
    resource: 'selfsubjectaccessreviews',
  },
  '/apis/authorization.k8s.io/v1/selfsubjectrulesreviews': {
    group: 'authorization.k8s.io',
    resource: 'selfsubjectrulesreviews',
  },
  '/apis/authentication.k8s.io/v1/selfsubjectreviews': {
    group: 'authentication.k8s.io',
    resource: 'selfsubjectreviews',
  },
};

function send(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** The request body as JSON, decoding the protobuf kubectl's typed clients send. */
async function readBody(req: IncomingMessage): Promise<object> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks);
  if ((req.headers['content-type'] ?? '').startsWith(PROTOBUF_CONTENT_TYPE)) return decodeReviewProtobuf(raw);
  return JSON.parse(raw.toString('utf8')) as object;
}

/** Just enough of an API server: non-resource GETs answer "ok", the two review resources are served. */
function apiServer(auth: TokenAuthenticator, rbac: RbacSource) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const user = auth.authenticate(req.headers.authorization);
    if (user === undefined) return send(res, 401, unauthorizedStatus());
    const path = new URL(req.url ?? '/', 'https://localhost').pathname;
    const review = REVIEWS[path];
    const attrs: RequestAttributes =
      review !== undefined && req.method === 'POST'
        ? { verb: 'create', apiGroup: review.group, resource: review.resource }
        : { verb: (req.method ?? 'GET').toLowerCase(), apiGroup: '', resource: '', nonResourcePath: path };
    const decision = authorize(user, attrs, rbac);
    if (!decision.allowed) return send(res, 403, forbiddenStatus(user, attrs, decision.reason));
    if (review === undefined) {
      res.end('ok');
      return;
    }
    const body = await readBody(req);
    const answers = {
      selfsubjectaccessreviews: () => selfSubjectAccessReview(user, body, rbac),
      selfsubjectrulesreviews: () => selfSubjectRulesReview(user, body, rbac),
      selfsubjectreviews: () => selfSubjectReview(user, body),
    };
    const answer = answers[review.resource as keyof typeof answers]();
    send(res, 'code' in answer ? (answer.code as number) : 201, answer);
  };
}

describe('kubectl against the auth module', { skip: hasKubectl ? false : 'kubectl not installed' }, () => {
  let certs: Certificates;
  let server: https.Server;
  let port: number;
  let dir: string;
  let token: string;
  const auth = new TokenAuthenticator();
  const rbac = rbacSource({
    clusterRoles: [clusterRole({ name: 'metrics-reader', rules: [urlRule(['/metrics'])] })],
    roles: [role({ rules: [rule({ verbs: ['get', 'list'] })] })],
    roleBindings: [roleBinding({ subjects: [{ kind: 'ServiceAccount', name: 'sa' }] })],
  });

  /** Runs kubectl with a kubeconfig made by kubeconfigYaml; resolves with stdout, rejects with stderr. */
  async function kubectl(
    args: string[],
    config: { server?: string; caCertPem?: string | null; token?: string } = {},
  ): Promise<string> {
    const file = join(dir, `kubeconfig-${Math.random().toString(36).slice(2)}`);
    writeFileSync(
      file,
      kubeconfigYaml({
        server: config.server ?? `https://127.0.0.1:${port}`,
        ...(config.caCertPem === null ? {} : { caCertPem: config.caCertPem ?? certs.caCert }),
        token: config.token ?? token,
        user: 'sa',
      }),
    );
    const env = { ...process.env, HOME: dir, KUBECONFIG: file, KUBECACHEDIR: join(dir, 'cache') };
    try {
      const { stdout } = await run('kubectl', ['--kubeconfig', file, '--request-timeout=10s', ...args], {
        env,
      });
      return stdout;
    } catch (err) {
      const { stdout, stderr } = err as { stdout?: string; stderr?: string };
      throw Object.assign(new Error(stderr ?? String(err)), { stdout });
    }
  }

  /** `kubectl auth can-i` prints yes (exit 0) or no (exit 1). */
  async function canI(args: string[]): Promise<string> {
    try {
      return (await kubectl(['auth', 'can-i', ...args])).trim();
    } catch (err) {
      const stdout = (err as { stdout?: string }).stdout ?? '';
      if (stdout.trim() === 'no') return 'no';
      throw err;
    }
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'auth-kubectl-'));
    certs = await generateCertificates(['127.0.0.1', 'localhost']);
    token = auth.issueForServiceAccount('ns', 'sa');
    server = https.createServer({ key: certs.serverKey, cert: certs.serverCert }, (req, res) => {
      apiServer(auth, rbac)(req, res).catch((err: unknown) => send(res, 500, { message: String(err) }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('trusts the serving certificate through certificate-authority-data and sends the bearer token', async () => {
    assert.equal(await kubectl(['get', '--raw', '/healthz']), 'ok');
  });

  it('accepts the DNS SAN when the server is addressed as localhost', async () => {
    assert.equal(await kubectl(['get', '--raw', '/version'], { server: `https://localhost:${port}` }), 'ok');
  });

  it('refuses the server without the CA (Go x509: unknown authority)', async () => {
    await assert.rejects(
      kubectl(['get', '--raw', '/healthz'], { caCertPem: null }),
      /certificate signed by unknown authority/,
    );
  });

  it('reads the 401 Status for an unknown token', async () => {
    await assert.rejects(
      kubectl(['get', '--raw', '/healthz'], { token: 'not-issued' }),
      /error: You must be logged in to the server \(Unauthorized\)/,
    );
  });

  it('reads the 403 Status message for a path the service account may not get', async () => {
    await assert.rejects(
      kubectl(['get', '--raw', '/logs']),
      /Error from server \(Forbidden\): forbidden: User "system:serviceaccount:ns:sa" cannot get path "\/logs"/,
    );
  });

  it('answers kubectl auth can-i for non-resource URLs', async () => {
    assert.equal((await kubectl(['auth', 'can-i', 'get', '/api'])).trim(), 'yes');
    assert.equal(await canI(['get', '/metrics']), 'no', 'granted only by an unbound ClusterRole');
  });

  it('answers kubectl auth can-i for resources from the RoleBinding of the service account', async () => {
    assert.equal(await canI(['list', 'configmaps', '-n', 'ns']), 'yes');
    assert.equal(await canI(['get', 'configmaps/app-config', '-n', 'ns']), 'yes');
    assert.equal(await canI(['delete', 'configmaps', '-n', 'ns']), 'no');
    assert.equal(await canI(['list', 'configmaps', '-n', 'other']), 'no');
  });

  it('lists the rules for kubectl auth can-i --list', async () => {
    const table = await kubectl(['auth', 'can-i', '--list', '-n', 'ns']);
    assert.match(table, /^configmaps\s+\[\]\s+\[\]\s+\[get list\]$/m);
    assert.match(table, /^selfsubjectaccessreviews\.authorization\.k8s\.io\s+\[\]\s+\[\]\s+\[create\]$/m);
    assert.match(table, /^\s+\[\/apis\/\*\]\s+\[\]\s+\[get\]$/m);
  });

  it('answers kubectl auth whoami with the service account identity', async () => {
    const out = await kubectl(['auth', 'whoami', '-o', 'json']);
    assert.deepEqual((JSON.parse(out) as { status: unknown }).status, {
      userInfo: {
        username: 'system:serviceaccount:ns:sa',
        groups: ['system:serviceaccounts', 'system:serviceaccounts:ns', 'system:authenticated'],
      },
    });
  });
});
