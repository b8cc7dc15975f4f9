import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ServicePolicySpec } from '../../api/index.js';
import {
  assertAccepted,
  grpcAuthorizes,
  serverHttpFilters,
  servicePolicy,
  snapshot,
  type Request,
} from './fixtures.js';
import { serverListener } from './names.js';
import { TYPE, type Message } from './protos.js';
import { listeners } from './resources.js';
import type { MeshSettings, Namespace } from './snapshot.js';

type Access = NonNullable<ServicePolicySpec['access']>;

const FRONTEND = 'spiffe://cluster.local/ns/web/sa/frontend';
const BATCH = 'spiffe://cluster.local/ns/jobs/sa/batch';

/** The server Listener of checkout's endpoint, under a policy with `access` (none: the mesh default). */
function server(access?: unknown, mesh: Partial<MeshSettings> = {}, namespaces: Namespace[] = []): Message {
  const policies = access === undefined ? [] : [servicePolicy({ access: access as Access })];
  const all = listeners(snapshot({ servicePolicies: policies, namespaces }, mesh));
  const found = all.find((l) => l.name === serverListener('10.1.0.1', 50051));
  assert.ok(found);
  assertAccepted(TYPE.listener, [found]);
  return found;
}

const allows = (listener: Message, request: Request) => grpcAuthorizes(listener, request);
const filterNames = (listener: Message) => serverHttpFilters(listener).map((f) => f.name);

describe('RBAC from ServicePolicy access rules', () => {
  it('lets the allowed service account through and refuses another identity and an unauthenticated caller', () => {
    const listener = server({ rules: [{ name: 'frontend', from: [{ serviceAccounts: ['web/frontend'] }] }] });
    assert.equal(allows(listener, { identity: FRONTEND }), true);
    assert.equal(allows(listener, { identity: BATCH }), false);
    assert.equal(allows(listener, {}), false);
    assert.deepEqual(filterNames(listener), ['meshwright.rbac.allow', 'envoy.filters.http.router']);
  });

  it('matches the SPIFFE ID on the principal name of the authenticated peer', () => {
    const listener = server({ rules: [{ name: 'frontend', from: [{ serviceAccounts: ['web/frontend'] }] }] });
    const allow = serverHttpFilters(listener)[0]!.typed_config;
    assert.deepEqual(allow, {
      '@type': TYPE.rbac,
      rules: {
        action: 'ALLOW',
        policies: {
          frontend: {
            permissions: [{ any: true }],
            principals: [{ authenticated: { principal_name: { exact: FRONTEND } } }],
          },
        },
      },
    });
  });

  it('puts Deny rules in a DENY filter before the ALLOW filter, so they win', () => {
    const listener = server({
      rules: [
        { name: 'web', from: [{ namespaces: ['web', 'jobs'] }] },
        { name: 'no-batch', action: 'Deny', from: [{ serviceAccounts: ['jobs/batch'] }] },
      ],
    });
    assert.deepEqual(filterNames(listener), [
      'meshwright.rbac.deny',
      'meshwright.rbac.allow',
      'envoy.filters.http.router',
    ]);
    assert.equal(allows(listener, { identity: FRONTEND }), true);
    assert.equal(allows(listener, { identity: 'spiffe://cluster.local/ns/jobs/sa/report' }), true);
    assert.equal(allows(listener, { identity: BATCH }), false);
  });

  it('with defaultAction Allow has only the DENY filter', () => {
    const listener = server({
      defaultAction: 'Allow',
      rules: [{ name: 'no-batch', action: 'Deny', from: [{ serviceAccounts: ['jobs/batch'] }] }],
    });
    assert.deepEqual(filterNames(listener), ['meshwright.rbac.deny', 'envoy.filters.http.router']);
    assert.equal(allows(listener, { identity: FRONTEND }), true);
    assert.equal(allows(listener, {}), true);
    assert.equal(allows(listener, { identity: BATCH }), false);
  });

  it('matches namespaces, and `ns/*`, by the identity prefix of the namespace', () => {
    const listener = server({
      rules: [{ name: 'ns', from: [{ namespaces: ['web'] }, { serviceAccounts: ['jobs/*'] }] }],
    });
    assert.equal(allows(listener, { identity: FRONTEND }), true);
    assert.equal(allows(listener, { identity: BATCH }), true);
    assert.equal(allows(listener, { identity: 'spiffe://cluster.local/ns/webhooks/sa/x' }), false);
    assert.equal(allows(listener, { identity: 'spiffe://other.domain/ns/web/sa/frontend' }), false);
  });

  it('requires every field of one from entry (service accounts AND namespaces)', () => {
    const listener = server({
      rules: [
        { name: 'and', from: [{ namespaces: ['web'], serviceAccounts: ['web/frontend', 'jobs/batch'] }] },
      ],
    });
    assert.equal(allows(listener, { identity: FRONTEND }), true);
    assert.equal(allows(listener, { identity: BATCH }), false);
  });

  it('resolves a namespaceSelector against the namespaces of the snapshot', () => {
    const namespaces = [
      { metadata: { name: 'web', labels: { team: 'storefront' } } },
      { metadata: { name: 'jobs', labels: { team: 'data' } } },
    ];
    const listener = server(
      { rules: [{ name: 'team', from: [{ namespaceSelector: { matchLabels: { team: 'storefront' } } }] }] },
      {},
      namespaces,
    );
    assert.equal(allows(listener, { identity: FRONTEND }), true);
    assert.equal(allows(listener, { identity: BATCH }), false);
  });

  it('matches ipBlocks on the peer address, except the excluded ranges', () => {
    const listener = server({
      rules: [{ name: 'lb', from: [{ ipBlocks: [{ cidr: '192.168.0.0/16', except: ['192.168.9.0/24'] }] }] }],
    });
    assert.equal(allows(listener, { sourceIp: '192.168.1.1' }), true);
    assert.equal(allows(listener, { sourceIp: '192.168.9.1' }), false);
    assert.equal(allows(listener, { sourceIp: '10.0.0.1' }), false);
  });

  it('matches ports (resolved to the pod port), methods and paths (exact or prefix)', () => {
    const listener = server({
      rules: [
        {
          name: 'pay',
          from: [{ serviceAccounts: ['web/frontend'] }],
          to: [
            {
              ports: ['grpc'],
              methods: ['POST'],
              paths: ['/shop.Checkout/*', '/grpc.health.v1.Health/Check'],
            },
          ],
        },
      ],
    });
    assert.equal(allows(listener, { identity: FRONTEND, path: '/shop.Checkout/Pay' }), true);
    assert.equal(allows(listener, { identity: FRONTEND, path: '/grpc.health.v1.Health/Check' }), true);
    assert.equal(allows(listener, { identity: FRONTEND, path: '/shop.Admin/Refund' }), false);
    assert.equal(allows(listener, { identity: FRONTEND, method: 'GET' }), false);
    assert.equal(allows(listener, { identity: FRONTEND, port: 9999 }), false);
    // the Service port 8080 (`grpc`) is the pod's 50051
    const permission = (
      (serverHttpFilters(listener)[0]!.typed_config.rules as Message).policies as Record<
        string,
        { permissions: Message[] }
      >
    ).pay!.permissions[0]!;
    assert.deepEqual((permission.and_rules as { rules: Message[] }).rules[0], { destination_port: 50051 });
  });

  it('in Audit mode puts the rules in shadow_rules and enforces nothing', () => {
    const listener = server({
      enforcement: 'Audit',
      rules: [
        { name: 'frontend', from: [{ serviceAccounts: ['web/frontend'] }] },
        { name: 'no-batch', action: 'Deny', from: [{ serviceAccounts: ['jobs/batch'] }] },
      ],
    });
    for (const request of [{ identity: FRONTEND }, { identity: BATCH }, {}]) {
      assert.equal(allows(listener, request), true);
    }
    const [deny, allow] = serverHttpFilters(listener).map((f) => f.typed_config);
    assert.deepEqual(allow!.rules, { action: 'DENY' }); // no policy: denies nothing
    assert.equal((allow!.shadow_rules as Message).action, 'ALLOW');
    assert.deepEqual(Object.keys((allow!.shadow_rules as { policies: object }).policies), ['frontend']);
    assert.equal((deny!.shadow_rules as Message).action, 'DENY');
  });
});

