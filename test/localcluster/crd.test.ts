/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return -- Kubernetes objects are untyped JSON here (Obj) */
/** CustomResourceDefinitions: establishment, schema defaults and validation, status subresource, printing, cleanup. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, eventually, widgetCrd, type Harness, type Obj } from './harness.js';

let h: Harness;
before(async () => {
  h = await connect();
});
after(async () => {
  await h.close();
});

const CRDS = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';

async function installWidgets(
  change: (crd: Obj) => void = () => undefined,
): Promise<{ group: string; path: (ns: string, name?: string) => string }> {
  const group = `t${h.unique()}.lc.meshwright.io`;
  const crd = widgetCrd(group);
  change(crd);
  const r = await h.post(CRDS, crd);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  h.cleanup(() => h.delete(`${CRDS}/widgets.${group}`));
  await eventually(
    async () => {
      const crd = await h.get(`${CRDS}/widgets.${group}`);
      return (crd.body.status?.conditions as Obj[] | undefined)?.some(
        (c) => c.type === 'Established' && c.status === 'True',
      );
    },
    10_000,
    'CRD Established',
  );
  // discovery catches up
  await eventually(async () => (await h.get(`/apis/${group}/v1`)).status === 200, 10_000, 'discovery');
  return { group, path: (ns, name) => `/apis/${group}/v1/namespaces/${ns}/widgets${name ? `/${name}` : ''}` };
}

const widget = (group: string, name: string, spec: Obj = { size: 3 }): Obj => ({
  apiVersion: `${group}/v1`,
  kind: 'Widget',
  metadata: { name },
  spec,
});

describe('custom resources', () => {
  it('establishes a CRD, accepts its names and serves it in discovery', async () => {
    const { group } = await installWidgets();
    const crd = (await h.get(`${CRDS}/widgets.${group}`)).body;
    const names = (crd.status.conditions as Obj[]).filter((c) => c.status === 'True').map((c) => c.type);
    assert.ok(names.includes('NamesAccepted'));
    assert.ok(names.includes('Established'));
    assert.equal(crd.status.acceptedNames.kind, 'Widget');
    const list = await h.get(`/apis/${group}/v1`);
    const widgets = (list.body.resources as Obj[]).find((r) => r.name === 'widgets')!;
    assert.deepEqual(widgets.shortNames, ['wdg']);
    assert.deepEqual(widgets.categories, ['lctest']);
    assert.ok((list.body.resources as Obj[]).some((r) => r.name === 'widgets/status'));
  });

  it('prunes unknown fields, applies schema defaults and refuses invalid objects with 422', async () => {
    const { group, path } = await installWidgets();
    const ns = await h.namespace();
    const r = await h.post(path(ns), { ...widget(group, 'w1'), spec: { size: 2, extra: 'dropped' } });
    assert.equal(r.status, 201);
    assert.equal(r.body.spec.color, 'blue');
    assert.equal(r.body.spec.extra, undefined);
    assert.equal(r.body.metadata.generation, 1);
    const bad = await h.post(path(ns), widget(group, 'w2', { size: 50 }));
    assert.equal(bad.status, 422);
    assert.equal(bad.body.reason, 'Invalid');
    assert.equal(bad.body.details.causes[0].field, 'spec.size');
    assert.match(bad.body.message, new RegExp(`^Widget.${group.replace(/\./g, '\\.')} "w2" is invalid: `));
    const strict = await h.post(`${path(ns)}?fieldValidation=Strict`, {
      ...widget(group, 'w3'),
      spec: { size: 2, extra: 'x' },
    });
    assert.equal(strict.status, 400);
    assert.match(strict.body.message, /unknown field "spec.extra"/);
  });

  it('enforces x-kubernetes-validations (CEL), including transition rules on update', async () => {
    const { group, path } = await installWidgets((crd) => {
      const spec = crd.spec.versions[0].schema.openAPIV3Schema.properties.spec;
      spec['x-kubernetes-validations'] = [
        { rule: 'self.size <= 5 || self.color == "red"', message: 'big widgets must be red' },
      ];
      spec.properties.zone = {
        type: 'string',
        'x-kubernetes-validations': [{ rule: 'self == oldSelf', message: 'zone is immutable' }],
      };
    });
    const ns = await h.namespace();
    const big = await h.post(path(ns), widget(group, 'big', { size: 8 }));
    assert.equal(big.status, 422);
    assert.equal(
      big.body.message,
      `Widget.${group} "big" is invalid: spec: Invalid value: "object": big widgets must be red`,
    );
    assert.equal(big.body.details.causes[0].field, 'spec');
    assert.equal((await h.post(path(ns), widget(group, 'red', { size: 8, color: 'red' }))).status, 201);

    const created = await h.post(path(ns), widget(group, 'zoned', { size: 1, zone: 'a' }));
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const moved = await h.patch(path(ns, 'zoned'), { spec: { zone: 'b' } });
    assert.equal(moved.status, 422);
    assert.equal(
      moved.body.message,
      `Widget.${group} "zoned" is invalid: spec.zone: Invalid value: "string": zone is immutable`,
    );
    assert.equal((await h.patch(path(ns, 'zoned'), { spec: { size: 2 } })).status, 200);
  });

  it('changes only status through /status and ignores status on the main endpoint', async () => {
    const { group, path } = await installWidgets();
    const ns = await h.namespace();
    const created = await h.post(path(ns), { ...widget(group, 'st'), status: { phase: 'Ignored' } });
    assert.equal(created.body.status, undefined);
    const st = await h.patch(`${path(ns, 'st')}/status`, {
      spec: { size: 9 },
      status: { phase: 'Ready', conditions: [{ type: 'Ready', status: 'True' }] },
    });
    assert.equal(st.status, 200);
    assert.equal(st.body.status.phase, 'Ready');
    assert.equal(st.body.spec.size, 3);
    assert.equal(st.body.metadata.generation, 1);
    const main = await h.patch(path(ns, 'st'), { spec: { size: 4 }, status: { phase: 'Nope' } });
    assert.equal(main.body.status.phase, 'Ready');
    assert.equal(main.body.spec.size, 4);
    assert.equal(main.body.metadata.generation, 2);
    // an update without resourceVersion is refused for custom resources
    const { resourceVersion: _rv, ...md } = main.body.metadata;
    const unconditional = await h.put(path(ns, 'st'), { ...main.body, metadata: md });
    assert.equal(unconditional.status, 422);
  });

  it('prints additionalPrinterColumns, including filter JSONPaths', async () => {
    const { group, path } = await installWidgets();
    const ns = await h.namespace();
    await h.post(path(ns), widget(group, 'tbl', { size: 7 }));
    await h.patch(`${path(ns, 'tbl')}/status`, {
      status: {
        conditions: [
          { type: 'Other', status: 'False' },
          { type: 'Ready', status: 'True' },
        ],
      },
    });
    const t = await h.get(path(ns), { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' });
    assert.deepEqual(
      (t.body.columnDefinitions as Obj[]).map((c) => c.name),
      ['Name', 'Size', 'Ready', 'Age'],
    );
    assert.deepEqual(t.body.rows[0].cells.slice(0, 3), ['tbl', 7, 'True']);
  });

  it('serves the CRD schema in OpenAPI v3 for kubectl explain', async () => {
    const { group } = await installWidgets();
    const index = await h.get('/openapi/v3');
    const entry = index.body.paths[`apis/${group}/v1`];
    assert.ok(entry?.serverRelativeURL);
    const doc = await h.get(entry.serverRelativeURL);
    const schema = Object.values(doc.body.components.schemas as Obj).find(
      (s) => (s as Obj)['x-kubernetes-group-version-kind']?.[0]?.kind === 'Widget',
    ) as Obj;
    assert.equal(schema.properties.spec.properties.size.description, 'How big.');
  });

  it('refuses a non-structural or misnamed CRD with 422', async () => {
    const group = `t${h.unique()}.lc.meshwright.io`;
    const crd = widgetCrd(group);
    crd.metadata.name = `wrong.${group}`;
    const misnamed = await h.post(CRDS, crd);
    assert.equal(misnamed.status, 422);
    assert.ok((misnamed.body.details.causes as Obj[]).some((c) => c.field === 'metadata.name'));
    const noType = widgetCrd(group);
    delete noType.spec.versions[0].schema.openAPIV3Schema.properties.spec.type;
    const nonStructural = await h.post(CRDS, noType);
    assert.equal(nonStructural.status, 422);
  });

  it('deletes the custom resources with their CRD and stops serving them', async () => {
    const { group, path } = await installWidgets();
    const ns = await h.namespace();
    await h.post(path(ns), widget(group, 'doomed'));
    const del = await h.delete(`${CRDS}/widgets.${group}`);
    assert.equal(del.status, 200);
    await eventually(
      async () => (await h.get(`${CRDS}/widgets.${group}`)).status === 404,
      10_000,
      'CRD gone',
    );
    await eventually(async () => (await h.get(path(ns, 'doomed'))).status === 404, 10_000, 'resource gone');
  });
});
