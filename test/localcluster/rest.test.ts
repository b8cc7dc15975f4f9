/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return -- Kubernetes objects are untyped JSON here (Obj) */
/** REST semantics: discovery, CRUD, errors, defaults, generation, patches, selectors, pagination, tables. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { configMap, connect, type Harness, type Obj } from './harness.js';

let h: Harness;
before(async () => {
  h = await connect();
});
after(async () => {
  await h.close();
});

const cm = (ns: string, name = '') => `/api/v1/namespaces/${ns}/configmaps${name ? `/${name}` : ''}`;

describe('discovery', () => {
  it('serves /version, /api, /apis and resource lists with verbs, short names and subresources', async () => {
    const version = await h.get('/version');
    assert.equal(version.status, 200);
    assert.match(version.body.gitVersion, /^v1\./);
    const api = await h.get('/api');
    assert.deepEqual(api.body.versions, ['v1']);
    const v1 = await h.get('/api/v1');
    const configmaps = (v1.body.resources as Obj[]).find((r) => r.name === 'configmaps')!;
    assert.equal(configmaps.kind, 'ConfigMap');
    assert.equal(configmaps.namespaced, true);
    assert.deepEqual(configmaps.shortNames, ['cm']);
    for (const verb of ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'])
      assert.ok(configmaps.verbs.includes(verb), verb);
    const namespaces = (v1.body.resources as Obj[]).find((r) => r.name === 'namespaces')!;
    assert.equal(namespaces.namespaced, false);
    const apis = await h.get('/apis');
    const names = (apis.body.groups as Obj[]).map((g) => g.name);
    for (const g of [
      'apps',
      'coordination.k8s.io',
      'rbac.authorization.k8s.io',
      'apiextensions.k8s.io',
      'discovery.k8s.io',
      'policy',
      'events.k8s.io',
      'networking.k8s.io',
      'admissionregistration.k8s.io',
    ]) {
      assert.ok(names.includes(g), g);
    }
    const apps = await h.get('/apis/apps/v1');
    const resources = (apps.body.resources as Obj[]).map((r) => r.name);
    assert.ok(resources.includes('deployments'));
    assert.ok(resources.includes('deployments/status'));
  });

  it('serves every built-in kind the operator uses in discovery, listable with its list kind', async () => {
    // group/version, plural, kind, namespaced
    const kinds: [string, string, string, boolean][] = [
      ['v1', 'namespaces', 'Namespace', false],
      ['v1', 'services', 'Service', true],
      ['v1', 'endpoints', 'Endpoints', true],
      ['v1', 'pods', 'Pod', true],
      ['v1', 'configmaps', 'ConfigMap', true],
      ['v1', 'secrets', 'Secret', true],
      ['v1', 'serviceaccounts', 'ServiceAccount', true],
      ['v1', 'events', 'Event', true],
      ['events.k8s.io/v1', 'events', 'Event', true],
      ['apps/v1', 'deployments', 'Deployment', true],
      ['networking.k8s.io/v1', 'networkpolicies', 'NetworkPolicy', true],
      ['coordination.k8s.io/v1', 'leases', 'Lease', true],
      ['rbac.authorization.k8s.io/v1', 'roles', 'Role', true],
      ['rbac.authorization.k8s.io/v1', 'rolebindings', 'RoleBinding', true],
      ['rbac.authorization.k8s.io/v1', 'clusterroles', 'ClusterRole', false],
      ['rbac.authorization.k8s.io/v1', 'clusterrolebindings', 'ClusterRoleBinding', false],
      [
        'admissionregistration.k8s.io/v1',
        'mutatingwebhookconfigurations',
        'MutatingWebhookConfiguration',
        false,
      ],
      ['discovery.k8s.io/v1', 'endpointslices', 'EndpointSlice', true],
      ['policy/v1', 'poddisruptionbudgets', 'PodDisruptionBudget', true],
      ['apiextensions.k8s.io/v1', 'customresourcedefinitions', 'CustomResourceDefinition', false],
    ];
    const prefix = (gv: string) => (gv.includes('/') ? `/apis/${gv}` : `/api/${gv}`);
    const lists = new Map<string, Obj[]>();
    for (const [gv, plural, kind, namespaced] of kinds) {
      if (!lists.has(gv)) lists.set(gv, (await h.get(prefix(gv))).body.resources as Obj[]);
      const entry = lists.get(gv)!.find((r) => r.name === plural);
      assert.ok(entry, `${gv} ${plural} is not in discovery`);
      assert.equal(entry.kind, kind, plural);
      assert.equal(entry.namespaced, namespaced, plural);
      for (const verb of ['create', 'get', 'list', 'watch', 'patch', 'update', 'delete'])
        assert.ok(entry.verbs.includes(verb), `${plural} ${verb}`);
      const list = await h.get(`${prefix(gv)}/${plural}?limit=1`);
      assert.equal(list.status, 200, `${gv} ${plural}: ${JSON.stringify(list.body)}`);
      assert.equal(list.body.kind, `${kind}List`);
      assert.equal(list.body.apiVersion, gv);
    }
    const groups = (await h.get('/apis')).body.groups as Obj[];
    for (const review of ['authorization.k8s.io', 'authentication.k8s.io'])
      assert.ok(
        groups.some((g) => g.name === review),
        review,
      );
  });

  it('answers 404 with a Status for unknown paths and resources', async () => {
    const r = await h.get('/apis/nope.example.com/v1/things');
    assert.equal(r.status, 404);
    assert.equal(r.body.kind, 'Status');
    assert.equal(r.body.reason, 'NotFound');
  });
});

describe('create, get, update, delete', () => {
  it('assigns uid, creationTimestamp and an increasing resourceVersion, and lists with the list resourceVersion', async () => {
    const ns = await h.namespace();
    const a = await h.post(cm(ns), configMap('a'));
    assert.equal(a.status, 201);
    assert.ok(a.body.metadata.uid);
    assert.ok(a.body.metadata.creationTimestamp);
    const b = await h.post(cm(ns), configMap('b'));
    assert.ok(Number(b.body.metadata.resourceVersion) > Number(a.body.metadata.resourceVersion));
    const got = await h.get(cm(ns, 'a'));
    assert.equal(got.status, 200);
    assert.deepEqual(got.body.data, { a: '1' });
    const list = await h.get(cm(ns));
    assert.equal(list.body.kind, 'ConfigMapList');
    assert.ok(Number(list.body.metadata.resourceVersion) >= Number(b.body.metadata.resourceVersion));
    assert.deepEqual(
      (list.body.items as Obj[]).map((i) => i.metadata.name).filter((n) => n !== 'kube-root-ca.crt'),
      ['a', 'b'],
    );
  });

  it('refuses duplicates (409 AlreadyExists), missing objects (404) and stale updates (409 Conflict) with the real messages', async () => {
    const ns = await h.namespace();
    await h.post(cm(ns), configMap('x'));
    const dup = await h.post(cm(ns), configMap('x'));
    assert.equal(dup.status, 409);
    assert.equal(dup.body.reason, 'AlreadyExists');
    assert.equal(dup.body.message, 'configmaps "x" already exists');
    assert.deepEqual(dup.body.details, { name: 'x', kind: 'configmaps' });

    const missing = await h.get(cm(ns, 'nope'));
    assert.equal(missing.status, 404);
    assert.equal(missing.body.message, 'configmaps "nope" not found');
    assert.equal(missing.body.apiVersion, 'v1');
    assert.equal(missing.body.status, 'Failure');

    const live = (await h.get(cm(ns, 'x'))).body;
    const first = await h.put(cm(ns, 'x'), { ...live, data: { a: '2' } });
    assert.equal(first.status, 200);
    const stale = await h.put(cm(ns, 'x'), { ...live, data: { a: '3' } });
    assert.equal(stale.status, 409);
    assert.equal(stale.body.reason, 'Conflict');
    assert.equal(
      stale.body.message,
      'Operation cannot be fulfilled on configmaps "x": the object has been modified; please apply your changes to the latest version and try again',
    );
  });

  it('generates names from generateName', async () => {
    const ns = await h.namespace();
    const r = await h.post(cm(ns), {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { generateName: 'gen-' },
    });
    assert.equal(r.status, 201);
    assert.match(r.body.metadata.name, /^gen-[a-z0-9]{5}$/);
  });

  it('refuses invalid objects with 422 and causes naming the field', async () => {
    const ns = await h.namespace();
    const r = await h.post(cm(ns), configMap('Bad_Name'));
    assert.equal(r.status, 422);
    assert.equal(r.body.reason, 'Invalid');
    assert.equal(r.body.details.kind, 'ConfigMap');
    assert.equal(r.body.details.causes[0].field, 'metadata.name');
    assert.match(
      r.body.message,
      /^ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain/,
    );
    const svc = await h.post(`/api/v1/namespaces/${ns}/services`, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 's' },
      spec: {},
    });
    assert.equal(svc.status, 422);
    assert.ok(
      (svc.body.details.causes as Obj[]).some(
        (c) => c.field === 'spec.ports' && c.reason === 'FieldValueRequired',
      ),
    );
  });

  it('refuses a create in a missing namespace (404) and a body for another namespace (400)', async () => {
    const r = await h.post(cm('does-not-exist-zz'), configMap('x'));
    assert.equal(r.status, 404);
    assert.equal(r.body.message, 'namespaces "does-not-exist-zz" not found');
    const ns = await h.namespace();
    const other = await h.post(cm(ns), { ...configMap('x'), metadata: { name: 'x', namespace: 'default' } });
    assert.equal(other.status, 400);
    assert.equal(other.body.reason, 'BadRequest');
  });

  it('answers 405 for methods a resource does not allow', async () => {
    const ns = await h.namespace();
    const r = await h.request('POST', cm(ns, 'x'), { body: configMap('x') });
    assert.equal(r.status, 405);
    assert.equal(r.body.reason, 'MethodNotAllowed');
  });

  it('does not store a dryRun=All create', async () => {
    const ns = await h.namespace();
    const r = await h.post(`${cm(ns)}?dryRun=All`, configMap('dry'));
    assert.equal(r.status, 201);
    assert.equal(r.body.metadata.name, 'dry');
    assert.equal((await h.get(cm(ns, 'dry'))).status, 404);
  });

  it('deletes with a Status answer and then 404', async () => {
    const ns = await h.namespace();
    await h.post(cm(ns), configMap('d'));
    const del = await h.delete(cm(ns, 'd'));
    assert.equal(del.status, 200);
    assert.equal((await h.get(cm(ns, 'd'))).status, 404);
    const again = await h.delete(cm(ns, 'd'));
    assert.equal(again.status, 404);
  });

  it('deletes a collection by label selector', async () => {
    const ns = await h.namespace();
    await h.post(cm(ns), configMap('one', {}, { tier: 'x' }));
    await h.post(cm(ns), configMap('two', {}, { tier: 'x' }));
    await h.post(cm(ns), configMap('three', {}, { tier: 'y' }));
    const r = await h.delete(`${cm(ns)}?labelSelector=tier%3Dx`);
    assert.equal(r.status, 200);
    const left = await h.get(`${cm(ns)}?labelSelector=tier`);
    assert.deepEqual(
      (left.body.items as Obj[]).map((i) => i.metadata.name),
      ['three'],
    );
  });
});

describe('defaults and generation', () => {
  it('defaults a Deployment, sets generation 1 and bumps it only for spec changes', async () => {
    const ns = await h.namespace();
    const path = `/apis/apps/v1/namespaces/${ns}/deployments`;
    const dep = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web' },
      spec: {
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] },
        },
      },
    };
    const created = await h.post(path, dep);
    assert.equal(created.status, 201);
    assert.equal(created.body.metadata.generation, 1);
    assert.equal(created.body.spec.replicas, 1);
    assert.equal(created.body.spec.strategy.type, 'RollingUpdate');
    assert.equal(created.body.spec.template.spec.containers[0].imagePullPolicy, 'IfNotPresent');
    const labelled = await h.patch(`${path}/web`, { metadata: { labels: { x: 'y' } } });
    assert.equal(labelled.body.metadata.generation, 1);
    const scaled = await h.patch(`${path}/web`, { spec: { replicas: 3 } });
    assert.equal(scaled.body.metadata.generation, 2);
    const status = await h.patch(`${path}/web/status`, { status: { replicas: 3 } });
    assert.equal(status.status, 200);
    assert.equal(status.body.metadata.generation, 2);
    assert.equal(status.body.status.replicas, 3);

    const mismatch = await h.post(path, {
      ...dep,
      metadata: { name: 'bad' },
      spec: { ...dep.spec, selector: { matchLabels: { app: 'other' } } },
    });
    assert.equal(mismatch.status, 422);
    assert.equal(mismatch.body.details.causes[0].field, 'spec.template.metadata.labels');
  });

  it('allocates a Service clusterIP and defaults type and ports', async () => {
    const ns = await h.namespace();
    const r = await h.post(`/api/v1/namespaces/${ns}/services`, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'svc' },
      spec: { selector: { app: 'x' }, ports: [{ port: 80 }] },
    });
    assert.equal(r.status, 201);
    assert.equal(r.body.spec.type, 'ClusterIP');
    assert.match(r.body.spec.clusterIP, /^\d+\.\d+\.\d+\.\d+$/);
    assert.equal(r.body.spec.ports[0].protocol, 'TCP');
    assert.equal(r.body.spec.ports[0].targetPort, 80);
    // an update without clusterIP keeps the allocated one
    const { clusterIP: _ip, clusterIPs: _ips, ...spec } = r.body.spec;
    const u = await h.put(`/api/v1/namespaces/${ns}/services/svc`, { ...r.body, spec });
    assert.equal(u.status, 200);
    assert.equal(u.body.spec.clusterIP, r.body.spec.clusterIP);
  });

  it('labels namespaces with their name, gives them the kubernetes finalizer, and encodes Secret stringData', async () => {
    const ns = await h.namespace();
    const got = await h.get(`/api/v1/namespaces/${ns}`);
    assert.equal(got.body.metadata.labels['kubernetes.io/metadata.name'], ns);
    assert.deepEqual(got.body.spec.finalizers, ['kubernetes']);
    assert.equal(got.body.status.phase, 'Active');
    const s = await h.post(`/api/v1/namespaces/${ns}/secrets`, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's' },
      stringData: { password: 'hunter2' },
    });
    assert.equal(s.status, 201);
    assert.equal(s.body.type, 'Opaque');
    assert.equal(s.body.data.password, Buffer.from('hunter2').toString('base64'));
    assert.equal(s.body.stringData, undefined);
  });

  it('gives new Pods phase Pending and ignores status on the main endpoint', async () => {
    const ns = await h.namespace();
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: { containers: [{ name: 'c', image: 'busybox' }] },
      status: { phase: 'Running' },
    };
    const r = await h.post(`/api/v1/namespaces/${ns}/pods`, pod);
    assert.equal(r.status, 201);
    assert.equal(r.body.status.phase, 'Pending');
  });
});

describe('patches', () => {
  it('applies merge patches, JSON patches (with test) and strategic merge patches by merge key', async () => {
    const ns = await h.namespace();
    await h.post(cm(ns), configMap('p', { a: '1', b: '2' }));
    const merged = await h.patch(cm(ns, 'p'), { data: { b: null, c: '3' } });
    assert.deepEqual(merged.body.data, { a: '1', c: '3' });
    const json = await h.patch(
      cm(ns, 'p'),
      [
        { op: 'test', path: '/data/a', value: '1' },
        { op: 'replace', path: '/data/a', value: 'one' },
      ],
      'application/json-patch+json',
    );
    assert.equal(json.status, 200);
    assert.equal(json.body.data.a, 'one');
    const failed = await h.patch(
      cm(ns, 'p'),
      [
        { op: 'test', path: '/data/a', value: 'nope' },
        { op: 'remove', path: '/data/a' },
      ],
      'application/json-patch+json',
    );
    assert.equal(failed.status, 422);
    assert.equal((await h.get(cm(ns, 'p'))).body.data.a, 'one');

    const path = `/apis/apps/v1/namespaces/${ns}/deployments`;
    await h.post(path, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd' },
      spec: {
        selector: { matchLabels: { app: 'd' } },
        template: {
          metadata: { labels: { app: 'd' } },
          spec: {
            containers: [
              { name: 'a', image: 'a:1' },
              { name: 'b', image: 'b:1' },
            ],
          },
        },
      },
    });
    const smp = await h.patch(
      `${path}/d`,
      { spec: { template: { spec: { containers: [{ name: 'b', image: 'b:2' }] } } } },
      'application/strategic-merge-patch+json',
    );
    assert.equal(smp.status, 200);
    assert.deepEqual(
      (smp.body.spec.template.spec.containers as Obj[]).map((c) => `${c.name}=${c.image}`),
      ['a=a:1', 'b=b:2'],
    );
  });

  it('honours a resourceVersion precondition in a merge patch and refuses unknown patch types with 415', async () => {
    const ns = await h.namespace();
    const created = await h.post(cm(ns), configMap('q'));
    await h.patch(cm(ns, 'q'), { data: { a: '2' } });
    const stale = await h.patch(cm(ns, 'q'), {
      metadata: { resourceVersion: created.body.metadata.resourceVersion },
      data: { a: '3' },
    });
    assert.equal(stale.status, 409);
    assert.equal(stale.body.reason, 'Conflict');
    const bad = await h.patch(cm(ns, 'q'), { data: {} }, 'application/x-unknown');
    assert.equal(bad.status, 415);
    assert.equal(bad.body.reason, 'UnsupportedMediaType');
  });

  it('treats a patch that changes nothing as a no-op (same resourceVersion)', async () => {
    const ns = await h.namespace();
    const created = await h.post(cm(ns), configMap('n', { a: '1' }));
    const same = await h.patch(cm(ns, 'n'), { data: { a: '1' } });
    assert.equal(same.body.metadata.resourceVersion, created.body.metadata.resourceVersion);
  });
});

describe('selectors and pagination', () => {
  it('filters by label selectors (=, !=, in, notin, exists, !key) and field selectors', async () => {
    const ns = await h.namespace();
    await h.post(cm(ns), configMap('a', {}, { env: 'prod', tier: 'web' }));
    await h.post(cm(ns), configMap('b', {}, { env: 'dev', tier: 'web' }));
    await h.post(cm(ns), configMap('c', {}, { env: 'test' }));
    const names = async (q: string) =>
      ((await h.get(`${cm(ns)}?${q}`)).body.items as Obj[])
        .map((i) => i.metadata.name)
        .filter((n) => n !== 'kube-root-ca.crt');
    assert.deepEqual(await names('labelSelector=env%3Dprod'), ['a']);
    assert.deepEqual(await names('labelSelector=env%3D%3Dprod'), ['a']);
    assert.deepEqual(await names('labelSelector=env!%3Dprod,tier'), ['b']);
    assert.deepEqual(await names(`labelSelector=${encodeURIComponent('env in (dev,test)')}`), ['b', 'c']);
    assert.deepEqual(await names(`labelSelector=${encodeURIComponent('env notin (dev),tier')}`), ['a']);
    assert.deepEqual(await names('labelSelector=!tier'), ['c']);
    assert.deepEqual(await names('fieldSelector=metadata.name%3Db'), ['b']);
    assert.deepEqual(await names(`fieldSelector=metadata.name!%3Db&labelSelector=tier`), ['a']);
    const all = await h.get(`/api/v1/configmaps?fieldSelector=metadata.namespace%3D${ns}&labelSelector=env`);
    assert.equal(all.body.items.length, 3);
    const bad = await h.get(`${cm(ns)}?fieldSelector=spec.nope%3Dx`);
    assert.equal(bad.status, 400);
  });

  it('pages with limit and continue', async () => {
    const ns = await h.namespace();
    for (const n of ['p1', 'p2', 'p3', 'p4', 'p5']) await h.post(cm(ns), configMap(n, {}, { page: 'yes' }));
    const seen: string[] = [];
    let next = '';
    let pages = 0;
    do {
      const r = await h.get(
        `${cm(ns)}?labelSelector=page&limit=2${next ? `&continue=${encodeURIComponent(next)}` : ''}`,
      );
      assert.equal(r.status, 200);
      assert.ok(r.body.items.length <= 2);
      seen.push(...(r.body.items as Obj[]).map((i) => i.metadata.name));
      next = r.body.metadata.continue ?? '';
      pages++;
    } while (next && pages < 10);
    assert.deepEqual(seen, ['p1', 'p2', 'p3', 'p4', 'p5']);
    assert.equal(pages, 3);
  });
});

describe('server-side printing', () => {
  it('answers Accept as=Table with meta.k8s.io/v1 Tables', async () => {
    const ns = await h.namespace();
    await h.post(cm(ns), configMap('t', { a: '1', b: '2' }));
    const r = await h.get(`${cm(ns)}?fieldSelector=metadata.name%3Dt`, {
      accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json',
    });
    assert.equal(r.status, 200);
    assert.equal(r.body.kind, 'Table');
    assert.equal(r.body.apiVersion, 'meta.k8s.io/v1');
    const cols = (r.body.columnDefinitions as Obj[]).map((c) => c.name);
    assert.deepEqual(cols, ['Name', 'Data', 'Age']);
    assert.deepEqual(r.body.rows[0].cells.slice(0, 2), ['t', 2]);
    assert.equal(r.body.rows[0].object.kind, 'PartialObjectMetadata');
  });
});

describe('events', () => {
  it('stores events.k8s.io/v1 Events so core v1 readers see them', async () => {
    const ns = await h.namespace();
    const ev = {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name: 'e1' },
      eventTime: '2024-01-01T00:00:00.000000Z',
      reportingController: 'meshwright.io/operator',
      reportingInstance: 'op-1',
      action: 'Reconcile',
      reason: 'Applied',
      type: 'Normal',
      note: 'applied children',
      regarding: { kind: 'ConfigMap', name: 'x', namespace: ns, apiVersion: 'v1' },
    };
    const r = await h.post(`/apis/events.k8s.io/v1/namespaces/${ns}/events`, ev);
    assert.equal(r.status, 201);
    const core = await h.get(`/api/v1/namespaces/${ns}/events/e1`);
    assert.equal(core.status, 200);
    assert.equal(core.body.message, 'applied children');
    assert.equal(core.body.involvedObject.name, 'x');
    const filtered = await h.get(`/api/v1/namespaces/${ns}/events?fieldSelector=involvedObject.name%3Dx`);
    assert.equal(filtered.body.items.length, 1);
  });
});
