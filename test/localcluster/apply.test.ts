/* eslint-disable @typescript-eslint/no-unsafe-member-access -- Kubernetes objects are untyped JSON here (Obj) */
/** Server-side apply and managedFields. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, type Harness, type Obj } from './harness.js';

let h: Harness;
before(async () => {
  h = await connect();
});
after(async () => {
  await h.close();
});

const APPLY = 'application/apply-patch+yaml';

describe('server-side apply', () => {
  it('creates with apply, records the manager, and refuses a conflicting manager with 409 unless forced', async () => {
    const ns = await h.namespace();
    const path = `/api/v1/namespaces/${ns}/configmaps/ssa`;
    const cfg = (data: Obj) =>
      JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ssa' }, data });
    const created = await h.request('PATCH', `${path}?fieldManager=alice`, {
      body: cfg({ key: 'a' }),
      contentType: APPLY,
    });
    assert.equal(created.status, 201);
    const managers = (created.body.metadata.managedFields as Obj[]).map((m) => `${m.manager}/${m.operation}`);
    assert.deepEqual(managers, ['alice/Apply']);

    const again = await h.request('PATCH', `${path}?fieldManager=alice`, {
      body: cfg({ key: 'a' }),
      contentType: APPLY,
    });
    assert.equal(again.status, 200);
    assert.equal(again.body.metadata.resourceVersion, created.body.metadata.resourceVersion);

    const conflict = await h.request('PATCH', `${path}?fieldManager=bob`, {
      body: cfg({ key: 'b' }),
      contentType: APPLY,
    });
    assert.equal(conflict.status, 409);
    assert.equal(conflict.body.reason, 'Conflict');
    assert.equal(conflict.body.message, 'Apply failed with 1 conflict: conflict with "alice": .data.key');
    assert.equal(conflict.body.details.causes[0].field, '.data.key');

    const forced = await h.request('PATCH', `${path}?fieldManager=bob&force=true`, {
      body: cfg({ key: 'b' }),
      contentType: APPLY,
    });
    assert.equal(forced.status, 200);
    assert.equal(forced.body.data.key, 'b');

    const missing = await h.request('PATCH', path, { body: cfg({ key: 'c' }), contentType: APPLY });
    assert.equal(missing.status, 422);
  });

  it('records Update managers for ordinary writes', async () => {
    const ns = await h.namespace();
    const r = await h.post(`/api/v1/namespaces/${ns}/configmaps?fieldManager=writer`, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'u' },
      data: { a: '1' },
    });
    const entry = (r.body.metadata.managedFields as Obj[]).find((m) => m.manager === 'writer')!;
    assert.equal(entry.operation, 'Update');
    assert.ok(entry.fieldsV1['f:data']);
  });
});
