/**
 * `meshwright operator`: the operator process. It builds the Kubernetes client (the kubeconfig in
 * `KUBECONFIG` or `--kubeconfig`, else `~/.kube/config`, else the in-cluster service account), a
 * Manager with leader election on the Lease `meshwright-operator` in the operator's namespace
 * (`POD_NAMESPACE`, default `meshwright-system`), `/metrics` and `/healthz` + `/readyz`, and the
 * controllers: MeshInstallation and ServicePolicy. It runs until SIGTERM/SIGINT (or `signal`),
 * then drains the reconciles in flight and releases the Lease.
 *
 * Flags (each with an environment variable, flags win):
 *
 *   --kubeconfig PATH                 KUBECONFIG
 *   --namespace NS                    POD_NAMESPACE                 (default meshwright-system)
 *   --leader-elect=false              LEADER_ELECT                  (default true)
 *   --metrics-port N                  METRICS_PORT                  (default 8080; 0 = random, -1 = off)
 *   --health-port N                   HEALTH_PORT                   (default 8081; same as metrics = one server)
 *   --bind-address ADDR               BIND_ADDRESS                  (default 0.0.0.0 in a pod, else 127.0.0.1)
 *   --cert-manager-namespace NS       CERT_MANAGER_NAMESPACE        (default cert-manager)
 *   --control-plane-image IMAGE       CONTROL_PLANE_IMAGE           (with --proxy-image: overrides the version table)
 *   --proxy-image IMAGE               PROXY_IMAGE
 *   --log-level LEVEL                 LOG_LEVEL                     (default info)
 */
import {
  createKube,
  createLogger,
  Manager,
  type Kube,
  type KubeObject,
  type Logger,
} from './runtime/index.js';
import {
  setupMeshInstallationController,
  type MeshInstallationController,
} from './meshinstallation/reconciler.js';
import { parse as parseMeshInstallation } from './meshinstallation/reconciler.js';
import type { NamedMeshInstallation } from './meshinstallation/names.js';
import { setupServicePolicyController } from './servicepolicy/reconciler.js';
import { setupTrafficSplitController } from './trafficsplit/reconciler.js';
import { printConditionTransitions, simulateClusterControllers } from './localcluster/dev.js';
import { bool, flags, port, UsageError } from './flags.js';
import { runDevControlPlane } from './controlplane/dev.js';

export { UsageError };

export const LEASE_NAME = 'meshwright-operator';
export const DEFAULT_OPERATOR_NAMESPACE = 'meshwright-system';

export interface OperatorOptions {
  kubeconfig?: string;
  /** A client to use instead of building one (tests, `meshwright dev`). */
  kube?: Kube;
  namespace: string;
  leaderElection: boolean;
  /** `false`: not served. */
  metricsPort: number | false;
  healthPort: number | false;
  bindAddress: string;
  certManagerNamespace?: string;
  image?: { controlPlane: string; proxy: string };
  logLevel?: string;
  logger?: Logger;
}

const KNOWN = new Set([
  'kubeconfig',
  'namespace',
  'leader-elect',
  'metrics-port',
  'health-port',
  'bind-address',
  'cert-manager-namespace',
  'control-plane-image',
  'proxy-image',
  'log-level',
]);

/** The operator's options from its flags and environment (flags win). Throws `UsageError`. */
export function operatorOptions(
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): OperatorOptions {
  const f = flags(args);
  for (const k of f.keys()) if (!KNOWN.has(k)) throw new UsageError(`unknown flag --${k}`);
  const get = (flag: string, envName: string): string | undefined => f.get(flag) ?? env[envName];
  const inPod = Boolean(env.KUBERNETES_SERVICE_HOST);
  const controlPlaneImage = get('control-plane-image', 'CONTROL_PLANE_IMAGE');
  const proxyImage = get('proxy-image', 'PROXY_IMAGE');
  if ((controlPlaneImage === undefined) !== (proxyImage === undefined))
    throw new UsageError('--control-plane-image and --proxy-image go together');
  const kubeconfig = get('kubeconfig', 'KUBECONFIG');
  const certManagerNamespace = get('cert-manager-namespace', 'CERT_MANAGER_NAMESPACE');
  const logLevel = get('log-level', 'LOG_LEVEL');
  return {
    ...(kubeconfig ? { kubeconfig } : {}),
    namespace: get('namespace', 'POD_NAMESPACE') || DEFAULT_OPERATOR_NAMESPACE,
    leaderElection: bool(get('leader-elect', 'LEADER_ELECT'), true, '--leader-elect'),
    metricsPort: port(get('metrics-port', 'METRICS_PORT'), 8080, '--metrics-port'),
    healthPort: port(get('health-port', 'HEALTH_PORT'), 8081, '--health-port'),
    bindAddress: get('bind-address', 'BIND_ADDRESS') || (inPod ? '0.0.0.0' : '127.0.0.1'),
    ...(certManagerNamespace ? { certManagerNamespace } : {}),
    ...(controlPlaneImage && proxyImage
      ? { image: { controlPlane: controlPlaneImage, proxy: proxyImage } }
      : {}),
    ...(logLevel ? { logLevel } : {}),
  };
}

