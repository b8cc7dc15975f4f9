/**
 * What the injector does to a pod: a pure function from the pod (as the API server sends it in the
 * AdmissionReview) and the mesh configuration to an RFC 6902 JSON patch, a reason to leave the pod
 * alone, or a refusal. No clock, environment or randomness: the same pod gives the same patch.
 *
 * Sidecar mode adds
 * - `meshwright-init`: the traffic capture (`meshwright capture`, iptables rules in the pod's
 *   network namespace); it needs `NET_ADMIN` and `NET_RAW` and runs as root, like Istio's
 *   `istio-init`, because changing a network namespace's netfilter tables takes exactly those.
 *   It exits before any application container starts, and drops every other capability;
 * - `meshwright-proxy`: Envoy as a **native sidecar** (an init container with `restartPolicy:
 *   Always`, Kubernetes ≥ 1.29): it starts before the application containers and the pod's other
 *   init containers, the kubelet starts the next container only once its startup probe (`/ready`:
 *   Envoy has its first configuration) passes, and it stops after them — so the application
 *   never runs without its proxy, and Jobs complete;
 * - the workload identity volume (the Secret `identityCertificateName(serviceAccount)`, mounted
 *   read-only in the proxy) and the SDS file that points Envoy at it (`envoySdsSecret`).
 *
 * Proxyless mode adds to every application container the gRPC xDS bootstrap
 * (`GRPC_XDS_BOOTSTRAP_CONFIG`), `GRPC_XDS_EXPERIMENTAL_RBAC=true`, the downward-API variables the
 * bootstrap expands, and the identity volume, mounted read-only. Variables the container already
 * defines are left as they are.
 *
 * Both add the service-account and proxy-version labels and the `meshwright.io/injected`
 * annotation, whose presence makes a second injection a no-op.
 */
import type {
  V1Container,
  V1EnvVar,
  V1Pod,
  V1ResourceRequirements,
  V1Volume,
  V1VolumeMount,
} from '@kubernetes/client-node';
import { labelValue } from '../../runtime/names.js';
import type { MeshConfig } from '../meshconfig.js';
import {
  IDENTITY_DIR,
  IDENTITY_VOLUME,
  identityCertificateName,
  INJECT_DISABLED,
  INJECT_KEY,
  INJECTED_ANNOTATION,
  PROXY_PORTS,
  PROXY_UID,
  PROXY_VERSION_LABEL,
  SERVICE_ACCOUNT_LABEL,
} from '../names.js';
import {
  envoyBootstrapYaml,
  envoySdsSecret,
  grpcBootstrap,
  metricsPort,
  type BootstrapInput,
} from './bootstrap.js';
import { captureArgs, DEFAULT_CAPTURE } from './capture.js';
import {
  GRPC_ENV,
  INIT_CONTAINER,
  INJECTED_CONTAINERS,
  POD_ENV,
  PROMETHEUS_ANNOTATIONS,
  PROXY_CONTAINER,
  PROXY_PORT_NAMES,
  PROXY_READY_PATH,
  PROXY_SDS_ANNOTATION,
  PROXY_SDS_DIR,
  PROXY_SDS_FILE,
  PROXY_SDS_VOLUME,
  PROXY_STATS_PATH,
} from './names.js';

/** The only operation the injector emits; `path` is an RFC 6901 pointer. */
export interface JsonPatchOperation {
  op: 'add';
  path: string;
  value: unknown;
}

export type InjectResult =
  | { action: 'patch'; patch: JsonPatchOperation[]; summary: string }
  | { action: 'skip'; reason: string }
  | { action: 'refuse'; message: string };

export interface InjectContext {
  mesh: MeshConfig;
  /** The request's namespace: a pod being created may not carry `metadata.namespace` yet. */
  namespace: string;
}

/** What a refusal tells the user to do instead. */
const OPT_OUT = `or keep the pod out of the mesh with the label ${INJECT_KEY}=${INJECT_DISABLED}`;

