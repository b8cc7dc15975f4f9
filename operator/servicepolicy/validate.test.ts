import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { service, servicePolicy, storefrontRule, type RuleInput } from './fixtures.js';
import { parseIdentity, resolvePort, validate } from './validate.js';

const findings = (rules: RuleInput[], opts: { trustDomain?: string; noTarget?: boolean } = {}) =>
  validate(
    servicePolicy({ rules }),
    opts.noTarget ? undefined : service(),
    opts.trustDomain
      ? { mesh: { controlPlaneNamespace: 'meshwright-system', trustDomain: opts.trustDomain } }
      : {},
  );

describe('validate: errors', () => {
  const errorCases: { name: string; rules: RuleInput[]; error: string }[] = [
    {
      name: 'a port number the Service does not have, with the ports it has',
      rules: [storefrontRule({ to: [{ ports: [443] }] })],
      error:
        'rule "storefront": to[0]: port 443 is not a port of Service checkout (its ports: 80/TCP "http", 9090/TCP "grpc", 53/UDP "dns")',
    },
    {
      name: 'a container port given instead of the Service port, with a hint',
      rules: [storefrontRule({ to: [{ ports: [8080] }] })],
      error:
        'rule "storefront": to[0]: port 8080 is not a port of Service checkout (its ports: 80/TCP "http", 9090/TCP "grpc", 53/UDP "dns"); ' +
        '8080 is the target port of its port 80/TCP "http": name the Service\'s port',
    },
    {
      name: 'a port name the Service does not have',
      rules: [storefrontRule({ to: [{ ports: ['http'] }, { ports: ['admin'] }] })],
      error: 'rule "storefront": to[1]: port "admin" is not a port name of Service checkout',
    },
    {
      name: "service accounts outside the entry's namespaces",
      rules: [storefrontRule({ from: [{ namespaces: ['web'], serviceAccounts: ['shop/storefront'] }] })],
      error:
        'rule "storefront": from[0] matches nobody: none of its service accounts (shop/storefront) is in one of its namespaces (web). ' +
        'The fields of one entry are ANDed; put alternatives in separate from entries',
    },
    {
      name: 'service accounts and identities with no caller in common',
      rules: [
        storefrontRule({
          from: [
            { serviceAccounts: ['shop/storefront'], identities: ['spiffe://cluster.local/ns/shop/sa/admin'] },
          ],
        }),
      ],
      error:
        'rule "storefront": from[0] matches nobody: no caller runs as one of its serviceAccounts and has one of its identities too',
    },
    {
      name: 'an empty from',
      rules: [storefrontRule({ from: [] })],
      error: 'rule "storefront": from is empty and matches no caller; omit it to match any caller',
    },
    {
      name: 'an empty to',
      rules: [storefrontRule({ to: [] })],
      error: 'rule "storefront": to is empty and matches no request; omit it to match any request',
    },
    {
      name: 'an empty ports list',
      rules: [storefrontRule({ to: [{ ports: [] }] })],
      error: 'rule "storefront": to[0]: ports is empty and matches no port; omit it to match every port',
    },
    {
      name: 'an empty methods list',
      rules: [storefrontRule({ to: [{ ports: ['http'], methods: [] }] })],
      error: 'rule "storefront": to[0]: methods is empty and matches no request; omit it to match any',
    },
    {
      name: 'an empty list of callers',
      rules: [storefrontRule({ from: [{ namespaces: [] }] })],
      error: 'rule "storefront": from[0] matches nobody: namespaces is empty; omit a field to leave it out',
    },
    {
      name: 'an except range outside its cidr',
      rules: [{ name: 'lb', from: [{ ipBlocks: [{ cidr: '10.0.0.0/16', except: ['10.1.0.0/24'] }] }] }],
      error:
        'rule "lb": from[0]: ipBlocks except 10.1.0.0/24 is not inside 10.0.0.0/16; each except range must be a strict part of its cidr',
    },
    {
      name: 'an except range as wide as its cidr',
      rules: [{ name: 'lb', from: [{ ipBlocks: [{ cidr: '10.0.0.0/16', except: ['10.0.0.0/16'] }] }] }],
      error:
        'rule "lb": from[0]: ipBlocks except 10.0.0.0/16 is not inside 10.0.0.0/16; each except range must be a strict part of its cidr',
    },
    {
      name: 'an except range of the other address family',
      rules: [{ name: 'lb', from: [{ ipBlocks: [{ cidr: '10.0.0.0/16', except: ['fd00::/64'] }] }] }],
      error: 'rule "lb": from[0]: ipBlocks except fd00::/64 is not inside 10.0.0.0/16',
    },
    {
      name: 'an except that is no range',
      rules: [{ name: 'lb', from: [{ ipBlocks: [{ cidr: '10.0.0.0/16', except: ['10.0.1.0'] }] }] }],
      error: 'rule "lb": from[0]: ipBlocks except 10.0.1.0 is not a valid IPv4 or IPv6 range',
    },
    {
      name: 'a cidr the pattern lets through but no address is',
      rules: [{ name: 'lb', from: [{ ipBlocks: [{ cidr: '300.0.0.0/8' }] }] }],
      error: 'rule "lb": from[0]: ipBlocks cidr 300.0.0.0/8 is not a valid IPv4 or IPv6 range',
    },
  ];
  for (const c of errorCases) {
    it(c.name, () => {
      const { errors } = findings(c.rules);
      assert.ok(
        errors.some((e) => e.startsWith(c.error)),
        `${JSON.stringify(errors)} should have one starting with ${JSON.stringify(c.error)}`,
      );
    });
  }

  it("checks Deny rules' ports too (the proxies need them)", () => {
    const { errors } = findings([{ name: 'no-admin', action: 'Deny', to: [{ ports: ['admin'] }] }]);
    assert.equal(errors.length, 1);
    assert.match(errors[0]!, /^rule "no-admin": to\[0\]: port "admin"/);
  });

  it('reports every problem, not only the first', () => {
    const { errors } = findings([
      storefrontRule({ to: [{ ports: ['admin', 443] }] }),
      { name: 'other', from: [{ namespaces: ['web'], serviceAccounts: ['shop/x'] }] },
    ]);
    assert.equal(errors.length, 3);
  });

  it('skips port checks without the target Service (ResolvedRefs reports it)', () => {
    assert.deepEqual(findings([storefrontRule({ to: [{ ports: ['admin'] }] })], { noTarget: true }), {
      errors: [],
      warnings: [],
    });
  });

  it('a valid policy has no findings', () => {
    assert.deepEqual(findings([storefrontRule(), { name: 'any', to: [{ ports: [80, 'grpc'] }] }]), {
      errors: [],
      warnings: [],
    });
  });

  it('except ranges inside their cidr are fine, IPv6 too', () => {
    const { errors } = findings([
      {
        name: 'lb',
        from: [
          { ipBlocks: [{ cidr: '10.0.0.0/8', except: ['10.1.0.0/16', '10.255.255.255/32'] }] },
          { ipBlocks: [{ cidr: 'fd00::/8', except: ['fd12:3456::/32'] }] },
        ],
      },
    ]);
    assert.deepEqual(errors, []);
  });
});

