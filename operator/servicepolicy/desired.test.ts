import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  auditSummary,
  describeNetworkPolicy,
  networkPolicy,
  project,
  type Deps,
  type NetworkPolicy,
  type NetworkPolicyIngressRule,
  type NetworkPolicyPeer,
  type Projection,
} from './desired.js';
import {
  mesh,
  service,
  servicePolicy,
  storefrontRule,
  type PolicyOverrides,
  type RuleInput,
} from './fixtures.js';
import type { Service } from './validate.js';

const NS = 'kubernetes.io/metadata.name';
const SA = 'meshwright.io/service-account';

const sa = (namespace: string, name: string): NetworkPolicyPeer => ({
  namespaceSelector: { matchLabels: { [NS]: namespace } },
  podSelector: { matchLabels: { [SA]: name } },
});
const namespaceOnly = (namespace: string): NetworkPolicyPeer => ({
  namespaceSelector: { matchLabels: { [NS]: namespace } },
});
const namespacesIn = (...names: string[]): NetworkPolicyPeer => ({
  namespaceSelector: { matchExpressions: [{ key: NS, operator: 'In', values: names }] },
});
const tcp = (port: number | string) => ({ protocol: 'TCP', port });

interface Case {
  name: string;
  policy: PolicyOverrides;
  service?: Service;
  deps?: Deps;
  outcome: Projection['outcome'];
  /** `spec.ingress` of the NetworkPolicy, for Generate and Audit. */
  ingress?: NetworkPolicyIngressRule[];
  /** Substrings of the errors, warnings and notes. */
  errors?: string[];
  warnings?: string[];
  notes?: string[];
}

