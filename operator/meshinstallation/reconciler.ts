/**
 * The MeshInstallation controller: the mesh's lifecycle on the standard reconcile path
 * (`runtime/reconcile.ts`). This file is the I/O; the builders (`desired.ts`), the status
 * (`status.ts`), the migration plan (`migration.ts`) and the observations (`observe.ts`) are pure.
 *
 * One reconcile of an installation:
 *   observe   from the caches: every installation and namespace (membership, conflicts), the
 *             control-plane Deployment, the webhook, the Certificates, the meshed pods, the
 *             Deployments of member namespaces; whether cert-manager's CRDs are served
 *   desired   `desiredChildren`, without the cert-manager objects while cert-manager is missing
 *   apply     the standard path: only what differs from the cache; the Namespace is create-only
 *   status    `computeStatus`, written last and only when it changed; Events on transitions
 *   migrate   `workloadMigration: Automatic`: the batch `planMigration` chose is restarted (a merge
 *             patch of each Deployment's pod-template annotations), after the status write
 *
 * cert-manager. Its CRDs may be missing when the operator starts, and may arrive later. Informers on
 * them would fail to list (and hold the manager's cache sync), so they are started lazily: a
 * reconcile probes `cert-manager.io/v1` (a list with `limit=1`; 404 = not served), and once all three
 * kinds are served it starts their informers, waits for them to sync and adds them to the owned
 * children. Until then the cert-manager objects are skipped (the rest is applied), status says
 * `CertificatesReady=False/CertManagerNotInstalled` with a Warning Event, and the installation is
 * requeued with exponential backoff; an informer on the `certificates.cert-manager.io` CRD
 * re-enqueues every installation as soon as the CRD appears.
 *
 * Deletion. ownerReferences and the garbage collector remove every child; the finalizer
 * (`names.FINALIZER`) only deletes the two Secrets cert-manager creates without an ownerReference
 * (the root CA's and the serving certificate's), found by the owner labels their Certificates'
 * `secretTemplate` gives them. User workloads are never owned, so they keep running.
 */
import { MeshInstallation } from '../api/meshinstallation.js';
import {
  eventTypes,
  generationChanged,
  isNotFound,
  labelsChanged,
  onUpdate,
  or,
  type Controller,
  type Informer,
  type Kube,
  type KubeObject,
  type Manager,
  type OwnerType,
  type Reconcile,
  type ReconcileResult,
} from '../runtime/index.js';
import type { Condition } from '../runtime/conditions.js';
import type { EventType } from '../runtime/events.js';
import {
  primaryChanged,
  standardReconciler,
  zodParser,
  type ApplyOutcome,
  type ReconcileEnv,
  type StandardKind,
  type StatusResult,
} from '../runtime/reconcile.js';
import {
  bootstrapsCA,
  desiredChildren,
  isCreateOnly,
  type DesiredDeps,
  type DesiredObject,
} from './desired.js';
import { migrationSettings, planMigration, type MigrationPlan, type MigrationWorkload } from './migration.js';
import * as names from './names.js';
import { asNamed, type NamedMeshInstallation } from './names.js';
import {
  CERT_MANAGER_API_VERSION,
  CERT_MANAGER_TYPES,
  CERTIFICATES_CRD,
  Certificates,
  CHILD_SELECTOR,
  ClusterRoleBindings,
  ClusterRoles,
  ConfigMaps,
  controlPlaneOnTarget,
  CustomResourceDefinitions,
  Deployments,
  deploymentObservation,
  MeshInstallations,
  migrationWorkloads,
  MutatingWebhookConfigurations,
  Namespaces,
  PodDisruptionBudgets,
  Pods,
  proxyCounts,
  Secrets,
  ServiceAccounts,
  Services,
  certificateObservation,
  webhookObservation,
} from './observe.js';
import {
  CONDITIONS,
  computeStatus,
  conflictLoser,
  memberNamespaces,
  observeUpgrade,
  type MeshObservations,
  type NamespaceInfo,
} from './status.js';

export const CONTROLLER_NAME = 'meshinstallation';