export function inject(pod: V1Pod, context: InjectContext): InjectResult {
  const { mesh, namespace } = context;
  const labels = pod.metadata?.labels ?? {};
  const annotations = pod.metadata?.annotations ?? {};
  if (labels[INJECT_KEY] === INJECT_DISABLED || annotations[INJECT_KEY] === INJECT_DISABLED) {
    return { action: 'skip', reason: `opted out (${INJECT_KEY}=${INJECT_DISABLED})` };
  }
  const injected = annotations[INJECTED_ANNOTATION];
  if (injected !== undefined) {
    return { action: 'skip', reason: `already injected (${INJECTED_ANNOTATION}=${injected})` };
  }
  const mode = mesh.dataPlane.mode;
  const refusal = conflicts(pod, mode);
  if (refusal !== undefined) return { action: 'refuse', message: refusal };

  const serviceAccount = pod.spec?.serviceAccountName || 'default';
  const identity = identityVolume(serviceAccount);
  const common = {
    labels: {
      [SERVICE_ACCOUNT_LABEL]: labelValue(serviceAccount),
      [PROXY_VERSION_LABEL]: labelValue(mesh.meshVersion),
    },
    annotations: { [INJECTED_ANNOTATION]: mode } as Record<string, string>,
  };
  const patch = new PatchBuilder();

  if (mode === 'Sidecar') {
    // `meshwright capture` ships in the control plane's own image.
    const image = mesh.controlPlane.image;
    const metrics = metricsPort(mesh);
    const scrape =
      metrics !== undefined &&
      mesh.observability.metrics.scrapeAnnotations &&
      annotations[PROMETHEUS_ANNOTATIONS.scrape] === undefined;
    patch.metadata(pod, common.labels, {
      ...common.annotations,
      [PROXY_SDS_ANNOTATION]: JSON.stringify(envoySdsSecret()),
      // The application's own scrape annotations win: a pod has one set, and overwriting them would
      // silently stop its metrics.
      ...(scrape
        ? {
            [PROMETHEUS_ANNOTATIONS.scrape]: 'true',
            [PROMETHEUS_ANNOTATIONS.port]: String(metrics),
            [PROMETHEUS_ANNOTATIONS.path]: PROXY_STATS_PATH,
          }
        : {}),
    });
    patch.prepend('/spec/initContainers', pod.spec?.initContainers, [
      initContainer(mesh, image),
      proxyContainer({ mesh, serviceAccount, namespace }),
    ]);
    patch.append('/spec/volumes', pod.spec?.volumes, [identity, sdsVolume()]);
    return {
      action: 'patch',
      patch: patch.operations,
      summary:
        `Sidecar: ${INIT_CONTAINER} (${image}), ${PROXY_CONTAINER} (${mesh.dataPlane.proxy.image}), ` +
        `identity Secret ${identity.secret!.secretName}`,
    };
  }

  const bootstrap = grpcBootstrap({ mesh, serviceAccount, namespace });
  patch.metadata(pod, common.labels, common.annotations);
  const containers = pod.spec?.containers ?? [];
  containers.forEach((container, i) => {
    const defined = new Set((container.env ?? []).map((e) => e.name));
    const env = [
      ...downwardEnv(),
      { name: GRPC_ENV.bootstrapConfig, value: JSON.stringify(bootstrap) },
      { name: GRPC_ENV.rbac, value: 'true' },
    ].filter((e) => !defined.has(e.name));
    patch.append(`/spec/containers/${i}/env`, container.env, env);
    patch.append(`/spec/containers/${i}/volumeMounts`, container.volumeMounts, [identityMount()]);
  });
  patch.append('/spec/volumes', pod.spec?.volumes, [identity]);
  return {
    action: 'patch',
    patch: patch.operations,
    summary: `Proxyless: xDS bootstrap in ${containers.length} container(s), identity Secret ${identity.secret!.secretName}`,
  };
}

