import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { selfSubjectAccessReview, selfSubjectRulesReview } from './index.js';
import {
  clusterRole,
  clusterRoleBinding,
  rbacSource,
  role,
  roleBinding,
  rule,
  serviceAccount,
  user,
} from './fixtures.js';

const ssar = (spec: object, extra: object = {}) => ({
  apiVersion: 'authorization.k8s.io/v1',
  kind: 'SelfSubjectAccessReview',
  metadata: { creationTimestamp: null },
  spec,
  ...extra,
});

const sa = serviceAccount('ns', 'sa');
const saReader = rbacSource({
  roles: [role()],
  roleBindings: [roleBinding({ subjects: [{ kind: 'ServiceAccount', name: 'sa', namespace: 'ns' }] })],
});

describe('selfSubjectAccessReview', () => {
  it('answers an allowed resource question with the RBAC reason, echoing the spec', () => {
    const spec = {
      resourceAttributes: { namespace: 'ns', verb: 'get', resource: 'configmaps', version: 'v1' },
    };
    assert.deepEqual(selfSubjectAccessReview(sa, ssar(spec), saReader), {
      kind: 'SelfSubjectAccessReview',
      apiVersion: 'authorization.k8s.io/v1',
      metadata: { creationTimestamp: null },
      spec: { resourceAttributes: { namespace: 'ns', verb: 'get', version: 'v1', resource: 'configmaps' } },
      status: {
        allowed: true,
        reason: 'RBAC: allowed by RoleBinding "reader-binding/ns" of Role "reader" to ServiceAccount "sa/ns"',
      },
    });
  });

  it('answers a denied question with allowed false and no reason', () => {
    const spec = { resourceAttributes: { namespace: 'ns', verb: 'delete', resource: 'configmaps' } };
    assert.deepEqual((selfSubjectAccessReview(sa, ssar(spec), saReader) as { status: unknown }).status, {
      allowed: false,
    });
  });

  it('evaluates group, subresource and name like a real request', () => {
    const rbac = rbacSource({
      clusterRoles: [
        clusterRole({
          rules: [
            rule({
              verbs: ['patch'],
              apiGroups: ['apps'],
              resources: ['deployments/status'],
              resourceNames: ['web'],
            }),
          ],
        }),
      ],
      clusterRoleBindings: [clusterRoleBinding()],
    });
    const ask = (attrs: object) =>
      (
        selfSubjectAccessReview(user(), ssar({ resourceAttributes: attrs }), rbac) as {
          status: { allowed: boolean };
        }
      ).status.allowed;
    const base = {
      namespace: 'ns',
      verb: 'patch',
      group: 'apps',
      resource: 'deployments',
      subresource: 'status',
    };
    assert.equal(ask({ ...base, name: 'web' }), true);
    assert.equal(ask({ ...base, name: 'api' }), false);
    assert.equal(ask({ ...base, name: 'web', subresource: '' }), false);
    assert.equal(ask({ ...base, name: 'web', group: '' }), false);
  });

  it('answers a non-resource question', () => {
    const allowed = selfSubjectAccessReview(
      sa,
      ssar({ nonResourceAttributes: { path: '/apis', verb: 'get' } }),
      saReader,
    );
    assert.deepEqual(allowed, {
      kind: 'SelfSubjectAccessReview',
      apiVersion: 'authorization.k8s.io/v1',
      metadata: { creationTimestamp: null },
      spec: { nonResourceAttributes: { path: '/apis', verb: 'get' } },
      status: {
        allowed: true,
        reason:
          'RBAC: allowed by ClusterRoleBinding "system:discovery" of ClusterRole "system:discovery" to Group "system:authenticated"',
      },
    });
    const denied = selfSubjectAccessReview(
      sa,
      ssar({ nonResourceAttributes: { path: '/metrics', verb: 'get' } }),
      saReader,
    );
    assert.deepEqual((denied as { status: unknown }).status, { allowed: false });
  });

  it('answers system:masters yes to anything, with no reason', () => {
    const admin = user({ groups: ['system:masters', 'system:authenticated'] });
    const review = selfSubjectAccessReview(
      admin,
      ssar({ resourceAttributes: { verb: '*', group: '*', resource: '*' } }),
      rbacSource(),
    );
    assert.deepEqual((review as { status: unknown }).status, { allowed: true });
  });

  it('treats a namespaced question without a namespace as cluster-wide, so RoleBindings do not count', () => {
    const spec = { resourceAttributes: { verb: 'get', resource: 'configmaps' } };
    assert.deepEqual((selfSubjectAccessReview(sa, ssar(spec), saReader) as { status: unknown }).status, {
      allowed: false,
    });
  });

  it('answers in the API version it was asked in', () => {
    const body = ssar(
      { nonResourceAttributes: { path: '/api', verb: 'get' } },
      { apiVersion: 'authorization.k8s.io/v1beta1' },
    );
    assert.equal(
      (selfSubjectAccessReview(sa, body, saReader) as { apiVersion: string }).apiVersion,
      'authorization.k8s.io/v1beta1',
    );
  });

  it('rejects a spec with neither kind of attributes as Invalid', () => {
    assert.deepEqual(selfSubjectAccessReview(sa, ssar({}), saReader), {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message:
        'SelfSubjectAccessReview.authorization.k8s.io "" is invalid: spec.resourceAttributes: Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified',
      reason: 'Invalid',
      details: {
        group: 'authorization.k8s.io',
        kind: 'SelfSubjectAccessReview',
        causes: [
          {
            reason: 'FieldValueInvalid',
            message:
              'Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified',
            field: 'spec.resourceAttributes',
          },
        ],
      },
      code: 422,
    });
    assert.equal((selfSubjectAccessReview(sa, {}, saReader) as { code: number }).code, 422, 'no spec at all');
  });

  it('rejects a spec with both kinds of attributes as Invalid', () => {
    const body = ssar({
      resourceAttributes: { verb: 'get' },
      nonResourceAttributes: { path: '/api', verb: 'get' },
    });
    const status = selfSubjectAccessReview(sa, body, saReader) as { code: number; message: string };
    assert.equal(status.code, 422);
    assert.equal(
      status.message,
      'SelfSubjectAccessReview.authorization.k8s.io "" is invalid: spec.nonResourceAttributes: Invalid value: authorization.NonResourceAttributes{Path:"/api", Verb:"get"}: cannot be specified in combination with resourceAttributes',
    );
  });
});