export interface OperatorHandle {
  mgr: Manager;
  meshInstallations: MeshInstallationController;
  /** Settles when the manager has stopped (rejects when the lease was lost or the caches never synced). */
  done: Promise<void>;
}

/**
 * Builds the manager and its controllers and starts it; `done` settles once it stopped (the
 * `signal` aborted, or SIGTERM/SIGINT when there is none).
 */
export function startOperator(o: OperatorOptions, signal?: AbortSignal): OperatorHandle {
  const logger =
    o.logger ??
    createLogger({ ...(o.logLevel ? { level: o.logLevel } : {}), base: { component: 'operator' } });
  const kube = o.kube ?? createKube(o.kubeconfig ? { kubeconfigPath: o.kubeconfig } : {});
  const mgr = new Manager({
    kube,
    namespace: o.namespace,
    leaderElection: { enabled: o.leaderElection, leaseName: LEASE_NAME },
    metricsPort: o.metricsPort,
    healthPort: o.healthPort,
    bindAddress: o.bindAddress,
    logger,
    processMetrics: true,
  });
  const meshInstallations = setupMeshInstallationController(mgr, {
    ...(o.certManagerNamespace ? { certManagerNamespace: o.certManagerNamespace } : {}),
    ...(o.image ? { image: o.image } : {}),
  });
  setupServicePolicyController(mgr, {
    mesh: () => installedMesh(meshInstallations.caches.installations.list()),
  });
  setupTrafficSplitController(mgr);
  logger.info(
    {
      namespace: o.namespace,
      leaderElection: o.leaderElection ? LEASE_NAME : false,
      metricsPort: o.metricsPort,
      healthPort: o.healthPort,
    },
    'Starting the operator',
  );
  return { mgr, meshInstallations, done: mgr.start(signal) };
}

const created = (mi: NamedMeshInstallation): number => {
  const t = mi.metadata.creationTimestamp;
  const ms = typeof t === 'string' ? Date.parse(t) : NaN;
  return Number.isNaN(ms) ? Number.POSITIVE_INFINITY : ms;
};

/** What ServicePolicies need of the mesh: the oldest MeshInstallation that is not being deleted. */
export function installedMesh(
  installations: readonly KubeObject[],
): { controlPlaneNamespace: string; metricsPort: number; trustDomain: string } | undefined {
  const candidates = installations
    .filter((o) => !o.metadata?.deletionTimestamp)
    .flatMap((o) => {
      try {
        return [parseMeshInstallation(o)];
      } catch {
        return [];
      }
    })
    .sort((a, b) => created(a) - created(b) || a.metadata.name.localeCompare(b.metadata.name));
  const mi = candidates[0];
  return mi
    ? {
        controlPlaneNamespace: mi.spec.namespace,
        metricsPort: mi.spec.observability.metrics.port,
        trustDomain: mi.spec.mtls.trustDomain,
      }
    : undefined;
}

export interface DevOperatorOptions {
  /** The local cluster's kubeconfig. */
  kubeconfigPath: string;
  log: (line: string) => void;
  /** Stops the operator and the loops. */
  signal: AbortSignal;
  logger?: Logger;
}

/**
 * What `meshwright dev` runs beside the local cluster: the operator (no leader election, random
 * metrics/health ports), the condition printer, and the simulation of the controllers the local
 * cluster lacks (dev only: see `simulateClusterControllers`). `done` settles when all of it has
 * stopped; it rejects when the operator failed.
 */
export function startDevOperator(o: DevOperatorOptions): { operator: OperatorHandle; done: Promise<void> } {
  const kube = (): Kube => createKube({ kubeconfigPath: o.kubeconfigPath });
  const inner = new AbortController();
  const stop = (): void => inner.abort();
  if (o.signal.aborted) stop();
  else o.signal.addEventListener('abort', stop, { once: true });
  const loops = [
    printConditionTransitions({ kube: kube(), log: o.log, signal: inner.signal }),
    simulateClusterControllers({ kube: kube(), log: o.log, signal: inner.signal }),
    runDevControlPlane({
      kube: kube(),
      log: o.log,
      signal: inner.signal,
      logger: createLogger({ level: process.env.LOG_LEVEL ?? 'warn', base: { component: 'control-plane' } }),
    }).catch((e: unknown) =>
      o.log(`the control plane stopped: ${e instanceof Error ? e.message : String(e)}`),
    ),
  ];
  const operator = startOperator(
    {
      kube: kube(),
      namespace: DEFAULT_OPERATOR_NAMESPACE,
      leaderElection: false,
      metricsPort: 0,
      healthPort: 0,
      bindAddress: '127.0.0.1',
      logger:
        o.logger ?? createLogger({ level: process.env.LOG_LEVEL ?? 'warn', base: { component: 'operator' } }),
    },
    inner.signal,
  );
  const done = operator.done.finally(async () => {
    stop(); // the operator stopped (signalled or failed): stop the loops too
    o.signal.removeEventListener('abort', stop);
    await Promise.all(loops);
  });
  return { operator, done };
}
