/**
 * A MeshInstallation's status, computed from what the reconciler observed. Pure: observations and
 * `now` in, status out; `lastTransitionTime` moves only when a condition's status flips (metav1
 * semantics, through the runtime's `setCondition`).
 *
 * Conditions (positive polarity; `Upgrading` is True while something is in progress):
 *   Reconciled         the children were applied           Applied | ApplyFailed | InvalidSpec | Conflicted
 *   CertificatesReady  cert-manager issued the certificates Ready | Issuing | CertManagerNotInstalled
 *   ControlPlaneReady  every replica updated and available  Available | DeploymentNotFound | RollingOut | Unavailable
 *   WebhookReady       the injector is registered with a CA  CABundleInjected | WebhookNotFound | CABundleMissing
 *   DataPlaneUpToDate  every proxy runs the installed version UpToDate | OutdatedProxies | MigrationStopped
 *   Upgrading          the control plane rolls to a new version Upgrading | UpToDate
 *   Ready              the mesh works as specified           Ready | the reason of the first condition that is not
 */
import type { MeshInstallationStatus } from '../api/meshinstallation.js';
import { setConditions, type Condition, type ConditionInput } from '../runtime/conditions.js';
import { injectionNamespaceSelector, type DesiredDeps } from './desired.js';
import * as names from './names.js';
import type { NamedMeshInstallation } from './names.js';

// ------------------------------------------------------------------------------ observations

export interface CertificateObservation {
  /** The Certificate's name (`names.rootCertificate`, `names.servingCertificate`). */
  name: string;
  /** Its `Ready` condition: `undefined` when cert-manager has not said yet (or the Certificate is missing). */
  ready: boolean | undefined;
  /** `status.notAfter`, RFC 3339. */
  notAfter?: string;
  /** The `Ready` condition's message, shown when it is not ready. */
  message?: string;
}

export interface DeploymentObservation {
  /** `spec.replicas` of the Deployment as the API server has it. */
  replicas: number;
  availableReplicas: number;
  updatedReplicas: number;
  observedGeneration: number;
  generation: number;
  /** The mesh version of its pod template (`app.kubernetes.io/version`). */
  version?: string;
}

export interface WebhookObservation {
  exists: boolean;
  /** `caBundle` of the injection webhook is non-empty (cert-manager's CA injector filled it). */
  caBundlePresent: boolean;
}

export interface ProxyCounts {
  total: number;
  upToDate: number;
  outdated: number;
}

export interface Conflict {
  /** The older MeshInstallation that keeps the namespaces. */
  with: string;
  /** The namespaces both select, sorted. */
  namespaces?: string[];
}

export interface UpgradeObservation {
  from: string;
  to: string;
  progress: { updatedReplicas: number; desiredReplicas: number };
}

export interface MeshObservations {
  /** The `certificates.cert-manager.io` CRD is served. */
  certManagerInstalled: boolean;
  certificates: CertificateObservation[];
  deployment?: DeploymentObservation;
  webhook?: WebhookObservation;
  proxies: ProxyCounts;
  memberNamespaces: string[];
  conflict?: Conflict;
  /** What makes the spec invalid beyond what the CRD schema checks. */
  invalid?: string;
  upgrading?: UpgradeObservation;
  /** Why applying the children failed this time (the reconciler still writes status, then throws). */
  applyError?: string;
  /** The outcome of `planMigration` (migration.ts), when workloads are outdated. */
  migration?: { action: 'None' | 'Wait' | 'Restart' | 'Stop'; message: string };
}

export const CONDITIONS = {
  reconciled: 'Reconciled',
  certificatesReady: 'CertificatesReady',
  controlPlaneReady: 'ControlPlaneReady',
  webhookReady: 'WebhookReady',
  dataPlaneUpToDate: 'DataPlaneUpToDate',
  upgrading: 'Upgrading',
  ready: 'Ready',
} as const;

export const CERT_MANAGER_NOT_INSTALLED_MESSAGE =
  'cert-manager CRDs (certificates.cert-manager.io) are not installed; install cert-manager >= 1.12 ' +
  '(https://cert-manager.io/docs/installation/) and the mesh CA and control-plane certificates will be issued';

// ------------------------------------------------------------------------------ membership and conflicts

/** A namespace as the membership computation needs it. */
export interface NamespaceInfo {
  name: string;
  labels?: Record<string, string>;
}