/** Why the pod cannot be meshed as it is, naming the field; undefined when it can. */
function conflicts(pod: V1Pod, mode: MeshConfig['dataPlane']['mode']): string | undefined {
  const spec = pod.spec ?? { containers: [] };
  if (spec.hostNetwork === true) {
    const why =
      mode === 'Sidecar'
        ? "the traffic capture would rewrite the node's iptables, not the pod's"
        : "its address is the node's, shared with every host-network pod there";
    return (
      `spec.hostNetwork is true: a host-network pod cannot be meshed (${why}, and NetworkPolicies ` +
      `do not apply to it). Run it without hostNetwork, ${OPT_OUT}.`
    );
  }
  for (const list of ['initContainers', 'containers'] as const) {
    const index = (spec[list] ?? []).findIndex((c) =>
      (INJECTED_CONTAINERS as readonly string[]).includes(c.name),
    );
    if (index >= 0) {
      const name = spec[list]![index]!.name;
      return (
        `spec.${list}[${index}].name: the pod already has a container named ${name}, which the ` +
        `injector adds, but no ${INJECTED_ANNOTATION} annotation. Rename the container, ${OPT_OUT}.`
      );
    }
  }
  const ours = mode === 'Sidecar' ? [IDENTITY_VOLUME, PROXY_SDS_VOLUME] : [IDENTITY_VOLUME];
  const volume = (spec.volumes ?? []).findIndex((v) => ours.includes(v.name));
  if (volume >= 0) {
    return (
      `spec.volumes[${volume}].name: the pod already has a volume named ${spec.volumes![volume]!.name}, ` +
      `which the injector adds. Rename the volume, ${OPT_OUT}.`
    );
  }
  if (mode === 'Proxyless') {
    for (const [i, container] of spec.containers.entries()) {
      const mount = (container.volumeMounts ?? []).findIndex((m) => m.mountPath === IDENTITY_DIR);
      if (mount >= 0) {
        return (
          `spec.containers[${i}].volumeMounts[${mount}].mountPath: ${IDENTITY_DIR} is where the injector ` +
          `mounts the workload certificate. Mount the volume elsewhere, ${OPT_OUT}.`
        );
      }
    }
  }
  return undefined;
}

const identityVolume = (serviceAccount: string): V1Volume => ({
  name: IDENTITY_VOLUME,
  secret: { secretName: identityCertificateName(serviceAccount) },
});

const identityMount = (): V1VolumeMount => ({
  name: IDENTITY_VOLUME,
  mountPath: IDENTITY_DIR,
  readOnly: true,
});

const sdsVolume = (): V1Volume => ({
  name: PROXY_SDS_VOLUME,
  downwardAPI: {
    items: [
      { path: PROXY_SDS_FILE, fieldRef: { fieldPath: `metadata.annotations['${PROXY_SDS_ANNOTATION}']` } },
    ],
  },
});

/** The variables the bootstraps' `$(…)` references expand from. */
const downwardEnv = (): V1EnvVar[] =>
  Object.values(POD_ENV).map(({ name, fieldPath }) => ({ name, valueFrom: { fieldRef: { fieldPath } } }));

/** The proxy's resources, quantities as strings (what the API server stores). */
function proxyResources(mesh: MeshConfig): V1ResourceRequirements {
  const strings = (q: Record<string, string | number>): Record<string, string> =>
    Object.fromEntries(Object.entries(q).map(([k, v]) => [k, String(v)]));
  const { requests, limits } = mesh.dataPlane.proxy.resources;
  return {
    ...(requests !== undefined ? { requests: strings(requests) } : {}),
    ...(limits !== undefined ? { limits: strings(limits) } : {}),
  };
}

/** Every injected container: no privilege it does not need, and none it could gain. */
const restricted = {
  allowPrivilegeEscalation: false,
  privileged: false,
  seccompProfile: { type: 'RuntimeDefault' },
} as const;

