/**
 * What the CRD schema cannot check: a policy read against its target Service and the mesh. `resolve`
 * turns each rule into the callers and ports a NetworkPolicy can see, and collects on the way
 *
 * - errors (the policy is `Accepted=False`, reason `InvalidSpec`): a port the Service does not have,
 *   a `from` entry that matches nobody because its fields contradict each other, an empty list that
 *   would match nothing, an `except` range outside its `cidr`;
 * - warnings (accepted, but said in status and Events): callers a NetworkPolicy cannot see (SPIFFE
 *   identities from another trust domain, identities that are not workload identities of this mesh),
 *   service accounts dropped from an entry because they are outside its namespaces.
 *
 * Every message names the rule (and the `from`/`to` entry) it is about. Pure: the Service and the
 * mesh settings come in as arguments.
 */
import { BlockList, isIP } from 'node:net';
import type { LabelSelector } from '../api/index.js';
import type { PortRef, Rule, ServicePolicy, Source } from './policy.js';

/**
 * The part of a core/v1 Service the policy reads. client-node's `Service` fits it, and so does the
 * plain JSON an informer caches.
 */
export interface Service {
  metadata?: { name?: string; namespace?: string };
  spec?: {
    selector?: Record<string, string>;
    ports?: ServicePort[];
  };
}

export interface ServicePort {
  name?: string;
  port: number;
  targetPort?: number | string;
  protocol?: string;
}

/** What the builders need to know about the mesh. */
export interface MeshInfo {
  /** The control plane's namespace: it may reach the pods on the proxy metrics port. */
  controlPlaneNamespace: string;
  /** The port the proxies serve metrics on; without it the control-plane namespace may reach every port. */
  metricsPort?: number;
  /** The mesh's SPIFFE trust domain; `cluster.local` (the MeshInstallation default) when absent. */
  trustDomain?: string;
}

export interface Deps {
  /** The installed mesh; absent when no MeshInstallation exists. */
  mesh?: MeshInfo;
}

export const DEFAULT_TRUST_DOMAIN = 'cluster.local';

/** The longest label value, hence the longest service-account name the identity label can hold. */
const LABEL_VALUE_MAX = 63;

/** A port as a NetworkPolicy names it: the pods' port (the Service's `targetPort`), number or name. */
export interface ResolvedPort {
  protocol: string;
  port: number | string;
}

/** A caller a NetworkPolicy can select. */
export type Caller =
  /** Any pod in one of `namespaces` (and in a namespace `selector` matches, when given). */
  | { kind: 'namespaces'; namespaces: string[]; selector?: LabelSelector }
  /** Any pod in a namespace `selector` matches. */
  | { kind: 'namespaceSelector'; selector: LabelSelector }
  /** Pods of service account `name` (any pod when absent) in `namespace` (and matching `selector`). */
  | { kind: 'serviceAccount'; namespace: string; name?: string; selector?: LabelSelector }
  /** An address range. */
  | { kind: 'ipBlock'; cidr: string; except: string[] };

export interface ResolvedRule {
  name: string;
  action: 'Allow' | 'Deny';
  /** `any` when the rule has no `from`; may be empty when no caller of the rule is visible at L3. */
  callers: Caller[] | 'any';
  /** `all` when a `to` entry (or the rule) names no ports. Empty when the target Service is unknown. */
  ports: ResolvedPort[] | 'all';
  /** The rule also matches on methods or paths, which only the proxies see. */
  l7: boolean;
}

export interface Findings {
  errors: string[];
  warnings: string[];
}

export interface Resolution extends Findings {
  rules: ResolvedRule[];
}

/** The semantic errors and warnings of `policy`; port checks need `target` and are skipped without it. */
export function validate(policy: ServicePolicy, target: Service | undefined, deps: Deps = {}): Findings {
  const { errors, warnings } = resolve(policy, target, deps);
  return { errors, warnings };
}