const cases: Case[] = [
  {
    name: 'a Service port name maps to its numeric targetPort',
    policy: {},
    outcome: 'Generate',
    ingress: [{ from: [sa('shop', 'storefront')], ports: [tcp(8080)] }],
  },
  {
    name: 'a Service port number maps to its numeric targetPort',
    policy: { rules: [storefrontRule({ to: [{ ports: [80] }] })] },
    outcome: 'Generate',
    ingress: [{ from: [sa('shop', 'storefront')], ports: [tcp(8080)] }],
  },
  {
    name: 'a named targetPort stays a name, by Service port name or number',
    policy: {
      rules: [
        storefrontRule({ to: [{ ports: ['grpc'] }] }),
        storefrontRule({
          name: 'by-number',
          from: [{ serviceAccounts: ['shop/admin'] }],
          to: [{ ports: [9090] }],
        }),
      ],
    },
    outcome: 'Generate',
    ingress: [{ from: [sa('shop', 'admin'), sa('shop', 'storefront')], ports: [tcp('grpc-web')] }],
  },
  {
    name: 'the protocol comes from the Service port; no targetPort means the port itself',
    policy: { rules: [storefrontRule({ to: [{ ports: ['dns', 'http'] }] })] },
    outcome: 'Generate',
    ingress: [{ from: [sa('shop', 'storefront')], ports: [{ protocol: 'UDP', port: 53 }, tcp(8080)] }],
  },
  {
    name: 'several rules: one ingress rule per port set, sorted; ports of all to entries united',
    policy: {
      rules: [
        storefrontRule({ to: [{ ports: ['http'] }, { ports: ['grpc'], methods: ['POST'] }] }),
        { name: 'payments', from: [{ namespaces: ['payments'] }] },
        { name: 'load-balancer', from: [{ ipBlocks: [{ cidr: '10.0.0.0/16' }] }], to: [{ ports: [80] }] },
      ],
    },
    outcome: 'Generate',
    ingress: [
      { from: [namespacesIn('payments')] },
      { from: [{ ipBlock: { cidr: '10.0.0.0/16' } }], ports: [tcp(8080)] },
      { from: [sa('shop', 'storefront')], ports: [tcp(8080), tcp('grpc-web')] },
    ],
    notes: ['Methods and paths of rule "storefront" apply at L7 only'],
  },
  {
    name: 'rules with the same ports merge into one ingress rule',
    policy: {
      rules: [
        storefrontRule(),
        { name: 'lb', from: [{ ipBlocks: [{ cidr: '10.0.0.0/16' }] }], to: [{ ports: ['http'] }] },
      ],
    },
    outcome: 'Generate',
    ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/16' } }, sa('shop', 'storefront')], ports: [tcp(8080)] }],
  },
  {
    name: 'namespaceSelector and serviceAccounts in one entry: both must hold',
    policy: {
      rules: [
        storefrontRule({
          from: [
            { namespaceSelector: { matchLabels: { team: 'web' } }, serviceAccounts: ['shop/storefront'] },
          ],
        }),
      ],
    },
    outcome: 'Generate',
    ingress: [
      {
        from: [
          {
            namespaceSelector: {
              matchLabels: { team: 'web' },
              matchExpressions: [{ key: NS, operator: 'In', values: ['shop'] }],
            },
            podSelector: { matchLabels: { [SA]: 'storefront' } },
          },
        ],
        ports: [tcp(8080)],
      },
    ],
  },
  {
    name: 'namespaceSelector and namespaces in one entry: the listed namespaces that match',
    policy: {
      rules: [
        storefrontRule({
          from: [{ namespaceSelector: { matchLabels: { team: 'web' } }, namespaces: ['web', 'edge'] }],
        }),
      ],
    },
    outcome: 'Generate',
    ingress: [
      {
        from: [
          {
            namespaceSelector: {
              matchLabels: { team: 'web' },
              matchExpressions: [{ key: NS, operator: 'In', values: ['edge', 'web'] }],
            },
          },
        ],
        ports: [tcp(8080)],
      },
    ],
  },
  {
    name: 'a namespaceSelector that names a namespace is narrowed, never overwritten',
    policy: {
      rules: [
        storefrontRule({
          from: [
            { namespaceSelector: { matchLabels: { [NS]: 'web' } }, serviceAccounts: ['shop/storefront'] },
          ],
        }),
      ],
    },
    outcome: 'Generate',
    ingress: [
      {
        from: [
          {
            namespaceSelector: {
              matchLabels: { [NS]: 'web' },
              matchExpressions: [{ key: NS, operator: 'In', values: ['shop'] }],
            },
            podSelector: { matchLabels: { [SA]: 'storefront' } },
          },
        ],
        ports: [tcp(8080)],
      },
    ],
  },
  {
    name: 'namespaces and serviceAccounts in one entry: the service accounts inside those namespaces',
    policy: {
      rules: [
        storefrontRule({
          from: [
            { namespaces: ['shop', 'web'], serviceAccounts: ['shop/storefront', 'web/*', 'other/batch'] },
          ],
        }),
      ],
    },
    outcome: 'Generate',
    ingress: [{ from: [sa('shop', 'storefront'), namespaceOnly('web')], ports: [tcp(8080)] }],
    warnings: ['rule "storefront": from[0]: other/batch is in none of the entry\'s namespaces (shop, web)'],
  },
  {
    name: "ns/* is the namespace alone, and absorbs that namespace's service accounts",
    policy: { rules: [storefrontRule({ from: [{ serviceAccounts: ['web/*', 'web/frontend'] }] })] },
    outcome: 'Generate',
    ingress: [{ from: [namespaceOnly('web')], ports: [tcp(8080)] }],
  },
  {
    name: 'an identity of the mesh trust domain is its service account',
    policy: {
      rules: [storefrontRule({ from: [{ identities: ['spiffe://corp.example/ns/web/sa/frontend'] }] })],
    },
    deps: {
      mesh: { controlPlaneNamespace: 'meshwright-system', metricsPort: 15090, trustDomain: 'corp.example' },
    },
    outcome: 'Generate',
    ingress: [
      { from: [sa('web', 'frontend')], ports: [tcp(8080)] },
      { from: [namespaceOnly('meshwright-system')], ports: [tcp(15090)] },
    ],
  },
  {
    name: 'an identity of another trust domain gets no peer, and a rule left without one is left out',
    policy: {
      rules: [
        storefrontRule(),
        {
          name: 'partner',
          from: [{ identities: ['spiffe://partner.example/ns/web/sa/frontend'] }],
          to: [{ ports: ['grpc'] }],
        },
      ],
    },
    outcome: 'Generate',
    ingress: [{ from: [sa('shop', 'storefront')], ports: [tcp(8080)] }],
    warnings: [
      'rule "partner": from[0]: identity spiffe://partner.example/ns/web/sa/frontend is outside the mesh trust domain "cluster.local"',
    ],
  },
  {
    name: 'Deny rules are not in the NetworkPolicy, and a note says so',
    policy: {
      rules: [storefrontRule(), { name: 'no-admin', action: 'Deny', to: [{ paths: ['/admin/*'] }] }],
    },
    outcome: 'Generate',
    ingress: [{ from: [sa('shop', 'storefront')], ports: [tcp(8080)] }],
    notes: ['Deny rule "no-admin" applies at L7 only'],
  },
  {
    name: 'defaultAction Deny without Allow rules admits nobody',
    policy: { rules: [{ name: 'no-admin', action: 'Deny', to: [{ paths: ['/admin/*'] }] }] },
    outcome: 'Generate',
    ingress: [],
    notes: ['Deny rule "no-admin" applies at L7 only'],
  },
  {
    name: 'defaultAction Allow needs no NetworkPolicy',
    policy: { access: { defaultAction: 'Allow' } },
    outcome: 'NotNeeded',
  },
  {
    name: 'no access section needs no NetworkPolicy',
    policy: { access: null },
    outcome: 'NotNeeded',
  },
  {
    name: 'ipBlocks with except, except sorted and deduplicated',
    policy: {
      rules: [
        {
          name: 'lb',
          from: [
            { ipBlocks: [{ cidr: '10.0.0.0/16', except: ['10.0.9.0/24', '10.0.1.0/24', '10.0.9.0/24'] }] },
            { ipBlocks: [{ cidr: 'fd00::/8' }] },
          ],
          to: [{ ports: ['http'] }],
        },
      ],
    },
    outcome: 'Generate',
    ingress: [
      {
        from: [
          { ipBlock: { cidr: '10.0.0.0/16', except: ['10.0.1.0/24', '10.0.9.0/24'] } },
          { ipBlock: { cidr: 'fd00::/8' } },
        ],
        ports: [tcp(8080)],
      },
    ],
  },
  {
    name: "no from: any source on the rule's ports",
    policy: { rules: [{ name: 'public', to: [{ ports: ['http'] }] }] },
    outcome: 'Generate',
    ingress: [{ ports: [tcp(8080)] }],
  },
  {
    name: 'no from merged with peers on the same ports is still any source',
    policy: { rules: [storefrontRule(), { name: 'public', to: [{ ports: [80] }] }] },
    outcome: 'Generate',
    ingress: [{ ports: [tcp(8080)] }],
  },
  {
    name: 'no ports: every port',
    policy: { rules: [storefrontRule({ to: undefined })] },
    outcome: 'Generate',
    ingress: [{ from: [sa('shop', 'storefront')] }],
  },
  {
    name: 'a to entry without ports makes the rule every port',
    policy: { rules: [storefrontRule({ to: [{ ports: ['http'] }, { methods: ['GET'] }] })] },
    outcome: 'Generate',
    ingress: [{ from: [sa('shop', 'storefront')] }],
    notes: ['Methods and paths of rule "storefront" apply at L7 only'],
  },
  {
    name: 'the mesh control plane may reach the proxy metrics port',
    policy: {},
    deps: mesh({ metricsPort: 15090 }),
    outcome: 'Generate',
    ingress: [
      { from: [sa('shop', 'storefront')], ports: [tcp(8080)] },
      { from: [namespaceOnly('meshwright-system')], ports: [tcp(15090)] },
    ],
  },
  {
    name: 'without a metrics port the control plane may reach every port',
    policy: {},
    deps: mesh(),
    outcome: 'Generate',
    ingress: [
      { from: [namespaceOnly('meshwright-system')] },
      { from: [sa('shop', 'storefront')], ports: [tcp(8080)] },
    ],
  },
  {
    name: 'Audit: the NetworkPolicy that would be applied',
    policy: { access: { enforcement: 'Audit' } },
    outcome: 'Audit',
    ingress: [{ from: [sa('shop', 'storefront')], ports: [tcp(8080)] }],
  },
  {
    name: 'networkPolicy.mode Disabled: none, and no notes about a NetworkPolicy that does not exist',
    policy: {
      access: { networkPolicy: { mode: 'Disabled' } },
      rules: [storefrontRule(), { name: 'no-admin', action: 'Deny', to: [{ paths: ['/admin/*'] }] }],
    },
    outcome: 'Disabled',
  },
  {
    name: 'a Service without a selector cannot be projected',
    policy: {},
    service: service({ selector: null }),
    outcome: 'NoSelector',
  },
  {
    name: 'an empty selector counts as none (it would select every pod)',
    policy: {},
    service: service({ selector: {} }),
    outcome: 'NoSelector',
  },
  {
    name: 'a port the Service does not have is InvalidSpec, naming the rule and the port',
    policy: { rules: [storefrontRule({ to: [{ ports: ['admin'] }] })] },
    outcome: 'Invalid',
    errors: ['rule "storefront": to[0]: port "admin" is not a port name of Service checkout'],
  },
  {
    name: 'a from entry whose fields contradict each other is InvalidSpec',
    policy: {
      rules: [storefrontRule({ from: [{ namespaces: ['web'], serviceAccounts: ['shop/storefront'] }] })],
    },
    outcome: 'Invalid',
    errors: [
      'rule "storefront": from[0] matches nobody: none of its service accounts (shop/storefront) is in one of its namespaces (web)',
    ],
  },
];