describe('selfSubjectRulesReview', () => {
  it('lists the built-in discovery rules and the namespace grants, cluster-wide rules first', () => {
    const review = selfSubjectRulesReview(
      sa,
      { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectRulesReview', spec: { namespace: 'ns' } },
      saReader,
    );
    assert.deepEqual(review, {
      kind: 'SelfSubjectRulesReview',
      apiVersion: 'authorization.k8s.io/v1',
      metadata: { creationTimestamp: null },
      spec: {},
      status: {
        resourceRules: [
          {
            verbs: ['create'],
            apiGroups: ['authorization.k8s.io'],
            resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'],
          },
          { verbs: ['create'], apiGroups: ['authentication.k8s.io'], resources: ['selfsubjectreviews'] },
          { verbs: ['get'], apiGroups: [''], resources: ['configmaps'] },
        ],
        nonResourceRules: [
          {
            verbs: ['get'],
            nonResourceURLs: [
              '/livez',
              '/readyz',
              '/healthz',
              '/version',
              '/version/',
              '/openapi',
              '/openapi/*',
              '/api',
              '/api/*',
              '/apis',
              '/apis/*',
            ],
          },
          { verbs: ['get'], nonResourceURLs: ['/livez', '/readyz', '/healthz', '/version', '/version/'] },
        ],
        incomplete: false,
      },
    });
  });

  it('leaves out RoleBindings of other namespaces', () => {
    const review = selfSubjectRulesReview(sa, { spec: { namespace: 'other' } }, saReader) as {
      status: { resourceRules: Array<{ resources: string[] }> };
    };
    assert.equal(
      review.status.resourceRules.some((r) => r.resources.includes('configmaps')),
      false,
    );
  });

  it('keeps resourceNames and reports unresolvable roles as evaluationError', () => {
    const rbac = rbacSource({
      roles: [role({ rules: [rule({ resourceNames: ['app-config'] })] })],
      roleBindings: [roleBinding(), roleBinding({ name: 'broken', roleRef: { kind: 'Role', name: 'gone' } })],
    });
    const review = selfSubjectRulesReview(user(), { spec: { namespace: 'ns' } }, rbac) as {
      status: { resourceRules: object[]; evaluationError: string; incomplete: boolean };
    };
    assert.deepEqual(review.status.resourceRules.at(-1), {
      verbs: ['get'],
      apiGroups: [''],
      resources: ['configmaps'],
      resourceNames: ['app-config'],
    });
    assert.equal(review.status.evaluationError, 'role.rbac.authorization.k8s.io "gone" not found');
    assert.equal(review.status.incomplete, false);
  });

  it('gives system:masters the cluster-admin wildcard rules', () => {
    const admin = user({ groups: ['system:masters', 'system:authenticated'] });
    const review = selfSubjectRulesReview(admin, { spec: { namespace: 'ns' } }, rbacSource()) as {
      status: { resourceRules: object[]; nonResourceRules: object[] };
    };
    assert.deepEqual(review.status.resourceRules[0], { verbs: ['*'], apiGroups: ['*'], resources: ['*'] });
    assert.deepEqual(review.status.nonResourceRules[0], { verbs: ['*'], nonResourceURLs: ['*'] });
  });

  it('is a BadRequest without a namespace', () => {
    assert.deepEqual(selfSubjectRulesReview(sa, { spec: {} }, saReader), {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'no namespace on request',
      reason: 'BadRequest',
      code: 400,
    });
  });
});
