/**
 * `ServicePolicy.spec.access` (or the mesh's `defaultInboundPolicy`) as the RBAC HTTP filters of a
 * server Listener. Envoy and gRPC (gRFC A41) both read `envoy.extensions.filters.http.rbac.v3.RBAC`
 * and both chain two RBAC filters, so the order is that of the policy: Deny rules first (a DENY
 * filter), then, unless `defaultAction` is Allow, the Allow rules (an ALLOW filter: a request none of
 * them matches is refused — `PERMISSION_DENIED` in gRPC, 403 in Envoy).
 *
 * Callers are matched on the mTLS peer: `authenticated.principal_name` against the URI SAN of the
 * client certificate (`spiffe://<trustDomain>/ns/<ns>/sa/<sa>`); address ranges on
 * `direct_remote_ip` (the peer's address, which no header can forge).
 *
 * `enforcement: Audit` puts the rules in `shadow_rules` (Envoy evaluates and logs them, emitting
 * `meshwright_audit_*` stats, and lets every request through). gRPC ignores `shadow_rules` but refuses
 * an RBAC filter without `rules`, so an audited filter also carries `rules: {action: DENY}` with no
 * policy, which denies nothing: both consumers accept it and neither enforces.
 */
import type { ServicePolicySpec } from '../../api/index.js';
import { FILTER, spiffeId, spiffeNamespacePrefix } from './names.js';
import { TYPE, type Message } from './protos.js';
import { selectorMatches, type MeshSettings, type Namespace } from './snapshot.js';

type Access = NonNullable<ServicePolicySpec['access']>;
type Rule = NonNullable<Access['rules']>[number];
type Source = NonNullable<Rule['from']>[number];
type Destination = NonNullable<Rule['to']>[number];
export type PortRef = NonNullable<Destination['ports']>[number];

export interface RbacContext {
  mesh: MeshSettings;
  namespaces: readonly Namespace[];
  /** The port on the server (pod) a Service port number or name stands for; undefined when the Service has no such port. */
  destinationPort: (ref: PortRef) => number | undefined;
}

/** An HTTP filter entry of a connection manager. */
export interface HttpFilter {
  name: string;
  typed_config: Message;
  is_optional?: boolean;
}

const ANY: Message = { any: true };
const NOBODY: Message = { not_id: ANY };
const NOTHING: Message = { not_rule: ANY };

const or = (ids: Message[], none: Message): Message =>
  ids.length === 0 ? none : ids.length === 1 ? ids[0]! : { or_ids: { ids } };
const and = (ids: Message[]): Message =>
  ids.length === 0 ? ANY : ids.length === 1 ? ids[0]! : { and_ids: { ids } };
const orRules = (rules: Message[]): Message =>
  rules.length === 0 ? NOTHING : rules.length === 1 ? rules[0]! : { or_rules: { rules } };
const andRules = (rules: Message[]): Message =>
  rules.length === 0 ? ANY : rules.length === 1 ? rules[0]! : { and_rules: { rules } };

const principalName = (match: Message): Message => ({ authenticated: { principal_name: match } });

function cidr(text: string): Message {
  const [address, length] = text.split('/');
  return { address_prefix: address, prefix_len: { value: Number(length) } };
}

/** One `from` entry: every field given must hold. */
function principal(source: Source, context: RbacContext): Message {
  const td = context.mesh.trustDomain;
  const parts: Message[] = [];
  if (source.serviceAccounts !== undefined) {
    parts.push(
      or(
        source.serviceAccounts.map((sa) => {
          const [ns, name] = sa.split('/') as [string, string];
          return principalName(
            name === '*' ? { prefix: spiffeNamespacePrefix(td, ns) } : { exact: spiffeId(td, ns, name) },
          );
        }),
        NOBODY,
      ),
    );
  }
  if (source.namespaces !== undefined) {
    parts.push(
      or(
        source.namespaces.map((ns) => principalName({ prefix: spiffeNamespacePrefix(td, ns) })),
        NOBODY,
      ),
    );
  }
  if (source.namespaceSelector !== undefined) {
    const selector = source.namespaceSelector;
    const selected = context.namespaces
      .filter((ns) => selectorMatches(selector, ns.metadata.labels))
      .map((ns) => ns.metadata.name)
      .sort();
    parts.push(
      or(
        selected.map((ns) => principalName({ prefix: spiffeNamespacePrefix(td, ns) })),
        NOBODY,
      ),
    );
  }
  if (source.identities !== undefined) {
    parts.push(
      or(
        source.identities.map((id) => principalName({ exact: id })),
        NOBODY,
      ),
    );
  }
  if (source.ipBlocks !== undefined) {
    parts.push(
      or(
        source.ipBlocks.map((block) => {
          const range: Message = { direct_remote_ip: cidr(block.cidr) };
          const except = block.except ?? [];
          if (except.length === 0) return range;
          return and([
            range,
            {
              not_id: or(
                except.map((e) => ({ direct_remote_ip: cidr(e) })),
                NOBODY,
              ),
            },
          ]);
        }),
        NOBODY,
      ),
    );
  }
  return and(parts);
}