function initContainer(mesh: MeshConfig, image: string): V1Container {
  const metrics = metricsPort(mesh);
  return {
    name: INIT_CONTAINER,
    image,
    imagePullPolicy: 'IfNotPresent',
    args: captureArgs({
      ...DEFAULT_CAPTURE,
      excludeInboundPorts: [PROXY_PORTS.health, ...(metrics !== undefined ? [metrics] : [])],
    }),
    // The proxy's budget: an init container's requests count on their own, so this one adds nothing.
    resources: proxyResources(mesh),
    securityContext: {
      ...restricted,
      // Root with NET_ADMIN and NET_RAW is what writing a network namespace's netfilter tables takes
      // (istio-init does the same); iptables also needs a writable /run for its lock file.
      runAsUser: 0,
      runAsGroup: 0,
      runAsNonRoot: false,
      readOnlyRootFilesystem: false,
      capabilities: { add: ['NET_ADMIN', 'NET_RAW'], drop: ['ALL'] },
    },
  };
}

function proxyContainer(bootstrap: BootstrapInput): V1Container {
  const { mesh } = bootstrap;
  const metrics = metricsPort(mesh);
  const probe = { httpGet: { path: PROXY_READY_PATH, port: PROXY_PORTS.health } };
  return {
    name: PROXY_CONTAINER,
    image: mesh.dataPlane.proxy.image,
    imagePullPolicy: 'IfNotPresent',
    restartPolicy: 'Always',
    command: ['envoy'],
    args: [
      '--config-yaml',
      envoyBootstrapYaml(bootstrap),
      '--log-level',
      mesh.dataPlane.proxy.logLevel,
      // Envoy starts one worker per host CPU by default, whatever the container's CPU limit.
      '--concurrency',
      '2',
      // Nothing ever hot-restarts a sidecar; without this Envoy wants shared memory for it.
      '--disable-hot-restart',
    ],
    env: downwardEnv(),
    ports: [
      { name: PROXY_PORT_NAMES.health, containerPort: PROXY_PORTS.health, protocol: 'TCP' },
      ...(metrics !== undefined
        ? [{ name: PROXY_PORT_NAMES.metrics, containerPort: metrics, protocol: 'TCP' }]
        : []),
    ],
    // The kubelet starts the next container only once this passes: the application never runs
    // before its proxy has a configuration (up to 10 minutes for a slow control plane).
    startupProbe: { ...probe, periodSeconds: 1, failureThreshold: 600 },
    readinessProbe: { ...probe, periodSeconds: 5, failureThreshold: 3 },
    resources: proxyResources(mesh),
    securityContext: {
      ...restricted,
      runAsUser: PROXY_UID,
      runAsGroup: PROXY_UID,
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    },
    volumeMounts: [identityMount(), { name: PROXY_SDS_VOLUME, mountPath: PROXY_SDS_DIR, readOnly: true }],
  };
}

/** RFC 6901: `~` and `/` in a key are escaped as `~0` and `~1`. */
export const escapePointer = (token: string): string => token.replaceAll('~', '~0').replaceAll('/', '~1');

/** JSON patch operations that are valid against the pod as it is: absent maps and lists are created. */
class PatchBuilder {
  readonly operations: JsonPatchOperation[] = [];

  private add(path: string, value: unknown): void {
    this.operations.push({ op: 'add', path, value });
  }

  metadata(pod: V1Pod, labels: Record<string, string>, annotations: Record<string, string>): void {
    if (pod.metadata == null) {
      this.add('/metadata', { labels, annotations });
      return;
    }
    this.map('/metadata/labels', pod.metadata.labels, labels);
    this.map('/metadata/annotations', pod.metadata.annotations, annotations);
  }

  /** Sets each entry (`add` replaces a key that exists). */
  map(
    path: string,
    existing: Record<string, string> | null | undefined,
    entries: Record<string, string>,
  ): void {
    if (existing == null) this.add(path, entries);
    else for (const [key, value] of Object.entries(entries)) this.add(`${path}/${escapePointer(key)}`, value);
  }

  append(path: string, existing: readonly unknown[] | null | undefined, items: readonly unknown[]): void {
    if (items.length === 0) return;
    if (existing == null) this.add(path, items);
    else for (const item of items) this.add(`${path}/-`, item);
  }

  prepend(path: string, existing: readonly unknown[] | null | undefined, items: readonly unknown[]): void {
    if (existing == null) this.add(path, items);
    else items.forEach((item, i) => this.add(`${path}/${i}`, item));
  }
}