describe('RBAC from the mesh defaultInboundPolicy (no ServicePolicy)', () => {
  it('AllowAuthenticated admits any identity of the trust domain, nobody else', () => {
    const listener = server(undefined, {
      defaultInboundPolicy: 'AllowAuthenticated',
      trustDomain: 'corp.example',
    });
    assert.equal(allows(listener, { identity: 'spiffe://corp.example/ns/web/sa/frontend' }), true);
    assert.equal(allows(listener, { identity: FRONTEND }), false);
    assert.equal(allows(listener, {}), false);
  });

  it('Deny refuses everyone', () => {
    const listener = server(undefined, { defaultInboundPolicy: 'Deny' });
    assert.equal(allows(listener, { identity: FRONTEND }), false);
  });

  it('AllowAll has no RBAC filter', () => {
    const listener = server(undefined, { defaultInboundPolicy: 'AllowAll' });
    assert.deepEqual(filterNames(listener), ['envoy.filters.http.router']);
    assert.equal(allows(listener, {}), true);
  });

  it('also applies to a policy without an access section', () => {
    const listener = listeners(
      snapshot(
        { servicePolicies: [servicePolicy({ resilience: { timeouts: { request: '1s' } } })] },
        { defaultInboundPolicy: 'Deny' },
      ),
    ).find((l) => l.name.startsWith('grpc/server'))!;
    assert.equal(allows(listener, { identity: FRONTEND }), false);
  });
});
