import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { authorize } from './index.js';
import {
  attrs,
  clusterRole,
  clusterRoleBinding,
  nonResource,
  rbacSource,
  role,
  roleBinding,
  rule,
  serviceAccount,
  urlRule,
  user,
} from './fixtures.js';
import type { SubjectInput } from './fixtures.js';

describe('authorize: privileged group', () => {
  it('allows system:masters everything with no RBAC objects at all, with an empty reason', () => {
    const admin = user({ username: 'admin', groups: ['system:masters', 'system:authenticated'] });
    assert.deepEqual(authorize(admin, attrs({ verb: 'delete', resource: 'secrets' }), rbacSource()), {
      allowed: true,
      reason: '',
    });
    assert.equal(authorize(admin, nonResource('/metrics'), rbacSource()).allowed, true);
  });

  it('denies a user with no bindings, with an empty reason', () => {
    assert.deepEqual(authorize(user(), attrs(), rbacSource()), { allowed: false, reason: '' });
  });
});

describe('authorize: bindings', () => {
  it('a RoleBinding to a Role grants in its namespace only', () => {
    const rbac = rbacSource({ roles: [role()], roleBindings: [roleBinding()] });
    const decision = authorize(user(), attrs(), rbac);
    assert.deepEqual(decision, {
      allowed: true,
      reason: 'RBAC: allowed by RoleBinding "reader-binding/ns" of Role "reader" to User "alice"',
    });
    assert.equal(authorize(user(), attrs({ namespace: 'other' }), rbac).allowed, false);
    assert.equal(authorize(user(), attrs({ namespace: undefined }), rbac).allowed, false, 'not cluster-wide');
  });

  it('a RoleBinding to a ClusterRole grants that role in the binding namespace only', () => {
    const rbac = rbacSource({
      clusterRoles: [clusterRole()],
      roleBindings: [roleBinding({ roleRef: { kind: 'ClusterRole', name: 'reader' } })],
    });
    assert.equal(authorize(user(), attrs(), rbac).allowed, true);
    assert.equal(authorize(user(), attrs({ namespace: 'other' }), rbac).allowed, false);
  });

  it('a RoleBinding to a Role of another namespace grants nothing', () => {
    const rbac = rbacSource({ roles: [role({ namespace: 'other' })], roleBindings: [roleBinding()] });
    assert.deepEqual(authorize(user(), attrs(), rbac), {
      allowed: false,
      reason: 'RBAC: role.rbac.authorization.k8s.io "reader" not found',
    });
  });

  it('a ClusterRoleBinding grants in every namespace and at the cluster scope', () => {
    const rbac = rbacSource({ clusterRoles: [clusterRole()], clusterRoleBindings: [clusterRoleBinding()] });
    for (const namespace of ['ns', 'other', undefined]) {
      assert.deepEqual(authorize(user(), attrs({ namespace }), rbac), {
        allowed: true,
        reason:
          'RBAC: allowed by ClusterRoleBinding "reader-binding" of ClusterRole "reader" to User "alice"',
      });
    }
  });

  it('reports a binding to a missing ClusterRole in the denial reason', () => {
    const rbac = rbacSource({
      clusterRoleBindings: [clusterRoleBinding({ roleRef: { kind: 'ClusterRole', name: 'gone' } })],
    });
    assert.deepEqual(authorize(user(), attrs(), rbac), {
      allowed: false,
      reason: 'RBAC: clusterrole.rbac.authorization.k8s.io "gone" not found',
    });
  });

  it('lists several resolution errors once each, in brackets', () => {
    const rbac = rbacSource({
      clusterRoleBindings: [
        clusterRoleBinding({ name: 'a', roleRef: { kind: 'ClusterRole', name: 'gone' } }),
        clusterRoleBinding({ name: 'b', roleRef: { kind: 'ClusterRole', name: 'gone' } }),
        clusterRoleBinding({ name: 'c', roleRef: { kind: 'Bogus', name: 'x' } }),
      ],
    });
    assert.equal(
      authorize(user(), attrs(), rbac).reason,
      'RBAC: [clusterrole.rbac.authorization.k8s.io "gone" not found, unsupported role reference kind: "Bogus"]',
    );
  });

  it('a later binding that allows wins over an earlier unresolvable one', () => {
    const rbac = rbacSource({
      clusterRoles: [clusterRole()],
      clusterRoleBindings: [
        clusterRoleBinding({ name: 'broken', roleRef: { kind: 'ClusterRole', name: 'gone' } }),
        clusterRoleBinding(),
      ],
    });
    assert.equal(authorize(user(), attrs(), rbac).allowed, true);
  });
});

