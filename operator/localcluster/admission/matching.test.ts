import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  isExemptFromWebhooks,
  ruleMatches,
  selectorMatches,
  SelectorError,
  webhookApplies,
} from './matching.js';
import type { AdmissionRequestInput, MutatingWebhook, RuleWithOperations } from './types.js';

const request = (overrides: Partial<AdmissionRequestInput> = {}): AdmissionRequestInput => ({
  uid: 'uid-1',
  operation: 'CREATE',
  kind: { group: '', version: 'v1', kind: 'Pod' },
  resource: { group: '', version: 'v1', resource: 'pods' },
  namespace: 'shop',
  name: 'web',
  object: { metadata: { name: 'web', labels: { app: 'web' } } },
  userInfo: { username: 'alice' },
  dryRun: false,
  ...overrides,
});

const rule = (overrides: Partial<RuleWithOperations> = {}): RuleWithOperations => ({
  operations: ['CREATE'],
  apiGroups: [''],
  apiVersions: ['v1'],
  resources: ['pods'],
  ...overrides,
});

const webhook = (overrides: Partial<MutatingWebhook> = {}): MutatingWebhook => ({
  name: 'inject.meshwright.io',
  rules: [rule()],
  ...overrides,
});

const namespaceRequest = (
  labels: Record<string, string>,
  operation: AdmissionRequestInput['operation'] = 'CREATE',
) =>
  request({
    operation,
    kind: { group: '', version: 'v1', kind: 'Namespace' },
    resource: { group: '', version: 'v1', resource: 'namespaces' },
    namespace: 'shop',
    name: 'shop',
    object: { metadata: { name: 'shop', labels } },
  });

describe('ruleMatches', () => {
  it('matches operations exactly or through "*"', () => {
    assert.equal(ruleMatches(rule(), request()), true);
    assert.equal(ruleMatches(rule(), request({ operation: 'UPDATE' })), false);
    assert.equal(ruleMatches(rule({ operations: ['*'] }), request({ operation: 'DELETE' })), true);
  });

  it('matches group, version and resource exactly or through "*"', () => {
    const deployments = request({ resource: { group: 'apps', version: 'v1', resource: 'deployments' } });
    assert.equal(ruleMatches(rule(), deployments), false);
    assert.equal(ruleMatches(rule({ apiGroups: ['*'], resources: ['deployments'] }), deployments), true);
    assert.equal(
      ruleMatches(rule({ apiGroups: ['apps'], apiVersions: ['v1beta1'], resources: ['*'] }), deployments),
      false,
    );
    assert.equal(
      ruleMatches(rule({ apiGroups: ['apps'], apiVersions: ['*'], resources: ['*'] }), deployments),
      true,
    );
  });

  it('reaches subresources only through "<resource>/<sub>", "<resource>/*" or "*/*", never through "*"', () => {
    const status = request({ operation: 'UPDATE', subResource: 'status' });
    const on = (resources: string[]) => ruleMatches(rule({ operations: ['UPDATE'], resources }), status);
    assert.equal(on(['pods']), false);
    assert.equal(on(['*']), false);
    assert.equal(on(['pods/status']), true);
    assert.equal(on(['pods/*']), true);
    assert.equal(on(['*/*']), true);
    assert.equal(on(['*/status']), true);
    assert.equal(on(['pods/log']), false);
    assert.equal(
      ruleMatches(rule({ resources: ['*/*'] }), request()),
      true,
      '"*/*" also covers the main resource',
    );
  });

  it('limits by scope: Namespaced excludes cluster objects and Namespaces, Cluster includes Namespaces', () => {
    const node = request({ resource: { group: '', version: 'v1', resource: 'nodes' }, namespace: undefined });
    const ns = namespaceRequest({});
    const any = rule({ resources: ['*'] });
    assert.equal(ruleMatches({ ...any, scope: 'Namespaced' }, request()), true);
    assert.equal(ruleMatches({ ...any, scope: 'Namespaced' }, node), false);
    assert.equal(ruleMatches({ ...any, scope: 'Namespaced' }, ns), false);
    assert.equal(ruleMatches({ ...any, scope: 'Cluster' }, node), true);
    assert.equal(ruleMatches({ ...any, scope: 'Cluster' }, ns), true);
    assert.equal(ruleMatches({ ...any, scope: 'Cluster' }, request()), false);
    assert.equal(ruleMatches({ ...any, scope: '*' }, node), true);
  });
});