/** The owner kind of every child (for `owns`). */
export const OWNER: OwnerType = {
  apiVersion: MeshInstallations.apiVersion,
  kind: MeshInstallations.kind,
  clusterScoped: true,
};

export interface MeshInstallationControllerOptions {
  /** cert-manager's cluster resource namespace (where the root CA lives). Default `cert-manager`. */
  certManagerNamespace?: string;
  /** Images replacing the version table (the operator's image flags). */
  image?: { controlPlane: string; proxy: string };
  /** Backoff of the cert-manager probe while its CRDs are missing. Default 2 s, doubling, capped at 5 min. */
  certManagerRetry?: { initialMs: number; maxMs: number };
  /** How long a reconcile waits for the lazily started cert-manager informers to sync. Default 30 s. */
  cacheSyncTimeoutMs?: number;
  workers?: number;
}

// ------------------------------------------------------------------------------ cert-manager, lazily

/**
 * The cert-manager informers, started once discovery finds the CRDs. `ensure()` answers whether
 * cert-manager is installed: it probes while it is not, and never again once it is.
 */
export class CertManagerCaches {
  private informers: Map<string, Informer> | undefined;
  private probing: Promise<boolean> | undefined;
  private registered: Informer[] | undefined;

  constructor(
    private readonly o: {
      kube: Kube;
      informer: (type: (typeof CERT_MANAGER_TYPES)[number]) => Informer;
      /** Called once, with the new informers, before they are waited on (to watch and own them). */
      onStart: (informers: Informer[]) => void;
      syncTimeoutMs: number;
    },
  ) {}

  get installed(): boolean {
    return this.informers !== undefined;
  }

  /** The informer of a cert-manager kind, once installed. */
  informer(kind: string): Informer | undefined {
    return this.informers?.get(kind);
  }

  ensure(): Promise<boolean> {
    if (this.informers) return Promise.resolve(true);
    this.probing ??= this.probe().finally(() => (this.probing = undefined));
    return this.probing;
  }

  private async probe(): Promise<boolean> {
    if (!this.registered) {
      for (const type of CERT_MANAGER_TYPES) {
        try {
          await this.o.kube.list(type, { limit: 1 });
        } catch (e) {
          if (isNotFound(e)) return false;
          throw e;
        }
      }
      this.registered = CERT_MANAGER_TYPES.map((t) => this.o.informer(t));
      this.o.onStart(this.registered);
    }
    const synced = await Promise.all(this.registered.map((i) => i.waitForSync(this.o.syncTimeoutMs)));
    if (!synced.every(Boolean)) throw new Error('the cert-manager informers did not sync in time');
    this.informers = new Map(this.registered.map((i) => [i.type.kind, i]));
    return true;
  }
}

// ------------------------------------------------------------------------------ the kind

export interface Observed {
  deps: DesiredDeps;
  observations: Omit<MeshObservations, 'applyError'>;
  plan: MigrationPlan | undefined;
  /** Requeue after this long: cert-manager is missing (backoff). */
  retryMs: number | undefined;
}

/** The caches the kind reads (informers; plain stores in unit tests). */
export interface MeshCaches {
  installations: Informer;
  namespaces: Informer;
  deployments: Informer;
  webhooks: Informer;
  pods: Informer;
  certManager: CertManagerCaches;
}

/** Workloads this process restarted and the cache may not show yet (`ns/name` → version and time). */
type RestartMemory = Map<string, { version: string; at: string }>;

export interface KindContext {
  caches: MeshCaches;
  owned: StandardKind<NamedMeshInstallation, Observed>['owned'];
  kube: Kube;
  now: () => Date;
  options: MeshInstallationControllerOptions;
  /** Per installation: cert-manager probes failed in a row. */
  certManagerMisses: Map<string, number>;
  restarted: RestartMemory;
  /** The last observation of each installation (read by the migration step after the standard path). */
  lastObserved: Map<string, Observed>;
}

/** A MeshInstallation read from the API server, parsed (defaults applied) and narrowed. Throws `InvalidSpecError`. */
export const parse: (raw: KubeObject) => NamedMeshInstallation = zodParser(
  MeshInstallation.resource,
  asNamed,
);

