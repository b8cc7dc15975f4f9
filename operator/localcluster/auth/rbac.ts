/**
 * kube-apiserver's authorizer chain for this cluster: the system:masters privileged-group authorizer, then
 * the RBAC authorizer (plugin/pkg/auth/authorizer/rbac and pkg/registry/rbac/validation/rule.go), with the
 * bootstrap discovery policy always in force.
 *
 * Not evaluated: ClusterRole `aggregationRule` (only a role's own `rules` count — an aggregated role grants
 * what the aggregation controller would have copied into it, and there is no such controller here).
 */
import { aggregateMessage } from '../schema/field-errors.js';
import { goQuote } from '../schema/go-format.js';
import { withBootstrapPolicy } from './bootstrap-policy.js';
import { toBinding, toRole } from './model.js';
import { serviceAccountUsername } from './names.js';
import type { Binding, PolicyRule, Role, Subject } from './model.js';
import { SYSTEM_MASTERS } from './types.js';
import type { Decision, RbacSource, RequestAttributes, UserInfo } from './types.js';

/** One step of `VisitRulesFor`: a rule with the binding that granted it, or a role that failed to resolve. */
type Visit = { rule: PolicyRule; binding: Binding; subject: Subject } | { error: string };

export function authorize(user: UserInfo, attrs: RequestAttributes, rbac: RbacSource): Decision {
  // authorizerfactory.NewPrivilegedGroups: allows with an empty reason, ahead of RBAC.
  if (user.groups.includes(SYSTEM_MASTERS)) return { allowed: true, reason: '' };

  // A non-resource request has no namespace, so only ClusterRoleBindings can grant it.
  const namespace = attrs.nonResourcePath === undefined ? (attrs.namespace ?? '') : '';
  const errors: string[] = [];
  for (const visit of visitRules(user, namespace, rbac)) {
    if ('error' in visit) {
      errors.push(visit.error);
    } else if (ruleAllows(attrs, visit.rule)) {
      return { allowed: true, reason: `RBAC: allowed by ${describeSource(visit.binding, visit.subject)}` };
    }
  }
  return { allowed: false, reason: errors.length > 0 ? `RBAC: ${aggregateMessage(errors)}` : '' };
}

/** Every rule that applies to `user` in `namespace` (cluster-wide rules included), for rules reviews. */
export function rulesFor(
  user: UserInfo,
  namespace: string,
  rbac: RbacSource,
): { rules: PolicyRule[]; errors: string[] } {
  const rules: PolicyRule[] = [];
  const errors: string[] = [];
  for (const visit of visitRules(user, namespace, rbac)) {
    if ('error' in visit) errors.push(visit.error);
    else rules.push(visit.rule);
  }
  return { rules, errors };
}

/**
 * `DefaultRuleResolver.VisitRulesFor`: ClusterRoleBindings first (cluster-wide), then — for a namespaced
 * request — the RoleBindings of that namespace. A binding counts for its first subject that matches.
 */
function* visitRules(user: UserInfo, namespace: string, source: RbacSource): Generator<Visit> {
  const rbac = withBootstrapPolicy(source);
  const roles = roleIndex(rbac);
  const scopes: Array<{ bindings: object[]; namespace: string }> = [
    { bindings: rbac.clusterRoleBindings(), namespace: '' },
  ];
  if (namespace !== '') scopes.push({ bindings: rbac.roleBindings(namespace), namespace });

  for (const scope of scopes) {
    // The scope, not the stored metadata, says where a binding applies (and how it is described).
    for (const binding of scope.bindings.map((b) => ({ ...toBinding(b), namespace: scope.namespace }))) {
      const subject = binding.subjects.find((s) => appliesToUser(user, s, scope.namespace));
      if (subject === undefined) continue;
      const resolved = roleReferenceRules(binding, scope.namespace, roles);
      if (typeof resolved === 'string') {
        yield { error: resolved };
        continue;
      }
      for (const rule of resolved) yield { rule, binding, subject };
    }
  }
}

interface RoleIndex {
  role(namespace: string, name: string): Role | undefined;
  clusterRole(name: string): Role | undefined;
}

