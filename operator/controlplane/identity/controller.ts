/**
 * The identity controller: one cert-manager Certificate per ServiceAccount that runs meshed pods,
 * carrying its SPIFFE ID (`desired.ts`). It runs in the control-plane process, under its leader
 * election: only the leader writes.
 *
 * Keys are ServiceAccounts (`namespace/name`). Informers:
 * - Pods labelled `meshwright.io/service-account` (the injector's label): only meshed pods are
 *   cached, so memory grows with the mesh, not the cluster. Indexed by the ServiceAccount they run
 *   as (`podIdentityKey`).
 * - ServiceAccounts, all of them (the primary; small objects, and its uid is the owner reference).
 * - The identity Certificates (`IDENTITY_SELECTOR`), started lazily (see below).
 *
 * One reconcile of a ServiceAccount:
 * - gone or being deleted → nothing: the garbage collector deletes its Certificate (owner reference);
 * - no settings yet (no mesh configuration loaded) → nothing: `settingsChanged()` enqueues everything
 *   once they arrive; invalid settings → nothing, logged once per distinct value;
 * - no meshed pod under it and no Certificate yet → nothing: ServiceAccounts of unmeshed workloads
 *   (most of a cluster's) get no identity, and no Event when cert-manager is missing;
 * - otherwise the Certificate is applied on the runtime's standard path (`runtime/reconcile.ts`):
 *   server-side apply only when it differs from the cached one, so a reconcile with nothing new
 *   writes nothing, and a hand edit or deletion is repaired.
 *
 * Scale to zero keeps the Certificate. Once the last meshed pod is gone the Certificate stays (and
 * is kept current: a changed trust domain or lifetime still reaches it): deleting it would make
 * cert-manager issue a new one when the workload scales up again — churn, and a pod stuck Pending
 * until the issuance is done — while keeping it costs one renewal per `duration - renewBefore`.
 * It goes with its ServiceAccount.
 *
 * cert-manager absent. Its CRDs may be missing when the control plane starts (a Certificate
 * informer would never sync and hold the manager's cache sync), so the Certificate informer is
 * started on demand: the first reconcile that needs it probes `certificates.cert-manager.io/v1`
 * (a list with `limit=1`; 404 = not served). While it is missing the probe is repeated with a
 * shared exponential backoff (2 s doubling to 5 min by default; every waiting ServiceAccount is
 * requeued to the next probe, so N ServiceAccounts still make one probe), each waiting
 * ServiceAccount gets one Warning Event `CertManagerNotInstalled`, and the log says so at each
 * probe. In practice the control plane cannot even start without cert-manager (its own serving
 * Secret comes from it), so this is the path of a cluster where cert-manager is being reinstalled.
 *
 * Settings. They come from a getter (the mesh configuration can change while the process runs).
 * Call `settingsChanged()` after a change: it enqueues every ServiceAccount with meshed pods or a
 * Certificate, and each reconcile applies the new Certificate (a no-op for those already current).
 */
import type { V1PolicyRule } from '@kubernetes/client-node';
import { Certificates } from '../../meshinstallation/observe.js';
import {
  annotationsChanged,
  controllerOwnerKey,
  generationChanged,
  isNotFound,
  labelsChanged,
  onUpdate,
  or,
  primaryChanged,
  stableJson,
  standardReconciler,
  type ApplyOutcome,
  type Clock,
  type Controller,
  type Informer,
  type Kube,
  type KubeObject,
  type Logger,
  type Manager,
  type OwnerType,
  type Reconcile,
  type ReconcileResult,
  type StandardKind,
  type StatusResult,
} from '../../runtime/index.js';
import { Pods, ServiceAccounts } from '../../runtime/resources.js';
import { identityCertificateName, SERVICE_ACCOUNT_LABEL } from '../names.js';
import { needsIdentity, podIdentityKey, workloadCertificate, type PodShape } from './desired.js';
import { CONTROLLER_NAME, IDENTITY_SELECTOR, REASONS } from './names.js';
import { InvalidSettingsError, parseIdentitySettings, type IdentitySettings } from './settings.js';

export { Certificates };

/** The owner kind of every identity Certificate. */
export const SERVICE_ACCOUNT_OWNER: OwnerType = { apiVersion: 'v1', kind: 'ServiceAccount' };