const tryParse = (raw: KubeObject): NamedMeshInstallation | undefined => {
  try {
    return parse(raw);
  } catch {
    return undefined;
  }
};

/** The Certificates whose readiness `CertificatesReady` reports, as `[namespace, name]`. */
export function certificateKeys(mi: NamedMeshInstallation, certManagerNamespace: string): [string, string][] {
  return [
    ...(bootstrapsCA(mi) ? [[certManagerNamespace, names.rootCertificate(mi)] as [string, string]] : []),
    [mi.spec.namespace, names.servingCertificate(mi)],
  ];
}

/** Which conditions' transitions are worth an Event, and of which type. */
function transitionEvents(
  before: readonly Condition[] | undefined,
  after: readonly Condition[] | undefined,
): { type: EventType; reason: string; note: string }[] {
  const prev = new Map((before ?? []).map((c) => [c.type, c]));
  const out: { type: EventType; reason: string; note: string }[] = [];
  for (const c of after ?? []) {
    const p = prev.get(c.type);
    if (p && p.status === c.status && p.reason === c.reason) continue;
    const warn = (reason: string) => out.push({ type: 'Warning', reason, note: c.message });
    if (c.type === CONDITIONS.reconciled && c.status === 'False') warn(c.reason);
    else if (c.type === CONDITIONS.certificatesReady && c.reason === 'CertManagerNotInstalled')
      warn(c.reason);
    else if (c.type === CONDITIONS.dataPlaneUpToDate && c.reason === 'MigrationStopped') warn(c.reason);
    else if (c.type === CONDITIONS.upgrading && c.status === 'True' && p?.status !== 'True')
      out.push({ type: 'Normal', reason: 'UpgradeStarted', note: c.message });
    else if (c.type === CONDITIONS.upgrading && c.status === 'False' && p?.status === 'True')
      out.push({ type: 'Normal', reason: 'UpgradeCompleted', note: c.message });
    else if (c.type === CONDITIONS.ready && c.status === 'True')
      out.push({ type: 'Normal', reason: 'Ready', note: c.message });
  }
  return out;
}

