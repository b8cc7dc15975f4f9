/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-explicit-any -- assertions over parsed YAML */
/**
 * `kubectl apply -k config/default --dry-run=server`, without kustomize: a tiny renderer follows
 * `resources:` (folders and files) and applies `namespace:` the way kustomize does, and the local
 * cluster accepts every rendered object with `dryRun=All` once the CRDs (and the namespace they all
 * go to) exist.
 */
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { OPERATOR_IMAGE } from '../../operator/generate/bundle.js';
import { startLocalCluster, type LocalCluster } from '../../operator/localcluster/index.js';

const ROOT = join(import.meta.dirname, '..', '..');
type Obj = Record<string, any>;

const CLUSTER_SCOPED = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
]);

/** What `kustomize build dir` gives for the features config/ uses: resources and namespace. */
export function render(dir: string): Obj[] {
  const k = parse(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as Obj;
  const objs: Obj[] = [];
  for (const r of (k.resources ?? []) as string[]) {
    const path = join(dir, r);
    if (statSync(path).isDirectory()) objs.push(...render(path));
    else
      objs.push(
        ...parseAllDocuments(readFileSync(path, 'utf8'))
          .map((d) => d.toJS() as Obj | null)
          .filter((o): o is Obj => o !== null),
      );
  }
  const ns = k.namespace as string | undefined;
  if (ns)
    for (const o of objs) {
      if (!CLUSTER_SCOPED.has(o.kind)) o.metadata.namespace = ns;
      if (o.kind === 'Namespace') o.metadata.name = ns;
      for (const s of (o.subjects ?? []) as Obj[]) if (s.kind === 'ServiceAccount') s.namespace = ns;
    }
  return objs;
}

const pathOf = (o: Obj): string => {
  const [group, version] = o.apiVersion.includes('/') ? o.apiVersion.split('/') : ['', o.apiVersion];
  const base = group ? `/apis/${group}/${version}` : `/api/${version}`;
  const plural = `${o.kind.toLowerCase()}s`;
  return o.metadata.namespace ? `${base}/namespaces/${o.metadata.namespace}/${plural}` : `${base}/${plural}`;
};

describe('config/default', () => {
  let cluster: LocalCluster;
  const objs = render(join(ROOT, 'config', 'default'));
  const post = (o: Obj, dryRun: boolean) =>
    fetch(`${cluster.url}${pathOf(o)}${dryRun ? '?dryRun=All' : ''}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(o),
    });

  before(async () => {
    cluster = await startLocalCluster();
  });
  after(async () => {
    await cluster?.stop();
  });

  it('renders the CRDs, the RBAC, the namespace and the operator, all in meshwright-system', () => {
    const kinds = objs.map((o) => o.kind).sort();
    assert.deepEqual(kinds, [
      'ClusterRole',
      'ClusterRoleBinding',
      'CustomResourceDefinition',
      'CustomResourceDefinition',
      'CustomResourceDefinition',
      'Deployment',
      'Namespace',
      'Role',
      'RoleBinding',
      'Service',
      'ServiceAccount',
    ]);
    for (const o of objs.filter((o) => !CLUSTER_SCOPED.has(o.kind)))
      assert.equal(o.metadata.namespace, 'meshwright-system', `${o.kind} ${o.metadata.name}`);
  });

  it('runs the operator image non-root, read-only, seccomp RuntimeDefault, no capabilities, with probes and leader election', () => {
    const d = objs.find((o) => o.kind === 'Deployment')!;
    const pod = d.spec.template.spec;
    const c = pod.containers[0];
    assert.equal(c.image, OPERATOR_IMAGE);
    assert.deepEqual(c.args, ['operator', '--leader-elect=true']);
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.equal(pod.securityContext.seccompProfile.type, 'RuntimeDefault');
    assert.equal(c.securityContext.readOnlyRootFilesystem, true);
    assert.equal(c.securityContext.allowPrivilegeEscalation, false);
    assert.deepEqual(c.securityContext.capabilities.drop, ['ALL']);
    assert.ok(c.resources.requests.cpu && c.resources.requests.memory && c.resources.limits.memory);
    assert.equal(c.livenessProbe.httpGet.path, '/healthz');
    assert.equal(c.readinessProbe.httpGet.path, '/readyz');
    assert.deepEqual(
      c.ports.map((p: Obj) => p.containerPort),
      [8080, 8081],
    );
    assert.deepEqual(c.env.find((e: Obj) => e.name === 'POD_NAMESPACE').valueFrom, {
      fieldRef: { fieldPath: 'metadata.namespace' },
    });
  });

  it('is accepted by the API server with dryRun=All once the CRDs and the namespace exist', async () => {
    for (const o of objs.filter((o) => o.kind === 'CustomResourceDefinition' || o.kind === 'Namespace')) {
      const res = await post(o, false);
      assert.equal(res.status, 201, `${o.kind} ${o.metadata.name}: ${await res.text()}`);
    }
    await cluster.settle();
    for (const o of objs.filter((o) => o.kind !== 'CustomResourceDefinition' && o.kind !== 'Namespace')) {
      const res = await post(o, true);
      assert.equal(res.status, 201, `${o.kind} ${o.metadata.name}: ${await res.text()}`);
    }
    // dry run: nothing was stored
    const sa = await fetch(
      `${cluster.url}/api/v1/namespaces/meshwright-system/serviceaccounts/meshwright-operator`,
    );
    assert.equal(sa.status, 404);
  });

  it('refuses what a real server would (the dry run is not a no-op): a namespace that does not exist', async () => {
    const sa = structuredClone(objs.find((o) => o.kind === 'ServiceAccount')!);
    sa.metadata.namespace = 'no-such-namespace';
    const res = await post(sa, true);
    assert.equal(res.status, 404, await res.text());
  });
});
