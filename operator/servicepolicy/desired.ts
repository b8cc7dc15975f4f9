/**
 * The L3/L4 projection of a ServicePolicy: the Kubernetes NetworkPolicy that admits the callers its
 * Allow rules name, on the ports they name, to the pods behind the target Service.
 *
 * A NetworkPolicy is a coarser superset of the policy: it sees addresses, namespaces, pod labels and
 * ports, never methods, paths or certificates. What it cannot express is left to the proxies and
 * said in status (`notes`), never pretended:
 * - Deny rules (a NetworkPolicy can only allow);
 * - methods and paths (a rule with them still admits its callers on its ports, for any request);
 * - callers it cannot see (SPIFFE identities from another trust domain): no peer, and a warning.
 *
 * Pure and deterministic: peers, ports and rules are sorted and deduplicated, so the same policy and
 * Service always give equal objects, whatever order the spec lists things in.
 */
import type { LabelSelector } from '../api/index.js';
import { controllerRef, type OwnerReference } from '../runtime/ownership.js';
import { NAMESPACE_NAME_LABEL, SERVICE_ACCOUNT_LABEL, networkPolicyName, ownerLabels } from './names.js';
import type { ServicePolicy } from './policy.js';
import {
  resolve,
  type Caller,
  type Deps,
  type ResolvedPort,
  type ResolvedRule,
  type Service,
} from './validate.js';

export type { Deps, MeshInfo, Service } from './validate.js';

// ---------------------------------------------------------------------------------------------
// networking.k8s.io/v1 NetworkPolicy, as JSON on the wire. Not client-node's `NetworkPolicy`: its
// ingress rule spells `from` as `_from` (a reserved word in its generator), so a plain object typed by
// it either lacks `from` or carries a `_from` the API server prunes — and an ingress rule without
// `from` admits every source.

export interface LabelSelectorRequirement {
  key: string;
  operator: string;
  values?: string[];
}

export interface NetworkPolicyLabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export interface NetworkPolicyPeer {
  podSelector?: NetworkPolicyLabelSelector;
  namespaceSelector?: NetworkPolicyLabelSelector;
  ipBlock?: { cidr: string; except?: string[] };
}

export interface NetworkPolicyPort {
  protocol?: string;
  port?: number | string;
  endPort?: number;
}

export interface NetworkPolicyIngressRule {
  /** Absent: every source. */
  from?: NetworkPolicyPeer[];
  /** Absent: every port. */
  ports?: NetworkPolicyPort[];
}

export interface NetworkPolicy {
  apiVersion: 'networking.k8s.io/v1';
  kind: 'NetworkPolicy';
  metadata: {
    name: string;
    namespace: string;
    labels: Record<string, string>;
    ownerReferences: OwnerReference[];
  };
  spec: {
    podSelector: NetworkPolicyLabelSelector;
    policyTypes: ('Ingress' | 'Egress')[];
    ingress: NetworkPolicyIngressRule[];
  };
}

interface Findings {
  /** Semantic errors: the policy is not accepted (`InvalidSpec`). */
  errors: string[];
  /** Accepted, but worth telling the user (status message and Events). */
  warnings: string[];
  /** What the NetworkPolicy cannot express and the proxies alone enforce (only when there is one). */
  notes: string[];
}

/** What becomes of a policy at L3/L4, and why. */
export type Projection = Findings &
  (
    | {
        /** `Generate`: apply `networkPolicy`. `Audit`: apply nothing; report what would be applied. */
        outcome: 'Generate' | 'Audit';
        networkPolicy: NetworkPolicy;
      }
    | {
        /** Nothing to restrict (`defaultAction: Allow`, or no `access`). */
        outcome: 'NotNeeded';
        message: string;
      }
    | {
        /** `Invalid`: semantic errors. `Disabled`: `networkPolicy.mode: Disabled`. `NoSelector`: the pods are unknown. */
        outcome: 'Invalid' | 'Disabled' | 'NoSelector';
      }
  );

