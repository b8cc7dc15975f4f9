/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-return -- assertions over parsed YAML */
/**
 * The operator's RBAC as generated: no wildcard, no CRD writes, every control-plane grant held by
 * the operator itself, and `config/rbac` and the CSV carrying the same rules (one source).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { CONTROL_PLANE_RULES } from '../../operator/meshinstallation/desired.js';
import {
  allows,
  LEADER_ELECTION_RULES,
  mergeRules,
  OPERATOR_CLUSTER_RULES,
  SERVICE_ACCOUNT_NAME,
} from '../../operator/generate/rbac.js';

const ROOT = join(import.meta.dirname, '..', '..');
const yamlFile = (...p: string[]) => parse(readFileSync(join(ROOT, ...p), 'utf8'));

describe('the operator RBAC', () => {
  it('uses no wildcard', () => {
    for (const r of [...OPERATOR_CLUSTER_RULES, ...LEADER_ELECTION_RULES])
      for (const v of [...(r.apiGroups ?? []), ...(r.resources ?? []), ...r.verbs]) assert.notEqual(v, '*');
  });

  it('never creates or patches a CRD', () => {
    for (const verb of ['create', 'patch', 'update', 'delete'])
      assert.equal(
        allows(OPERATOR_CLUSTER_RULES, 'apiextensions.k8s.io', 'customresourcedefinitions', verb),
        false,
      );
  });

  it('holds every permission it grants the control plane (no escalation)', () => {
    for (const r of CONTROL_PLANE_RULES)
      for (const g of r.apiGroups ?? [])
        for (const res of r.resources ?? [])
          for (const v of r.verbs) assert.ok(allows(OPERATOR_CLUSTER_RULES, g, res, v), `${v} ${g}/${res}`);
  });

  it('merges rules into one canonical, order-independent form', () => {
    const a = mergeRules([...CONTROL_PLANE_RULES].reverse());
    const b = mergeRules(CONTROL_PLANE_RULES);
    assert.deepEqual(a, b);
    assert.deepEqual(mergeRules(OPERATOR_CLUSTER_RULES), OPERATOR_CLUSTER_RULES);
  });

  it('is the same in config/rbac and in the CSV', () => {
    const csv = yamlFile('olm', 'bundle', 'manifests', 'meshwright.clusterserviceversion.yaml');
    const install = csv.spec.install.spec;
    assert.deepEqual(install.clusterPermissions, [
      { serviceAccountName: SERVICE_ACCOUNT_NAME, rules: yamlFile('config', 'rbac', 'role.yaml').rules },
    ]);
    assert.deepEqual(install.permissions, [
      {
        serviceAccountName: SERVICE_ACCOUNT_NAME,
        rules: yamlFile('config', 'rbac', 'leader_election_role.yaml').rules,
      },
    ]);
    assert.equal(install.deployments[0].spec.template.spec.serviceAccountName, SERVICE_ACCOUNT_NAME);
  });
});
