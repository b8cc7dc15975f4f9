/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-return -- Kubernetes objects are untyped JSON here (Obj) */
/** TLS, bearer tokens and RBAC (local cluster only: it mints the identities). */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { Client, connect, REAL, type Harness, type Obj } from './harness.js';

let h: Harness;
before(async () => {
  if (!REAL) h = await connect({ tls: true });
});
after(async () => {
  await h?.close();
});

function clientFor(kubeconfigPath: string): Client {
  const kc = parse(readFileSync(kubeconfigPath, 'utf8')) as Obj;
  return new Client({
    server: kc.clusters[0].cluster.server,
    ca: Buffer.from(kc.clusters[0].cluster['certificate-authority-data'], 'base64').toString('utf8'),
    token: kc.users[0].user.token,
  });
}

describe('authentication and RBAC', { skip: REAL }, () => {
  it('serves HTTPS and refuses requests without a valid token with 401', async () => {
    assert.match(h.local!.url, /^https:/);
    assert.equal((await h.get('/api/v1/namespaces')).status, 200);
    const anonymous = new Client({ server: h.local!.url, ca: h.local!.caCertPem! });
    const r = await anonymous.get('/api/v1/namespaces');
    assert.equal(r.status, 401);
    assert.equal(r.body.reason, 'Unauthorized');
    const bogus = new Client({ server: h.local!.url, ca: h.local!.caCertPem!, token: 'nope' });
    assert.equal((await bogus.get('/api/v1/namespaces')).status, 401);
  });

  it('authorizes a service account from Roles and RoleBindings, with 403 bodies and access reviews', async () => {
    const ns = await h.namespace();
    const sa = clientFor(
      await h.local!.kubeconfigFor({ serviceAccount: { namespace: ns, name: 'operator' } }),
    );
    const denied = await sa.get(`/api/v1/namespaces/${ns}/configmaps`);
    assert.equal(denied.status, 403);
    assert.equal(denied.body.reason, 'Forbidden');
    assert.equal(
      denied.body.message,
      `configmaps is forbidden: User "system:serviceaccount:${ns}:operator" cannot list resource "configmaps" in API group "" in the namespace "${ns}"`,
    );

    await h.post(`/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles`, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'cm-reader' },
      rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch'] }],
    });
    await h.post(`/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'cm-reader' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'cm-reader' },
      subjects: [{ kind: 'ServiceAccount', name: 'operator', namespace: ns }],
    });
    assert.equal((await sa.get(`/api/v1/namespaces/${ns}/configmaps`)).status, 200);
    assert.equal(
      (
        await sa.post(`/api/v1/namespaces/${ns}/configmaps`, {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'x' },
        })
      ).status,
      403,
    );
    assert.equal((await sa.get('/api/v1/configmaps')).status, 403);

    const review = async (verb: string) =>
      (
        await sa.post('/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SelfSubjectAccessReview',
          spec: { resourceAttributes: { namespace: ns, verb, resource: 'configmaps' } },
        })
      ).body.status.allowed;
    assert.equal(await review('list'), true);
    assert.equal(await review('delete'), false);
  });
});
