import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  backendReady,
  canaryRevision,
  podTemplateHash,
  resolveRefs,
  selects,
  type Deployment,
  type Service,
  type ServicePort,
} from './observe.js';

const svc = (name: string, ports: ServicePort[] = [{ port: 80 }]): Service => ({
  metadata: { name, namespace: 'shop' },
  spec: { selector: { app: name }, ports },
});
const names = { apex: 'web', stable: 'web-stable', canary: 'web-canary' };
const deploy = (name: string, app: string, image: string, ready = 1): Deployment => ({
  metadata: { name, namespace: 'shop' },
  spec: {
    template: { metadata: { labels: { app, tier: 'x' } }, spec: { containers: [{ name: 'c', image }] } },
  },
  status: { readyReplicas: ready },
});

describe('resolveRefs', () => {
  it('resolves when both backends have every port of the apex Service; the route uses the first', () => {
    const r = resolveRefs({
      apex: svc('web', [{ port: 80 }, { port: 443 }]),
      stable: svc('web-stable', [{ port: 443 }, { port: 80, protocol: 'TCP' }, { port: 9090 }]),
      canary: svc('web-canary', [{ port: 80 }, { port: 443 }]),
      names,
    });
    assert.deepEqual(r, { resolved: true, ports: { apex: 80, stable: 80, canary: 80 } });
  });

  it('names every missing Service', () => {
    const r = resolveRefs({ apex: svc('web'), stable: undefined, canary: undefined, names });
    assert.deepEqual(r, {
      resolved: false,
      reason: 'BackendNotFound',
      message: 'not found: stable Service web-stable, canary Service web-canary',
    });
  });

  it('refuses a backend whose port differs in number or protocol', () => {
    const r = resolveRefs({
      apex: svc('web', [{ port: 53, protocol: 'UDP' }]),
      stable: svc('web-stable', [{ port: 53, protocol: 'TCP' }]),
      canary: svc('web-canary', [{ port: 53, protocol: 'UDP' }]),
      names,
    });
    assert.equal(r.resolved, false);
    assert.equal(!r.resolved && r.reason, 'PortsMismatch');
    assert.match(!r.resolved ? r.message : '', /stable Service web-stable lacks port 53\/UDP/);
  });

  it('refuses an apex Service without ports', () => {
    const r = resolveRefs({
      apex: svc('web', []),
      stable: svc('web-stable'),
      canary: svc('web-canary'),
      names,
    });
    assert.equal(!r.resolved && r.reason, 'NoPorts');
  });
});

describe('canary revision and readiness', () => {
  it('hashes the pod template independently of key order', () => {
    assert.equal(
      podTemplateHash({ metadata: { labels: { a: '1', b: '2' } }, spec: { x: 1 } }),
      podTemplateHash({ spec: { x: 1 }, metadata: { labels: { b: '2', a: '1' } } }),
    );
    assert.notEqual(podTemplateHash({ spec: { image: 'a:1' } }), podTemplateHash({ spec: { image: 'a:2' } }));
    assert.match(podTemplateHash({}), /^[0-9a-f]{10}$/);
  });

  it('takes the one Deployment whose pod labels the canary Service selects', () => {
    const ds = [deploy('v1', 'web-stable', 'web:1'), deploy('v2', 'web-canary', 'web:2')];
    const r = canaryRevision(svc('web-canary'), ds);
    assert.deepEqual(r, { revision: podTemplateHash(ds[1]!.spec!.template), deployment: 'v2' });
  });

  it('leaves the revision unknown with no Deployment, or several', () => {
    assert.equal(canaryRevision(svc('web-canary'), []).revision, undefined);
    const two = [deploy('v2', 'web-canary', 'web:2'), deploy('v3', 'web-canary', 'web:3')];
    const r = canaryRevision(svc('web-canary'), two);
    assert.equal(r.revision, undefined);
    assert.match(r.revision === undefined ? r.why : '', /v2, v3/);
  });

  it('an empty selector selects nothing', () => {
    assert.equal(selects({}, { app: 'x' }), false);
    assert.equal(selects(undefined, { app: 'x' }), false);
  });

  it('a backend is ready when a Deployment behind it has a ready replica', () => {
    assert.equal(backendReady(svc('web-stable'), [deploy('v1', 'web-stable', 'web:1', 1)]), true);
    assert.equal(backendReady(svc('web-stable'), [deploy('v1', 'web-stable', 'web:1', 0)]), false);
    assert.equal(backendReady(svc('web-stable'), [deploy('v2', 'web-canary', 'web:2', 1)]), false);
  });
});