/** The MeshInstallation kind on the standard path. */
export function meshInstallationKind(k: KindContext): StandardKind<NamedMeshInstallation, Observed> {
  const certManagerNamespace = k.options.certManagerNamespace ?? names.DEFAULT_CERT_MANAGER_NAMESPACE;
  const retry = k.options.certManagerRetry ?? { initialMs: 2_000, maxMs: 300_000 };
  const { caches } = k;

  const observe = async (mi: NamedMeshInstallation): Promise<Observed> => {
    const name = mi.metadata.name;
    const installed = await caches.certManager.ensure();
    let retryMs: number | undefined;
    if (installed) k.certManagerMisses.delete(name);
    else {
      const misses = (k.certManagerMisses.get(name) ?? 0) + 1;
      k.certManagerMisses.set(name, misses);
      retryMs = Math.min(retry.maxMs, retry.initialMs * 2 ** Math.min(misses - 1, 30));
    }

    const namespaces: NamespaceInfo[] = caches.namespaces
      .list()
      .filter((ns) => !ns.metadata?.deletionTimestamp)
      .map((ns) => ({
        name: ns.metadata?.name ?? '',
        ...(ns.metadata?.labels ? { labels: ns.metadata.labels } : {}),
      }));
    const installations = [
      mi,
      ...caches.installations
        .list()
        .filter((o) => o.metadata?.name !== name && !o.metadata?.deletionTimestamp)
        .map(tryParse)
        .filter((o): o is NamedMeshInstallation => o !== undefined),
    ];
    const baseDeps = { certManagerNamespace, ...(k.options.image ? { image: k.options.image } : {}) };
    const conflict = conflictLoser(installations, namespaces, baseDeps).get(name);
    const deps: DesiredDeps = {
      ...baseDeps,
      ...(conflict?.namespaces?.length ? { excludeNamespaces: conflict.namespaces } : {}),
    };
    const members = memberNamespaces(mi, namespaces, deps);

    const controlPlane = caches.deployments.get(`${mi.spec.namespace}/${names.controlPlane(mi)}`);
    const deployment = deploymentObservation(controlPlane);
    const certificates = installed
      ? certificateKeys(mi, certManagerNamespace).map(([ns, cert]) =>
          certificateObservation(cert, caches.certManager.informer(Certificates.kind)?.get(`${ns}/${cert}`)),
        )
      : [];
    const pods = caches.pods.list();
    const proxies = proxyCounts(pods, members, mi.spec.version);

    let plan: MigrationPlan | undefined;
    if (mi.spec.updateStrategy.workloadMigration === 'Automatic') {
      const workloads = withRestartMemory(
        migrationWorkloads(caches.deployments.list(), pods, members, mi.spec.version),
        k.restarted,
        mi.spec.version,
      );
      plan = planMigration({
        ...migrationSettings(mi),
        controlPlaneReady: controlPlaneOnTarget(mi, controlPlane),
        workloads,
        now: k.now(),
      });
    }

    const upgrading = observeUpgrade(mi, deployment);
    const observed: Observed = {
      deps,
      observations: {
        certManagerInstalled: installed,
        certificates,
        ...(deployment ? { deployment } : {}),
        webhook: webhookObservation(caches.webhooks.get(names.injectorWebhook(mi))),
        proxies,
        memberNamespaces: members,
        ...(conflict ? { conflict } : {}),
        ...(upgrading ? { upgrading } : {}),
        ...(plan && plan.action !== 'None'
          ? { migration: { action: plan.action, message: plan.message } }
          : {}),
      },
      plan,
      retryMs,
    };
    k.lastObserved.set(name, observed);
    return observed;
  };

  return {
    name: CONTROLLER_NAME,
    primary: MeshInstallations,
    parse,
    observe,
    desired: (mi, o) => ({
      children: desiredChildren(mi, o.deps).filter(
        (c) => o.observations.certManagerInstalled || c.apiVersion !== CERT_MANAGER_API_VERSION,
      ) as unknown as KubeObject[],
    }),
    owned: k.owned,
    createOnly: (child) => isCreateOnly(child as unknown as DesiredObject),
    status: (mi, o, outcome: ApplyOutcome, now): StatusResult => {
      const failed = outcome.failed;
      const status = computeStatus(
        mi,
        {
          ...o.observations,
          ...(failed
            ? {
                applyError: `${failed.ref.kind} ${failed.ref.namespace ? `${failed.ref.namespace}/` : ''}${failed.ref.name}: ${failed.error.message}`,
              }
            : {}),
        },
        now,
      );
      const waits = [
        o.retryMs,
        o.plan && (o.plan.action === 'Wait' || o.plan.action === 'Restart')
          ? o.plan.requeueAfterMs
          : undefined,
      ].filter((x): x is number => x !== undefined && x > 0);
      return {
        status,
        events: transitionEvents(mi.status?.conditions, status.conditions),
        ...(waits.length ? { requeueAfterMs: Math.min(...waits) } : {}),
      };
    },
    finalizer: {
      name: names.FINALIZER,
      finalize: async (mi) => {
        await deleteUnownedSecrets(k.kube, mi, certManagerNamespace);
      },
    },
  };
}

/** Workloads as `migrationWorkloads` saw them, with the restarts this process made and the cache does not show yet. */
function withRestartMemory(
  workloads: MigrationWorkload[],
  memory: RestartMemory,
  version: string,
): MigrationWorkload[] {
  return workloads.map((w) => {
    const key = `${w.namespace}/${w.name}`;
    const mem = memory.get(key);
    if (!mem) return w;
    if (mem.version !== version || w.restartedForVersion === version) {
      memory.delete(key); // the cache caught up (or the target moved on)
      return w;
    }
    return { ...w, restartedAt: mem.at, restartedForVersion: mem.version, available: false };
  });
}

/**
 * The finalizer's work: the Secrets cert-manager created for the root CA and the serving
 * certificate (no ownerReference, so the garbage collector cannot reach them), found by the owner
 * labels and their known names, deleted with a uid precondition. A missing one is success.
 */