/** Every rule of `policy` as callers and ports, with the findings met on the way. */
export function resolve(policy: ServicePolicy, target: Service | undefined, deps: Deps = {}): Resolution {
  const trustDomain = deps.mesh?.trustDomain ?? DEFAULT_TRUST_DOMAIN;
  const findings: Findings = { errors: [], warnings: [] };
  const rules = (policy.spec.access?.rules ?? []).map((rule) => ({
    name: rule.name,
    action: rule.action,
    callers: resolveCallers(rule, trustDomain, findings),
    ports: resolvePorts(rule, target, findings),
    l7: (rule.to ?? []).some((d) => d.methods !== undefined || d.paths !== undefined),
  }));
  return { rules, ...findings };
}

// ---------------------------------------------------------------------------------------------
// Callers

const ruleLabel = (rule: Rule): string => `rule "${rule.name}"`;

function resolveCallers(rule: Rule, trustDomain: string, findings: Findings): Caller[] | 'any' {
  if (rule.from === undefined) return 'any';
  if (rule.from.length === 0) {
    findings.errors.push(
      `${ruleLabel(rule)}: from is empty and matches no caller; omit it to match any caller`,
    );
    return [];
  }
  return rule.from.flatMap((source, i) =>
    resolveSource(`${ruleLabel(rule)}: from[${i}]`, source, trustDomain, findings),
  );
}

/** A service account as a pattern: `name` absent means any service account of the namespace. */
interface Principal {
  namespace: string;
  name?: string;
}

const principalText = (p: Principal): string => `${p.namespace}/${p.name ?? '*'}`;

function resolveSource(where: string, source: Source, trustDomain: string, findings: Findings): Caller[] {
  const empty = (['serviceAccounts', 'namespaces', 'identities', 'ipBlocks'] as const).filter(
    (field) => source[field]?.length === 0,
  );
  if (empty.length > 0) {
    findings.errors.push(
      `${where} matches nobody: ${empty.join(' and ')} ${empty.length === 1 ? 'is' : 'are'} empty; omit a field to leave it out`,
    );
    return [];
  }
  if (source.ipBlocks) return source.ipBlocks.map((block) => resolveIpBlock(where, block, findings));

  const selector = source.namespaceSelector;
  const namespaces = source.namespaces;
  let principals: Principal[] | undefined;
  // Why an entry with principals ended up with none, for the error message.
  let emptyBecause = '';
  // Identities the NetworkPolicy cannot see: the entry still matches them at L7.
  let invisible = 0;

  if (source.serviceAccounts) principals = normalise(source.serviceAccounts.map(parseServiceAccount));

  if (source.identities) {
    const local: Principal[] = [];
    const unseen: { id: string; foreign: boolean }[] = [];
    for (const id of source.identities) {
      const parsed = parseIdentity(id, trustDomain);
      if (parsed.kind === 'workload') local.push(parsed.principal);
      else unseen.push({ id, foreign: parsed.kind === 'foreign' });
    }
    if (principals) {
      // Both lists: a caller has one identity, so only the local ones can also be service accounts.
      principals = intersect(principals, local);
      if (principals.length === 0) {
        emptyBecause = `no caller runs as one of its serviceAccounts and has one of its identities too`;
      }
    } else {
      principals = normalise(local);
      invisible = unseen.length;
      for (const { id, foreign } of unseen) {
        findings.warnings.push(
          foreign
            ? `${where}: identity ${id} is outside the mesh trust domain "${trustDomain}"; a NetworkPolicy ` +
                `cannot select it, so only the proxies match it, and its traffic must reach the pods through ` +
                `an address range or a gateway that another entry allows`
            : `${where}: identity ${id} is not a workload identity of this mesh ` +
                `(spiffe://${trustDomain}/ns/<namespace>/sa/<service account>); no pod carries it, so the ` +
                `NetworkPolicy admits nobody for it`,
        );
      }
    }
  }

  if (principals === undefined) {
    if (namespaces)
      return [{ kind: 'namespaces', namespaces: sortedUnique(namespaces), ...withSelector(selector) }];
    if (selector) return [{ kind: 'namespaceSelector', selector }];
    return []; // the schema refuses an empty entry
  }

  if (namespaces) {
    const inside = principals.filter((p) => namespaces.includes(p.namespace));
    const outside = principals.filter((p) => !namespaces.includes(p.namespace));
    if (inside.length === 0 && outside.length > 0) {
      emptyBecause = `none of its service accounts (${outside.map(principalText).join(', ')}) is in one of its namespaces (${namespaces.join(', ')})`;
    } else if (outside.length > 0) {
      findings.warnings.push(
        `${where}: ${outside.map(principalText).join(', ')} ${outside.length === 1 ? 'is' : 'are'} in none of the ` +
          `entry's namespaces (${namespaces.join(', ')}) and ${outside.length === 1 ? 'matches' : 'match'} nobody`,
      );
    }
    principals = inside;
  }

  if (principals.length === 0 && invisible === 0) {
    findings.errors.push(
      `${where} matches nobody: ${emptyBecause || 'no caller matches all of its fields'}. The fields of one entry are ANDed; ` +
        `put alternatives in separate from entries`,
    );
    return [];
  }

  const callers: Caller[] = [];
  for (const p of principals) {
    if (p.name !== undefined && p.name.length > LABEL_VALUE_MAX) {
      findings.warnings.push(
        `${where}: service account ${principalText(p)} has a name longer than ${LABEL_VALUE_MAX} characters, ` +
          `which no label can hold; the NetworkPolicy cannot select its pods and admits nobody for it`,
      );
      continue;
    }
    callers.push({
      kind: 'serviceAccount',
      namespace: p.namespace,
      ...(p.name === undefined ? {} : { name: p.name }),
      ...withSelector(selector),
    });
  }
  return callers;
}