describe('authorize: subjects', () => {
  const withSubjects = (subjects: SubjectInput[]) =>
    rbacSource({ roles: [role()], roleBindings: [roleBinding({ subjects })] });

  it('a User subject matches the username exactly', () => {
    const rbac = withSubjects([{ kind: 'User', name: 'alice' }]);
    assert.equal(authorize(user(), attrs(), rbac).allowed, true);
    assert.equal(authorize(user({ username: 'Alice' }), attrs(), rbac).allowed, false);
  });

  it('a Group subject matches any member of the group', () => {
    const rbac = withSubjects([{ kind: 'Group', name: 'devs' }]);
    assert.deepEqual(authorize(user({ groups: ['devs', 'system:authenticated'] }), attrs(), rbac), {
      allowed: true,
      reason: 'RBAC: allowed by RoleBinding "reader-binding/ns" of Role "reader" to Group "devs"',
    });
    assert.equal(authorize(user(), attrs(), rbac).allowed, false);
  });

  it('a ServiceAccount subject with a namespace matches that service account', () => {
    const rbac = withSubjects([{ kind: 'ServiceAccount', name: 'sa', namespace: 'ns' }]);
    assert.deepEqual(authorize(serviceAccount('ns', 'sa'), attrs(), rbac), {
      allowed: true,
      reason: 'RBAC: allowed by RoleBinding "reader-binding/ns" of Role "reader" to ServiceAccount "sa/ns"',
    });
    assert.equal(authorize(serviceAccount('ns', 'other'), attrs(), rbac).allowed, false);
    assert.equal(authorize(serviceAccount('other', 'sa'), attrs(), rbac).allowed, false);
  });

  it('a ServiceAccount subject without a namespace means the RoleBinding namespace', () => {
    const rbac = withSubjects([{ kind: 'ServiceAccount', name: 'sa' }]);
    assert.deepEqual(authorize(serviceAccount('ns', 'sa'), attrs(), rbac), {
      allowed: true,
      reason: 'RBAC: allowed by RoleBinding "reader-binding/ns" of Role "reader" to ServiceAccount "sa/ns"',
    });
  });

  it('a ServiceAccount subject without a namespace in a ClusterRoleBinding matches nobody', () => {
    const rbac = rbacSource({
      clusterRoles: [clusterRole()],
      clusterRoleBindings: [clusterRoleBinding({ subjects: [{ kind: 'ServiceAccount', name: 'sa' }] })],
    });
    assert.equal(authorize(serviceAccount('ns', 'sa'), attrs(), rbac).allowed, false);
  });

  it('a service account can be granted through its group system:serviceaccounts:<ns>', () => {
    const rbac = withSubjects([{ kind: 'Group', name: 'system:serviceaccounts:ns' }]);
    assert.equal(authorize(serviceAccount('ns', 'anything'), attrs(), rbac).allowed, true);
    assert.equal(authorize(serviceAccount('other', 'sa'), attrs(), rbac).allowed, false);
  });

  it('an unknown subject kind matches nobody', () => {
    const rbac = withSubjects([{ kind: 'Robot', name: 'alice' }]);
    assert.equal(authorize(user(), attrs(), rbac).allowed, false);
  });

  it('the reason names the first subject of the binding that matches', () => {
    const rbac = withSubjects([
      { kind: 'User', name: 'bob' },
      { kind: 'Group', name: 'system:authenticated' },
      { kind: 'User', name: 'alice' },
    ]);
    assert.match(authorize(user(), attrs(), rbac).reason, /to Group "system:authenticated"$/);
  });
});