export async function deleteUnownedSecrets(
  kube: Kube,
  mi: NamedMeshInstallation,
  certManagerNamespace: string,
): Promise<string[]> {
  const wanted = new Map<string, Set<string>>();
  const add = (ns: string, name: string) => wanted.set(ns, (wanted.get(ns) ?? new Set()).add(name));
  add(certManagerNamespace, names.rootSecret(mi));
  add(mi.spec.namespace, names.servingSecret(mi));
  const deleted: string[] = [];
  for (const [namespace, secretNames] of wanted) {
    let items: KubeObject[];
    try {
      items = (await kube.list(Secrets, { namespace, labelSelector: names.selectOwned(mi) })).items;
    } catch (e) {
      if (isNotFound(e)) continue;
      throw e;
    }
    for (const secret of items) {
      const name = secret.metadata?.name ?? '';
      if (!secretNames.has(name)) continue;
      const uid = secret.metadata?.uid;
      await kube.delete(
        { apiVersion: 'v1', kind: 'Secret', name, namespace },
        uid ? { preconditions: { uid } } : {},
      );
      deleted.push(`${namespace}/${name}`);
    }
  }
  return deleted;
}

// ------------------------------------------------------------------------------ the reconcile

/**
 * The standard path, then the migration batch: restarting a workload is the one write outside the
 * standard path (the status it just wrote says what is being restarted). Each Deployment gets
 * `planMigration`'s merge patch; the restart is remembered until the cache shows it, so a reconcile
 * that runs before the informer catches up does not restart it twice.
 */
export function meshInstallationReconciler(env: ReconcileEnv, k: KindContext): Reconcile {
  const standard = standardReconciler(env, meshInstallationKind(k), k.caches.installations);
  return async (key, ctx): Promise<ReconcileResult | void> => {
    k.lastObserved.delete(key);
    if (!k.caches.installations.get(key)) {
      k.certManagerMisses.delete(key);
      return standard(key, ctx);
    }
    const result = await standard(key, ctx);
    const plan = k.lastObserved.get(key)?.plan;
    const raw = k.caches.installations.get(key);
    if (plan?.action !== 'Restart' || !raw || raw.metadata?.deletionTimestamp) return result;
    const version = plan.patch.spec.template.metadata.annotations[names.ANNOTATIONS.restartedForVersion]!;
    const at = plan.patch.spec.template.metadata.annotations[names.ANNOTATIONS.restartedAt]!;
    for (const w of plan.restart) {
      await env.kube.mergePatch(
        { apiVersion: 'apps/v1', kind: w.kind, name: w.name, namespace: w.namespace },
        plan.patch,
      );
      k.restarted.set(`${w.namespace}/${w.name}`, { version, at });
      ctx.log.info(
        { workload: `${w.kind} ${w.namespace}/${w.name}`, version },
        'Restarted an outdated workload',
      );
    }
    env.events.event(
      raw,
      'Normal',
      'WorkloadsRestarted',
      `restarted ${plan.restart.map((w) => `${w.kind} ${w.namespace}/${w.name}`).join(', ')} for the ${version} proxy`,
    );
    return result;
  };
}

// ------------------------------------------------------------------------------ wiring

export interface MeshInstallationController {
  controller: Controller;
  caches: MeshCaches;
  reconcile: Reconcile;
}

const podChanged = onUpdate<KubeObject>(
  (old, pod) =>
    old.metadata?.labels?.[names.LABELS.proxyVersion] !== pod.metadata?.labels?.[names.LABELS.proxyVersion] ||
    (old.status as { phase?: string } | undefined)?.phase !==
      (pod.status as { phase?: string } | undefined)?.phase ||
    !old.metadata?.deletionTimestamp !== !pod.metadata?.deletionTimestamp,
);

/**
 * Registers the MeshInstallation controller on `mgr`: its informers (cert-manager's lazily), the
 * standard reconcile path and the watches. Call before `mgr.start()`.
 */