/**
 * The NetworkPolicy for `policy` — in Audit mode the one that *would* be applied — or `undefined`
 * when there is none (see `project` for why).
 */
export function networkPolicy(
  policy: ServicePolicy,
  target: Service,
  deps: Deps = {},
): NetworkPolicy | undefined {
  const projection = project(policy, target, deps);
  return 'networkPolicy' in projection ? projection.networkPolicy : undefined;
}

/** The L3/L4 outcome of `policy` against its target Service, with findings and notes for status. */
export function project(policy: ServicePolicy, target: Service, deps: Deps = {}): Projection {
  const { rules, errors, warnings } = resolve(policy, target, deps);
  const access = policy.spec.access;
  // Notes are about a NetworkPolicy's blind spots: only worth saying when there is one.
  const findings = { errors, warnings, notes: [] };
  if (errors.length > 0) return { outcome: 'Invalid', ...findings };
  if (access === undefined) {
    return {
      outcome: 'NotNeeded',
      message: 'the policy has no access section: it restricts no caller, so no NetworkPolicy is needed',
      ...findings,
    };
  }
  if (access.networkPolicy.mode === 'Disabled') return { outcome: 'Disabled', ...findings };
  if (access.defaultAction === 'Allow') {
    return {
      outcome: 'NotNeeded',
      message:
        'defaultAction is Allow: a NetworkPolicy can only allow, so there is nothing to restrict at L3/L4 and none is generated',
      ...findings,
    };
  }
  if (!hasSelector(target)) return { outcome: 'NoSelector', ...findings };
  const selector = target.spec?.selector ?? {};

  const ingress = ingressRules(rules, deps);
  const np: NetworkPolicy = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: {
      name: networkPolicyName(policy),
      namespace: policy.metadata.namespace,
      labels: ownerLabels(policy),
      ownerReferences: [controllerRef(policy)],
    },
    spec: {
      podSelector: { matchLabels: sortedRecord(selector) },
      policyTypes: ['Ingress'],
      ingress,
    },
  };
  return {
    outcome: access.enforcement === 'Audit' ? 'Audit' : 'Generate',
    networkPolicy: np,
    ...findings,
    notes: l7OnlyNotes(rules),
  };
}

/**
 * Whether `service` selects pods. An empty selector counts as none: the API server stores `{}` as no
 * selector (the Service gets no endpoints), and as a podSelector it would select every pod of the
 * namespace.
 */
export const hasSelector = (service: Service): boolean =>
  Object.keys(service.spec?.selector ?? {}).length > 0;

function l7OnlyNotes(rules: readonly ResolvedRule[]): string[] {
  const notes: string[] = [];
  const deny = rules.filter((r) => r.action === 'Deny').map((r) => r.name);
  if (deny.length > 0) {
    notes.push(
      `Deny ${ruleNames(deny)} ${deny.length === 1 ? 'applies' : 'apply'} at L7 only: ` +
        `a NetworkPolicy can only allow, so at L3/L4 the callers ${deny.length === 1 ? 'it denies' : 'they deny'} ` +
        `still reach the pods when an Allow rule admits them`,
    );
  }
  const l7 = rules.filter((r) => r.action === 'Allow' && r.l7).map((r) => r.name);
  if (l7.length > 0) {
    notes.push(
      `Methods and paths of ${ruleNames(l7)} apply at L7 only: at L3/L4 ` +
        `${l7.length === 1 ? 'the rule admits its' : 'those rules admit their'} callers on ` +
        `${l7.length === 1 ? 'its' : 'their'} ports for any request`,
    );
  }
  return notes;
}

// ---------------------------------------------------------------------------------------------
// Ingress rules

/**
 * One ingress rule per Allow rule (callers × ports: the entries of `from` are alternatives, so are
 * those of `to`), plus the mesh's own; then rules with the same ports merged into one, and sorted.
 * A rule none of whose callers a NetworkPolicy can see is left out: an empty `from` would admit
 * every source.
 */
