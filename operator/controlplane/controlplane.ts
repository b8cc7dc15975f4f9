/**
 * `meshwright control-plane`: the process a MeshInstallation deploys. One process, four parts:
 *
 * | part | port (default) | runs on |
 * | --- | --- | --- |
 * | ADS server, mutual TLS (Envoy sidecars) | 15012 | every replica |
 * | ADS server, plaintext (proxyless gRPC: `@grpc/grpc-js-xds` cannot use TLS to its xDS server) | 15010 | every replica |
 * | injection webhook (HTTPS) | 15017 | every replica |
 * | workload identities + served generations (the only writes) | – | the leader |
 * | `/metrics` | 15014 | every replica |
 * | `/healthz`, `/readyz` | 15021 | every replica |
 *
 * Serving needs no leader: every replica builds the same configuration from the same informers and
 * versions it by content, so a proxy can move between replicas without receiving anything new. Only
 * writes to the API server (identity Certificates, the served-generation annotation) are the
 * leader's, so two replicas never fight over one object. A replica is ready once its informers have
 * synced and its first configuration is published.
 *
 * The mesh configuration (`mesh.yaml`) is read once at start: the operator rolls the control plane
 * when it changes (the config checksum on the pod template), so a running process never serves a
 * half-changed mesh.
 *
 * Flags (each with an environment variable; flags win):
 *
 *   --config PATH             MESH_CONFIG          (default /etc/meshwright/mesh.yaml)
 *   --tls-dir DIR             TLS_DIR              (default /var/run/meshwright/tls: tls.crt, tls.key, ca.crt)
 *   --kubeconfig PATH         KUBECONFIG
 *   --namespace NS            POD_NAMESPACE        (the Lease's namespace; default meshwright-system)
 *   --leader-elect=false      LEADER_ELECT         (default true)
 *   --bind-address ADDR       BIND_ADDRESS         (default 0.0.0.0 in a pod, else 127.0.0.1)
 *   --xds-port N              XDS_PORT             (15012; -1 = off)
 *   --xds-plaintext-port N    XDS_PLAINTEXT_PORT   (15010; -1 = off)
 *   --webhook-port N          WEBHOOK_PORT         (15017; -1 = off)
 *   --metrics-port N          METRICS_PORT         (15014; -1 = off)
 *   --health-port N           HEALTH_PORT          (15021; -1 = off)
 *   --cluster-domain DOMAIN   CLUSTER_DOMAIN       (cluster.local)
 *   --log-level LEVEL         LOG_LEVEL            (default info)
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bool, flags, port, UsageError } from '../flags.js';
import { PORTS, MESH_CONFIG_DIR, MESH_CONFIG_KEY, TLS_DIR } from '../meshinstallation/names.js';
import {
  createKube,
  createLogger,
  Manager,
  type Clock,
  type Controller,
  type Kube,
  type Logger,
} from '../runtime/index.js';
import { AdsServer } from './ads/server.js';
import { setupIdentityController } from './identity/controller.js';
import { identitySettingsFromMeshConfig } from './identity/settings.js';
import { startInjectorServer, type InjectorServer } from './injector/webhook.js';
import { meshSettings, parseMeshConfig, type MeshConfig } from './meshconfig.js';
import { XdsModel } from './model.js';
import { servedGenerations, setupServedReporter } from './served.js';
import { flavorView, SidecarNames, withSidecarResources } from './flavors.js';
import { IncrementalEnvoyResources } from './xds/incremental.js';
import { ServicePolicies } from '../servicepolicy/reconciler.js';

export const CONTROL_PLANE_LEASE = 'meshwright-control-plane';
const DEFAULT_NAMESPACE = 'meshwright-system';

export interface ControlPlaneOptions {
  /** A client to use instead of building one from `kubeconfig` (tests, `meshwright dev`). */
  kube?: Kube;
  kubeconfig?: string;
  /** The parsed `mesh.yaml`. */
  mesh: MeshConfig;
  /** `tls.crt`, `tls.key` and `ca.crt` (the serving certificate cert-manager issues); needed by the mTLS xDS port and the webhook. */
  tlsDir?: string;
  /** The control plane's namespace (its Lease). */
  namespace: string;
  leaderElection: boolean;
  bindAddress: string;
  /** `false`: not served; 0: any free port. */
  ports: {
    xds: number | false;
    xdsPlaintext: number | false;
    webhook: number | false;
    metrics: number | false;
    health: number | false;
  };
  clusterDomain?: string;
  /** Issue workload identities (default true). */
  identities?: boolean;
  /** Watch only this namespace (tests); default all. */
  watchNamespace?: string;
  logLevel?: string;
  logger?: Logger;
  clock?: Clock;
}