export function setupMeshInstallationController(
  mgr: Manager,
  options: MeshInstallationControllerOptions = {},
): MeshInstallationController {
  const installations = mgr.informer(MeshInstallations);
  const namespaces = mgr.informer(Namespaces);
  // every Deployment: the control plane (owned) and the workloads `Automatic` migration restarts
  const deployments = mgr.informer(Deployments);
  const pods = mgr.informer(Pods, { labelSelector: names.LABELS.proxyVersion });
  const crds = mgr.informer(CustomResourceDefinitions, {
    fieldSelector: `metadata.name=${CERTIFICATES_CRD}`,
  });
  const children = (type: typeof ServiceAccounts) => ({
    type,
    informer: mgr.informer(type, { labelSelector: CHILD_SELECTOR }),
  });
  const webhookChild = children(MutatingWebhookConfigurations);
  const owned: StandardKind<NamedMeshInstallation, Observed>['owned'] = [
    { type: Namespaces, informer: namespaces },
    children(ServiceAccounts),
    children(ClusterRoles),
    children(ClusterRoleBindings),
    children(ConfigMaps),
    children(Services),
    { type: Deployments, informer: deployments },
    children(PodDisruptionBudgets),
    webhookChild,
  ];

  // the controller is created first: the lazily started cert-manager informers are added to it
  const late: { controller?: Controller } = {};
  const certManager = new CertManagerCaches({
    kube: mgr.kube,
    informer: (type) => mgr.informer(type, { labelSelector: CHILD_SELECTOR }),
    onStart: (informers) => {
      for (const informer of informers) {
        owned.push({ type: informer.type, informer });
        late.controller?.owns(informer, OWNER);
      }
      mgr.logger.info({ controller: CONTROLLER_NAME }, 'cert-manager CRDs found: watching its objects');
    },
    syncTimeoutMs: options.cacheSyncTimeoutMs ?? 30_000,
  });
  const caches: MeshCaches = {
    installations,
    namespaces,
    deployments,
    webhooks: webhookChild.informer,
    pods,
    certManager,
  };
  const context: KindContext = {
    caches,
    owned,
    kube: mgr.kube,
    now: () => new Date(mgr.clock.now()),
    options,
    certManagerMisses: new Map(),
    restarted: new Map(),
    lastObserved: new Map(),
  };
  const reconcile = meshInstallationReconciler(mgr, context);

  const allKeys = (): string[] => installations.list().map((o) => o.metadata?.name ?? '');
  /** Installations whose members (as their status last said) include `namespace`. */
  const membersOf = (namespace: string | undefined): string[] =>
    installations
      .list()
      .filter((o) =>
        ((o.status as { memberNamespaces?: string[] } | undefined)?.memberNamespaces ?? []).includes(
          namespace ?? '',
        ),
      )
      .map((o) => o.metadata?.name ?? '');
  const ownedByMesh = (o: KubeObject): boolean =>
    (o.metadata?.ownerReferences ?? []).some((r) => r.kind === OWNER.kind && r.controller === true);

  const controller = mgr
    .controller({ name: CONTROLLER_NAME, reconcile, workers: options.workers ?? 1 })
    .for(installations, primaryChanged)
    // a new, deleted or changed installation can start or end a conflict with the others
    .watches(installations, (o) => allKeys().filter((k) => k !== o.metadata?.name), generationChanged)
    // membership follows namespace labels
    .watches(namespaces, allKeys, or(eventTypes('add', 'delete'), labelsChanged))
    .watches(pods, (p) => membersOf(p.metadata?.namespace), podChanged)
    .watches(
      deployments,
      (d) => (ownedByMesh(d) ? [] : membersOf(d.metadata?.namespace)),
      onUpdate((old, d) => old.metadata?.resourceVersion !== d.metadata?.resourceVersion),
    )
    .watches(crds, () => (certManager.installed ? [] : allKeys()));
  for (const { type, informer } of owned) {
    if (type !== Namespaces) controller.owns(informer, OWNER);
  }
  late.controller = controller;
  mgr.add(controller);
  return { controller, caches, reconcile };
}
