import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { forbiddenStatus, unauthorizedStatus } from './index.js';
import { attrs, nonResource, serviceAccount, user } from './fixtures.js';

const sa = serviceAccount('ns', 'sa');

describe('forbiddenStatus', () => {
  it('words a namespaced collection request like kube-apiserver', () => {
    assert.deepEqual(forbiddenStatus(sa, attrs({ verb: 'list' })), {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message:
        'configmaps is forbidden: User "system:serviceaccount:ns:sa" cannot list resource "configmaps" in API group "" in the namespace "ns"',
      reason: 'Forbidden',
      details: { kind: 'configmaps' },
      code: 403,
    });
  });

  it('words a cluster-scoped request with "at the cluster scope"', () => {
    const status = forbiddenStatus(sa, attrs({ verb: 'list', resource: 'namespaces', namespace: undefined }));
    assert.equal(
      status.message,
      'namespaces is forbidden: User "system:serviceaccount:ns:sa" cannot list resource "namespaces" in API group "" at the cluster scope',
    );
  });

  it('puts the object name before "is forbidden" and into details', () => {
    const status = forbiddenStatus(sa, attrs({ verb: 'get', name: 'x' }));
    assert.equal(
      status.message,
      'configmaps "x" is forbidden: User "system:serviceaccount:ns:sa" cannot get resource "configmaps" in API group "" in the namespace "ns"',
    );
    assert.deepEqual(status.details, { name: 'x', kind: 'configmaps' });
  });

  it('qualifies the resource with its group and names the subresource in the sentence only', () => {
    const status = forbiddenStatus(
      sa,
      attrs({ verb: 'patch', apiGroup: 'apps', resource: 'deployments', subresource: 'status', name: 'web' }),
    );
    assert.equal(
      status.message,
      'deployments.apps "web" is forbidden: User "system:serviceaccount:ns:sa" cannot patch resource "deployments/status" in API group "apps" in the namespace "ns"',
    );
    assert.deepEqual(status.details, { name: 'web', group: 'apps', kind: 'deployments' });
  });

  it('words a non-resource request as a path, with empty details', () => {
    const status = forbiddenStatus(sa, nonResource('/metrics'));
    assert.equal(status.message, 'forbidden: User "system:serviceaccount:ns:sa" cannot get path "/metrics"');
    assert.deepEqual(status.details, {});
  });

  it("appends the authorizer's reason after a colon when there is one", () => {
    const status = forbiddenStatus(
      user(),
      attrs(),
      'RBAC: clusterrole.rbac.authorization.k8s.io "gone" not found',
    );
    assert.equal(
      status.message,
      'configmaps is forbidden: User "alice" cannot get resource "configmaps" in API group "" in the namespace "ns": RBAC: clusterrole.rbac.authorization.k8s.io "gone" not found',
    );
  });

  it('HTML-escapes the message and Go-quotes the username', () => {
    const status = forbiddenStatus(user({ username: 'a<b>&"c"' }), nonResource('/x'));
    assert.equal(status.message, 'forbidden: User "a&lt;b&gt;&amp;\\"c\\"" cannot get path "/x"');
  });

  it('serializes with the field order of the real body', () => {
    assert.equal(
      JSON.stringify(forbiddenStatus(user(), attrs({ verb: 'list' }))),
      '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"configmaps is forbidden: User \\"alice\\" cannot list resource \\"configmaps\\" in API group \\"\\" in the namespace \\"ns\\"","reason":"Forbidden","details":{"kind":"configmaps"},"code":403}',
    );
  });
});

describe('unauthorizedStatus', () => {
  it('is the 401 body the authentication filter writes', () => {
    assert.equal(
      JSON.stringify(unauthorizedStatus()),
      '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}',
    );
  });
});