function parseServiceAccount(ref: string): Principal {
  const slash = ref.indexOf('/');
  const namespace = ref.slice(0, slash);
  const name = ref.slice(slash + 1);
  return name === '*' ? { namespace } : { namespace, name };
}

const IDENTITY = /^spiffe:\/\/([^/]+)\/ns\/([^/]+)\/sa\/([^/]+)$/;
const NAMESPACE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const SERVICE_ACCOUNT = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

export type ParsedIdentity =
  { kind: 'workload'; principal: Principal } | { kind: 'foreign'; trustDomain: string } | { kind: 'other' };

/** A SPIFFE ID read against the mesh trust domain: a workload of this mesh, another domain's, or neither. */
export function parseIdentity(id: string, trustDomain: string): ParsedIdentity {
  const domain = /^spiffe:\/\/([^/]+)/.exec(id)?.[1];
  if (domain === undefined) return { kind: 'other' };
  if (domain !== trustDomain) return { kind: 'foreign', trustDomain: domain };
  const m = IDENTITY.exec(id);
  const namespace = m?.[2];
  const name = m?.[3];
  if (namespace === undefined || name === undefined) return { kind: 'other' };
  if (!NAMESPACE.test(namespace) || namespace.length > 63 || !SERVICE_ACCOUNT.test(name))
    return { kind: 'other' };
  return { kind: 'workload', principal: { namespace, name } };
}

/** Callers in both lists: `ns/*` meets `ns/a` in `ns/a`. */
function intersect(a: readonly Principal[], b: readonly Principal[]): Principal[] {
  const out: Principal[] = [];
  for (const x of a) {
    for (const y of b) {
      if (x.namespace !== y.namespace) continue;
      if (x.name === undefined) out.push(y);
      else if (y.name === undefined || y.name === x.name) out.push(x);
    }
  }
  return normalise(out);
}

/** Deduplicated, sorted, and `ns/a` dropped where `ns/*` is present. */
function normalise(principals: readonly Principal[]): Principal[] {
  const wholeNamespaces = new Set(principals.filter((p) => p.name === undefined).map((p) => p.namespace));
  const kept = principals.filter((p) => p.name === undefined || !wholeNamespaces.has(p.namespace));
  const byText = new Map(kept.map((p) => [principalText(p), p]));
  return [...byText.keys()].sort().map((k) => byText.get(k)!);
}

function resolveIpBlock(
  where: string,
  block: { cidr: string; except?: string[] | undefined },
  findings: Findings,
): Caller {
  const range = parseCidr(block.cidr);
  if (!range) findings.errors.push(`${where}: ipBlocks cidr ${block.cidr} is not a valid IPv4 or IPv6 range`);
  for (const except of block.except ?? []) {
    const inner = parseCidr(except);
    if (!inner) {
      findings.errors.push(`${where}: ipBlocks except ${except} is not a valid IPv4 or IPv6 range`);
    } else if (range && !strictlyInside(inner, range)) {
      findings.errors.push(
        `${where}: ipBlocks except ${except} is not inside ${block.cidr}; each except range must be a strict part of its cidr`,
      );
    }
  }
  return { kind: 'ipBlock', cidr: block.cidr, except: sortedUnique(block.except ?? []) };
}