export interface ControlPlane {
  mgr: Manager;
  ads: AdsServer;
  model: XdsModel;
  /** The leader's controller that writes the served generation on ServicePolicies. */
  servedReporter: Controller;
  /** The bound ports (0 in the options → the port chosen); absent when off. */
  ports: { xds?: number; xdsPlaintext?: number; webhook?: number };
  /** Resolves after the first configuration is published. */
  firstPublish: Promise<void>;
  /** Settles when everything has stopped (the signal aborted, or SIGTERM/SIGINT). */
  done: Promise<void>;
}

const tlsFiles = (dir: string) => ({
  certFile: join(dir, 'tls.crt'),
  keyFile: join(dir, 'tls.key'),
  caFile: join(dir, 'ca.crt'),
});

/** Starts every part; resolves once the servers listen (the caches sync in the background). */
export async function startControlPlane(o: ControlPlaneOptions, signal?: AbortSignal): Promise<ControlPlane> {
  const logger =
    o.logger ??
    createLogger({ ...(o.logLevel ? { level: o.logLevel } : {}), base: { component: 'control-plane' } });
  const kube = o.kube ?? createKube(o.kubeconfig ? { kubeconfigPath: o.kubeconfig } : {});
  let published = false;
  let webhook: InjectorServer | undefined;
  let markPublished: () => void = () => undefined;
  const firstPublish = new Promise<void>((resolve) => (markPublished = resolve));
  const mgr = new Manager({
    kube,
    namespace: o.namespace,
    leaderElection: { enabled: o.leaderElection, leaseName: CONTROL_PLANE_LEASE },
    metricsPort: o.ports.metrics,
    healthPort: o.ports.health,
    bindAddress: o.bindAddress,
    logger,
    ...(o.clock ? { clock: o.clock } : {}),
    processMetrics: true,
    eventSource: 'meshwright-control-plane',
    readiness: () => published && (webhook?.ready() ?? true),
  });
  const options = o.clusterDomain ? { clusterDomain: o.clusterDomain } : {};
  let sidecarNames = new SidecarNames();
  const envoy = new IncrementalEnvoyResources();
  const ads = new AdsServer({
    logger,
    trustDomain: o.mesh.trustDomain,
    view: flavorView(() => sidecarNames),
    registry: mgr.metrics.registry,
    onNack: (e) =>
      logger.warn(
        { node: e.node.id, typeUrl: e.typeUrl, version: e.version, error: e.message },
        'A proxy refused (NACKed) a configuration; it keeps its previous one',
      ),
  });
  let served: ReadonlyMap<string, number> = new Map();
  const model = new XdsModel({
    informers: mgr.informers,
    mesh: () => meshSettings(o.mesh),
    ...options,
    ...(o.watchNamespace ? { namespace: o.watchNamespace } : {}),
    ...(o.clock ? { clock: o.clock } : {}),
    logger,
    onResources: (resources, snapshot) => {
      const both = withSidecarResources(resources, snapshot, o.mesh, options, (s, opts) =>
        envoy.build(s, opts),
      );
      sidecarNames = both.sidecarNames;
      ads.publish(both.resources);
      served = servedGenerations(snapshot);
      if (!published) {
        published = true;
        markPublished();
      }
      reporter.published();
    },
  });
  const reporter = setupServedReporter(mgr, {
    // the model's own informer (same type and scope): the reporter sees the generation it built
    policies: mgr.informer(ServicePolicies, o.watchNamespace ? { namespace: o.watchNamespace } : {}),
    served: () => served,
  });
  if (o.identities ?? true) {
    setupIdentityController(mgr, { settings: () => identitySettingsFromMeshConfig(o.mesh) });
  }

  const stopping: (() => Promise<void>)[] = [() => ads.stop()];
  const bound: ControlPlane['ports'] = {};
  try {
    if (o.ports.xdsPlaintext !== false) {
      bound.xdsPlaintext = await ads.listen({ host: o.bindAddress, port: o.ports.xdsPlaintext });
    }
    if (o.ports.xds !== false) {
      if (!o.tlsDir) throw new UsageError('the mutual-TLS xDS port needs --tls-dir (or --xds-port=-1)');
      bound.xds = await ads.listen({ host: o.bindAddress, port: o.ports.xds, tls: tlsFiles(o.tlsDir) });
    }
    if (o.ports.webhook !== false) {
      if (!o.tlsDir) throw new UsageError('the injection webhook needs --tls-dir (or --webhook-port=-1)');
      webhook = await startInjectorServer({
        host: o.bindAddress,
        port: o.ports.webhook,
        tlsDir: o.tlsDir,
        mesh: () => o.mesh,
        logger,
        registry: mgr.metrics.registry,
      });
      bound.webhook = webhook.port;
      const server = webhook;
      stopping.push(() => server.stop());
    }
  } catch (e) {
    for (const stop of stopping.reverse()) await stop();
    throw e;
  }
  logger.info({ ports: bound, namespace: o.namespace, mesh: o.mesh.installation }, 'Control plane serving');

  const managerDone = mgr.start(signal);
  void model.start();
  const done = managerDone.finally(async () => {
    model.stop();
    for (const stop of stopping.reverse()) await stop();
  });
  return { mgr, ads, model, servedReporter: reporter.controller, ports: bound, firstPublish, done };
}