interface SelectorShape {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/** Kubernetes label-selector semantics: everything ANDed; an empty selector matches everything. */
export function selectorMatches(selector: SelectorShape, labels: Record<string, string>): boolean {
  const byLabels = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  return (
    byLabels &&
    (selector.matchExpressions ?? []).every(({ key, operator, values = [] }) => {
      const has = Object.hasOwn(labels, key);
      switch (operator) {
        case 'In':
          return has && values.includes(labels[key]!);
        case 'NotIn':
          return !has || !values.includes(labels[key]!);
        case 'Exists':
          return has;
        case 'DoesNotExist':
          return !has;
        default:
          return false;
      }
    })
  );
}

/**
 * The namespaces `mi`'s injector mutates, sorted: evaluated with the webhook's own namespaceSelector
 * (`injectionNamespaceSelector`), so status and the API server can never disagree.
 */
export function memberNamespaces(
  mi: NamedMeshInstallation,
  namespaces: readonly NamespaceInfo[],
  deps: DesiredDeps = {},
): string[] {
  const selector: SelectorShape = injectionNamespaceSelector(mi, deps);
  return namespaces
    .filter((ns) => selectorMatches(selector, { ...ns.labels, [names.LABELS.namespaceName]: ns.name }))
    .map((ns) => ns.name)
    .sort();
}

const created = (mi: NamedMeshInstallation): number => {
  const t = mi.metadata.creationTimestamp;
  const ms = typeof t === 'string' ? Date.parse(t) : t instanceof Date ? t.getTime() : NaN;
  return Number.isNaN(ms) ? Number.POSITIVE_INFINITY : ms;
};

/**
 * Which installations lose namespaces to an older one. Installations are taken oldest first
 * (creation time, then name, so the answer is the same on every replica of the operator); each
 * claims the namespaces it selects that no older one claimed. One that selects a namespace already
 * claimed is a loser: the result maps its name to the oldest installation it collides with and the
 * namespaces in dispute. The loser keeps its other namespaces; its webhook excludes the disputed
 * ones (`DesiredDeps.excludeNamespaces`) and its status says `Conflicted`.
 */
export function conflictLoser(
  installations: readonly NamedMeshInstallation[],
  namespaces: readonly NamespaceInfo[],
  deps: Omit<DesiredDeps, 'excludeNamespaces'> = {},
): Map<string, Conflict> {
  const ordered = [...installations].sort(
    (a, b) => created(a) - created(b) || a.metadata.name.localeCompare(b.metadata.name),
  );
  const claimedBy = new Map<string, NamedMeshInstallation>();
  const losers = new Map<string, Conflict>();
  for (const mi of ordered) {
    const members = memberNamespaces(mi, namespaces, deps);
    const disputed = members.filter((ns) => claimedBy.has(ns));
    if (disputed.length > 0) {
      const winner = disputed
        .map((ns) => claimedBy.get(ns)!)
        .reduce((oldest, other) => (ordered.indexOf(other) < ordered.indexOf(oldest) ? other : oldest));
      losers.set(mi.metadata.name, { with: winner.metadata.name, namespaces: disputed });
    }
    for (const ns of members) if (!claimedBy.has(ns)) claimedBy.set(ns, mi);
  }
  return losers;
}

// ------------------------------------------------------------------------------ upgrade

/**
 * The upgrade in progress, if any: the version status reports (`from`) differs from the spec's.
 * Progress counts the control-plane replicas on the new pod template, once the Deployment controller
 * has seen the new spec.
 */
export function observeUpgrade(
  mi: NamedMeshInstallation,
  deployment: DeploymentObservation | undefined,
): UpgradeObservation | undefined {
  const from = mi.status?.version;
  const to = mi.spec.version;
  if (from === undefined || from === to) return undefined;
  const current = deployment !== undefined && deployment.observedGeneration >= deployment.generation;
  return {
    from,
    to,
    progress: {
      updatedReplicas: current && deployment.version === to ? deployment.updatedReplicas : 0,
      desiredReplicas: mi.spec.controlPlane.replicas,
    },
  };
}

// ------------------------------------------------------------------------------ conditions

type Input = Omit<ConditionInput, 'observedGeneration'>;

const cond = (type: string, ok: boolean, reason: string, message: string): Input => ({
  type,
  status: ok ? 'True' : 'False',
  reason,
  message,
});

function reconciled(obs: MeshObservations): Input {
  const t = CONDITIONS.reconciled;
  if (obs.invalid !== undefined) return cond(t, false, 'InvalidSpec', obs.invalid);
  if (obs.conflict !== undefined) {
    const disputed = obs.conflict.namespaces?.length ? ` (${obs.conflict.namespaces.join(', ')})` : '';
    return cond(
      t,
      false,
      'Conflicted',
      `namespaces${disputed} are also selected by the older MeshInstallation ${obs.conflict.with}, which keeps them; ` +
        'narrow dataPlane.namespaceSelector so that every namespace belongs to one mesh',
    );
  }
  if (obs.applyError !== undefined) return cond(t, false, 'ApplyFailed', obs.applyError);
  return cond(t, true, 'Applied', 'all children are applied');
}

function certificatesReady(obs: MeshObservations): Input {
  const t = CONDITIONS.certificatesReady;
  if (!obs.certManagerInstalled)
    return cond(t, false, 'CertManagerNotInstalled', CERT_MANAGER_NOT_INSTALLED_MESSAGE);
  const pending = obs.certificates.filter((c) => c.ready !== true);
  if (obs.certificates.length === 0)
    return cond(t, false, 'Issuing', 'waiting for the certificates to be created');
  if (pending.length > 0) {
    const detail = pending
      .map((c) => `${c.name}: ${c.message ?? (c.ready === undefined ? 'not issued yet' : 'not ready')}`)
      .join('; ');
    return cond(t, false, 'Issuing', `waiting for cert-manager to issue ${detail}`);
  }
  return cond(t, true, 'Ready', `${obs.certificates.length} certificate(s) issued`);
}

function controlPlaneReady(mi: NamedMeshInstallation, obs: MeshObservations, certsReady: boolean): Input {
  const t = CONDITIONS.controlPlaneReady;
  const d = obs.deployment;
  const desired = mi.spec.controlPlane.replicas;
  const deploymentName = `Deployment ${mi.spec.namespace}/${names.controlPlane(mi)}`;
  if (d === undefined) return cond(t, false, 'DeploymentNotFound', `${deploymentName} does not exist yet`);
  if (d.observedGeneration < d.generation || d.replicas !== desired || d.updatedReplicas < desired) {
    return cond(
      t,
      false,
      'RollingOut',
      `${deploymentName}: ${d.updatedReplicas}/${desired} replicas updated`,
    );
  }
  if (d.availableReplicas < desired) {
    const hint = certsReady ? '' : ' (the pods wait for the serving certificate Secret)';
    return cond(
      t,
      false,
      'Unavailable',
      `${deploymentName}: ${d.availableReplicas}/${desired} replicas available${hint}`,
    );
  }
  return cond(t, true, 'Available', `${desired}/${desired} replicas available`);
}

function webhookReady(mi: NamedMeshInstallation, obs: MeshObservations): Input {
  const t = CONDITIONS.webhookReady;
  const name = `MutatingWebhookConfiguration ${names.injectorWebhook(mi)}`;
  if (!obs.webhook?.exists) return cond(t, false, 'WebhookNotFound', `${name} does not exist yet`);
  if (!obs.webhook.caBundlePresent) {
    return cond(
      t,
      false,
      'CABundleMissing',
      `${name} has no caBundle yet: cert-manager's CA injector copies it from ${mi.spec.namespace}/${names.servingCertificate(mi)}`,
    );
  }
  return cond(t, true, 'CABundleInjected', `${name} is registered with its CA bundle`);
}

function dataPlaneUpToDate(mi: NamedMeshInstallation, obs: MeshObservations): Input {
  const t = CONDITIONS.dataPlaneUpToDate;
  const { total, outdated } = obs.proxies;
  if (obs.migration?.action === 'Stop') return cond(t, false, 'MigrationStopped', obs.migration.message);
  if (outdated === 0) {
    return cond(
      t,
      true,
      'UpToDate',
      total === 0 ? 'no meshed pods' : `${total} proxies run version ${mi.spec.version}`,
    );
  }
  const next =
    mi.spec.updateStrategy.workloadMigration === 'Manual'
      ? 'restart their workloads to update them (workloadMigration: Manual)'
      : (obs.migration?.message ?? 'their workloads are restarted in batches (workloadMigration: Automatic)');
  return cond(t, false, 'OutdatedProxies', `${outdated} of ${total} proxies run another version; ${next}`);
}

function upgrading(obs: MeshObservations, controlPlaneOk: boolean, running: string | undefined): Input {
  const t = CONDITIONS.upgrading;
  const u = obs.upgrading;
  if (u === undefined || (controlPlaneOk && u.progress.updatedReplicas >= u.progress.desiredReplicas)) {
    return {
      type: t,
      status: 'False',
      reason: 'UpToDate',
      message: running === undefined ? 'no upgrade in progress' : `the control plane runs ${running}`,
    };
  }
  return {
    type: t,
    status: 'True',
    reason: 'Upgrading',
    message: `upgrading from ${u.from} to ${u.to}: ${u.progress.updatedReplicas}/${u.progress.desiredReplicas} control-plane replicas updated`,
  };
}

/**
 * `Ready` needs every condition the operator is responsible for. `DataPlaneUpToDate` counts only
 * with `workloadMigration: Automatic`: then converging the proxies is the operator's job, and
 * `kubectl wait --for=condition=Ready` after an upgrade waits for it. With `Manual`, restarting
 * workloads is the user's job and outdated proxies still work (one version of skew is supported),
 * so they are reported but do not make the mesh un-ready; otherwise a `Manual` upgrade could never
 * become Ready and alerts on Ready=False would fire for a healthy mesh.
 */
function ready(mi: NamedMeshInstallation, parts: readonly Input[], running: string | undefined): Input {
  const required = parts.filter(
    (c) =>
      c.type !== CONDITIONS.upgrading &&
      (c.type !== CONDITIONS.dataPlaneUpToDate || mi.spec.updateStrategy.workloadMigration === 'Automatic'),
  );
  const failing = required.find((c) => c.status !== 'True');
  if (failing) return cond(CONDITIONS.ready, false, failing.reason, `${failing.type}: ${failing.message}`);
  return cond(CONDITIONS.ready, true, 'Ready', `mesh ${running ?? mi.spec.version} is ready`);
}

// ------------------------------------------------------------------------------ status

/**
 * The version the control plane runs: the spec's once every replica is updated and available on it,
 * before that the version status reported last (the previous one during an upgrade).
 */
function runningVersion(
  mi: NamedMeshInstallation,
  obs: MeshObservations,
  controlPlaneOk: boolean,
): string | undefined {
  if (controlPlaneOk && (obs.deployment?.version ?? mi.spec.version) === mi.spec.version)
    return mi.spec.version;
  return mi.status?.version;
}

/** The whole status of `mi` from `obs`, with conditions merged into the current ones at `now`. */
export function computeStatus(
  mi: NamedMeshInstallation,
  obs: MeshObservations,
  now: Date,
): MeshInstallationStatus {
  const generation = mi.metadata.generation;
  const certs = certificatesReady(obs);
  const controlPlane = controlPlaneReady(mi, obs, certs.status === 'True');
  const controlPlaneOk = controlPlane.status === 'True';
  const running = runningVersion(mi, obs, controlPlaneOk);
  const parts = [
    reconciled(obs),
    certs,
    controlPlane,
    webhookReady(mi, obs),
    dataPlaneUpToDate(mi, obs),
    upgrading(obs, controlPlaneOk, running),
  ];
  const inputs: ConditionInput[] = [...parts, ready(mi, parts, running)].map((c) =>
    generation !== undefined ? { ...c, observedGeneration: generation } : c,
  );
  const conditions: Condition[] = setConditions(mi.status?.conditions, inputs, now);

  // Mid-rollout the available replicas mostly run the old template: report the version last reached.
  const componentVersion = controlPlaneOk ? (obs.deployment?.version ?? running) : running;
  const disputed = new Set(obs.conflict?.namespaces ?? []);
  const caNotAfter = names.rootCertificate(mi);
  const notAfter = mi.spec.mtls.issuer.issuerRef
    ? undefined
    : obs.certificates.find((c) => c.name === caNotAfter)?.notAfter;

  return {
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    conditions,
    ...(running !== undefined ? { version: running } : {}),
    components: [
      {
        name: 'control-plane',
        desiredReplicas: mi.spec.controlPlane.replicas,
        availableReplicas: obs.deployment?.availableReplicas ?? 0,
        ...(componentVersion !== undefined ? { version: componentVersion } : {}),
      },
    ],
    proxies: { total: obs.proxies.total, upToDate: obs.proxies.upToDate, outdated: obs.proxies.outdated },
    memberNamespaces: [...new Set(obs.memberNamespaces.filter((ns) => !disputed.has(ns)))].sort(),
    ...(notAfter !== undefined ? { caNotAfter: notAfter } : {}),
  };
}