describe('validate: warnings (accepted)', () => {
  it('an identity from another trust domain', () => {
    const { errors, warnings } = findings([
      storefrontRule({ from: [{ identities: ['spiffe://partner.example/ns/web/sa/frontend'] }] }),
    ]);
    assert.deepEqual(errors, []);
    assert.equal(warnings.length, 1);
    assert.match(
      warnings[0]!,
      /^rule "storefront": from\[0\]: identity spiffe:\/\/partner\.example\/ns\/web\/sa\/frontend is outside the mesh trust domain "cluster\.local"/,
    );
  });

  it('the trust domain comes from the mesh', () => {
    const rules = [storefrontRule({ from: [{ identities: ['spiffe://corp.example/ns/web/sa/frontend'] }] })];
    assert.equal(findings(rules).warnings.length, 1);
    assert.deepEqual(findings(rules, { trustDomain: 'corp.example' }).warnings, []);
  });

  it('an identity of the trust domain that is no workload identity', () => {
    const { warnings } = findings([
      storefrontRule({ from: [{ identities: ['spiffe://cluster.local/gateway/east'] }] }),
    ]);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /is not a workload identity of this mesh/);
  });

  it("a service account dropped because it is outside the entry's namespaces", () => {
    const { errors, warnings } = findings([
      storefrontRule({
        from: [{ namespaces: ['shop'], serviceAccounts: ['shop/storefront', 'web/a', 'web/b'] }],
      }),
    ]);
    assert.deepEqual(errors, []);
    assert.deepEqual(warnings, [
      'rule "storefront": from[0]: web/a, web/b are in none of the entry\'s namespaces (shop) and match nobody',
    ]);
  });

  it('a service account name no label value can hold', () => {
    const long = `a${'b'.repeat(63)}`;
    const { warnings } = findings([storefrontRule({ from: [{ serviceAccounts: [`shop/${long}`] }] })]);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /has a name longer than 63 characters/);
  });
});

describe('resolvePort', () => {
  const svc = service();
  it('a Service port name or number gives its numeric targetPort and protocol', () => {
    assert.deepEqual(resolvePort(svc, 'http'), { protocol: 'TCP', port: 8080 });
    assert.deepEqual(resolvePort(svc, 80), { protocol: 'TCP', port: 8080 });
  });
  it('a named targetPort stays a name', () => {
    assert.deepEqual(resolvePort(svc, 'grpc'), { protocol: 'TCP', port: 'grpc-web' });
  });
  it('no targetPort is the port itself; the protocol defaults to TCP', () => {
    assert.deepEqual(resolvePort(svc, 53), { protocol: 'UDP', port: 53 });
    assert.deepEqual(resolvePort(service({ ports: [{ port: 7000 }] }), 7000), {
      protocol: 'TCP',
      port: 7000,
    });
  });
  it('an unknown port is a reason, and a Service without ports says so', () => {
    assert.equal(
      resolvePort(service({ ports: [] }), 80),
      'port 80 is not a port of Service checkout (it has no ports)',
    );
  });
});

describe('parseIdentity', () => {
  it('reads workload identities of the trust domain', () => {
    assert.deepEqual(parseIdentity('spiffe://cluster.local/ns/shop/sa/storefront', 'cluster.local'), {
      kind: 'workload',
      principal: { namespace: 'shop', name: 'storefront' },
    });
  });
  it('tells other trust domains and other paths apart', () => {
    assert.deepEqual(parseIdentity('spiffe://other.example/ns/shop/sa/x', 'cluster.local'), {
      kind: 'foreign',
      trustDomain: 'other.example',
    });
    assert.deepEqual(parseIdentity('spiffe://cluster.local/ns/shop/sa/x/extra', 'cluster.local'), {
      kind: 'other',
    });
    assert.deepEqual(parseIdentity('spiffe://cluster.local/ns/Shop/sa/x', 'cluster.local'), {
      kind: 'other',
    });
  });
});