/** The pod informer's index: `namespace/serviceAccount` of each meshed pod. */
export const BY_IDENTITY = 'identity.serviceAccount';

/**
 * What the identity controller needs in RBAC (cluster-wide): read meshed pods and ServiceAccounts,
 * read and server-side apply Certificates (an apply that creates is authorised as `create` too),
 * and write Events. No `get` (everything is read from caches), no `delete` (the garbage collector
 * removes Certificates), no Secrets (cert-manager writes them, the kubelet mounts them).
 */
export const IDENTITY_RULES: readonly V1PolicyRule[] = [
  { apiGroups: [''], resources: ['pods', 'serviceaccounts'], verbs: ['list', 'watch'] },
  {
    apiGroups: ['cert-manager.io'],
    resources: ['certificates'],
    verbs: ['create', 'list', 'patch', 'watch'],
  },
  { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
];

export const CERT_MANAGER_NOT_INSTALLED_MESSAGE =
  "cannot issue this ServiceAccount's workload certificate: cert-manager's Certificate CRD " +
  '(certificates.cert-manager.io/v1) is not installed; install cert-manager, the identity is created once it is';

export interface IdentityControllerOptions {
  /** The settings in force, read at every reconcile; `undefined` until the mesh configuration is known. */
  settings: () => IdentitySettings | undefined;
  /** Parallel reconciles of different ServiceAccounts (default 4). */
  workers?: number;
  /** Backoff of the cert-manager probe while its CRD is missing. Default 2 s, doubling, capped at 5 min. */
  certManagerRetry?: { initialMs: number; maxMs: number };
  /** How long a reconcile waits for the lazily started Certificate informer to sync. Default 30 s. */
  cacheSyncTimeoutMs?: number;
}

export interface IdentityController {
  controller: Controller;
  reconcile: Reconcile;
  /**
   * Enqueues every ServiceAccount with a meshed pod or a Certificate: call it when the settings
   * changed. Returns how many were enqueued.
   */
  settingsChanged(): number;
  /** True once cert-manager's Certificate CRD was found and the Certificate informer synced. */
  readonly certManagerInstalled: boolean;
}

// ------------------------------------------------------------------------------ cert-manager, lazily

export type Probe = { installed: true } | { installed: false; retryInMs: number };

/**
 * The identity Certificates' informer, started once cert-manager's Certificate CRD is served.
 * `ensure()` probes while it is not (at most once per backoff period, whoever asks), never again
 * once it is.
 */
export class LazyCertificates {
  private ready: Informer | undefined;
  private registered: Informer | undefined;
  private probing: Promise<Probe> | undefined;
  private misses = 0;
  private nextProbeAt = 0;

  constructor(
    private readonly o: {
      kube: Kube;
      clock: Clock;
      log: Logger;
      /** Creates (or returns) the informer; called once, when the CRD is found. */
      informer: () => Informer;
      /** Called once with the new informer, before it is waited on (to watch and own it). */
      onStart: (informer: Informer) => void;
      syncTimeoutMs: number;
      retry: { initialMs: number; maxMs: number };
    },
  ) {}

  get installed(): boolean {
    return this.ready !== undefined;
  }

  /** A cached identity Certificate (`namespace/name`); undefined while cert-manager is not installed. */
  get(key: string): KubeObject | undefined {
    return this.ready?.get(key);
  }

  list(): KubeObject[] {
    return this.ready?.list() ?? [];
  }

  ensure(): Promise<Probe> {
    if (this.ready) return Promise.resolve({ installed: true });
    const wait = this.nextProbeAt - this.o.clock.now();
    if (!this.registered && !this.probing && wait > 0)
      return Promise.resolve({ installed: false, retryInMs: wait });
    this.probing ??= this.probe().finally(() => (this.probing = undefined));
    return this.probing;
  }

  private async probe(): Promise<Probe> {
    if (!this.registered) {
      try {
        await this.o.kube.list(Certificates, { limit: 1 });
      } catch (e) {
        if (!isNotFound(e)) throw e;
        this.misses++;
        const { initialMs, maxMs } = this.o.retry;
        const retryInMs = Math.min(maxMs, initialMs * 2 ** Math.min(this.misses - 1, 30));
        this.nextProbeAt = this.o.clock.now() + retryInMs;
        this.o.log.error({ retryInMs, probes: this.misses }, CERT_MANAGER_NOT_INSTALLED_MESSAGE);
        return { installed: false, retryInMs };
      }
      this.registered = this.o.informer();
      this.o.onStart(this.registered);
      this.o.log.info('cert-manager Certificate CRD found: watching the identity Certificates');
    }
    if (!(await this.registered.waitForSync(this.o.syncTimeoutMs)))
      throw new Error('the identity Certificate informer did not sync in time');
    this.ready = this.registered;
    this.misses = 0;
    return { installed: true };
  }
}

// ------------------------------------------------------------------------------ the kind

/** A ServiceAccount as the API server returns it: name, namespace and uid present. */
type NamedServiceAccount = KubeObject & {
  metadata: NonNullable<KubeObject['metadata']> & { name: string; namespace: string; uid: string };
};

function asNamed(raw: KubeObject): NamedServiceAccount {
  const m = raw.metadata;
  if (!m?.name || !m.namespace || !m.uid)
    throw new TypeError('a ServiceAccount read from the API server has a name, a namespace and a uid');
  return raw as NamedServiceAccount;
}

type SettingsState = { settings: IdentitySettings } | { error: string } | undefined;

/**
 * The settings getter, checked: each distinct value is parsed once, and an invalid one is logged
 * once (not once per ServiceAccount).
 */
function checkedSettings(get: () => IdentitySettings | undefined, log: Logger): () => SettingsState {
  let last: { text: string; state: SettingsState } | undefined;
  const remember = (text: string, state: SettingsState): SettingsState => {
    if (last?.text !== text && state && 'error' in state)
      log.error(
        { error: state.error },
        'Identity settings refused: no workload certificate is written until they change',
      );
    last = { text, state };
    return state;
  };
  return () => {
    let raw: IdentitySettings | undefined;
    try {
      raw = get(); // a getter that parses (`identitySettingsFromMeshConfig`) may refuse too
    } catch (e) {
      if (!(e instanceof InvalidSettingsError)) throw e;
      return remember(`refused: ${e.message}`, { error: e.message });
    }
    if (raw === undefined) return undefined;
    const text = stableJson(raw);
    if (last?.text === text) return last.state;
    try {
      return remember(text, { settings: parseIdentitySettings(raw) });
    } catch (e) {
      if (!(e instanceof InvalidSettingsError)) throw e;
      return remember(text, { error: e.message });
    }
  };
}

/** The identity kind on the standard path: desired = the ServiceAccount's Certificate, never pruned. */
function identityKind(
  settings: () => SettingsState,
  owned: StandardKind<NamedServiceAccount, IdentitySettings>['owned'],
): StandardKind<NamedServiceAccount, IdentitySettings> {
  return {
    name: CONTROLLER_NAME,
    primary: ServiceAccounts,
    parse: asNamed,
    observe: () => {
      const s = settings();
      // the reconcile checked them a moment ago; they changed in between: try again
      if (!s || !('settings' in s)) throw new Error('the identity settings changed during the reconcile');
      return s.settings;
    },
    // Never pruned: the only child is the one Certificate, whose name does not depend on the
    // settings, and which goes with the ServiceAccount.
    desired: (sa, s) => ({
      children: [workloadCertificate(sa.metadata.namespace, sa.metadata, s) as unknown as KubeObject],
      prune: false,
    }),
    owned,
    status: (sa, s, outcome: ApplyOutcome): StatusResult => ({
      // A ServiceAccount has no status: handing back the cached one (absent) is what makes the
      // standard path write none.
      status: (sa as { status?: object }).status as object,
      events: outcome.written.map((ref) => ({
        type: 'Normal' as const,
        reason: REASONS.applied,
        note: `applied Certificate ${ref.name} (${s.duration}, renewed ${s.renewBefore} before expiry, issuer ${s.issuerRef.kind} ${s.issuerRef.name})`,
      })),
    }),
  };
}

// ------------------------------------------------------------------------------ wiring

const terminalityChanged = onUpdate<PodShape>((old, pod) => needsIdentity(old) !== needsIdentity(pod));

const certificateChanged = or<KubeObject>(
  generationChanged,
  labelsChanged,
  annotationsChanged,
  onUpdate(
    (old, c) =>
      stableJson(old.metadata?.ownerReferences ?? []) !== stableJson(c.metadata?.ownerReferences ?? []),
  ),
);

/**
 * Registers the identity controller on `mgr` (informers, the standard reconcile path, watches) and
 * adds it; call before `mgr.start()`. Its workers run only while `mgr` holds the lease.
 */
export function setupIdentityController(
  mgr: Manager,
  options: IdentityControllerOptions,
): IdentityController {
  const log = mgr.logger.child({ controller: CONTROLLER_NAME });
  const serviceAccounts = mgr.informer(ServiceAccounts);
  const pods = mgr.informer<KubeObject & PodShape>(Pods, { labelSelector: SERVICE_ACCOUNT_LABEL });
  if (!pods.store.hasIndex(BY_IDENTITY))
    pods.addIndex(BY_IDENTITY, (pod) => {
      const key = podIdentityKey(pod);
      return key ? [key] : [];
    });
  const settings = checkedSettings(options.settings, log);

  // the controller is created below: the lazily started Certificate informer is added to it then
  const late: { controller?: Controller } = {};
  const owned: StandardKind<NamedServiceAccount, IdentitySettings>['owned'] = [];
  const certificates = new LazyCertificates({
    kube: mgr.kube,
    clock: mgr.clock,
    log,
    informer: () => mgr.informer(Certificates, { labelSelector: IDENTITY_SELECTOR }),
    onStart: (informer) => {
      owned.push({ type: Certificates, informer });
      late.controller?.owns(informer, SERVICE_ACCOUNT_OWNER, certificateChanged);
    },
    syncTimeoutMs: options.cacheSyncTimeoutMs ?? 30_000,
    retry: options.certManagerRetry ?? { initialMs: 2_000, maxMs: 300_000 },
  });

  const standard = standardReconciler(mgr, identityKind(settings, owned), serviceAccounts);
  /** ServiceAccounts told (one Event each) that cert-manager is missing, until it is installed. */
  const told = new Set<string>();

  const reconcile: Reconcile = async (key, ctx): Promise<ReconcileResult | void> => {
    const raw = serviceAccounts.get(key);
    if (!raw || raw.metadata?.deletionTimestamp) {
      told.delete(key);
      return standard(key, ctx); // nothing to write; forgets what it remembered of the key
    }
    const sa = asNamed(raw);
    const state = settings();
    if (!state) {
      ctx.log.debug('No mesh settings yet');
      return;
    }
    if ('error' in state) return; // logged once by `checkedSettings`
    const running = pods.byIndex(BY_IDENTITY, key).some(needsIdentity);
    // Probed whether or not a pod runs: a Certificate kept after a scale to zero must be found (and
    // kept current) after a restart too. The probe is shared: no request while it backs off.
    const probe = await certificates.ensure();
    if (!probe.installed) {
      if (!running) return; // nothing to issue, nobody waiting for it
      if (!told.has(key)) {
        told.add(key);
        mgr.events.event(sa, 'Warning', REASONS.certManagerNotInstalled, CERT_MANAGER_NOT_INSTALLED_MESSAGE);
      }
      return { requeueAfter: Math.max(1, probe.retryInMs) };
    }
    told.clear();
    const certificateKey = `${sa.metadata.namespace}/${identityCertificateName(sa.metadata.name)}`;
    if (!running && !certificates.get(certificateKey)) return; // unmeshed: no identity
    return standard(key, ctx);
  };

  const controller = mgr
    .controller({ name: CONTROLLER_NAME, reconcile, workers: options.workers ?? 4 })
    .for(serviceAccounts, primaryChanged)
    .watches(
      pods,
      (pod) => {
        const key = podIdentityKey(pod);
        return key ? [key] : [];
      },
      terminalityChanged,
    );
  late.controller = controller;
  mgr.add(controller);

  return {
    controller,
    reconcile,
    settingsChanged: () => {
      const keys = new Set<string>();
      for (const pod of pods.list()) {
        const key = needsIdentity(pod) ? podIdentityKey(pod) : undefined;
        if (key) keys.add(key);
      }
      for (const cert of certificates.list()) {
        const key = controllerOwnerKey(cert, SERVICE_ACCOUNT_OWNER);
        if (key) keys.add(key);
      }
      for (const key of keys) controller.enqueue(key);
      return keys.size;
    },
    get certManagerInstalled() {
      return certificates.installed;
    },
  };
}