describe('networkPolicy projection', () => {
  for (const c of cases) {
    it(c.name, () => {
      const target = c.service ?? service();
      const policy = servicePolicy(c.policy);
      const p = project(policy, target, c.deps ?? {});
      assert.equal(p.outcome, c.outcome, `errors: ${p.errors.join('; ')}`);
      const np = networkPolicy(policy, target, c.deps ?? {});
      if (c.ingress) {
        assert.ok('networkPolicy' in p);
        assert.deepEqual(p.networkPolicy.spec.ingress, c.ingress);
        assert.deepEqual(np, p.networkPolicy);
      } else {
        assert.equal(np, undefined);
      }
      for (const [want, got] of [
        [c.errors ?? [], p.errors],
        [c.warnings ?? [], p.warnings],
        [c.notes ?? [], p.notes],
      ] as const) {
        assert.equal(got.length, want.length, `got ${JSON.stringify(got)}`);
        want.forEach((w, i) =>
          assert.ok(got[i]?.includes(w), `${JSON.stringify(got[i])} should include ${JSON.stringify(w)}`),
        );
      }
    });
  }
});

describe('the generated NetworkPolicy', () => {
  const np = networkPolicy(servicePolicy(), service({ selector: { tier: 'backend', app: 'checkout' } }))!;

  it('selects exactly the pods behind the target Service, for ingress only', () => {
    assert.deepEqual(np.spec.podSelector, { matchLabels: { app: 'checkout', tier: 'backend' } });
    assert.deepEqual(np.spec.policyTypes, ['Ingress']);
  });

  it('is named after the policy, lives beside it, carries the owner labels and a controller reference', () => {
    assert.equal(np.apiVersion, 'networking.k8s.io/v1');
    assert.equal(np.kind, 'NetworkPolicy');
    assert.equal(np.metadata.name, 'meshwright-svcpol-checkout');
    assert.equal(np.metadata.namespace, 'shop');
    assert.deepEqual(np.metadata.labels, {
      'app.kubernetes.io/managed-by': 'meshwright',
      'meshwright.io/owner': 'checkout',
      'meshwright.io/owner-kind': 'ServicePolicy',
    });
    assert.deepEqual(np.metadata.ownerReferences, [
      {
        apiVersion: 'mesh.meshwright.io/v1alpha1',
        kind: 'ServicePolicy',
        name: 'checkout',
        uid: 'uid-checkout',
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
  });

  it("spells the ingress peers as `from`, never client-node's `_from`", () => {
    const json = JSON.parse(JSON.stringify(np)) as NetworkPolicy;
    assert.ok(json.spec.ingress[0]!.from);
    assert.ok(!JSON.stringify(np).includes('_from'));
  });

  it('holds no undefined values, so it equals what the API server returns', () => {
    assert.deepEqual(JSON.parse(JSON.stringify(np)), np);
  });
});

describe('determinism', () => {
  const rules: RuleInput[] = [
    storefrontRule({
      from: [{ serviceAccounts: ['shop/storefront', 'web/*', 'shop/admin'] }, { namespaces: ['b', 'a'] }],
    }),
    { name: 'payments', from: [{ namespaces: ['payments', 'billing'] }], to: [{ ports: ['grpc', 'http'] }] },
    {
      name: 'lb',
      from: [{ ipBlocks: [{ cidr: '10.0.0.0/16', except: ['10.0.2.0/24', '10.0.1.0/24'] }] }],
      to: [{ ports: [80] }],
    },
    { name: 'dns', to: [{ ports: ['dns'] }] },
    { name: 'no-admin', action: 'Deny', to: [{ paths: ['/admin/*'] }] },
    {
      name: 'selected',
      from: [
        {
          namespaceSelector: {
            matchLabels: { z: '1', a: '2' },
            matchExpressions: [{ key: 'env', operator: 'In', values: ['prod', 'dev'] }],
          },
        },
      ],
    },
  ];

  it('building twice gives equal objects', () => {
    const policy = servicePolicy({ rules });
    assert.deepEqual(
      networkPolicy(policy, service(), mesh({ metricsPort: 15090 })),
      networkPolicy(policy, service(), mesh({ metricsPort: 15090 })),
    );
  });

  it('the order of rules, entries, lists and Service ports does not change the output', () => {
    const expected = networkPolicy(servicePolicy({ rules }), service());
    const ports = service().spec!.ports!;
    fc.assert(
      fc.property(
        fc.shuffledSubarray(rules, { minLength: rules.length }),
        fc.shuffledSubarray(ports, { minLength: ports.length }),
        fc.boolean(),
        (shuffled, shuffledPorts, reverseLists) => {
          const deep = reverseLists ? shuffled.map(reversedLists) : shuffled;
          const np = networkPolicy(servicePolicy({ rules: deep }), service({ ports: shuffledPorts }));
          assert.deepEqual(np, expected);
        },
      ),
    );
  });
});

/** `rule` with every list inside it reversed. */
function reversedLists(rule: RuleInput): RuleInput {
  return {
    ...rule,
    ...(rule.from && {
      from: [...rule.from].reverse().map((s) => ({
        ...s,
        ...(s.serviceAccounts && { serviceAccounts: [...s.serviceAccounts].reverse() }),
        ...(s.namespaces && { namespaces: [...s.namespaces].reverse() }),
        ...(s.ipBlocks && {
          ipBlocks: s.ipBlocks.map((b) => ({ ...b, ...(b.except && { except: [...b.except].reverse() }) })),
        }),
      })),
    }),
    ...(rule.to && {
      to: [...rule.to].reverse().map((d) => ({ ...d, ...(d.ports && { ports: [...d.ports].reverse() }) })),
    }),
  };
}

describe('summaries', () => {
  const policy = servicePolicy({
    access: { enforcement: 'Audit' },
    rules: [
      storefrontRule({
        from: [{ serviceAccounts: ['shop/storefront', 'shop/admin'] }, { namespaces: ['payments'] }],
      }),
      { name: 'public', to: [{ ports: ['grpc'] }] },
      { name: 'no-admin', action: 'Deny', to: [{ paths: ['/admin/*'] }] },
    ],
  });
  const p = project(policy, service());
  assert.ok('networkPolicy' in p);

  it('describeNetworkPolicy counts peers and names ports per ingress rule', () => {
    assert.equal(describeNetworkPolicy(p.networkPolicy), '3 peers on 8080/TCP; any source on grpc-web/TCP');
  });

  it('auditSummary says what would be allowed and what applies at L7 only', () => {
    assert.equal(
      auditSummary(p.networkPolicy, p.notes),
      'would allow 3 peers on 8080/TCP; any source on grpc-web/TCP. Deny rule "no-admin" applies at L7 only: ' +
        'a NetworkPolicy can only allow, so at L3/L4 the callers it denies still reach the pods when an Allow rule admits them',
    );
  });

  it('an empty NetworkPolicy refuses every connection', () => {
    const np = networkPolicy(servicePolicy({ rules: [] }), service())!;
    assert.equal(describeNetworkPolicy(np), 'no caller (every connection to the pods is refused)');
  });
});