function ingressRules(rules: readonly ResolvedRule[], deps: Deps): NetworkPolicyIngressRule[] {
  const projected: NetworkPolicyIngressRule[] = [];
  for (const rule of rules) {
    if (rule.action !== 'Allow') continue;
    if (rule.callers !== 'any' && rule.callers.length === 0) continue;
    if (rule.ports !== 'all' && rule.ports.length === 0) continue;
    projected.push({
      ...(rule.callers === 'any' ? {} : { from: rule.callers.map(peer) }),
      ...(rule.ports === 'all' ? {} : { ports: rule.ports.map(npPort) }),
    });
  }
  const mesh = deps.mesh;
  if (mesh) {
    projected.push({
      from: [{ namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: mesh.controlPlaneNamespace } } }],
      ...(mesh.metricsPort === undefined ? {} : { ports: [{ protocol: 'TCP', port: mesh.metricsPort }] }),
    });
  }
  return mergeByPorts(projected);
}

function mergeByPorts(rules: readonly NetworkPolicyIngressRule[]): NetworkPolicyIngressRule[] {
  const byPorts = new Map<string, { ports?: NetworkPolicyPort[]; from?: NetworkPolicyPeer[] }>();
  for (const rule of rules) {
    const ports = rule.ports ? canonicalPorts(rule.ports) : undefined;
    const key = stableKey(ports ?? 'all');
    const seen = byPorts.get(key);
    // No `from` admits every source: merged with anything, it still does.
    const from =
      seen === undefined ? rule.from : seen.from && rule.from ? [...seen.from, ...rule.from] : undefined;
    byPorts.set(key, { ...(ports ? { ports } : {}), ...(from ? { from } : {}) });
  }
  const merged = [...byPorts.values()].map((r) => ({
    ...(r.from ? { from: canonicalPeers(r.from) } : {}),
    ...(r.ports ? { ports: r.ports } : {}),
  }));
  return merged.sort(compareRules);
}

/** Rules for every port first, then by their ports (as `comparePorts` orders them), then by their peers. */
function compareRules(a: NetworkPolicyIngressRule, b: NetworkPolicyIngressRule): number {
  if (a.ports === undefined || b.ports === undefined) {
    if (a.ports !== b.ports) return a.ports === undefined ? -1 : 1;
  } else {
    for (let i = 0; i < Math.min(a.ports.length, b.ports.length); i++) {
      const byPort = comparePorts(a.ports[i]!, b.ports[i]!);
      if (byPort !== 0) return byPort;
    }
    if (a.ports.length !== b.ports.length) return a.ports.length - b.ports.length;
  }
  return compareStrings(stableKey(a.from ?? 'any'), stableKey(b.from ?? 'any'));
}

function peer(caller: Caller): NetworkPolicyPeer {
  switch (caller.kind) {
    case 'ipBlock':
      return {
        ipBlock: { cidr: caller.cidr, ...(caller.except.length > 0 ? { except: caller.except } : {}) },
      };
    case 'namespaceSelector':
      return { namespaceSelector: canonicalSelector(caller.selector) };
    case 'namespaces':
      return { namespaceSelector: withNamespaces(caller.selector, caller.namespaces) };
    case 'serviceAccount':
      return {
        namespaceSelector: caller.selector
          ? withNamespaces(caller.selector, [caller.namespace])
          : { matchLabels: { [NAMESPACE_NAME_LABEL]: caller.namespace } },
        ...(caller.name === undefined
          ? {}
          : { podSelector: { matchLabels: { [SERVICE_ACCOUNT_LABEL]: caller.name } } }),
      };
  }
}

/**
 * `selector` narrowed to the namespaces named `names`. Added as a requirement, never merged into
 * `matchLabels`: a selector that already names another namespace then matches nothing, as the
 * policy says, instead of being overwritten into a broader one.
 */