describe('authorize: rule forms', () => {
  const granting = (...rules: Parameters<typeof rule>[0][]) =>
    rbacSource({
      clusterRoles: [clusterRole({ rules: rules.map((r) => rule(r)) })],
      clusterRoleBindings: [clusterRoleBinding()],
    });
  const allowed = (rbac: ReturnType<typeof granting>, a: Parameters<typeof attrs>[0]) =>
    authorize(user(), attrs(a), rbac).allowed;

  it('matches verb, API group and resource exactly', () => {
    const rbac = granting({ verbs: ['get', 'list'], apiGroups: ['apps'], resources: ['deployments'] });
    assert.equal(allowed(rbac, { verb: 'list', apiGroup: 'apps', resource: 'deployments' }), true);
    assert.equal(allowed(rbac, { verb: 'watch', apiGroup: 'apps', resource: 'deployments' }), false);
    assert.equal(allowed(rbac, { verb: 'get', apiGroup: '', resource: 'deployments' }), false);
    assert.equal(allowed(rbac, { verb: 'get', apiGroup: 'apps', resource: 'statefulsets' }), false);
  });

  it('"*" matches every verb, every API group and every resource, subresources included', () => {
    const rbac = granting({ verbs: ['*'], apiGroups: ['*'], resources: ['*'] });
    assert.equal(
      allowed(rbac, { verb: 'deletecollection', apiGroup: 'example.com', resource: 'widgets' }),
      true,
    );
    assert.equal(
      allowed(rbac, { verb: 'patch', apiGroup: 'apps', resource: 'deployments', subresource: 'status' }),
      true,
    );
  });

  it('a plain resource does not grant its subresources', () => {
    const rbac = granting({ verbs: ['*'], apiGroups: ['apps'], resources: ['deployments'] });
    assert.equal(
      allowed(rbac, { verb: 'patch', apiGroup: 'apps', resource: 'deployments', subresource: 'status' }),
      false,
    );
  });

  it('"resource/subresource" grants only that subresource, not the resource itself', () => {
    const rbac = granting({ verbs: ['patch'], apiGroups: ['apps'], resources: ['deployments/status'] });
    assert.equal(
      allowed(rbac, { verb: 'patch', apiGroup: 'apps', resource: 'deployments', subresource: 'status' }),
      true,
    );
    assert.equal(allowed(rbac, { verb: 'patch', apiGroup: 'apps', resource: 'deployments' }), false);
    assert.equal(
      allowed(rbac, { verb: 'patch', apiGroup: 'apps', resource: 'deployments', subresource: 'scale' }),
      false,
    );
  });

  it('"*/scale" grants the scale subresource of every resource and nothing else', () => {
    const rbac = granting({ verbs: ['update'], apiGroups: ['*'], resources: ['*/scale'] });
    assert.equal(
      allowed(rbac, { verb: 'update', apiGroup: 'apps', resource: 'deployments', subresource: 'scale' }),
      true,
    );
    assert.equal(
      allowed(rbac, {
        verb: 'update',
        apiGroup: '',
        resource: 'replicationcontrollers',
        subresource: 'scale',
      }),
      true,
    );
    assert.equal(
      allowed(rbac, { verb: 'update', apiGroup: 'apps', resource: 'deployments', subresource: 'status' }),
      false,
    );
    assert.equal(allowed(rbac, { verb: 'update', apiGroup: 'apps', resource: 'deployments' }), false);
  });

  it('resourceNames grant only requests naming one of them', () => {
    const rbac = granting({ verbs: ['get', 'update', 'delete'], resourceNames: ['app-config'] });
    assert.equal(allowed(rbac, { verb: 'get', name: 'app-config' }), true);
    assert.equal(allowed(rbac, { verb: 'delete', name: 'app-config' }), true);
    assert.equal(allowed(rbac, { verb: 'get', name: 'other' }), false);
  });

  it('resourceNames never grant the nameless verbs list, watch, create and deletecollection', () => {
    const rbac = granting({ verbs: ['*'], resourceNames: ['app-config'] });
    for (const verb of ['list', 'watch', 'create', 'deletecollection']) {
      assert.equal(allowed(rbac, { verb }), false, verb);
    }
    // The request resolver takes the name from a metadata.name field selector; then it matches.
    assert.equal(allowed(rbac, { verb: 'watch', name: 'app-config' }), true);
  });

  it('a rule without resourceNames grants every name', () => {
    const rbac = granting({ verbs: ['get'] });
    assert.equal(allowed(rbac, { verb: 'get', name: 'anything' }), true);
  });

  it('resource rules never grant non-resource paths and URL rules never grant resources', () => {
    const rbac = granting({ verbs: ['*'], apiGroups: ['*'], resources: ['*'] });
    assert.equal(authorize(user(), nonResource('/metrics'), rbac).allowed, false);
    const urls = rbacSource({
      clusterRoles: [clusterRole({ rules: [urlRule(['*'], ['*'])] })],
      clusterRoleBindings: [clusterRoleBinding()],
    });
    assert.equal(authorize(user(), attrs(), urls).allowed, false);
  });
});