/** Roles by name, each list read from the source at most once per evaluation. */
function roleIndex(rbac: RbacSource): RoleIndex {
  const byName = (objects: object[]) => new Map(objects.map(toRole).map((r) => [r.name, r]));
  const namespaced = new Map<string, Map<string, Role>>();
  let cluster: Map<string, Role> | undefined;
  return {
    role(namespace, name) {
      if (namespace === '') return undefined;
      let roles = namespaced.get(namespace);
      if (roles === undefined) namespaced.set(namespace, (roles = byName(rbac.roles(namespace))));
      return roles.get(name);
    },
    clusterRole: (name) => (cluster ??= byName(rbac.clusterRoles())).get(name),
  };
}

/** `GetRoleReferenceRules`: the referenced role's rules, or the error the lister would have returned. */
function roleReferenceRules(binding: Binding, namespace: string, roles: RoleIndex): PolicyRule[] | string {
  const { kind, name } = binding.roleRef;
  switch (kind) {
    case 'Role':
      return (
        roles.role(namespace, name)?.rules ?? `role.rbac.authorization.k8s.io ${goQuote(name)} not found`
      );
    case 'ClusterRole':
      return (
        roles.clusterRole(name)?.rules ?? `clusterrole.rbac.authorization.k8s.io ${goQuote(name)} not found`
      );
    default:
      return `unsupported role reference kind: ${goQuote(kind)}`;
  }
}

function appliesToUser(user: UserInfo, subject: Subject, namespace: string): boolean {
  switch (subject.kind) {
    case 'User':
      return user.username === subject.name;
    case 'Group':
      return user.groups.includes(subject.name);
    case 'ServiceAccount': {
      // A ServiceAccount subject without a namespace means the binding's own namespace; in a
      // ClusterRoleBinding there is none, so such a subject matches nobody.
      const saNamespace = subject.namespace !== '' ? subject.namespace : namespace;
      return saNamespace !== '' && user.username === serviceAccountUsername(saNamespace, subject.name);
    }
    default:
      return false;
  }
}

/** `RuleAllows` with the rbacv1helpers matchers. */
function ruleAllows(attrs: RequestAttributes, rule: PolicyRule): boolean {
  if (attrs.nonResourcePath === undefined) {
    const subresource = attrs.subresource ?? '';
    const combined = subresource === '' ? attrs.resource : `${attrs.resource}/${subresource}`;
    return (
      verbMatches(rule, attrs.verb) &&
      rule.apiGroups.some((g) => g === '*' || g === attrs.apiGroup) &&
      resourceMatches(rule, combined, subresource) &&
      resourceNameMatches(rule, attrs.name ?? '')
    );
  }
  return verbMatches(rule, attrs.verb) && nonResourceURLMatches(rule, attrs.nonResourcePath);
}

const verbMatches = (rule: PolicyRule, verb: string): boolean =>
  rule.verbs.some((v) => v === '*' || v === verb);

function resourceMatches(rule: PolicyRule, combined: string, subresource: string): boolean {
  return rule.resources.some(
    (r) =>
      r === '*' ||
      r === combined ||
      // `*/scale` matches the scale subresource of every resource.
      (subresource !== '' && r === `*/${subresource}`),
  );
}

/**
 * A rule without resourceNames matches any name; one with resourceNames matches only requests that carry
 * one of those names — so it never grants list, watch, create or deletecollection (which have no name,
 * unless the request resolver took one from a `metadata.name` field selector).
 */
const resourceNameMatches = (rule: PolicyRule, name: string): boolean =>
  rule.resourceNames.length === 0 || rule.resourceNames.includes(name);

function nonResourceURLMatches(rule: PolicyRule, path: string): boolean {
  return rule.nonResourceURLs.some(
    (url) => url === '*' || url === path || (url.endsWith('*') && path.startsWith(url.replace(/\*+$/, ''))),
  );
}

function describeSource(binding: Binding, subject: Subject): string {
  const { kind, name } = binding.roleRef;
  const who = describeSubject(subject, binding.namespace);
  return binding.namespace === ''
    ? `ClusterRoleBinding ${goQuote(binding.name)} of ${kind} ${goQuote(name)} to ${who}`
    : `RoleBinding ${goQuote(`${binding.name}/${binding.namespace}`)} of ${kind} ${goQuote(name)} to ${who}`;
}

function describeSubject(subject: Subject, bindingNamespace: string): string {
  if (subject.kind !== 'ServiceAccount') return `${subject.kind} ${goQuote(subject.name)}`;
  const namespace = subject.namespace !== '' ? subject.namespace : bindingNamespace;
  return `${subject.kind} ${goQuote(`${subject.name}/${namespace}`)}`;
}