interface Cidr {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

function parseCidr(s: string): Cidr | undefined {
  const [address, prefixText, ...rest] = s.split('/');
  if (address === undefined || prefixText === undefined || rest.length > 0 || !/^\d{1,3}$/.test(prefixText)) {
    return undefined;
  }
  const version = isIP(address);
  const prefix = Number(prefixText);
  if (version === 4 && prefix <= 32) return { address, prefix, family: 'ipv4' };
  if (version === 6 && prefix <= 128) return { address, prefix, family: 'ipv6' };
  return undefined;
}

/** As the API server checks a NetworkPolicy's `except`: same family, longer prefix, inside the range. */
function strictlyInside(inner: Cidr, outer: Cidr): boolean {
  if (inner.family !== outer.family || inner.prefix <= outer.prefix) return false;
  const list = new BlockList();
  list.addSubnet(outer.address, outer.prefix, outer.family);
  return list.check(inner.address, inner.family);
}

// ---------------------------------------------------------------------------------------------
// Ports

function resolvePorts(rule: Rule, target: Service | undefined, findings: Findings): ResolvedPort[] | 'all' {
  if (rule.to === undefined) return 'all';
  if (rule.to.length === 0) {
    findings.errors.push(
      `${ruleLabel(rule)}: to is empty and matches no request; omit it to match any request`,
    );
    return [];
  }
  let all = false;
  const ports: ResolvedPort[] = [];
  rule.to.forEach((destination, i) => {
    const where = `${ruleLabel(rule)}: to[${i}]`;
    for (const field of ['methods', 'paths'] as const) {
      if (destination[field]?.length === 0) {
        findings.errors.push(`${where}: ${field} is empty and matches no request; omit it to match any`);
      }
    }
    if (destination.ports === undefined) {
      all = true;
      return;
    }
    if (destination.ports.length === 0) {
      findings.errors.push(`${where}: ports is empty and matches no port; omit it to match every port`);
      return;
    }
    if (target === undefined) return;
    for (const ref of destination.ports) {
      const resolved = resolvePort(target, ref);
      if (typeof resolved === 'string') findings.errors.push(`${where}: ${resolved}`);
      else ports.push(resolved);
    }
  });
  return all ? 'all' : ports;
}

/**
 * The pods' port behind a port of `service`, named by its number or its name: its `targetPort`
 * (a number, or a container port name a NetworkPolicy resolves on each pod), and its protocol.
 * A string is the reason when the Service has no such port.
 */
export function resolvePort(service: Service, ref: PortRef): ResolvedPort | string {
  const ports = service.spec?.ports ?? [];
  const found =
    typeof ref === 'number' ? ports.find((p) => p.port === ref) : ports.find((p) => p.name === ref);
  if (found) {
    return { protocol: found.protocol ?? 'TCP', port: found.targetPort ?? found.port };
  }
  const service_ = `Service ${service.metadata?.name ?? ''}`.trimEnd();
  const has =
    ports.length > 0 ? `its ports: ${ports.map(describeServicePort).join(', ')}` : 'it has no ports';
  if (typeof ref === 'string') return `port "${ref}" is not a port name of ${service_} (${has})`;
  const byTarget = ports.find((p) => p.targetPort === ref);
  const hint = byTarget
    ? `; ${ref} is the target port of its port ${describeServicePort(byTarget)}: name the Service's port`
    : '';
  return `port ${ref} is not a port of ${service_} (${has})${hint}`;
}

const describeServicePort = (p: ServicePort): string =>
  `${p.port}/${p.protocol ?? 'TCP'}${p.name ? ` "${p.name}"` : ''}`;

// ---------------------------------------------------------------------------------------------

function sortedUnique(values: readonly string[]): string[] {
  return [...new Set(values)].sort();
}

/** `{ selector }` when there is one: no `undefined` keys in built objects. */
const withSelector = (selector: LabelSelector | undefined): { selector?: LabelSelector } =>
  selector === undefined ? {} : { selector };