describe('authorize: nonResourceURLs', () => {
  const granting = (urls: string[], verbs = ['get']) =>
    rbacSource({
      clusterRoles: [clusterRole({ rules: [urlRule(urls, verbs)] })],
      clusterRoleBindings: [clusterRoleBinding()],
    });
  const allowed = (rbac: ReturnType<typeof granting>, path: string, verb = 'get') =>
    authorize(user(), nonResource(path, verb), rbac).allowed;

  it('an exact URL matches only itself', () => {
    const rbac = granting(['/metrics']);
    assert.equal(allowed(rbac, '/metrics'), true);
    assert.equal(allowed(rbac, '/metrics/cadvisor'), false);
    assert.equal(allowed(rbac, '/metrics', 'post'), false);
  });

  it('a trailing "*" matches by prefix', () => {
    const rbac = granting(['/logs/*']);
    assert.equal(allowed(rbac, '/logs/'), true);
    assert.equal(allowed(rbac, '/logs/kube-apiserver.log'), true);
    assert.equal(allowed(rbac, '/logs'), false);
  });

  it('"*" matches every path', () => {
    assert.equal(allowed(granting(['*'], ['*']), '/anything/at/all', 'put'), true);
  });

  it('URL rules bound through a RoleBinding grant nothing (non-resource requests have no namespace)', () => {
    const rbac = rbacSource({
      clusterRoles: [clusterRole({ rules: [urlRule(['/metrics'])] })],
      roleBindings: [roleBinding({ roleRef: { kind: 'ClusterRole', name: 'reader' } })],
    });
    assert.equal(authorize(user(), nonResource('/metrics'), rbac).allowed, false);
    // even when the caller passes a namespace along with the path
    assert.equal(authorize(user(), { ...nonResource('/metrics'), namespace: 'ns' }, rbac).allowed, false);
  });
});

describe('authorize: built-in discovery policy', () => {
  const sa = serviceAccount('ns', 'sa');

  it('lets any authenticated user discover the API and read health and version', () => {
    for (const path of [
      '/api',
      '/api/v1',
      '/apis',
      '/apis/apps/v1',
      '/version',
      '/openapi/v3',
      '/healthz',
      '/livez',
      '/readyz',
    ]) {
      assert.equal(authorize(sa, nonResource(path), rbacSource()).allowed, true, path);
    }
    assert.deepEqual(authorize(sa, nonResource('/api'), rbacSource()), {
      allowed: true,
      reason:
        'RBAC: allowed by ClusterRoleBinding "system:discovery" of ClusterRole "system:discovery" to Group "system:authenticated"',
    });
  });

  it('lets any authenticated user create access and rules reviews about itself', () => {
    for (const resource of ['selfsubjectaccessreviews', 'selfsubjectrulesreviews']) {
      const a = attrs({ verb: 'create', apiGroup: 'authorization.k8s.io', resource, namespace: undefined });
      assert.equal(authorize(sa, a, rbacSource()).allowed, true, resource);
    }
    const whoami = attrs({
      verb: 'create',
      apiGroup: 'authentication.k8s.io',
      resource: 'selfsubjectreviews',
      namespace: undefined,
    });
    assert.equal(authorize(sa, whoami, rbacSource()).allowed, true);
  });

  it('grants nothing else: no resources, no other paths, no writes to discovery', () => {
    assert.equal(authorize(sa, attrs({ verb: 'list' }), rbacSource()).allowed, false);
    assert.equal(authorize(sa, nonResource('/metrics'), rbacSource()).allowed, false);
    assert.equal(authorize(sa, nonResource('/api', 'post'), rbacSource()).allowed, false);
    const sar = attrs({
      verb: 'create',
      apiGroup: 'authorization.k8s.io',
      resource: 'subjectaccessreviews',
      namespace: undefined,
    });
    assert.equal(authorize(sa, sar, rbacSource()).allowed, false);
  });

  it('requires system:authenticated: an anonymous user may only read health and version', () => {
    const anonymous = { username: 'system:anonymous', groups: ['system:unauthenticated'] };
    assert.equal(authorize(anonymous, nonResource('/healthz'), rbacSource()).allowed, true);
    assert.equal(authorize(anonymous, nonResource('/version'), rbacSource()).allowed, true);
    assert.equal(authorize(anonymous, nonResource('/api'), rbacSource()).allowed, false);
  });

  it('a stored object of the same name replaces the built-in one', () => {
    const emptied = clusterRole({ name: 'system:discovery', rules: [] });
    assert.equal(authorize(sa, nonResource('/api'), rbacSource({ clusterRoles: [emptied] })).allowed, false);
  });
});

describe('authorize: aggregated ClusterRoles', () => {
  it('counts only the rules stored in the role; the aggregationRule selector is not evaluated', () => {
    const aggregate = clusterRole({
      name: 'reader',
      rules: [],
      aggregationRule: {
        clusterRoleSelectors: [{ matchLabels: { 'example.com/aggregate-to-reader': 'true' } }],
      },
    });
    const rbac = rbacSource({ clusterRoles: [aggregate], clusterRoleBindings: [clusterRoleBinding()] });
    assert.equal(authorize(user(), attrs(), rbac).allowed, false);
  });
});
