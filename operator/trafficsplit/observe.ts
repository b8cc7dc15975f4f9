/**
 * What the TrafficSplit reconciler reads from the caches, reduced to what the state machine takes:
 * whether the three Services resolve (and agree on ports), the canary revision, and whether both
 * backends are ready. Pure: objects in, observations out.
 *
 * - **Services.** The apex, stable and canary Services must exist, and each backend must expose
 *   every port of the apex Service (same number and protocol): otherwise `ResolvedRefs=False` and
 *   the rollout does not move (the state machine sees the backends as not ready).
 * - **Revision.** The canary revision is the hash of the pod template (`spec.template`) of the one
 *   Deployment in the namespace whose pod-template labels match the canary Service's selector:
 *   SHA-256 of its JSON with sorted keys, 10 hex digits (as `pod-template-hash` is a hash of the
 *   template). No match, or several, leaves the revision unknown.
 * - **Ready.** A backend is ready when the Deployment behind its Service (matched the same way)
 *   has at least one ready replica (`status.readyReplicas`).
 */
import { createHash } from 'node:crypto';
import { stableJson, type KubeObject } from '../runtime/index.js';

export interface ServicePort {
  name?: string;
  port: number;
  protocol?: string;
  targetPort?: number | string;
}

export interface Service extends KubeObject {
  spec?: { selector?: Record<string, string>; ports?: ServicePort[] };
}

export interface Deployment extends KubeObject {
  spec?: {
    replicas?: number;
    selector?: { matchLabels?: Record<string, string> };
    template?: { metadata?: { labels?: Record<string, string> }; spec?: unknown };
  };
  status?: { readyReplicas?: number; availableReplicas?: number; replicas?: number };
}

export interface RefsInput {
  apex: Service | undefined;
  stable: Service | undefined;
  canary: Service | undefined;
  names: { apex: string; stable: string; canary: string };
}

export type Refs =
  | { resolved: true; ports: { apex: number; stable: number; canary: number } }
  | { resolved: false; reason: 'BackendNotFound' | 'PortsMismatch' | 'NoPorts'; message: string };

const protocolOf = (p: ServicePort): string => p.protocol ?? 'TCP';

/**
 * The three Services resolved: all exist, the apex has ports, and each backend has every port of
 * the apex. The route's port is the apex Service's first port (the same number on the backends).
 */
export function resolveRefs(i: RefsInput): Refs {
  const missing = (
    [
      ['apex', i.apex],
      ['stable', i.stable],
      ['canary', i.canary],
    ] as const
  )
    .filter(([, svc]) => svc === undefined)
    .map(([role]) => `${role} Service ${i.names[role]}`);
  if (missing.length > 0)
    return { resolved: false, reason: 'BackendNotFound', message: `not found: ${missing.join(', ')}` };
  const apexPorts = i.apex!.spec?.ports ?? [];
  if (apexPorts.length === 0)
    return { resolved: false, reason: 'NoPorts', message: `the apex Service ${i.names.apex} has no ports` };
  const problems: string[] = [];
  for (const role of ['stable', 'canary'] as const) {
    const ports = i[role]!.spec?.ports ?? [];
    const lacking = apexPorts.filter(
      (a) => !ports.some((p) => p.port === a.port && protocolOf(p) === protocolOf(a)),
    );
    if (lacking.length > 0)
      problems.push(
        `${role} Service ${i.names[role]} lacks port${lacking.length > 1 ? 's' : ''} ${lacking
          .map((p) => `${p.port}/${protocolOf(p)}`)
          .join(', ')} of the apex Service ${i.names.apex}`,
      );
  }
  if (problems.length > 0) return { resolved: false, reason: 'PortsMismatch', message: problems.join('; ') };
  const port = apexPorts[0]!.port;
  return { resolved: true, ports: { apex: port, stable: port, canary: port } };
}

/** True when every label of `selector` is on `labels` (an empty or absent selector selects nothing). */
export const selects = (
  selector: Record<string, string> | undefined,
  labels: Record<string, string> | undefined,
): boolean =>
  selector !== undefined &&
  Object.keys(selector).length > 0 &&
  Object.entries(selector).every(([k, v]) => labels?.[k] === v);

/** The Deployments whose pods `service` selects (not being deleted), sorted by name. */
export function deploymentsBehind(
  service: Service | undefined,
  deployments: readonly Deployment[],
): Deployment[] {
  const selector = service?.spec?.selector;
  return deployments
    .filter((d) => !d.metadata?.deletionTimestamp && selects(selector, d.spec?.template?.metadata?.labels))
    .sort((a, b) => ((a.metadata?.name ?? '') < (b.metadata?.name ?? '') ? -1 : 1));
}

/** The revision of a pod template: 10 hex digits of the SHA-256 of its JSON with sorted keys. */
export const podTemplateHash = (template: unknown): string =>
  createHash('sha256')
    .update(stableJson(template ?? {}))
    .digest('hex')
    .slice(0, 10);

export type Revision = { revision: string; deployment: string } | { revision: undefined; why: string };

/** The canary revision: the pod-template hash of the one Deployment behind the canary Service. */
export function canaryRevision(canary: Service | undefined, deployments: readonly Deployment[]): Revision {
  const behind = deploymentsBehind(canary, deployments);
  if (behind.length === 1) {
    const d = behind[0]!;
    return { revision: podTemplateHash(d.spec?.template), deployment: d.metadata?.name ?? '' };
  }
  if (behind.length === 0)
    return { revision: undefined, why: 'no Deployment has pods the canary Service selects' };
  return {
    revision: undefined,
    why: `several Deployments have pods the canary Service selects (${behind.map((d) => d.metadata?.name).join(', ')})`,
  };
}

/** A backend is ready when a Deployment behind its Service has a ready replica. */
export const backendReady = (service: Service | undefined, deployments: readonly Deployment[]): boolean =>
  deploymentsBehind(service, deployments).some((d) => (d.status?.readyReplicas ?? 0) > 0);