const KNOWN = new Set([
  'config',
  'tls-dir',
  'kubeconfig',
  'namespace',
  'leader-elect',
  'bind-address',
  'xds-port',
  'xds-plaintext-port',
  'webhook-port',
  'metrics-port',
  'health-port',
  'cluster-domain',
  'log-level',
]);

/** The control plane's options from its flags and environment (flags win); reads `mesh.yaml`. Throws `UsageError`. */
export async function controlPlaneOptions(
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<ControlPlaneOptions> {
  const f = flags(args);
  for (const k of f.keys()) if (!KNOWN.has(k)) throw new UsageError(`unknown flag --${k}`);
  const get = (flag: string, envName: string): string | undefined => f.get(flag) ?? env[envName];
  const configPath = get('config', 'MESH_CONFIG') || `${MESH_CONFIG_DIR}/${MESH_CONFIG_KEY}`;
  let text: string;
  try {
    text = await readFile(configPath, 'utf8');
  } catch (e) {
    throw new UsageError(
      `--config: cannot read ${configPath}: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  const mesh = parseMeshConfig(text);
  const inPod = Boolean(env.KUBERNETES_SERVICE_HOST);
  const kubeconfig = get('kubeconfig', 'KUBECONFIG');
  const clusterDomain = get('cluster-domain', 'CLUSTER_DOMAIN');
  const logLevel = get('log-level', 'LOG_LEVEL');
  return {
    ...(kubeconfig ? { kubeconfig } : {}),
    mesh,
    tlsDir: get('tls-dir', 'TLS_DIR') || TLS_DIR,
    namespace: get('namespace', 'POD_NAMESPACE') || DEFAULT_NAMESPACE,
    leaderElection: bool(get('leader-elect', 'LEADER_ELECT'), true, '--leader-elect'),
    bindAddress: get('bind-address', 'BIND_ADDRESS') || (inPod ? '0.0.0.0' : '127.0.0.1'),
    ports: {
      xds: port(get('xds-port', 'XDS_PORT'), PORTS.xds, '--xds-port'),
      xdsPlaintext: port(
        get('xds-plaintext-port', 'XDS_PLAINTEXT_PORT'),
        PORTS.xdsPlaintext,
        '--xds-plaintext-port',
      ),
      webhook: port(get('webhook-port', 'WEBHOOK_PORT'), PORTS.webhook, '--webhook-port'),
      metrics: port(get('metrics-port', 'METRICS_PORT'), PORTS.metrics, '--metrics-port'),
      health: port(get('health-port', 'HEALTH_PORT'), PORTS.health, '--health-port'),
    },
    ...(clusterDomain ? { clusterDomain } : {}),
    ...(logLevel ? { logLevel } : {}),
  };
}