describe('selectorMatches', () => {
  const labels = { app: 'web', tier: 'front' };
  it('supports matchLabels and the In, NotIn, Exists and DoesNotExist operators', () => {
    assert.equal(selectorMatches({ matchLabels: { app: 'web' } }, labels), true);
    assert.equal(selectorMatches({ matchLabels: { app: 'api' } }, labels), false);
    assert.equal(
      selectorMatches(
        { matchExpressions: [{ key: 'tier', operator: 'In', values: ['back', 'front'] }] },
        labels,
      ),
      true,
    );
    assert.equal(
      selectorMatches({ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['front'] }] }, labels),
      false,
    );
    assert.equal(
      selectorMatches({ matchExpressions: [{ key: 'absent', operator: 'NotIn', values: ['x'] }] }, labels),
      true,
    );
    assert.equal(selectorMatches({ matchExpressions: [{ key: 'app', operator: 'Exists' }] }, labels), true);
    assert.equal(
      selectorMatches({ matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, labels),
      false,
    );
    assert.equal(selectorMatches({}, {}), true, 'an empty selector selects everything');
  });

  it('refuses selectors that metav1.LabelSelectorAsSelector refuses', () => {
    assert.throws(
      () => selectorMatches({ matchExpressions: [{ key: 'a', operator: 'In', values: [] }] }, labels),
      SelectorError,
    );
    assert.throws(
      () => selectorMatches({ matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] }, labels),
      SelectorError,
    );
    assert.throws(
      () => selectorMatches({ matchExpressions: [{ key: 'a', operator: 'Gt', values: ['1'] }] }, labels),
      /"Gt" is not a valid label selector operator/,
    );
  });
});

describe('webhookApplies', () => {
  const optIn = { matchLabels: { 'mesh.io/injection': 'enabled' } };

  it('judges namespaceSelector by the namespace labels it is given', () => {
    const hook = webhook({ namespaceSelector: optIn });
    assert.deepEqual(webhookApplies(hook, request(), request().object, { 'mesh.io/injection': 'enabled' }), {
      kind: 'call',
    });
    assert.deepEqual(webhookApplies(hook, request(), request().object, { other: 'x' }), { kind: 'skip' });
  });

  it('refuses with the real 404 when a selector needs labels of a namespace it was not told about', () => {
    const verdict = webhookApplies(
      webhook({ namespaceSelector: optIn }),
      request(),
      request().object,
      undefined,
    );
    assert.equal(verdict.kind, 'error');
    assert.equal(verdict.kind === 'error' && verdict.status.message, 'namespaces "shop" not found');
    assert.equal(verdict.kind === 'error' && verdict.status.code, 404);
  });

  it('lets every cluster-scoped object other than a Namespace through namespaceSelector', () => {
    const node = request({ resource: { group: '', version: 'v1', resource: 'nodes' }, namespace: undefined });
    const hook = webhook({ namespaceSelector: optIn, rules: [rule({ resources: ['nodes'] })] });
    assert.deepEqual(webhookApplies(hook, node, node.object, undefined), { kind: 'call' });
  });

  it('judges a Namespace being created by its own labels, and one being deleted by the labels given', () => {
    const hook = webhook({
      namespaceSelector: optIn,
      rules: [rule({ operations: ['*'], resources: ['namespaces'] })],
    });
    const created = namespaceRequest({ 'mesh.io/injection': 'enabled' });
    assert.deepEqual(webhookApplies(hook, created, created.object, {}), { kind: 'call' });
    const deleted = namespaceRequest({ 'mesh.io/injection': 'enabled' }, 'DELETE');
    assert.deepEqual(webhookApplies(hook, deleted, undefined, {}), { kind: 'skip' });
  });

  it('judges objectSelector by the object, or by the old object on updates', () => {
    const hook = webhook({
      objectSelector: { matchLabels: { app: 'legacy' } },
      rules: [rule({ operations: ['*'] })],
    });
    assert.deepEqual(webhookApplies(hook, request(), request().object, {}), { kind: 'skip' });
    const update = request({ operation: 'UPDATE', oldObject: { metadata: { labels: { app: 'legacy' } } } });
    assert.deepEqual(webhookApplies(hook, update, update.object, {}), { kind: 'call' });
  });

  it('reports an invalid selector only for requests the rules match', () => {
    const hook = webhook({
      objectSelector: { matchExpressions: [{ key: 'a', operator: 'In', values: [] }] },
    });
    assert.equal(webhookApplies(hook, request(), request().object, {}).kind, 'error');
    assert.equal(webhookApplies(hook, request({ operation: 'UPDATE' }), request().object, {}).kind, 'skip');
  });
});

describe('isExemptFromWebhooks', () => {
  it('exempts the objects that configure admission, and nothing else', () => {
    assert.equal(
      isExemptFromWebhooks({
        group: 'admissionregistration.k8s.io',
        version: 'v1',
        kind: 'MutatingWebhookConfiguration',
      }),
      true,
    );
    assert.equal(
      isExemptFromWebhooks({
        group: 'admissionregistration.k8s.io',
        version: 'v1',
        kind: 'ValidatingAdmissionPolicyBinding',
      }),
      true,
    );
    assert.equal(isExemptFromWebhooks({ group: '', version: 'v1', kind: 'Pod' }), false);
  });
});