function withNamespaces(
  selector: LabelSelector | undefined,
  names: readonly string[],
): NetworkPolicyLabelSelector {
  return canonicalSelector({
    ...selector,
    matchExpressions: [
      ...(selector?.matchExpressions ?? []),
      { key: NAMESPACE_NAME_LABEL, operator: 'In', values: [...names] },
    ],
  });
}

const npPort = (p: ResolvedPort): NetworkPolicyPort => ({ protocol: p.protocol, port: p.port });

// ---------------------------------------------------------------------------------------------
// Canonical forms: sorted, deduplicated, no empty or undefined fields

function canonicalSelector(selector: LabelSelector | NetworkPolicyLabelSelector): NetworkPolicyLabelSelector {
  const labels = selector.matchLabels ?? {};
  const expressions = uniqueSorted(
    (selector.matchExpressions ?? []).map((e: LabelSelectorRequirement) => ({
      key: e.key,
      operator: e.operator,
      ...(e.values && e.values.length > 0 ? { values: [...new Set(e.values)].sort() } : {}),
    })),
  );
  return {
    ...(Object.keys(labels).length > 0 ? { matchLabels: sortedRecord(labels) } : {}),
    ...(expressions.length > 0 ? { matchExpressions: expressions } : {}),
  };
}

const canonicalPeers = (peers: readonly NetworkPolicyPeer[]): NetworkPolicyPeer[] => uniqueSorted(peers);

/** Sorted by `comparePorts`, deduplicated. */
const canonicalPorts = (ports: readonly NetworkPolicyPort[]): NetworkPolicyPort[] =>
  uniqueSorted(ports).sort(comparePorts);

/** Numbers (ascending) before names, then by protocol. */
function comparePorts(a: NetworkPolicyPort, b: NetworkPolicyPort): number {
  if (typeof a.port === 'number' && typeof b.port === 'number' && a.port !== b.port) return a.port - b.port;
  if (typeof a.port !== typeof b.port) return typeof a.port === 'number' ? -1 : 1;
  return (
    compareStrings(String(a.port), String(b.port)) || compareStrings(a.protocol ?? 'TCP', b.protocol ?? 'TCP')
  );
}

/** Deduplicated by value and sorted by their stable JSON. */
function uniqueSorted<T>(items: readonly T[]): T[] {
  const byKey = new Map(items.map((item) => [stableKey(item), item]));
  return [...byKey.keys()].sort(compareStrings).map((k) => byKey.get(k)!);
}

/** Code-unit order, the same in every locale. */
const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** JSON with object keys sorted: equal values give equal keys whatever their key order. */
function stableKey(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => compareStrings(a, b)),
        )
      : v,
  );
}

function sortedRecord(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => compareStrings(a, b)));
}

// ---------------------------------------------------------------------------------------------
// Summaries for status and Events

/**
 * What `np` admits, in a few words: `2 peers on 8080/TCP; any source on 9090/TCP`. Counts peers,
 * names ports (`http/TCP` for a named container port).
 */
export function describeNetworkPolicy(np: NetworkPolicy): string {
  const rules = np.spec?.ingress ?? [];
  if (rules.length === 0) return 'no caller (every connection to the pods is refused)';
  return rules
    .map((r) => {
      const who = r.from === undefined ? 'any source' : plural(r.from.length, 'peer');
      const where =
        r.ports === undefined
          ? 'all ports'
          : r.ports.map((p) => `${p.port}/${p.protocol ?? 'TCP'}`).join(', ');
      return `${who} on ${where}`;
    })
    .join('; ');
}

/**
 * What Audit mode would generate, for status and the Event: `would allow 3 peers on 8080/TCP.
 * Deny rule "no-admin" applies at L7 only: …`. `notes` are a projection's notes.
 */
export function auditSummary(np: NetworkPolicy, notes: readonly string[] = []): string {
  return [`would allow ${describeNetworkPolicy(np)}`, ...notes].join('. ');
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
const ruleNames = (names: readonly string[]): string =>
  `rule${names.length === 1 ? '' : 's'} ${names.map((n) => `"${n}"`).join(', ')}`;