function pathMatch(path: string): Message {
  return path.endsWith('*')
    ? { url_path: { path: { prefix: path.slice(0, -1) } } }
    : { url_path: { path: { exact: path } } };
}

/** One `to` entry: every field given must hold. A port the Service lacks matches nothing. */
function permission(destination: Destination, context: RbacContext): Message {
  const parts: Message[] = [];
  if (destination.ports !== undefined) {
    const ports = [...new Set(destination.ports.map(context.destinationPort))]
      .filter((p): p is number => p !== undefined)
      .sort((a, b) => a - b);
    parts.push(orRules(ports.map((port) => ({ destination_port: port }))));
  }
  if (destination.methods !== undefined) {
    parts.push(
      orRules(
        [...destination.methods].sort().map((method) => ({
          header: { name: ':method', string_match: { exact: method } },
        })),
      ),
    );
  }
  if (destination.paths !== undefined) parts.push(orRules([...destination.paths].sort().map(pathMatch)));
  return andRules(parts);
}

function policy(rule: Rule, context: RbacContext): Message {
  return {
    permissions: rule.to === undefined ? [ANY] : rule.to.map((d) => permission(d, context)),
    principals: rule.from === undefined ? [ANY] : rule.from.map((s) => principal(s, context)),
  };
}

const policies = (rules: readonly Rule[], context: RbacContext): Message =>
  Object.fromEntries(rules.map((rule) => [rule.name, policy(rule, context)]));

function rbacFilter(name: string, action: 'ALLOW' | 'DENY', policyMap: Message, audit: boolean): HttpFilter {
  // An empty map is no map on the wire: left out, so what is built is what is decoded.
  const rules = { action, ...(Object.keys(policyMap).length > 0 ? { policies: policyMap } : {}) };
  const config: Message = audit
    ? {
        '@type': TYPE.rbac,
        rules: { action: 'DENY' },
        shadow_rules: rules,
        shadow_rules_stat_prefix: 'meshwright_audit_',
      }
    : { '@type': TYPE.rbac, rules };
  return { name, typed_config: config };
}

/**
 * The RBAC filters of a server Listener (in order, before the router), for the policy's `access`, or
 * for the mesh's `defaultInboundPolicy` when the Service has no policy (or one without `access`):
 * `Deny` → an ALLOW filter with no policy; `AllowAuthenticated` → ALLOW any identity of the mesh's
 * trust domain; `AllowAll` → no filter.
 */
export function rbacFilters(access: Access | undefined, context: RbacContext): HttpFilter[] {
  if (access === undefined) {
    switch (context.mesh.defaultInboundPolicy) {
      case 'AllowAll':
        return [];
      case 'Deny':
        return [rbacFilter(FILTER.rbacAllow, 'ALLOW', {}, false)];
      case 'AllowAuthenticated':
        return [
          rbacFilter(
            FILTER.rbacAllow,
            'ALLOW',
            {
              'mesh-authenticated': {
                permissions: [ANY],
                principals: [principalName({ prefix: `spiffe://${context.mesh.trustDomain}/` })],
              },
            },
            false,
          ),
        ];
    }
  }
  const audit = access.enforcement === 'Audit';
  const rules = access.rules ?? [];
  const deny = rules.filter((r) => r.action === 'Deny');
  const allow = rules.filter((r) => r.action === 'Allow');
  return [
    ...(deny.length > 0 ? [rbacFilter(FILTER.rbacDeny, 'DENY', policies(deny, context), audit)] : []),
    ...(access.defaultAction === 'Deny'
      ? [rbacFilter(FILTER.rbacAllow, 'ALLOW', policies(allow, context), audit)]
      : []),
  ];
}
